#!/usr/bin/env bash
# Benchmarks bake rebuild --nightly over 50 tiny Docker bakes (no apt):
#  1. nothing changed: every source skipped, target ≤ 10 s, and no
#     container may be created (the skip path starts no build);
#  2. 5 of the 50 changed: wall time against those 5 bakes run as
#     5 × bake build at the same parallelism (xargs -P), target ≤ 1.2×.
# Writes docs/bench/nightly.md.
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/bench/nightly.md
runs=${RUNS:-5}
parallel=${PARALLEL:-2}
bake=${BAKE:-$PWD/bin/bake}
[ -x "$bake" ] || go build -o "$bake" ./cmd/bake
prefix=bake-bench-nightly$$
work=$(mktemp -d /tmp/bake-bench-nightly.XXXXXX)
cleanup() {
	docker images --format '{{.Repository}}:{{.Tag}}' | grep "^$prefix/" | xargs -r docker rmi -f >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

mkbake() { # dir name message
	mkdir -p "$1/$2"
	cat >"$1/$2/$2.bake.hcl" <<EOF
source "docker" "$2" {
  image      = "localbase/debian:bookworm"
  repository = "$prefix/$2"
}
build {
  sources = ["source.docker.$2"]
  provisioner "shell" { inline = ["echo $3 > /etc/bench"] }
}
EOF
}
all=$work/all
five=$work/five
for i in $(seq -w 1 50); do mkbake "$all" "s$i" one; done
# The 5 that change: the same bakes, reachable on their own for the baseline.
mkdir -p "$five"
for i in 01 11 21 31 41; do ln -s "$all/s$i" "$five/s$i"; done

# Every source baked once, so that the nightly has something to skip.
"$bake" rebuild "$all" --nightly -parallel "$parallel" --version seed >"$work/seed.txt" 2>&1 || { cat "$work/seed.txt" >&2; exit 1; }

skip_cmd="$bake rebuild $all --nightly -parallel $parallel"
nightly_cmd="$bake rebuild $all --nightly -parallel $parallel --version n\$(date +%s%N)"
alone_cmd="ls -d $five/* | xargs -P $parallel -I{} $bake build --manifest '' --version b\$(date +%s%N) {}"
change='for i in 01 11 21 31 41; do sed -i "s/echo [a-z0-9]* >/echo r$RANDOM$RANDOM >/" '"$all"'/s$i/s$i.bake.hcl; done'
export skip_cmd nightly_cmd alone_cmd change

# 1. Nothing changed.
since=$(date +%s)
hyperfine --shell bash --style basic --runs "$runs" --warmup 1 --export-json "$work/skip.json" \
	-n "bake rebuild --nightly, 50 unchanged" "$skip_cmd" \
	>"$work/skip.txt" 2>&1 || { cat "$work/skip.txt" >&2; exit 1; }
until=$(date +%s)
created=$(docker events --since "$since" --until "$((until + 1))" --filter type=container --filter event=create \
	--filter "label=dev.bake.name" --format '{{.Actor.Attributes.name}}' | grep -c "^bake-s[0-9]" || true)
"$bake" rebuild "$all" --nightly -parallel "$parallel" >"$work/skip-table.txt" 2>/dev/null

# 2. Five changed: each run gives the 5 a new message first (--prepare),
# then either the nightly over all 50 or the 5 bakes alone.
hyperfine --shell bash --style basic --runs "$runs" --export-json "$work/five.json" \
	--prepare "$change" \
	-n "bake rebuild --nightly, 5 of 50 changed" "$nightly_cmd" \
	--prepare "$change" \
	-n "the 5 bakes alone: bake build × 5, xargs -P $parallel" "$alone_cmd" \
	>"$work/five.txt" 2>&1 || { cat "$work/five.txt" >&2; exit 1; }
eval "$change"
"$bake" rebuild "$all" --nightly -parallel "$parallel" >"$work/five-table.txt" 2>/dev/null

python3 - "$work" "$out" "$created" "$parallel" <<'PY'
import json, os, sys, statistics, datetime
work, out, created, parallel = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
skip = json.load(open(f"{work}/skip.json"))["results"][0]
five = json.load(open(f"{work}/five.json"))["results"]
ms = statistics.median(skip["times"])
mn = statistics.median(five[0]["times"]); mb = statistics.median(five[1]["times"])
tail = lambda p: open(p).read().strip().splitlines()[-1]
with open(out, "w") as f:
    f.write("## Nightly rebuild: skip what did not change\n\n")
    f.write(f"Measured {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC by `make bench` (bench/nightly.sh), hyperfine medians of "
            f"{len(skip['times'])} runs; load average at the end {open('/proc/loadavg').read().split()[0]}. 50 one-step Docker bakes "
            f"(`echo MSG > /etc/bench` on localbase/debian:bookworm), -parallel {parallel}.\n\n")
    f.write("| measure | median | ratio | target |\n|---|---|---|---|\n")
    f.write(f"| rebuild --nightly, 50 unchanged | {ms:.2f} s | | ≤ 10 s {'met' if ms <= 10 else 'NOT met'} |\n")
    f.write(f"| build containers created by the unchanged runs | {created} | | 0 {'met' if created == 0 else 'NOT met'} |\n")
    f.write(f"| rebuild --nightly, 5 of 50 changed | {mn:.2f} s | {mn/mb:.2f}× the 5 bakes alone | ≤ 1.2× {'met' if mn/mb <= 1.2 else 'NOT met'} |\n")
    f.write(f"| the 5 bakes alone (bake build × 5, xargs -P {parallel}) | {mb:.2f} s | | |\n\n")
    f.write(f"Last lines of the tables: unchanged run `{tail(work + '/skip-table.txt')}`; 5 changed `{tail(work + '/five-table.txt')}`.\n\n")
    f.write("Commands (TMP is the bench's temp dir; before each of the 5-changed runs, hyperfine --prepare runs the change):\n\n```\n")
    for k in ("skip_cmd", "nightly_cmd", "alone_cmd", "change"):
        f.write(os.environ[k].replace(work, "TMP") + "\n")
    f.write("```\n")
print(open(out).read())
PY
