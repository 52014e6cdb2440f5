#!/usr/bin/env bash
# Benchmarks the recipes against their peers and writes docs/bench/recipes.md:
#   (a) re-applying the nginx recipe to an image baked with it, when there is
#       nothing to change (target: at most 1 s);
#   (b) a bake with the nginx recipe against the hand-written shell floor of
#       the Docker-bake benchmark (c): docker run + one docker exec of
#       apt-get install nginx-light and its config + docker commit
#       (target: at most 1.15x).
# Both sides of (b) fetch packages the same way: through the apt-cacher-ng of
# hack/setup-recipes.sh when it runs, else straight from the mirror.
# Needs docker, hyperfine, python3, go and localbase/debian:bookworm.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
base=localbase/debian:bookworm
out=docs/bench/recipes.md
tmp=$(mktemp -d /tmp/bake-bench-recipes.XXXXXX)
label=bake.bench=recipes
cleanup() {
	docker ps -aq --filter "label=$label" | xargs -r docker rm -f >/dev/null 2>&1 || true
	for img in bake-bench/nginx-recipe bake-bench/nginx-floor; do
		docker images -q "$img" | sort -u | xargs -r docker rmi -f >/dev/null 2>&1 || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

for cmd in docker hyperfine python3 go; do
	command -v "$cmd" >/dev/null || { echo "bench/recipes.sh needs $cmd" >&2; exit 1; }
done
docker image inspect "$base" >/dev/null 2>&1 || { echo "no $base: run hack/base-image.sh" >&2; exit 1; }

if [ -n "${BAKE:-}" ]; then
	cp "$BAKE" "$tmp/bake" # a bake binary built elsewhere
else
	go build -o "$tmp/bake" ./cmd/bake
fi

proxy=""
if (exec 3<>/dev/tcp/127.0.0.1/3142) 2>/dev/null; then
	gw=$(docker network inspect bridge -f '{{(index .IPAM.Config 0).Gateway}}')
	if [ -z "$gw" ]; then
		subnet=$(docker network inspect bridge -f '{{(index .IPAM.Config 0).Subnet}}')
		gw=$(printf '%s' "$subnet" | awk -F'[./]' '{ printf "%d.%d.%d.%d", $1, $2, $3, $4 + 1 }')
	fi
	proxy="http://$gw:3142"
fi
fetch="the Debian mirror directly"
[ -z "$proxy" ] || fetch="apt-cacher-ng at $proxy (hack/setup-recipes.sh)"

cat >"$tmp/nginx.bake.hcl" <<HCL
source "docker" "web" {
  image      = "$base"
  pull       = false
  repository = "bake-bench/nginx-recipe"
  changes    = ["CMD [\\"/usr/local/sbin/bake-services\\"]"]
}
build {
  sources = ["source.docker.web"]
  provisioner "recipe" {
    name = "nginx"
    env  = { http_proxy = "$proxy" }
  }
}
HCL

# The floor: what one would write by hand for the same image.
cat >"$tmp/floor-inner.sh" <<'SH'
set -e
apt-get update -q
apt-get install -y -q --no-install-recommends nginx-light
cat >/etc/nginx/sites-available/default <<'CONF'
server {
    listen 80 default_server;
    root /var/www/html;
    index index.html;
    location / { try_files $uri $uri/ =404; }
}
CONF
printf '<p>nginx</p>\n' >/var/www/html/index.html
SH
cat >"$tmp/floor.sh" <<SH
#!/usr/bin/env bash
set -euo pipefail
c=\$(docker run -d --label $label $base sleep infinity)
docker exec -e http_proxy=$proxy -e DEBIAN_FRONTEND=noninteractive "\$c" sh -c "\$(cat $tmp/floor-inner.sh)" >/dev/null
docker commit -c 'CMD ["nginx", "-g", "daemon off;"]' "\$c" bake-bench/nginx-floor:latest >/dev/null
docker rm -f "\$c" >/dev/null
SH
chmod +x "$tmp/floor.sh"

echo "== (b) bake with the nginx recipe vs the hand-written floor, $runs runs each, interleaved"
# Interleaved (floor, recipe, floor, recipe...) after one warm-up of each,
# so that the load of a shared machine falls on both sides alike.
recipe_cmd="$tmp/bake build --no-cache --manifest '' --version bench $tmp/nginx.bake.hcl"
timeit() { # FILE COMMAND: appends the seconds COMMAND took to FILE
	local s e
	s=$(date +%s.%N)
	bash -c "$2" >/dev/null 2>&1 || { echo "failed: $2" >&2; exit 1; }
	e=$(date +%s.%N)
	echo "$s $e" | awk '{ printf "%.3f\n", $2 - $1 }' >>"$1"
}
timeit "$tmp/warm" "$tmp/floor.sh"
timeit "$tmp/warm" "$recipe_cmd"
for i in $(seq 1 "$runs"); do
	timeit "$tmp/floor.times" "$tmp/floor.sh"
	timeit "$tmp/recipe.times" "$recipe_cmd"
	echo "run $i: floor $(tail -1 "$tmp/floor.times") s, recipe $(tail -1 "$tmp/recipe.times") s"
done
python3 - "$tmp" <<'PY'
import json, sys
tmp = sys.argv[1]
res = [{"command": n, "times": [float(x) for x in open(f"{tmp}/{n}.times")]} for n in ("floor", "recipe")]
json.dump({"results": res}, open(f"{tmp}/bake.json", "w"))
PY

echo "== (a) no-op re-apply of nginx on the baked image"
c=$(docker run -d --label "$label" bake-bench/nginx-recipe:bench)
"$tmp/bake" recipe render nginx >"$tmp/nginx.sh"
docker cp "$tmp/nginx.sh" "$c:/tmp/nginx.sh"
docker exec "$c" sh /tmp/nginx.sh >"$tmp/noop.out"
grep -q 'bake-recipe: done nginx changed=0' "$tmp/noop.out" || { echo "re-apply changed something:" >&2; cat "$tmp/noop.out" >&2; exit 1; }
hyperfine --runs 20 --warmup 2 --export-json "$tmp/noop.json" \
	-n "exec script" "docker exec $c sh /tmp/nginx.sh >/dev/null" \
	-n "upload+exec" "docker cp $tmp/nginx.sh $c:/tmp/nginx.sh && docker exec $c sh /tmp/nginx.sh >/dev/null" \
	-n "docker exec true" "docker exec $c true"

mkdir -p docs/bench
python3 - "$tmp" "$out" "$runs" "$fetch" <<'PY'
import datetime, json, os, statistics, sys
tmp, out, runs, fetch = sys.argv[1:5]
def med(path):
    return {r["command"]: (statistics.median(r["times"]), r["times"]) for r in json.load(open(path))["results"]}
b = med(tmp + "/bake.json")
n = med(tmp + "/noop.json")
floor, recipe = b["floor"][0], b["recipe"][0]
ratio = recipe / floor
now = datetime.datetime.now(datetime.timezone.utc)
lines = [
    "# Recipes benchmark",
    "",
    f"Written by `bench/recipes.sh` on {now:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs shared with other work.",
    f"Packages come from {fetch}, the same way for both sides.",
    "",
    "## (a) Re-applying nginx when nothing changes (target: at most 1 s)",
    "",
    "| what | median | min | max |",
    "| --- | --- | --- | --- |",
]
for k in ["exec script", "upload+exec", "docker exec true"]:
    m, t = n[k]
    lines.append(f"| {k} | {m*1000:.0f} ms | {min(t)*1000:.0f} ms | {max(t)*1000:.0f} ms |")
ok_a = n["upload+exec"][0] <= 1.0
lines += [
    "",
    f"A no-op re-apply (upload the script, run it: every resource checked, none changed) takes "
    f"**{n['upload+exec'][0]*1000:.0f} ms** median, {'within' if ok_a else 'OVER'} the 1 s target; 20 runs after 2 warm-ups.",
    "`docker exec true` is the floor of any step that runs a command in the container. The docker CLI is",
    "used here; the provisioner makes the same calls through the Engine API, without the CLI's start-up.",
    "",
    "## (b) A bake with the nginx recipe vs the hand-written shell floor (target: at most 1.15x)",
    "",
    "| what | median | min | max |",
    "| --- | --- | --- | --- |",
]
for k in ["floor", "recipe"]:
    m, t = b[k]
    lines.append(f"| {k} | {m:.2f} s | {min(t):.2f} s | {max(t):.2f} s |")
ok_b = ratio <= 1.15
lines += [
    "",
    f"Ratio recipe / floor: **{ratio:.2f}x**, {'within' if ok_b else 'OVER'} the 1.15x target; medians of {runs} runs each,",
    "interleaved (floor, recipe, floor, ...) after one warm-up of each, so that other load on the machine falls on both.",
    "The bake runs with `--no-cache`, so that bake's step cache does not skip the provisioning.",
    "",
    "The floor is docker run, one docker exec of `apt-get update && apt-get install nginx-light` with the site",
    "config and an index page, docker commit and docker rm. The recipe side is `bake build` of a docker source",
    "with `provisioner \"recipe\" { name = \"nginx\" }`: resolve the base, start the container, upload and run",
    "the compiled script (which also writes the bake-services supervisor), commit with bake's labels, tag, and",
    "remove the container. The recipe's script does two things the floor does not, and they are why it can be",
    "faster: apt-get update skips translations (Acquire::Languages=none), and a policy-rc.d keeps the package's",
    "maintainer scripts from starting nginx inside the build container.",
    "",
    "## Commands",
    "",
    "```",
    "bash bench/recipes.sh   # RUNS=5 by default",
    "# (b), interleaved, timed with date +%s.%N:",
    "floor.sh   # docker run; docker exec sh -c 'apt-get update; apt-get install nginx-light; config'; docker commit; docker rm",
    "bake build --no-cache --manifest '' --version bench nginx.bake.hcl",
    "# (a):",
    "hyperfine --runs 20 --warmup 2 'docker exec C sh /tmp/nginx.sh' \\",
    "  'docker cp nginx.sh C:/tmp/nginx.sh && docker exec C sh /tmp/nginx.sh' 'docker exec C true'",
    "```",
    "",
]
open(out, "w").write("\n".join(lines))
print("\n".join(lines))
PY
