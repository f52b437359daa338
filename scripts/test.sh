#!/usr/bin/env bash
# The test command (README, and .ci/run): a virtual environment with the package and its
# test extras, a throw-away PostgreSQL server, then lint, types and the test suite on
# SQLite and PostgreSQL. Everything temporary (the server's data folder, the test homes,
# built wheels and bundles) lives in one folder that is removed when the run ends, failed
# or not.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'TXT'
usage: bash scripts/test.sh [--sqlite-only] [--keep-temp] [PYTEST ARGS...]

Creates .venv (or $VENV) with `pip install -e '.[test]'` using $PYTHON (default python3),
installs and starts a throw-away PostgreSQL server from Debian's packages (needs root),
then runs ruff, mypy --strict and pytest on SQLite and PostgreSQL.

  --sqlite-only   no PostgreSQL server (for machines where you are not root)
  --keep-temp     keep the run's temporary folder (printed at the end) for inspection
  -h, --help      this text

Any other argument goes to pytest, e.g. `bash scripts/test.sh -k metrics -x`.
Environment: PYTHON, VENV, PG_PORT (default 54329), and the DASHAI_* knobs the README lists.
After the suite, a second, short pytest pass runs the file-store, notebook, dataset and
maintenance tests with DASHAI_STORE_EMULATE_WINDOWS_FILES=1 (SQLite only).
Exit status: the first failing pytest pass's (0 all passed), or the first failing step's.
TXT
}

SQLITE_ONLY=0
KEEP_TEMP=0
PYTEST_ARGS=()
for arg in "$@"; do
  case "$arg" in
    -h|--help) usage; exit 0 ;;
    --sqlite-only) SQLITE_ONLY=1 ;;
    --keep-temp) KEEP_TEMP=1 ;;
    *) PYTEST_ARGS+=("$arg") ;;
  esac
done

PG_STARTED=0
RUN_TMP="$(mktemp -d "${TMPDIR:-/tmp}/dashai-test.XXXXXX")"
chmod 755 "$RUN_TMP"  # the PostgreSQL server runs as another user and keeps its data here
cleanup() {
  local status=$?
  if [ "$PG_STARTED" = 1 ]; then
    as_pg "'$DASHAI_PG_BIN/pg_ctl' -D '$DASHAI_PG_DATA' -m fast -w stop" >/dev/null 2>&1 || true
  fi
  if [ "$KEEP_TEMP" = 1 ]; then
    echo "temporary files kept in $RUN_TMP"
  else
    rm -rf "$RUN_TMP"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export TMPDIR="$RUN_TMP"

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
  PG_STARTED=1  # set first: a server that started before a later step failed is stopped too
  source .ci/postgres.sh
  export DASHAI_TEST_REQUIRE_POSTGRES=1
fi

echo "== ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
echo "== mypy --strict"
"$VENV/bin/mypy" --strict dashai_store
"$VENV/bin/mypy" --strict migrations
echo "== pytest"
STATUS=0
"$VENV/bin/pytest" --basetemp "$RUN_TMP/pytest" "${PYTEST_ARGS[@]}" || STATUS=$?
# Windows refuses to rename or delete a file that is open or memory-mapped (DashAI mostly
# runs there): the file-store, notebook, dataset and maintenance tests again, with the
# store emulating those refusals for the files this process maps. SQLite only: the
# refusals are the OS's, not the database's.
echo "== pytest (emulated Windows file semantics)"
env -u DASHAI_TEST_POSTGRES_URL -u DASHAI_TEST_REQUIRE_POSTGRES DASHAI_STORE_EMULATE_WINDOWS_FILES=1 \
  "$VENV/bin/pytest" -q --basetemp "$RUN_TMP/pytest-windows" -p no:cacheprovider \
  tests/test_files.py tests/test_notebooks.py tests/test_datasets.py tests/test_maintenance.py \
  tests/test_hostile_homes.py || { [ "$STATUS" != 0 ] || STATUS=$?; }
exit "$STATUS"
