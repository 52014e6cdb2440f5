#!/usr/bin/env bash
# Makes localbase/debian-systemd:bookworm, the image behind bake sim's Debian 12
# AMI: the base image plus systemd, dbus and sudo, a login user "admin" with
# passwordless sudo (as on Debian's official AMIs), and a boot unit that makes
# ssh host keys, installs the instance's key pair and prints the host key
# fingerprints to the console between cloud-init's markers.
# Idempotent: skipped when the image exists (FORCE=1 rebuilds it).
set -euo pipefail

image=${1:-localbase/debian-systemd:bookworm}
base=${BASE:-localbase/debian:bookworm}
here=$(cd "$(dirname "$0")" && pwd)

if [[ -z ${FORCE:-} ]] && docker image inspect "$image" >/dev/null 2>&1; then
	echo "sim image $image exists, skipping"
	exit 0
fi
if ! docker image inspect "$base" >/dev/null 2>&1; then
	"$here/base-image.sh" "$base"
fi

old=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
name=bake-setup-sim-$$
cleanup() { docker rm -f "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT
docker run -d --name "$name" --label bake.setup=sim "$base" sleep infinity >/dev/null

docker exec -i "$name" bash -euo pipefail <<'SCRIPT'
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends systemd systemd-sysv dbus sudo libpam-systemd >/dev/null
useradd -m -s /bin/bash -G sudo admin
echo 'admin ALL=(ALL) NOPASSWD:ALL' >/etc/sudoers.d/90-cloud-init-users
chmod 0440 /etc/sudoers.d/90-cloud-init-users
echo 'admin' >/etc/bake-sim-login-user

cat >/usr/local/sbin/bake-sim-boot <<'BOOT'
#!/bin/sh
# Runs once per boot before sshd, like cloud-init's ssh module: makes the
# host keys a fresh machine needs, installs the key pair bake sim dropped in
# /var/lib/bake-sim/authorized_keys for the login user, and prints the host
# key fingerprints to the console (the container's tty, which is the
# console output GetConsoleOutput returns).
set -e
console=/dev/console
[ -w "$console" ] || console=/proc/1/fd/1
state=/var/lib/bake-sim
# Host keys belong to one instance: an image made from an instance must not
# hand its keys on, so they are remade when the instance id changes.
id=$(cat "$state/instance-id" 2>/dev/null || true)
if [ "$id" != "$(cat "$state/host-keys-for" 2>/dev/null || true)" ]; then
	rm -f /etc/ssh/ssh_host_*
	[ -z "$id" ] || echo "$id" >"$state/host-keys-for"
fi
for t in ed25519 ecdsa; do
	f=/etc/ssh/ssh_host_${t}_key
	[ -s "$f" ] || ssh-keygen -q -t "$t" -N '' -f "$f"
done
user=$(cat /etc/bake-sim-login-user 2>/dev/null || echo admin)
if [ -s "$state/authorized_keys" ] && id "$user" >/dev/null 2>&1; then
	home=$(getent passwd "$user" | cut -d: -f6)
	install -d -m 0700 -o "$user" -g "$user" "$home/.ssh"
	install -m 0600 -o "$user" -g "$user" "$state/authorized_keys" "$home/.ssh/authorized_keys"
fi
{
	echo "-----BEGIN SSH HOST KEY FINGERPRINTS-----"
	for f in /etc/ssh/ssh_host_*_key.pub; do ssh-keygen -l -f "$f"; done
	echo "-----END SSH HOST KEY FINGERPRINTS-----"
	echo "-----BEGIN SSH HOST KEY KEYS-----"
	cat /etc/ssh/ssh_host_*_key.pub
	echo "-----END SSH HOST KEY KEYS-----"
} | sed 's/^/ec2: /' >"$console"
BOOT
chmod 0755 /usr/local/sbin/bake-sim-boot

cat >/usr/local/sbin/bake-sim-user-data <<'USERDATA'
#!/bin/sh
# Runs the instance's user data once per instance when it is a script, as
# cloud-init does; its output goes to the console.
state=/var/lib/bake-sim
console=/dev/console
[ -w "$console" ] || console=/proc/1/fd/1
id=$(cat "$state/instance-id" 2>/dev/null || true)
[ -s "$state/user-data" ] || exit 0
[ "$(head -c2 "$state/user-data")" = "#!" ] || exit 0
[ "$(cat "$state/user-data.done" 2>/dev/null || true)" != "$id" ] || exit 0
echo "$id" >"$state/user-data.done"
chmod 0700 "$state/user-data"
"$state/user-data" >"$console" 2>&1
USERDATA
chmod 0755 /usr/local/sbin/bake-sim-user-data

cat >/etc/systemd/system/bake-sim-boot.service <<'UNIT'
[Unit]
Description=Make ssh host keys and install the instance key pair (bake sim)
Before=ssh.service
ConditionPathExists=/usr/local/sbin/bake-sim-boot

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/bake-sim-boot
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target
UNIT
cat >/etc/systemd/system/bake-sim-user-data.service <<'UNIT'
[Unit]
Description=Run the instance's user data (bake sim)
After=bake-sim-boot.service ssh.service network.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/bake-sim-user-data
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target
UNIT
systemctl enable bake-sim-boot.service bake-sim-user-data.service ssh.service >/dev/null 2>&1
# A container has no consoles, udev or kernel modules: skip their units so a
# boot reaches sshd quickly.
systemctl mask getty@tty1.service console-getty.service systemd-udevd.service \
	systemd-udev-trigger.service systemd-modules-load.service sys-kernel-debug.mount \
	sys-kernel-tracing.mount systemd-remount-fs.service apt-daily.timer \
	apt-daily-upgrade.timer e2scrub_reap.service >/dev/null 2>&1
rm -f /etc/ssh/ssh_host_* /etc/machine-id /var/lib/dbus/machine-id
touch /etc/machine-id
apt-get clean
rm -rf /var/lib/apt/lists/*
SCRIPT

docker stop -t 1 "$name" >/dev/null
docker commit \
	--change 'CMD ["/sbin/init"]' \
	--change 'ENV container=docker' \
	--change 'LABEL bake.sim.login-user=admin' \
	"$name" "$image" >/dev/null
# A rebuild (FORCE=1) leaves the previous image untagged: remove it, unless
# something still runs from it.
if [[ -n $old && $old != "$(docker image inspect -f '{{.Id}}' "$image")" ]]; then
	docker rmi "$old" >/dev/null 2>&1 || true
fi
echo "made $image"
