#!/usr/bin/env python3
"""Times commands in interleaved rounds, for machines whose load changes
during a run: hyperfine times all runs of one command, then all of the
next, so a busy minute lands on one of them; here every round runs every
command once, in a shuffled order, so they share the same conditions.

  interleave.py OUT.json RUNS PREPARE NAME=CMD [NAME=CMD ...]

PREPARE runs (untimed) before each timed command; one warm-up round is
not counted. Writes {"results": [{"command": NAME, "cmd": CMD, "times": [...]}]}.
A failing command stops the benchmark with its output.
"""
import json
import random
import subprocess
import sys
import time


def run(cmd):
    r = subprocess.run(["bash", "-c", cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=600)
    if r.returncode != 0:
        sys.exit(f"interleave: {cmd!r} exited {r.returncode}:\n{r.stderr[-4000:]}")


def main():
    out, runs, prepare = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    cmds = [a.split("=", 1) for a in sys.argv[4:]]
    times = {name: [] for name, _ in cmds}
    for rnd in range(runs + 1):
        order = cmds[:]
        random.shuffle(order)
        for name, cmd in order:
            if prepare:
                run(prepare)
            start = time.perf_counter()
            run(cmd)
            took = time.perf_counter() - start
            if rnd > 0:
                times[name].append(took)
            print(f"  round {rnd}/{runs} {name}: {took:.2f} s{' (warm-up)' if rnd == 0 else ''}", file=sys.stderr)
    json.dump({"results": [{"command": name, "cmd": cmd, "times": times[name]} for name, cmd in cmds]}, open(out, "w"), indent=1)


main()
