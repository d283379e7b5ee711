#!/usr/bin/env bash
# Start the Docker engine when it does not answer (no systemd on these machines).
# Survives an unclean stop: stale pid files from a killed dockerd/containerd are removed.
set -euo pipefail
LOG="${SWITCHBOARD_DOCKERD_LOG:-/tmp/switchboard-dockerd.log}"
if docker info >/dev/null 2>&1; then echo "switchboard setup: docker engine ok"; exit 0; fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "switchboard setup: dockerd is not installed (run packaging/setup/system.sh)" >&2; exit 3
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "switchboard setup: the Docker engine is not running; start it (sudo dockerd) or add yourself to the docker group" >&2; exit 3
fi
for pidfile in /var/run/docker.pid /run/docker/containerd/containerd.pid; do
  if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then rm -f "$pidfile"; fi
done
setsid dockerd > "$LOG" 2>&1 < /dev/null &
for _ in $(seq 1 120); do
  if docker info >/dev/null 2>&1; then echo "switchboard setup: docker engine started"; exit 0; fi
  sleep 0.5
done
echo "switchboard setup: dockerd did not answer within 60 s; last log lines:" >&2
tail -n 20 "$LOG" >&2
exit 3
