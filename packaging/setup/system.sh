#!/usr/bin/env bash
# Install the system packages Switchboard needs (Debian/Ubuntu): Docker engine,
# mmdebstrap (offline base image), PostgreSQL (store tests), Qt runtime libraries,
# python3-venv, gcc and curl (python_env.sh, ollama.sh).
# Idempotent: only installs what is missing.
set -euo pipefail
need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
# Debian's python3 cannot make venvs (python_env.sh, ollama.sh) without python3-venv.
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)
# ollama.sh compiles a small stand-in library and polls the server with curl.
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
command -v curl >/dev/null 2>&1 || need+=(curl)
[ -x /usr/lib/postgresql/15/bin/postgres ] || ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
# Qt (PySide6) runtime libraries for offscreen / xcb platforms.
for lib in libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libxkbcommon-x11-0 libxcb-cursor0 \
           libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 \
           libxcb-xkb1 libxcb-randr0 libxcb-xfixes0; do
  dpkg -s "$lib" >/dev/null 2>&1 || need+=("$lib")
done
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "switchboard setup: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
echo "switchboard setup: system packages ok"
