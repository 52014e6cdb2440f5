#!/usr/bin/env bash
# make bench: runs every bench/*.sh (each writes docs/bench/NAME.md), then
# gathers them into docs/BENCHMARKS.md. BENCH=docker,ssh runs a subset.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p docs/bench
failed=0
for s in bench/*.sh; do
	name=$(basename "$s" .sh)
	[ "$name" = run ] && continue
	if [ -n "${BENCH:-}" ] && [[ ",$BENCH," != *",$name,"* ]]; then continue; fi
	echo "== bench $name"
	bash "$s" || { echo "bench $name failed" >&2; failed=1; }
done
{
	echo "# Benchmarks"
	echo
	echo "Made by \`make bench\` (bench/run.sh), which runs each bench/*.sh against its peers in the same run;"
	echo "docs/bench/reliability.md, kept by hand from the fault tests' summaries, is gathered with them."
	echo "Ratios matter; absolute times on these shared 2-core machines are noise."
	echo
	for f in docs/bench/*.md; do
		cat "$f"
		echo
	done
} >docs/BENCHMARKS.md
exit $failed
