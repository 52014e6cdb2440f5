#!/usr/bin/env bash
# The floor of case (a) over SSH: the least the Docker CLI and OpenSSH need
# to do the same work: start a container running sshd on a loopback port,
# wait for it, run the 10 echo steps over one multiplexed connection,
# commit the container and remove it. No host key check: a lower bound.
#   floor.sh KEYFILE PUBKEYFILE
set -euo pipefail
key=$1
pub=$(cat "$2")
ctl=$(mktemp -u /tmp/bake-floor.XXXXXX)
cid=$(docker run -d --label dev.bake.bench=ssh -p 127.0.0.1::22 --entrypoint /bin/sh localbase/debian:bookworm -c \
	"ssh-keygen -A >/dev/null && mkdir -p /run/sshd /root/.ssh && echo '$pub' > /root/.ssh/authorized_keys && exec /usr/sbin/sshd -D -e")
trap 'ssh -S "$ctl" -O exit x 2>/dev/null || true; docker rm -f "$cid" >/dev/null' EXIT
port=$(docker port "$cid" 22/tcp | head -1 | sed 's/.*://')
opts=(-q -i "$key" -p "$port" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -S "$ctl")
for _ in $(seq 1 500); do
	if ssh "${opts[@]}" -o ControlMaster=yes -o ControlPersist=yes root@127.0.0.1 true 2>/dev/null; then
		break
	fi
	sleep 0.01
done
for i in $(seq 1 10); do
	ssh "${opts[@]}" root@127.0.0.1 "echo step $i"
done
docker commit "$cid" bench/ssh-a-floor:latest >/dev/null
