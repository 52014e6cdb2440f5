# --- bake recipe runtime ------------------------------------------------
# Each resource below runs between _begin and _end: it checks the state it
# wants and calls _changed only when it had to change something. The first
# failing command stops the script (set -e), and the exit trap names the
# resource that failed.
set -eu
umask 022
export LC_ALL=C
_bake_res='' _bake_at='' _bake_did=0 _bake_changed=0 _bake_ok=0
_bake_notify='' _bake_policy='' _bake_apt_updated=''
_bake_pkg_specs='' _bake_pkg_lines=''
_bake_tmp=$(mktemp -d "${TMPDIR:-/tmp}/bake-recipe.XXXXXX")

_bake_exit() {
	_code=$?
	[ -z "$_bake_policy" ] || rm -f /usr/sbin/policy-rc.d
	rm -rf "$_bake_tmp"
	[ -z "${BAKE_RECIPE_DIR:-}" ] || rm -rf "$BAKE_RECIPE_DIR"
	if [ "$_code" -ne 0 ] && [ -n "$_bake_res" ]; then
		echo "bake-recipe: failed $_bake_res at $_bake_at exit=$_code"
	fi
	exit "$_code"
}
trap _bake_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

_begin() { _bake_res=$1 _bake_at=$2 _bake_did=0; }
_changed() { _bake_did=1; }
# _end [SERVICE...]: reports the resource; when it changed, the services
# named are restarted once at the end.
_end() {
	if [ "$_bake_did" = 1 ]; then
		echo "bake-recipe: changed $_bake_res"
		_bake_changed=$((_bake_changed + 1))
		for _s; do
			case " $_bake_notify " in *" $_s "*) ;; *) _bake_notify="$_bake_notify $_s" ;; esac
		done
	else
		echo "bake-recipe: ok $_bake_res"
		_bake_ok=$((_bake_ok + 1))
	fi
	_bake_res=''
}
_note() { echo "bake-recipe: note $_bake_res: $*"; }
_systemd() { [ -d /run/systemd/system ]; }

# _content: the next file's content, from stdin.
_content() { cat >"$_bake_tmp/content"; }

# _attrs PATH [mode=M] [owner=U] [group=G]: sets what differs.
_attrs() {
	_p=$1
	shift
	for _a; do
		case $_a in
		mode=?*)
			if [ "$(stat -c %a "$_p")" != "${_a#mode=}" ]; then chmod "${_a#mode=}" "$_p" && _changed; fi ;;
		owner=?*)
			_f=%U; case ${_a#owner=} in *[!0-9]*) ;; *) _f=%u ;; esac
			if [ "$(stat -c "$_f" "$_p")" != "${_a#owner=}" ]; then chown "${_a#owner=}" "$_p" && _changed; fi ;;
		group=?*)
			_f=%G; case ${_a#group=} in *[!0-9]*) ;; *) _f=%g ;; esac
			if [ "$(stat -c "$_f" "$_p")" != "${_a#group=}" ]; then chgrp "${_a#group=}" "$_p" && _changed; fi ;;
		esac
	done
}

# _file PATH [mode=M] [owner=U] [group=G]: PATH gets the _content.
_file() {
	if [ -d "$1" ] && [ ! -L "$1" ]; then
		echo "$1 is a directory, not a file" >&2
		return 1
	fi
	if [ ! -f "$1" ] || ! cmp -s "$_bake_tmp/content" "$1"; then
		mkdir -p "$(dirname "$1")"
		cp "$_bake_tmp/content" "$1.bake-new"
		_attrs "$1.bake-new" "$@"
		mv -f "$1.bake-new" "$1"
		_changed
	else
		_attrs "$@"
	fi
}

# _absent PATH: removes a file or symlink.
_absent() {
	if [ -d "$1" ] && [ ! -L "$1" ]; then
		echo "$1 is a directory; recipes remove only files and symlinks" >&2
		return 1
	fi
	if [ -e "$1" ] || [ -L "$1" ]; then rm -f "$1" && _changed; fi
}

# _dir PATH [mode=M] [owner=U] [group=G]
_dir() {
	if [ ! -d "$1" ]; then mkdir -p "$1" && _changed; fi
	_attrs "$@"
}

# _dir_sync SRC DST [owner=U] [group=G]: copies the tree SRC into DST
# when they differ (files in DST that SRC lacks are left alone).
_dir_sync() {
	if diff -r -q "$1" "$2" 2>&1 | grep -v -F "Only in $2" | grep -q .; then
		mkdir -p "$2"
		cp -R "$1/." "$2/" && _changed
	fi
	for _a; do
		case $_a in
		owner=?*) if [ -n "$(find "$2" ! -user "${_a#owner=}" | head -n 1)" ]; then chown -R "${_a#owner=}" "$2" && _changed; fi ;;
		group=?*) if [ -n "$(find "$2" ! -group "${_a#group=}" | head -n 1)" ]; then chgrp -R "${_a#group=}" "$2" && _changed; fi ;;
		esac
	done
}

# _symlink PATH TARGET
_symlink() {
	if [ -d "$1" ] && [ ! -L "$1" ]; then
		echo "$1 is a directory, not a symlink" >&2
		return 1
	fi
	if [ "$(readlink "$1" 2>/dev/null || true)" != "$2" ]; then
		mkdir -p "$(dirname "$1")"
		ln -sfn "$2" "$1" && _changed
	fi
}

# _group NAME [gid=N] [system=yes]
_group() {
	getent group "$1" >/dev/null && return 0
	_n=$1
	shift
	set -- "$_n" "$@"
	_args=''
	for _a; do
		case $_a in gid=?*) _args="$_args -g ${_a#gid=}" ;; system=yes) _args="$_args -r" ;; esac
	done
	if command -v groupadd >/dev/null; then
		# shellcheck disable=SC2086
		groupadd $_args "$1"
	else
		addgroup $(echo "$_args" | sed 's/-r/-S/') "$1"
	fi
	_changed
}

# _user NAME [uid=N] [group=G] [groups="A B"] [home=DIR] [shell=SH] [system=yes]
_user() {
	_n=$1 _shell='' _groups='' _args=''
	shift
	for _a; do
		case $_a in
		uid=?*) _args="$_args -u ${_a#uid=}" ;;
		group=?*) _args="$_args -g ${_a#group=}" ;;
		home=?*) _args="$_args -d ${_a#home=}" ;;
		shell=?*) _shell=${_a#shell=} ; _args="$_args -s $_shell" ;;
		system=yes) _args="$_args -r" ;;
		groups=*) _groups=${_a#groups=} ;;
		esac
	done
	if ! getent passwd "$_n" >/dev/null; then
		case " $_args " in *" -r "*) ;; *) _args="$_args -m" ;; esac
		# shellcheck disable=SC2086
		useradd $_args "$_n"
		_changed
	elif [ -n "$_shell" ] && [ "$(getent passwd "$_n" | cut -d: -f7)" != "$_shell" ]; then
		usermod -s "$_shell" "$_n" && _changed
	fi
	for _g in $_groups; do
		if ! id -nG "$_n" | tr ' ' '\n' | grep -qx "$_g"; then
			usermod -a -G "$_g" "$_n" && _changed
		fi
	done
}

# _home USER: the user's home directory.
_home() { getent passwd "$1" | cut -d: -f6; }

# _sh [user=U] [dir=D]: runs the script on stdin with sh -e.
_sh() {
	_su='' _sd=''
	for _a; do
		case $_a in user=?*) _su=${_a#user=} ;; dir=?*) _sd=${_a#dir=} ;; esac
	done
	if [ -n "$_su" ]; then
		(cd "${_sd:-/}" && exec setpriv --reuid="$_su" --regid="$(id -g "$_su")" --init-groups \
			env HOME="$(_home "$_su")" USER="$_su" LOGNAME="$_su" /bin/sh -e)
	else
		(cd "${_sd:-/}" && exec /bin/sh -e)
	fi
}

# _line_in_file PATH MATCH LINE: LINE is in PATH exactly once, in place of
# the first line matching the extended regexp MATCH (appended when none).
_line_in_file() {
	[ -e "$1" ] || : >"$1"
	_lif_re=$2 _lif_line=$3 awk '
		BEGIN { re = ENVIRON["_lif_re"]; line = ENVIRON["_lif_line"]; found = 0 }
		$0 == line || (re != "" && $0 ~ re) { if (!found) { print line; found = 1 }; next }
		{ print }
		END { if (!found) print line }
	' "$1" >"$_bake_tmp/line"
	if ! cmp -s "$_bake_tmp/line" "$1"; then
		cat "$_bake_tmp/line" >"$1" && _changed
	fi
}

# --- packages: apt, dnf/yum or apk, whichever the machine has ------------
_pkg_manager() {
	if command -v apt-get >/dev/null; then echo apt
	elif command -v dnf >/dev/null; then echo dnf
	elif command -v yum >/dev/null; then echo yum
	elif command -v apk >/dev/null; then echo apk
	else
		echo "no package manager found (apt-get, dnf, yum or apk)" >&2
		return 1
	fi
}

# _pkg_installed NAME [VERSION]: VERSION is a shell glob (1.22*).
_pkg_installed() {
	case $_bake_pm in
	apt) _v=$(dpkg-query -W -f='${db:Status-Abbrev}${Version}' "$1" 2>/dev/null) || return 1
		case $_v in "ii "*) _v=${_v#ii } ;; *) return 1 ;; esac ;;
	dnf | yum) _v=$(rpm -q --qf '%{VERSION}-%{RELEASE}' "$1" 2>/dev/null) || return 1 ;;
	apk) apk info -e "$1" >/dev/null 2>&1 || return 1
		_v=$(apk info -v "$1" 2>/dev/null | head -n 1); _v=${_v#"$1"-} ;;
	*) return 1 ;;
	esac
	[ -z "${2:-}" ] && return 0
	# shellcheck disable=SC2254
	case $_v in $2) return 0 ;; esac
	return 1
}

# _pkg ID NAME VERSION: queues NAME for the next _pkg_commit.
_pkg() {
	if _pkg_installed "$2" "$3"; then
		_bake_pkg_lines="$_bake_pkg_lines
ok $1"
		return 0
	fi
	case $_bake_pm in
	apt | apk) _s=$2${3:+=$3} ;;
	*) _s=$2${3:+-$3} ;;
	esac
	_bake_pkg_specs="$_bake_pkg_specs $_s"
	_bake_pkg_lines="$_bake_pkg_lines
changed $1"
}

# _pkg_commit AT: installs the queued packages in one transaction.
_pkg_commit() {
	if [ -n "$_bake_pkg_specs" ]; then
		_begin "package[$(echo $_bake_pkg_specs | sed 's/ /, /g')]" "$1"
		# shellcheck disable=SC2086
		_pkg_install $_bake_pkg_specs
		_bake_res=''
	fi
	while read -r _st _id; do
		[ -n "$_st" ] || continue
		echo "bake-recipe: $_st $_id"
		if [ "$_st" = changed ]; then _bake_changed=$((_bake_changed + 1)); else _bake_ok=$((_bake_ok + 1)); fi
	done <<EOF
$_bake_pkg_lines
EOF
	_bake_pkg_specs='' _bake_pkg_lines=''
}

_apt_update() {
	[ -z "$_bake_apt_updated" ] || return 0
	# apt-get update exits 0 when an index failed to download; say so here
	# rather than as "unable to locate package" later.
	# No translations: an image has no use for them, and they are a third
	# of what apt-get update downloads and parses.
	apt-get update -q -o Acquire::Languages=none 2>&1 | tee "$_bake_tmp/update"
	if grep -q '^\(W: Failed to fetch\|E: \|Err:\)' "$_bake_tmp/update"; then
		echo "apt-get update could not fetch every index: check the network, the mirror and any proxy (http_proxy)" >&2
		return 1
	fi
	_bake_apt_updated=yes
}

# _no_service_starts: packages must not start services in an image build
# (no init runs there); policy-rc.d says so to Debian's maintainer scripts.
_no_service_starts() {
	if ! _systemd && [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		_bake_policy=yes
	fi
}

_pkg_install() {
	case $_bake_pm in
	apt)
		_apt_update
		_no_service_starts
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends --allow-downgrades \
			-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@" ;;
	dnf | yum) "$_bake_pm" install -y "$@" ;;
	apk) apk add --no-cache "$@" ;;
	*) echo "no package manager found (apt-get, dnf, yum or apk)" >&2; return 1 ;;
	esac
}

# _pkg_upgrade: applies pending updates; reports how many packages changed.
_pkg_upgrade() {
	case $_bake_pm in
	apt)
		_apt_update
		_n=$(apt-get -s -o Debug::NoLocking=1 dist-upgrade | grep -c '^Inst ' || true)
		if [ "$_n" -gt 0 ]; then
			_no_service_starts
			DEBIAN_FRONTEND=noninteractive apt-get dist-upgrade -y -q \
				-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold
			_changed
		fi ;;
	dnf | yum)
		_n=$("$_bake_pm" -q check-update | grep -c '^[^ ]' || true)
		if [ "$_n" -gt 0 ]; then "$_bake_pm" upgrade -y && _changed; fi ;;
	apk)
		apk update -q
		_n=$(apk version -l '<' | grep -c '<' || true)
		if [ "$_n" -gt 0 ]; then apk upgrade --no-cache && _changed; fi ;;
	esac
	echo "bake-recipe: fact packages_upgraded=$_n"
}

# --- services -----------------------------------------------------------
# With systemd running, a service is a unit, enabled and started. Without
# it (a container image being built), every service is a run script in
# /etc/bake/services, and the image's process must be
# /usr/local/sbin/bake-services, which runs them all.
_service() { # NAME [UNIT]: the run script is the _content
	_file "/etc/bake/services/$1.run" mode=755
	if _systemd; then
		_unit=${2:-$1}
		if [ -z "${2:-}" ] && { ! systemctl cat "$1.service" >/dev/null 2>&1 || [ -f "/etc/systemd/system/$1.service" ]; }; then
			printf '[Unit]\nDescription=%s (bake recipe)\nAfter=network.target\n\n[Service]\nExecStart=/etc/bake/services/%s.run\nRestart=on-failure\n\n[Install]\nWantedBy=multi-user.target\n' "$1" "$1" | _content
			_file "/etc/systemd/system/$1.service"
			[ "$_bake_did" = 0 ] || systemctl daemon-reload
		fi
		if ! systemctl is-enabled -q "$_unit"; then systemctl enable -q "$_unit" && _changed; fi
		if ! systemctl is-active -q "$_unit"; then systemctl start "$_unit" && _changed; fi
	else
		_bake_supervisor
		_note "no systemd here: the image's process must be /usr/local/sbin/bake-services, which runs every service in /etc/bake/services"
		echo "bake-recipe: image-cmd /usr/local/sbin/bake-services"
	fi
}

_bake_supervisor() {
	_content <<'BAKE_EOF'
#!/bin/sh
# bake-services runs every service in /etc/bake/services as the image's
# process, where no systemd runs. It forwards SIGTERM and SIGINT to them;
# when any one exits it stops the others and exits, so that the container
# ends and whatever runs it can restart it. Written by a bake recipe.
pids=''
stop() {
	trap '' TERM INT USR1
	kill -TERM 0 2>/dev/null
	wait
	exit "$1"
}
trap 'stop 143' TERM INT
trap 'stop 1' USR1
for svc in /etc/bake/services/*.run; do
	[ -x "$svc" ] || continue
	name=$(basename "$svc" .run)
	(
		"$svc"
		echo "bake-services: $name exited with code $?" >&2
		kill -USR1 $$
	) &
	pids="$pids $!"
	echo "bake-services: started $name" >&2
done
[ -n "$pids" ] || { echo "bake-services: no service in /etc/bake/services" >&2; exit 1; }
wait
exit 1
BAKE_EOF
	_file /usr/local/sbin/bake-services mode=755
}

# _restart NAME [UNIT]: the end-of-run handler of a service, when a
# resource that changed notified it.
_restart() {
	case " $_bake_notify " in *" $1 "*) ;; *) return 0 ;; esac
	if _systemd; then
		systemctl restart "${2:-$1}"
		echo "bake-recipe: restarted $1"
	else
		echo "bake-recipe: note service[$1]: not restarted, nothing runs it while the image is built; bake-services starts it with the new configuration"
	fi
}

_bake_done() { # RECIPE
	echo "bake-recipe: done $1 changed=$_bake_changed ok=$_bake_ok"
}
_bake_pm=$(_pkg_manager 2>/dev/null || echo none)
# --- end of runtime -------------------------------------------------------
