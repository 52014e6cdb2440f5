#!/usr/bin/env bash
# Makes localbase/debian-systemd:bookworm, the image behind bake sim's public
# AMIs (Ubuntu, Debian and Amazon Linux by name, Debian bookworm underneath):
# the base image plus systemd, dbus, sudo, python3 (for ansible) and the tools
# cloud images have (curl, wget, gnupg, lsb-release, unzip, and ufw with
# iptables, inactive, as on Ubuntu's AMIs), a login user
# "admin" with passwordless sudo (as on Debian's official AMIs), a boot unit
# that, like cloud-init, makes the AMI's login user (ubuntu, admin, ec2-user)
# with passwordless sudo when it is missing, makes ssh host keys, installs the
# instance's key pair and prints the host key fingerprints to the console
# between cloud-init's markers, and a small `cloud-init status --wait` that
# templates wait on.
# The apt package lists stay in the image, as real cloud images ship them:
# templates install packages without an apt-get update first. They are as
# old as the image (as an AMI's are as old as the AMI); FORCE=1 refreshes
# them. ufw works on an instance because the sim gives instance containers
# CAP_NET_ADMIN (its rules live in the container's network namespace).
# Idempotent: skipped when the image exists at this script's version
# (FORCE=1 rebuilds it).
set -euo pipefail

image=${1:-localbase/debian-systemd:bookworm}
base=${BASE:-localbase/debian:bookworm}
here=$(cd "$(dirname "$0")" && pwd)

# The image's version: bump it when the image changes, so that machines with
# an older image rebuild it.
version=3
have=$(docker image inspect -f '{{index .Config.Labels "bake.sim.image-version"}}' "$image" 2>/dev/null || true)
if [[ -z ${FORCE:-} && $have == "$version" ]]; then
	echo "sim image $image (version $version) exists, skipping"
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
apt-get install -y -qq --no-install-recommends systemd systemd-sysv dbus sudo libpam-systemd \
	python3 curl wget gnupg lsb-release unzip less ufw iptables >/dev/null
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
rm -f /var/lib/cloud/instance/boot-finished
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
# The login user is the AMI's (bake sim writes it to $state/login-user), as
# cloud-init makes its default user: passwordless sudo, the key pair.
user=$(cat "$state/login-user" 2>/dev/null || cat /etc/bake-sim-login-user 2>/dev/null || echo admin)
if [ "$user" != root ] && ! id "$user" >/dev/null 2>&1; then
	groups=$(for g in adm sudo systemd-journal; do getent group "$g" >/dev/null && printf '%s,' "$g"; done; true)
	useradd -m -s /bin/bash -G "${groups%,}" "$user"
fi
if [ "$user" != root ] && ! grep -qs "^$user " /etc/sudoers.d/90-cloud-init-users; then
	printf '# User rules for %s\n%s ALL=(ALL) NOPASSWD:ALL\n' "$user" "$user" >>/etc/sudoers.d/90-cloud-init-users
	chmod 0440 /etc/sudoers.d/90-cloud-init-users
fi
echo "$user" >/etc/bake-sim-login-user
if [ -s "$state/authorized_keys" ] && id "$user" >/dev/null 2>&1; then
	home=$(getent passwd "$user" | cut -d: -f6)
	install -d -m 0700 -o "$user" -g "$(id -gn "$user")" "$home/.ssh"
	install -m 0600 -o "$user" -g "$(id -gn "$user")" "$state/authorized_keys" "$home/.ssh/authorized_keys"
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

cat >/usr/bin/cloud-init <<'CLOUDINIT'
#!/bin/sh
# Not cloud-init: bake sim's boot unit does its work. This answers the
# calls templates make to wait for it (cloud-init status --wait).
case "$1" in
status)
	if [ "$2" = --wait ]; then
		while [ ! -e /var/lib/cloud/instance/boot-finished ]; do sleep 1; done
	fi
	if [ -e /var/lib/cloud/instance/boot-finished ]; then echo "status: done"; else echo "status: running"; fi
	;;
--version | -v) echo "/usr/bin/cloud-init 23.1.1 (bake sim)" ;;
*) echo "cloud-init $*: bake sim has no cloud-init, only 'status [--wait]'" >&2; exit 1 ;;
esac
CLOUDINIT
chmod 0755 /usr/bin/cloud-init

cat >/usr/local/sbin/bake-sim-user-data <<'USERDATA'
#!/bin/sh
# Runs the instance's user data once per instance when it is a script, as
# cloud-init does; its output goes to the console. Then, as cloud-init's
# last stage does, writes /var/lib/cloud/instance/boot-finished.
state=/var/lib/bake-sim
console=/dev/console
[ -w "$console" ] || console=/proc/1/fd/1
id=$(cat "$state/instance-id" 2>/dev/null || true)
if [ -s "$state/user-data" ] && [ "$(head -c2 "$state/user-data")" = "#!" ] &&
	[ "$(cat "$state/user-data.done" 2>/dev/null || true)" != "$id" ]; then
	echo "$id" >"$state/user-data.done"
	chmod 0700 "$state/user-data"
	"$state/user-data" >"$console" 2>&1
fi
mkdir -p /var/lib/cloud/instance
echo "$(cat /proc/uptime | cut -d' ' -f1) bake sim" >/var/lib/cloud/instance/boot-finished
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
# The downloaded .debs go; the package lists stay (see the header).
apt-get clean
SCRIPT

docker stop -t 1 "$name" >/dev/null
docker commit \
	--change 'CMD ["/sbin/init"]' \
	--change 'ENV container=docker' \
	--change 'LABEL bake.sim.login-user=admin' \
	--change "LABEL bake.sim.image-version=$version" \
	"$name" "$image" >/dev/null
# A rebuild (FORCE=1) leaves the previous image untagged: remove it, unless
# something still runs from it.
if [[ -n $old && $old != "$(docker image inspect -f '{{.Id}}' "$image")" ]]; then
	docker rmi "$old" >/dev/null 2>&1 || true
fi
echo "made $image"
