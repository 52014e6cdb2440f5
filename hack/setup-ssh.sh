#!/usr/bin/env bash
# Sets up what the SSH communicator's tests and bench/ssh.sh need on a fresh
# Debian machine; a no-op when done. Run as root.
#  - openssh-server (sshd run by the tests on a 127.0.0.1 port with their own
#    config; the system's sshd service is not needed and not touched)
#  - openssh-client (sftp, scp, ssh for bench/ssh.sh), sudo (the sudo test)
#  - /run/sshd, which sshd requires and Debian's service makes at boot
set -euo pipefail

missing=()
for pkg in openssh-server openssh-client sudo; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# policy-rc.d keeps the package from starting a system sshd on port 22.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
install -d -m 0755 /run/sshd
echo "ssh test setup done"
