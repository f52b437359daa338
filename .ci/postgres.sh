#!/usr/bin/env bash
# Installs (from Debian's packages) and starts a throw-away PostgreSQL server on loopback
# for the test run. Sourced by .ci/run; exports DASHAI_TEST_POSTGRES_URL.
set -euo pipefail

PG_PORT="${PG_PORT:-54329}"
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
PG_DATA="$(mktemp -d "${TMPDIR:-/tmp}/dashai-pg.XXXXXX")"
chown postgres:postgres "$PG_DATA"
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }
as_pg "'$PG_BIN/initdb' -D '$PG_DATA' -A trust -U postgres -E UTF8 >/dev/null"
# fsync off: a test server's durability is not under test, its speed is.
as_pg "'$PG_BIN/pg_ctl' -D '$PG_DATA' -l '$PG_DATA/server.log' -w \
  -o \"-p $PG_PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200\" start >/dev/null"
as_pg "'$PG_BIN/createdb' -h 127.0.0.1 -p $PG_PORT -U postgres dashai_test"
export DASHAI_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:${PG_PORT}/dashai_test"
export DASHAI_PG_DATA="$PG_DATA" DASHAI_PG_BIN="$PG_BIN"
echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') running at $DASHAI_TEST_POSTGRES_URL"
