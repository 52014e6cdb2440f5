#!/usr/bin/env bash
# Benchmarks the step cache: a cold 10-step bake (steps 1-9 include an apt
# install of nginx), then re-bakes with only step 10 changed; against
# `docker build` of the equivalent Dockerfile with its cache warm.
# Writes docs/bench/cache.md.
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/bench/cache.md
runs=${RUNS:-5}
bake=$PWD/bin/bake
work=$(mktemp -d /tmp/bake-bench-cache.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp bench/cache/steps.bake.hcl "$work/"
cat >"$work/Dockerfile" <<'DF'
FROM localbase/debian:bookworm
RUN echo 1 > /step1
RUN export DEBIAN_FRONTEND=noninteractive && apt-get update -qq && apt-get install -y -qq --no-install-recommends nginx-light >/dev/null
RUN echo 3 > /step3
RUN echo 4 > /step4
RUN echo 5 > /step5
RUN echo 6 > /step6
RUN echo 7 > /step7
RUN echo 8 > /step8
RUN echo 9 > /step9
ARG LAST
RUN echo $LAST > /step10
DF
cd "$work"
# Cold: a new series each run, so no cache entry matches.
hyperfine --shell bash --style basic --runs 3 --export-json cold.json \
	-n "bake cold" "$bake build --manifest '' --version cold -var series=cold\$RANDOM\$RANDOM -var last=cold steps.bake.hcl" \
	>cold.txt 2>&1 || { cat cold.txt >&2; exit 1; }
# Warm: one bake fills the cache, then each run changes step 10 only.
"$bake" build --manifest '' --version fill -var last=fill steps.bake.hcl >/dev/null 2>&1
DOCKER_BUILDKIT=0 docker build -q -t bench/cache-docker:fill --build-arg LAST=fill . >/dev/null
hyperfine --shell bash --style basic --runs "$runs" --export-json warm.json \
	-n "bake re-bake, step 10 changed" "$bake build --manifest '' --version warm -var last=run\$RANDOM steps.bake.hcl" \
	-n "docker build, cache warm, last RUN changed" "DOCKER_BUILDKIT=0 docker build -q -t bench/cache-docker:warm --build-arg LAST=run\$RANDOM ." \
	>warm.txt 2>&1 || { cat warm.txt >&2; exit 1; }
docker images --format '{{.Repository}}:{{.Tag}}' | grep '^bench/cache-' | xargs -r docker rmi -f >/dev/null 2>&1 || true
cd - >/dev/null
python3 - "$work" "$out" <<'PY'
import json, sys, statistics, datetime
work, out = sys.argv[1:]
cold = json.load(open(f"{work}/cold.json"))["results"][0]
warm = json.load(open(f"{work}/warm.json"))["results"]
mc = statistics.median(cold["times"])
mb = statistics.median(warm[0]["times"]); md = statistics.median(warm[1]["times"])
with open(out, "w") as f:
    f.write("## Step cache: re-bake after changing the last of 10 steps\n\n")
    f.write(f"Measured {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC by `make bench` (bench/cache.sh), hyperfine medians; "
            f"load average at the end {open('/proc/loadavg').read().split()[0]}. Steps 1-9 include an apt install of nginx-light "
            "(bench/cache/steps.bake.hcl); the Dockerfile is the same ten steps as RUN lines, built by the classic builder.\n\n")
    f.write("| measure | median | ratio | target |\n|---|---|---|---|\n")
    f.write(f"| cold bake (3 runs) | {mc:.2f} s | | |\n")
    f.write(f"| re-bake, only step 10 changed | {mb:.2f} s | {mb/mc:.3f}× cold | ≤ 0.15× {'met' if mb/mc <= 0.15 else 'NOT met'} |\n")
    f.write(f"| docker build, cache warm, last RUN changed | {md:.2f} s | bake {mb/md:.2f}× docker build | ≤ 1.2× {'met' if mb/md <= 1.2 else 'NOT met'} |\n\n")
    f.write("Commands:\n\n```\n" + cold["command"] + "\n" + warm[0]["command"] + "\n" + warm[1]["command"] + "\n```\n")
print(open(out).read())
PY
