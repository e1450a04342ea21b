#!/usr/bin/env bash
# Make sure a Docker Engine answers on this machine, for the end-to-end tests.
#
# Idempotent: when `docker info` already answers it does nothing. Otherwise it installs Debian's
# docker.io (and debootstrap, which tests/e2e/images/build.py needs for the base image), starts
# dockerd in the background as root (log: /tmp/dockerd.log) and waits up to 60 s for it.
#
# What this sandbox needed (checked on the build machine, Debian bookworm, kernel 6.18, root, ext4):
# nothing beyond the defaults. overlay2 works on the ext4 root, iptables-nft works (so the default
# bridge NAT lets containers and builds reach Debian's mirrors), cgroup v1 is mounted (cgroupfs
# driver), no systemd (policy-rc.d stops the package from starting the daemon, hence this script).
# The fallbacks below are for machines that differ: vfs when an overlay mount fails, the legacy
# iptables backend or no iptables at all, a cgroup hierarchy mounted when none is, a stale pidfile.
# The docker CLI in /usr/local/bin (28.x) talks to Debian's 20.10 daemon through API negotiation.
set -euo pipefail

LOG=${DOCKERD_LOG:-/tmp/dockerd.log}
WAIT=${DOCKERD_WAIT:-60}

answers() { timeout 10 docker info >/dev/null 2>&1; }

if command -v docker >/dev/null && answers; then
  exit 0
fi

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  echo "engine.sh: installing ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

args=()

# Storage: overlay2 needs a working overlay mount on /var/lib/docker's filesystem (it fails on
# overlay-on-overlay roots and in some nested sandboxes); try one for real, else use vfs (slow, safe).
mkdir -p /var/lib/docker
probe=$(mktemp -d /var/lib/docker/.overlay-probe.XXXXXX)
mkdir -p "$probe"/{lower,upper,work,merged}
if mount -t overlay overlay -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" "$probe/merged" 2>/dev/null; then
  umount "$probe/merged"
else
  echo "engine.sh: overlay mount failed here; using the vfs storage driver" >&2
  args+=(--storage-driver=vfs)
fi
rm -rf "$probe"

# Networking: the bridge needs NAT rules. Prefer the default (nft) backend, then legacy; with
# neither, run without iptables (containers then cannot reach the package mirrors).
if ! iptables -t nat -L -n >/dev/null 2>&1; then
  if command -v iptables-legacy >/dev/null && iptables-legacy -t nat -L -n >/dev/null 2>&1; then
    echo "engine.sh: iptables (nft) unusable; switching to iptables-legacy" >&2
    update-alternatives --set iptables /usr/sbin/iptables-legacy >/dev/null
    update-alternatives --set ip6tables /usr/sbin/ip6tables-legacy >/dev/null 2>&1 || true
  else
    echo "engine.sh: no usable iptables; dockerd runs with --iptables=false (no outbound NAT)" >&2
    args+=(--iptables=false --ip-masq=false)
  fi
fi
# IPv6 NAT is not needed; a missing ip6tables must not stop the daemon.
ip6tables -t nat -L -n >/dev/null 2>&1 || args+=(--ip6tables=false)

# cgroups: runc needs a hierarchy; mount cgroup2 when nothing is mounted at all.
if [ ! -e /sys/fs/cgroup/cgroup.controllers ] && [ ! -d /sys/fs/cgroup/memory ]; then
  mkdir -p /sys/fs/cgroup
  mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null || echo "engine.sh: could not mount cgroup2" >&2
fi

# A pidfile left by a dockerd that is gone (a machine handed back) blocks a new daemon.
if [ -f /var/run/docker.pid ]; then
  pid=$(cat /var/run/docker.pid 2>/dev/null || true)
  if [ -z "$pid" ] || ! grep -q dockerd "/proc/$pid/comm" 2>/dev/null; then
    rm -f /var/run/docker.pid
  fi
fi

if ! pgrep -x dockerd >/dev/null; then
  echo "engine.sh: starting dockerd ${args[*]:-} (log: $LOG)" >&2
  # setsid: the daemon outlives this script and the shell that ran it.
  setsid nohup dockerd "${args[@]}" >"$LOG" 2>&1 </dev/null &
fi

for _ in $(seq "$WAIT"); do
  if answers; then
    echo "engine.sh: docker answers ($(docker version --format 'server {{.Server.Version}}' 2>/dev/null))" >&2
    exit 0
  fi
  sleep 1
done

echo "engine.sh: docker did not answer within ${WAIT}s; last lines of $LOG:" >&2
tail -n 40 "$LOG" >&2 || true
exit 1
