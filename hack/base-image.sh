#!/usr/bin/env bash
# Makes the local base image localbase/debian:bookworm with debootstrap, because
# no image can be pulled on this project's machines. Skipped when the image exists.
# A normal user would use debian:bookworm from a registry instead.
set -euo pipefail

image=${1:-localbase/debian:bookworm}
suite=${SUITE:-bookworm}
mirror=${MIRROR:-http://deb.debian.org/debian}

if docker image inspect "$image" >/dev/null 2>&1; then
	echo "base image $image exists, skipping"
	exit 0
fi
if ! command -v debootstrap >/dev/null; then
	echo "debootstrap is missing: apt-get install debootstrap" >&2
	exit 1
fi

dir=$(mktemp -d /tmp/bake-base.XXXXXX)
trap 'rm -rf "$dir"' EXIT
echo "debootstrap $suite into $dir"
debootstrap --variant=minbase --include=openssh-server,ca-certificates "$suite" "$dir" "$mirror" >"$dir.log" 2>&1 || {
	tail -20 "$dir.log" >&2
	exit 1
}
# sshd's host keys are made per machine at boot, never shipped in an image.
rm -f "$dir"/etc/ssh/ssh_host_*
rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/archives/*.deb
tar -C "$dir" -c . | docker import \
	--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
	--change 'CMD ["bash"]' - "$image"
rm -f "$dir.log"
echo "made $image"
