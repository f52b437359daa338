#!/usr/bin/env bash
# The test command (README, and .ci/run): a fresh virtual environment, the package with its
# test extras, a throw-away PostgreSQL server, then lint, types and the test suite on SQLite
# and PostgreSQL. `--sqlite-only` skips the server (for machines where you are not root).
set -euo pipefail
cd "$(dirname "$0")/.."

SQLITE_ONLY=0
PYTEST_ARGS=()
for arg in "$@"; do
  case "$arg" in
    --sqlite-only) SQLITE_ONLY=1 ;;
    *) PYTEST_ARGS+=("$arg") ;;
  esac
done

PY="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e '.[test]'

# Headless Chromium takes a screenshot of the demo's report (tests/test_report_screenshot.py).
if [ "$(id -u)" = 0 ] && ! command -v chromium >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
if command -v chromium >/dev/null 2>&1; then
  export DASHAI_REQUIRE_BROWSER=1
fi

if [ "$SQLITE_ONLY" = 0 ]; then
  # shellcheck source=../.ci/postgres.sh
  source .ci/postgres.sh
  export DASHAI_TEST_REQUIRE_POSTGRES=1
  stop_pg() { su postgres -s /bin/bash -c "'$DASHAI_PG_BIN/pg_ctl' -D '$DASHAI_PG_DATA' -m fast stop" >/dev/null 2>&1 || true; }
  trap stop_pg EXIT
fi

echo "== ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
echo "== mypy --strict"
"$VENV/bin/mypy" --strict dashai_store
"$VENV/bin/mypy" --strict migrations
echo "== pytest"
"$VENV/bin/pytest" "${PYTEST_ARGS[@]}"
