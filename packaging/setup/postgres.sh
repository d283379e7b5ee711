#!/usr/bin/env bash
# A throwaway PostgreSQL server for the store tests, on loopback only.
#
#   postgres.sh start   initdb once, start on 127.0.0.1:$SWITCHBOARD_POSTGRES_PORT (55432) unless
#                       it answers, create database switchboard_test; survives an unclean stop
#   postgres.sh stop    stop it (fast shutdown)
#   postgres.sh url     print the SQLAlchemy URL the tests use
#
# Trust authentication is safe only because the server listens on 127.0.0.1 alone and has no
# Unix socket. fsync is off: this cluster holds test data only.
set -euo pipefail

SB_HOME="${SWITCHBOARD_HOME:-$HOME/.local/share/switchboard}"
PORT="${SWITCHBOARD_POSTGRES_PORT:-55432}"
DB="switchboard_test"
LOG="${SWITCHBOARD_POSTGRES_LOG:-/tmp/switchboard-postgres.log}"
# shellcheck disable=SC2012  # version-numbered folders, newest last
PG_BIN="${SWITCHBOARD_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}"
LINK="$SB_HOME/postgres"

say() { echo "switchboard setup: $*"; }
die() { echo "switchboard setup: $*" >&2; exit 3; }

# As root the cluster belongs to the postgres OS user (postgres refuses to run as root).
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || die "no 'postgres' OS user (run packaging/setup/system.sh)"
  as_pg() { runuser -u postgres -- "$@"; }
else
  as_pg() { "$@"; }
fi

# The data directory. $HOME is often 0700 (root's is), which the postgres user cannot cross;
# then the cluster lives in /var/lib/switchboard and $SB_HOME/postgres is a link to it.
resolve_dir() {
  mkdir -p "$SB_HOME"
  if [ ! -e "$LINK" ]; then
    if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$SB_HOME"; then
      mkdir -p /var/lib/switchboard/postgres
      ln -s /var/lib/switchboard/postgres "$LINK"
    else
      mkdir -p "$LINK"
    fi
  fi
  PGROOT="$(readlink -f "$LINK")"
  PGDATA="$PGROOT/data"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$PGROOT"
  chmod 0700 "$PGROOT"
}

answers() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -t 2 >/dev/null 2>&1; }

sql() { "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -tAc "$1"; }

init_cluster() {
  [ -f "$PGDATA/PG_VERSION" ] && return 0
  say "initialising PostgreSQL cluster in $PGDATA"
  as_pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres -E UTF8 --no-locale --auth=trust >/dev/null
  as_pg tee -a "$PGDATA/postgresql.conf" >/dev/null <<EOF
# switchboard: throwaway test server, loopback only, no Unix socket
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  printf 'host all all 127.0.0.1/32 trust\n' | as_pg tee "$PGDATA/pg_hba.conf" >/dev/null
}

# Processes of our cluster: the postgres binary running in our data directory (the postmaster
# chdirs there and its backends inherit that), matched by pid, never by name.
our_pids() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/exe" 2>/dev/null)" = "$PG_BIN/postgres" ] \
      && [ "$(readlink "$p/cwd" 2>/dev/null)" = "$PGDATA" ] && echo "${p#/proc/}"
  done
  return 0
}

# After kill -9 the lock file names a dead postmaster and orphaned backends may still hold its
# shared memory; a live server that does not answer (hung) is stopped. Either way, end what is
# left of our cluster so a fresh postmaster can start.
clear_stale() {
  local pidfile="$PGDATA/postmaster.pid" pids
  [ -f "$pidfile" ] || return 0
  pids="$(our_pids)"
  if [ -n "$pids" ]; then
    say "postgres processes of $PGDATA left over but not answering on port $PORT; ending them"
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" stop -m immediate -w -t 5 >/dev/null 2>&1 || true
    pids="$(our_pids)"
    # shellcheck disable=SC2086
    [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
    for _ in $(seq 1 25); do [ -z "$(our_pids)" ] && break; sleep 0.2; done
  fi
  rm -f "$pidfile"
}

cmd_start() {
  [ -x "$PG_BIN/postgres" ] || die "PostgreSQL is not installed (run packaging/setup/system.sh)"
  resolve_dir
  if ! answers; then
    init_cluster
    clear_stale
    printf '\n=== %s postgres on 127.0.0.1:%s ===\n' "$(date -Is)" "$PORT" >> "$LOG"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$LOG"
    # Orphaned backends of a killed server may hold shared memory a moment longer: retry.
    local ok=""
    for _ in 1 2 3; do
      if as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$LOG" -o "-p $PORT" -w -t 60 start >/dev/null 2>&1
      then ok=1; break; fi
      sleep 1; rm -f "$PGDATA/postmaster.pid"
    done
    if [ -z "$ok" ]; then
      echo "switchboard setup: postgres did not start on 127.0.0.1:$PORT; log tail ($LOG):" >&2
      tail -n 20 "$LOG" >&2
      exit 3
    fi
    say "postgres started on 127.0.0.1:$PORT (data $PGDATA, log $LOG)"
  else
    say "postgres answers on 127.0.0.1:$PORT"
  fi
  if [ "$(sql "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]; then
    sql "CREATE DATABASE $DB"
    say "postgres database $DB created"
  fi
}

cmd_stop() {
  resolve_dir
  if [ -f "$PGDATA/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" stop -m fast -w -t 30 >/dev/null
    say "postgres stopped"
  else
    say "postgres not running (data $PGDATA)"
  fi
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  url) echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/$DB" ;;
  *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
