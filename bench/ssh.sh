#!/usr/bin/env bash
# Benchmarks bake's SSH communicator against its peers, in one run, and
# writes docs/bench/ssh.md:
#  1. a 1 GiB upload over loopback to one sshd with one cipher: bake's SFTP
#     against OpenSSH's sftp and scp (SFTP protocol, and the legacy scp
#     protocol with -O); bake's peak RSS during it;
#  2. the SSH variant of case (a), 10 inline echo steps in a Docker build:
#     bake build against Packer 1.6.6 and a floor (bench/ssh/floor.sh).
# Commands are timed in interleaved rounds (bench/ssh/interleave.py) so that
# the load of a shared machine falls on all of them alike.
# Needs: go, openssh-server/client, python3, docker with
# localbase/debian:bookworm (hack/base-image.sh), packer 1.6.6 (skipped
# with a note when missing). RUNS=n sets the runs per command (default 5).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/docs/bench/ssh.md
runs=${RUNS:-5}
cipher=aes128-gcm@openssh.com
work=$(mktemp -d /tmp/bake-bench-ssh.XXXXXX)
sshd_pid=

cleanup() {
	if [ -n "$sshd_pid" ]; then kill "$sshd_pid" 2>/dev/null || true; fi
	# Only what this benchmark labelled.
	ids=$(docker ps -aq --filter label=dev.bake.bench=ssh 2>/dev/null || true)
	if [ -n "$ids" ]; then docker rm -f $ids >/dev/null || true; fi
	if [ -n "${rmi:-}" ]; then eval "$rmi"; fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in go sftp scp ssh-keygen /usr/sbin/sshd /usr/bin/time python3 docker; do
	command -v "$tool" >/dev/null || { echo "bench/ssh.sh: $tool is missing" >&2; exit 1; }
done

echo "building bake and bake-ssh-put" >&2
(cd "$root" && go build -o "$work/bake" ./cmd/bake && go build -o "$work/bake-ssh-put" ./bench/cmd/bake-ssh-put)

# --- 1. 1 GiB upload ---------------------------------------------------------
mkdir -p /run/sshd "$work/dst"
ssh-keygen -q -t ed25519 -N '' -C bench-host -f "$work/host_key"
ssh-keygen -q -t ed25519 -N '' -C bench-client -f "$work/id"
cp "$work/id.pub" "$work/authorized_keys"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/sshd_config" <<EOF
ListenAddress 127.0.0.1
HostKey $work/host_key
AuthorizedKeysFile $work/authorized_keys
StrictModes no
PidFile none
UsePAM no
PermitRootLogin yes
Subsystem sftp internal-sftp
LogLevel ERROR
EOF
/usr/sbin/sshd -D -e -f "$work/sshd_config" -p "$port" &
sshd_pid=$!
echo "[127.0.0.1]:$port $(cat "$work/host_key.pub")" >"$work/known_hosts"
echo "writing a 1 GiB random file" >&2
head -c 1G /dev/urandom >"$work/src.bin"
echo "put $work/src.bin $work/dst/sftp" >"$work/batch"

sshopts="-c $cipher -i $work/id -o UserKnownHostsFile=$work/known_hosts -o BatchMode=yes -P $port"
cmd_bake="$work/bake-ssh-put -addr 127.0.0.1:$port -user root -key $work/id -known-hosts $work/known_hosts -cipher $cipher $work/src.bin $work/dst/bake"
cmd_sftp="sftp -q -b $work/batch $sshopts root@127.0.0.1"
cmd_scp="scp -q $sshopts $work/src.bin root@127.0.0.1:$work/dst/scp"
cmd_scp_o="scp -O -q $sshopts $work/src.bin root@127.0.0.1:$work/dst/scp-o"

# The bake command waits for sshd itself; the others need it up.
for _ in $(seq 1 200); do
	ssh -q -p "$port" -i "$work/id" -o UserKnownHostsFile="$work/known_hosts" -o BatchMode=yes root@127.0.0.1 true && break
	sleep 0.05
done

echo "timing the 1 GiB upload ($runs interleaved rounds)" >&2
python3 "$root/bench/ssh/interleave.py" "$work/upload.json" "$runs" "rm -f $work/dst/*" \
	"bake SFTP=$cmd_bake" \
	"OpenSSH sftp=$cmd_sftp" \
	"OpenSSH scp=$cmd_scp" \
	"OpenSSH scp -O=$cmd_scp_o"

echo "measuring peak RSS" >&2
: >"$work/rss"
for _ in 1 2 3; do
	rm -f "$work"/dst/*
	/usr/bin/time -f "bake %M" -a -o "$work/rss" $cmd_bake 2>/dev/null
	rm -f "$work"/dst/*
	/usr/bin/time -f "sftp %M" -a -o "$work/rss" $cmd_sftp >/dev/null
done
rm -f "$work"/dst/* "$work/src.bin"
kill "$sshd_pid"
sshd_pid=

# --- 2. case (a) over SSH ----------------------------------------------------
echo "timing 10 echo steps over SSH ($runs interleaved rounds)" >&2
sed -e "s|@KEY@|$work/id|" -e "s|@PUB@|$(cat "$work/id.pub")|" "$root/bench/ssh/echo10-ssh.pkr.hcl.in" >"$work/echo10-ssh.pkr.hcl"
bake_a="$work/bake build --no-cache --manifest '' --version bench $root/bench/ssh/echo10.bake.hcl"
bake_exec="$work/bake build --no-cache --manifest '' --version bench --var communicator=docker --var repository=bench/ssh-a-exec $root/bench/ssh/echo10.bake.hcl"
images="bench/ssh-a:bench bench/ssh-a-exec:bench bench/ssh-a-packer:latest bench/ssh-a-floor:latest"
rmi="docker rmi -f $images >/dev/null 2>&1 || true"
floor="$root/bench/ssh/floor.sh $work/id $work/id.pub"
packer_a="env CHECKPOINT_DISABLE=1 PACKER_NO_COLOR=1 packer build $work/echo10-ssh.pkr.hcl"
args=("bake build (ssh)=$bake_a" "bake build (docker exec)=$bake_exec" "floor=$floor")
have_packer=no
if command -v packer >/dev/null && packer version | grep -q 'v1.6.6'; then
	args+=("Packer 1.6.6 (ssh)=$packer_a")
	have_packer=yes
fi
(cd "$work" && python3 "$root/bench/ssh/interleave.py" "$work/echo10.json" "$runs" "$rmi" "${args[@]}")

# --- report ------------------------------------------------------------------
python3 - "$work" "$out" "$runs" "$cipher" "$have_packer" "$root" <<'PY'
import json, platform, statistics, subprocess, sys, datetime, os
work, out, runs, cipher, have_packer, root = sys.argv[1:]
def load(name):
    return {r["command"]: r for r in json.load(open(os.path.join(work, name)))["results"]}
def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip() or subprocess.run(cmd, shell=True, capture_output=True, text=True).stderr.strip()
    except Exception as e:
        return str(e)
up = load("upload.json")
a = load("echo10.json")
rss = {}
for line in open(os.path.join(work, "rss")):
    name, kb = line.split()
    rss.setdefault(name, []).append(int(kb))
mib = 1024.0
med = lambda r: statistics.median(r["times"])
L = []
L.append("# SSH communicator benchmarks\n")
L.append(f"Written by `bench/ssh.sh` on {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; {runs} interleaved rounds (every command once per round, shuffled; `bench/ssh/interleave.py`) after one warm-up round, medians.\n")
cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2")
load = " ".join(open("/proc/loadavg").read().split()[:3])
L.append(f"Machine: {os.cpu_count()} CPUs ({cpu}), shared with other work (load average at the end: {load}); "
         f"{sh('ssh -V')}; {sh('go version')}.\n")
L.append("## 1 GiB upload over loopback\n")
L.append(f"One sshd on 127.0.0.1 (internal-sftp), cipher `{cipher}` for every client, a 1 GiB file of random bytes, "
         "destination on the same disk. bake's figure is the whole `bake-ssh-put` process: connect, verify the host key against "
         "known_hosts, upload to a temporary name, set mode and time, rename.\n")
L.append("| client | median | min | max | MiB/s (median) | bake ÷ this |")
L.append("|---|---|---|---|---|---|")
bake = med(up["bake SFTP"])
for name, r in up.items():
    m = med(r)
    L.append(f"| {name} | {m:.2f} s | {min(r['times']):.2f} s | {max(r['times']):.2f} s | {mib/m:.0f} | {m/bake:.2f}× |")
L.append("")
L.append("`bake ÷ this` is bake's throughput as a multiple of the client's (target ≥ 0.9× against sftp and scp).\n")
L.append(f"Peak RSS of the uploading process (`/usr/bin/time -f %M`, 3 runs): bake {max(rss['bake'])/1024:.1f} MiB "
         f"(runs: {', '.join(f'{k/1024:.1f}' for k in rss['bake'])}), OpenSSH sftp {max(rss['sftp'])/1024:.1f} MiB. Target ≤ 64 MiB.\n")
L.append("## Case (a) over SSH: 10 inline echo steps in a Docker build\n")
L.append("`bench/ssh/echo10.bake.hcl`: a container from localbase/debian:bookworm, sshd started in it with a "
         "host key made and pinned for the build and an ephemeral login key, 10 shell provisioners, sshd stopped and its files removed, "
         "commit and tag, cleanup (as case (a) of bench/docker.sh, which commits too). Packer runs sshd through run_command and "
         "commits and tags with docker-tag. "
         "The docker-exec variant of the same file is shown for reference. "
         "The floor (`bench/ssh/floor.sh`) does the least the Docker CLI and OpenSSH can: `docker run` sshd, wait for the port, "
         "10 `ssh` commands over one multiplexed connection, `docker commit`, `docker rm -f`, no host key check.\n")
L.append("| command | median | min | max | ÷ floor |")
L.append("|---|---|---|---|---|")
fl = med(a["floor"])
for name, r in a.items():
    m = med(r)
    L.append(f"| {name} | {m:.2f} s | {min(r['times']):.2f} s | {max(r['times']):.2f} s | {m/fl:.2f}× |")
L.append("")
if have_packer == "yes":
    p = med(a["Packer 1.6.6 (ssh)"]); b = med(a["bake build (ssh)"])
    L.append(f"bake over SSH is {p/b:.1f}× faster than Packer 1.6.6 over SSH, at {b/fl:.2f}× the floor (target ≤ 1.3×).\n")
else:
    L.append("Packer 1.6.6 was not installed for this run; its row is missing.\n")
L.append("## Commands\n")
L.append("```")
for r in list(up.values()) + list(a.values()):
    L.append(r["cmd"].replace(work, "$WORK").replace(root + "/", ""))
L.append("```")
L.append("\n`$WORK` is the run's temporary directory (keys, sshd config, known_hosts, the 1 GiB file), removed at the end; "
         "paths are from the repository's root.")
open(out, "w").write("\n".join(L) + "\n")
print("wrote", out, file=sys.stderr)
PY
