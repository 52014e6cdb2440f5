#!/usr/bin/env bash
# Sets up what the recipes tests need on a fresh machine, and is a no-op
# when it is done: an apt-cacher-ng on the docker bridge's gateway so that
# the test containers (and CI runs after them) download each .deb once.
# apt-cacher-ng serves many containers at once, so no two apt-gets fight
# over a shared archive lock. The tests use it when it answers, and
# download straight from the mirror when it does not.
set -euo pipefail

port=3142
gateway=$(docker network inspect bridge -f '{{(index .IPAM.Config 0).Gateway}}' 2>/dev/null || true)
if [ -z "$gateway" ]; then
	# Engines that leave Gateway out give the bridge the subnet's first address.
	subnet=$(docker network inspect bridge -f '{{(index .IPAM.Config 0).Subnet}}' 2>/dev/null || true)
	gateway=$(printf '%s' "${subnet:-172.17.0.0/16}" | awk -F'[./]' '{ printf "%d.%d.%d.%d", $1, $2, $3, $4 + 1 }')
fi

if ! command -v apt-cacher-ng >/dev/null && [ ! -x /usr/sbin/apt-cacher-ng ]; then
	echo "installing apt-cacher-ng"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends apt-cacher-ng >/dev/null
fi

# Listen on loopback and on the docker bridge only, never on the outside.
conf=/etc/apt-cacher-ng/zz-bake.conf
# Debian's archive is fetched from the host apt itself uses, not from the
# package's default backend list.
mirror=${MIRROR:-http://deb.debian.org/debian/}
want="BindAddress: 127.0.0.1 $gateway
Port: $port
Remap-debrep: file:deb_mirror*.gz /debian ; $mirror"
if [ "$(cat "$conf" 2>/dev/null)" != "$want" ]; then
	printf '%s\n' "$want" >"$conf"
	# Restart the daemon (by its pid file) to read the new config.
	pid=$(cat /var/run/apt-cacher-ng/pid 2>/dev/null || true)
	if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	fi
fi

if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
	echo "starting apt-cacher-ng on 127.0.0.1:$port and $gateway:$port"
	if command -v service >/dev/null && service apt-cacher-ng start >/dev/null 2>&1; then
		:
	else
		mkdir -p /var/run/apt-cacher-ng /var/cache/apt-cacher-ng /var/log/apt-cacher-ng
		chown apt-cacher-ng: /var/run/apt-cacher-ng /var/cache/apt-cacher-ng /var/log/apt-cacher-ng 2>/dev/null || true
		/usr/sbin/apt-cacher-ng -c /etc/apt-cacher-ng ForeGround=0
	fi
	for _ in $(seq 1 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
		sleep 0.2
	done
fi
(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "apt-cacher-ng did not start on port $port" >&2; exit 1; }
echo "apt-cacher-ng serves http://$gateway:$port (set BAKE_TEST_APT_PROXY to use another)"
