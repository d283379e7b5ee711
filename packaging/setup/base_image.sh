#!/usr/bin/env bash
# Build Switchboard's small Python base image offline, once per machine.
# No container registry is reachable on these machines, so the image is bootstrapped from
# Debian packages with mmdebstrap (using this machine's own apt sources) and `docker import`ed.
# Users with a registry can instead set SWITCHBOARD_BASE_IMAGE=python:3.12-slim.
set -euo pipefail
TAG="${SWITCHBOARD_OFFLINE_BASE:-switchboard-base:bookworm-py311-1}"
if docker image inspect "$TAG" >/dev/null 2>&1; then echo "switchboard setup: base image $TAG ok"; exit 0; fi
command -v mmdebstrap >/dev/null 2>&1 || { echo "mmdebstrap missing (run packaging/setup/system.sh)" >&2; exit 3; }
# Mirror and security mirror from the machine's own apt sources.
sources="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
  | grep -vE '^[[:space:]]*#' | grep -oE 'https?://[^ ]+' || true)"
mirror="$(printf '%s\n' "$sources" | grep -E '/debian/?$' | head -n1 || true)"
secmirror="$(printf '%s\n' "$sources" | grep -E '/debian-security/?$' | head -n1 || true)"
mirror="${mirror:-http://deb.debian.org/debian}"
secmirror="${secmirror:-http://deb.debian.org/debian-security}"
echo "switchboard setup: building base image $TAG offline from $mirror (about 30 s)"
start=$(date +%s)
mmdebstrap --variant=minbase --include=python3,python3-venv,ca-certificates,tini \
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/usr/lib/python3.11/test "$1"/var/cache/apt/*' \
  --customize-hook='chroot "$1" useradd --uid 10001 --create-home --shell /usr/sbin/nologin specialist' \
  bookworm - "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
  "deb $secmirror bookworm-security main" 2>/tmp/switchboard-mmdebstrap.log \
  | docker import --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' \
      --change 'LABEL io.switchboard.managed=true io.switchboard.role=base' - "$TAG" >/dev/null \
  || { docker rmi -f "$TAG" >/dev/null 2>&1 || true
       echo "switchboard setup: base image build failed; log tail:" >&2
       tail -n 20 /tmp/switchboard-mmdebstrap.log >&2; exit 3; }
echo "switchboard setup: base image $TAG built in $(( $(date +%s) - start )) s"
