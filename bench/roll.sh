#!/usr/bin/env bash
# bench/roll.sh: roll's cutovers on the local cloud under 100 req/s of real
# HTTP through the ALB (and through the sim's DNS for route53). Runs roll's
# integration tests RUNS times with ROLL_BENCH_OUT set, so each strategy
# test records requests served and failed, p99 latency, cutover and
# rollback time; writes the medians to docs/bench/roll.md.
# Needs Docker and the sim's image (hack/setup-sim.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
tests='^(TestBlueGreen|TestRoute53|TestCanary|TestRolling|TestRollbackAfterSwitch|TestNaiveSwitch|TestBlueGreenSingleTargetGroup|TestRollbackSingleTargetGroup)$'
cmd="go test ./roll/ -count=1 -timeout 20m -run '$tests'"
for i in $(seq "$runs"); do
	echo "roll bench run $i/$runs: $cmd"
	ROLL_BENCH=1 ROLL_BENCH_OUT="$out/records.jsonl" go test ./roll/ -count=1 -timeout 20m -run "$tests" >"$out/run$i.log" 2>&1 || {
		tail -50 "$out/run$i.log" >&2
		exit 1
	}
done
mkdir -p docs/bench
python3 - "$out/records.jsonl" "$runs" "$cmd" >docs/bench/roll.md <<'PY'
import json, statistics, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
runs, cmd = sys.argv[2], sys.argv[3]
by = {}
for r in recs:
    by.setdefault(r["strategy"], []).append(r)
def med(rs, k):
    v = [r[k] for r in rs if k in r]
    return statistics.median(v) if v else None
def f(v, fmt="{:.0f}"):
    return "-" if v is None else fmt.format(v)
order = ["bluegreen", "bluegreen-single-tg", "route53", "canary", "rolling", "rollback", "rollback-single-tg", "naive-switch"]
print("## roll: cutovers on the local cloud")
print()
print(f"Medians of {runs} runs of `ROLL_BENCH_OUT=... {cmd}` (bench/roll.sh). Each run rolls")
print("a service from the `blue` to the `green` app image under 100 req/s of real HTTP from 10")
print("loopback clients through the sim's ALB (route53: clients resolve the weighted record")
print("through the sim's DNS and honour its 1 s TTL). Health checks: ALB every 5 s, threshold 2;")
print("roll's direct checks every 500 ms, 2 consecutive; post-promotion window 2 s, scale-down")
print("delay 3 s; canary steps 25/50/100 with 1 s pauses, route53 steps 50/100 held 1 s + TTL.")
print()
print("| strategy | requests served | failed | p99 latency (ms) | green healthy after (s) | cutover (ms) | rollback call (ms) | roll total (s) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for s in order:
    rs = by.get(s)
    if not rs:
        continue
    gh, tot = med(rs, "green_healthy_ms"), med(rs, "total_ms")
    gh = gh or None  # rolling has no separate green group
    print(f"| {s} | {f(med(rs,'served'))} | {f(med(rs,'failed'))} | {f(med(rs,'p99_ms'),'{:.1f}')} | {f(gh and gh/1000,'{:.1f}')} | {f(med(rs,'cutover_ms'),'{:.1f}') if s in ('bluegreen', 'bluegreen-single-tg') else '-'} | {f(med(rs,'rollback_ms'),'{:.2f}') if s in ('rollback', 'rollback-single-tg') else '-'} | {f(tot and tot/1000,'{:.1f}')} |")
rb = by.get("rollback")
if rb:
    print()
    print(f"Rollback after a failed post-promotion check: green's app is broken (every request 500) once all")
    print(f"traffic is on it; median {f(med(rb,'break_to_blue_ms'))} ms from the break until the roll returned with traffic back")
    print(f"on blue and green deleted, {f(med(rb,'failed_after_break'))} requests failed meanwhile (bounded by roll's two failed")
    print(f"checks 500 ms apart at 100 req/s); the rollback itself is one ModifyListener call of {f(med(rb,'rollback_ms'),'{:.2f}')} ms.")
st = by.get("rollback-single-tg")
if by.get("bluegreen-single-tg") or st:
    print()
    print("`-single-tg`: the service behind one target group (`traffic { target_group }`): the switch")
    print("attaches green's group, waits until every green target is healthy in the target group (the")
    print("ALB's first health checks, 5 s apart), then detaches blue's, whose targets drain; so its cutover")
    print("includes that wait. A rollback is the reverse and takes blue's first health checks too")
    if st:
        print(f"(median {f(med(st,'break_to_blue_ms'))} ms from the break, {f(med(st,'failed_after_break'))} requests failed meanwhile).")
    else:
        print("as well.")
nv = by.get("naive-switch")
if nv:
    print()
    print("Peer: `naive-switch` is what a pipeline script without a guard does with awscli (the")
    print("Spinnaker red/black failure users report): create the green group, then point the listener")
    print(f"at it at once, before green is healthy. Median {f(med(nv,'failed'))} requests failed ({f(med(nv,'served'))} served)")
    print("until green became healthy;")
    print("roll's guarded switch failed none.")
print()
print("Cutover is green healthy → 100% of traffic on green, less configured waits: for bluegreen one")
print("ModifyListener call. \"Green healthy after\" is dominated by the ALB's 5 s minimum health check")
print("interval times the healthy threshold of 2, and instance boot (a systemd container).")
print("No peer deploy tool runs here (Spinnaker, CodeDeploy and Argo Rollouts need their own")
print("control planes and real AWS); the unguarded awscli switch stands in for them.")
PY
echo "wrote docs/bench/roll.md"
