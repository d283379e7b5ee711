#!/usr/bin/env bash
# Create or update the project venv (.venv) with `pip install -e '.[dev]'`.
# pip runs only when pyproject.toml changed since the last successful install: .venv/.stamp
# holds its sha256 (and the checkout path). A lock keeps two concurrent `make` runs from installing at once.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${SWITCHBOARD_VENV:-$ROOT/.venv}"
STAMP="$VENV/.stamp"

say() { echo "switchboard setup: $*"; }
die() { echo "switchboard setup: $*" >&2; exit 3; }

# The first interpreter that is Python 3.11+ and can build a venv (Debian needs python3-venv).
find_python() {
  local c
  for c in ${SWITCHBOARD_PYTHON:-} python3 python3.13 python3.12 python3.11; do
    command -v "$c" >/dev/null 2>&1 || continue
    "$c" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
      && { command -v "$c"; return 0; }
  done
  return 1
}

# The checkout path is part of the stamp: the editable install points at one checkout.
want="$(sha256sum < "$ROOT/pyproject.toml" | cut -d' ' -f1) $ROOT"
if [ -x "$VENV/bin/python" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$want" ] \
   && "$VENV/bin/python" -c pass 2>/dev/null; then
  say "python venv ok ($VENV)"; exit 0
fi

if ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  py="$(find_python)" || die "need Python 3.11+ with the venv module (Debian: apt-get install python3-venv)"
  rm -rf "$VENV"
  say "creating $VENV with $py ($("$py" --version 2>&1))"
  "$py" -m venv "$VENV"
fi

exec 9> "$VENV/.lock"
flock 9
# Another run may have finished the same install while we waited for the lock.
if [ "$(cat "$STAMP" 2>/dev/null)" = "$want" ]; then say "python venv ok ($VENV)"; exit 0; fi
start=$SECONDS
say "installing switchboard[dev] into $VENV (pyproject.toml changed)"
if ! "$VENV/bin/python" -m pip install -e "${ROOT}[dev]" > "$VENV/pip.log" 2>&1; then
  grep -v '^WARNING: Location' "$VENV/pip.log" | tail -n 20 >&2
  die "pip install -e '.[dev]' failed (log $VENV/pip.log)"
fi
printf '%s\n' "$want" > "$STAMP"
say "python venv ready in $(( SECONDS - start )) s ($VENV)"
