#!/usr/bin/env bash
# make demo: bake testdata/web (bake's nginx recipe and a page showing the
# version), run it on a loopback port, fetch its page, and remove the
# container again.
set -euo pipefail
bin=${1:-bin/bake}
version=demo-$(date -u +%Y%m%d.%H%M%S)

"$bin" build --version "$version" --manifest "" testdata/web
name=bake-demo-$$
docker run -d --rm --name "$name" --label dev.bake.demo=1 -p 127.0.0.1::80 "bake/web:$version" >/dev/null
trap 'docker rm -f "$name" >/dev/null 2>&1 || true' EXIT
port=$(docker port "$name" 80/tcp | head -1 | sed 's/.*://')
for _ in $(seq 1 50); do
	if page=$(curl -fsS "http://127.0.0.1:$port/"); then
		echo "GET http://127.0.0.1:$port/ ->"
		echo "$page"
		grep -q "$version" <<<"$page" || { echo "the page does not show version $version" >&2; exit 1; }
		echo "demo ok: bake/web:$version serves its version"
		exit 0
	fi
	sleep 0.2
done
echo "bake/web:$version did not answer on 127.0.0.1:$port" >&2
docker logs "$name" >&2 || true
exit 1
