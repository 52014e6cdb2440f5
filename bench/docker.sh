#!/usr/bin/env bash
# Benchmarks bake's Docker builder against Packer 1.6.6's docker builder and
# a floor (docker run + one docker exec / docker cp + docker commit), same
# base image, same template, three cases:
#   (a) 10 inline echo steps, (b) a 100 MiB file upload,
#   (c) apt-get install nginx-light plus a config file.
# Writes docs/bench/docker.md. Needs: packer, bc, /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/bench/docker.md
runs=${RUNS:-10}
runs_c=${RUNS_C:-3}
bake=$PWD/bin/bake
work=$(mktemp -d /tmp/bake-bench.XXXXXX)
trap 'rm -rf "$work"; docker rm -f bench-floor >/dev/null 2>&1 || true' EXIT

for tool in bc packer /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 1; }
done
head -c $((100 << 20)) /dev/urandom >"$work/payload.bin"
cp -r bench/docker/*.pkr.hcl bench/docker/files "$work/"
cd "$work"

# The floor: what any tool must at least do.
cat >floor.sh <<'FLOOR'
#!/usr/bin/env bash
set -euo pipefail
case=$1
docker run -d -i -t --name bench-floor --entrypoint /bin/sh localbase/debian:bookworm >/dev/null
case $case in
a) docker exec bench-floor /bin/sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do echo step $i; done' >/dev/null ;;
b) docker cp payload.bin bench-floor:/opt/payload.bin ;;
c) docker exec bench-floor /bin/sh -c 'export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends nginx-light >/dev/null'
   docker cp files/bench.conf bench-floor:/etc/nginx/conf.d/bench.conf ;;
esac
docker commit bench-floor bench/floor-$case:latest >/dev/null
docker rm -f bench-floor >/dev/null
FLOOR
chmod +x floor.sh

cleanup='docker rmi -f bake/a:bench bake/b:bench bake/c:bench bench/a:latest bench/b:latest bench/c:latest bench/floor-a:latest bench/floor-b:latest bench/floor-c:latest >/dev/null 2>&1 || true'
declare -A cmds
for c in a b c; do
	var=""
	[ "$c" = b ] && var="-var payload=$work/payload.bin"
	cmds[bake-$c]="$bake build --no-cache --manifest '' --version bench $var $c.pkr.hcl"
	cmds[packer-$c]="packer build $var $c.pkr.hcl"
	cmds[floor-$c]="./floor.sh $c"
done

# Interleaved rounds (bake, Packer, floor, bake, ...), so that load
# swings on this shared machine hit every tool alike; one warm-up round.
for c in a b c; do
	n=$runs
	[ "$c" = c ] && n=$runs_c
	for round in $(seq 0 "$n"); do
		for tool in bake packer floor; do
			eval "$cleanup"
			start=$(date +%s.%N)
			bash -c "${cmds[$tool-$c]}" >"log-$tool-$c.txt" 2>&1 || { echo "bench: $tool case $c failed:" >&2; tail -20 "log-$tool-$c.txt" >&2; exit 1; }
			end=$(date +%s.%N)
			[ "$round" = 0 ] || echo "$tool $c $(echo "$end - $start" | bc -l)" >>times.txt
		done
	done
	/usr/bin/time -f '%M' -o "rss-$c.txt" bash -c "${cmds[bake-$c]}" >/dev/null 2>&1
	for tool in bake packer floor; do echo "$tool $c ${cmds[$tool-$c]}" >>commands.txt; done
done
eval "$cleanup"

cd - >/dev/null
python3 - "$work" "$out" "$runs" "$runs_c" <<'PY'
import json, sys, statistics, datetime, subprocess
work, out, runs, runs_c = sys.argv[1:]
names = {"a": "(a) 10 inline echo steps", "b": "(b) 100 MiB file upload", "c": "(c) apt-get install nginx-light + config"}
targets = {"a": 0.5, "b": 0.6, "c": None}
rows, cmds = [], {}
times = {}
for line in open(f"{work}/times.txt"):
    tool, c, t = line.split()
    times.setdefault(c, {}).setdefault(tool, []).append(float(t))
for line in open(f"{work}/commands.txt"):
    tool, c, cmd = line.rstrip("\n").split(" ", 2)
    cmds.setdefault(c, {})[tool] = cmd
for c in "abc":
    med = {k: statistics.median(v) for k, v in times[c].items()}
    rss = int(open(f"{work}/rss-{c}.txt").read().split()[-1]) / 1024
    vp, vf = med["bake"] / med["packer"], med["bake"] / med["floor"]
    t = targets[c]
    ok = (t is None or vp <= t) and vf <= 1.15 and rss <= 60
    rows.append(f"| {names[c]} | {med['bake']:.2f} s | {med['packer']:.2f} s | {med['floor']:.2f} s | {vp:.2f}× (target ≤ {t if t else '—'}) | {vf:.2f}× (target ≤ 1.15) | {rss:.0f} MB | {'met' if ok else 'NOT met'} |")
load = open("/proc/loadavg").read().split()[0]
with open(out, "w") as f:
    f.write("## Docker bakes: bake vs Packer 1.6.6 vs the floor\n\n")
    f.write(f"Measured {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC by `make bench` (bench/docker.sh), medians, "
            f"{runs} interleaved rounds for (a) and (b), {runs_c} for (c) (it downloads from Debian's mirror), after 1 warm-up round; load average at the end {load}. "
            "Same base image (localbase/debian:bookworm) and the same Packer HCL2 template for bake and Packer (bench/docker/*.pkr.hcl). "
            "The floor is `docker run` + one `docker exec` (or `docker cp`) + `docker commit` + `docker rm`. Peak RSS is bake's, from /usr/bin/time.\n\n")
    f.write("| case | bake | Packer | floor | bake / Packer | bake / floor | bake peak RSS | targets |\n|---|---|---|---|---|---|---|---|\n")
    f.write("\n".join(rows) + "\n\nCommands (run in a temp dir holding the templates and the payload):\n\n```\n")
    for c in "abc":
        for k in ("bake", "packer", "floor"):
            f.write(f"{c} {k}: {cmds[c][k]}\n")
    f.write("```\n")
print(open(out).read())
PY
