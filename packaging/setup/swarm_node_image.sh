#!/usr/bin/env bash
# Build the image of a "swarm node": a Docker engine that runs inside a privileged container,
# for the multi-node tests and bench (tests/swarm_cluster.py). Offline, once per machine.
# No registry is reachable here, so, like base_image.sh, the root filesystem is bootstrapped
# from Debian packages (docker.io with its containerd and runc) with mmdebstrap and
# `docker import`ed under a tag carrying the recipe's version: bump the version to rebuild.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
TAG="${SWITCHBOARD_SWARM_NODE_IMAGE:-switchboard-swarm-node:bookworm-docker-1}"
if docker image inspect "$TAG" >/dev/null 2>&1; then echo "switchboard setup: swarm node image $TAG ok"; exit 0; fi
command -v mmdebstrap >/dev/null 2>&1 || { echo "mmdebstrap missing (run packaging/setup/system.sh)" >&2; exit 3; }
sources="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
  | grep -vE '^[[:space:]]*#' | grep -oE 'https?://[^ ]+' || true)"
mirror="$(printf '%s\n' "$sources" | grep -E '/debian/?$' | head -n1 || true)"
secmirror="$(printf '%s\n' "$sources" | grep -E '/debian-security/?$' | head -n1 || true)"
mirror="${mirror:-http://deb.debian.org/debian}"
secmirror="${secmirror:-http://deb.debian.org/debian-security}"
LOG=/tmp/switchboard-swarm-node-mmdebstrap.log
echo "switchboard setup: building swarm node image $TAG offline from $mirror (about a minute)"
start=$(date +%s)
# iptables: dockerd programs NAT and isolation rules; iproute2: overlay networks (vxlan);
# tini: PID 1 that forwards SIGTERM to dockerd, so a stopped node shuts down cleanly.
mmdebstrap --variant=minbase --include=docker.io,iptables,iproute2,ca-certificates,tini \
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
  --customize-hook="upload $HERE/swarm_node_entry.sh /usr/local/sbin/switchboard-node" \
  --customize-hook='chmod 0755 "$1"/usr/local/sbin/switchboard-node' \
  bookworm - "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
  "deb $secmirror bookworm-security main" 2>"$LOG" \
  | docker import --change 'ENTRYPOINT ["tini", "--", "switchboard-node"]' \
      --change 'LABEL io.switchboard.managed=true io.switchboard.role=swarm-node-image' - "$TAG" >/dev/null \
  || { docker rmi -f "$TAG" >/dev/null 2>&1 || true
       echo "switchboard setup: swarm node image build failed; log tail:" >&2
       tail -n 20 "$LOG" >&2; exit 3; }
echo "switchboard setup: swarm node image $TAG built in $(( $(date +%s) - start )) s"
