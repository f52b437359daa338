"""Migrations: the lock and the documented restore of a backup.

The runner refusing to run while another process holds the lock past a timeout, with a
clear message, is covered by ``tests/test_migrator.py``:
``test_a_lock_held_past_the_timeout_is_a_clear_failure`` (SQLite file lock) and
``test_a_postgres_advisory_lock_held_past_the_timeout_is_a_clear_failure``; not repeated.

Here: the README's restore commands, run as written in a shell, bring back exactly the
backup's data, even with a WAL full of newer frames left by a killed process.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pyarrow as pa

from dashai_store import datasets, open_store

from ._support import PYTHON, REPO, sqlite_problems

WRAPPER = REPO / "tests" / "migration_fixtures" / "migrate_with.py"

_WRITE_AND_DIE = """
import os, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA journal_mode=wal")
conn.execute("PRAGMA wal_autocheckpoint=0")  # the newer rows stay in the WAL
conn.execute("UPDATE dataset SET name = 'changed after the backup'")
conn.execute(
    "INSERT INTO dataset (name, status, created, last_modified)"
    " VALUES ('new', 'NOT_STARTED', '2024-01-01', '2024-01-01')"
)
os._exit(0)  # killed: no checkpoint, the -wal file stays
"""


def _readme_command() -> str:
    text = (REPO / "README.md").read_text()
    match = re.search(r"`(dashai-store restore db-<stamp>[^`]*)`", text)
    assert match, "the README no longer documents the restore command"
    # The console script may not be on PATH in a test's shell; the same command as a module.
    return "set -e\n" + match.group(1).replace("dashai-store ", f"{PYTHON} -m dashai_store ")


def test_the_documented_restore_command_brings_back_the_backup(home: Path) -> None:
    with open_store(home):
        datasets.create("iris", pa.table({"x": [1, 2, 3]}))
    # A test-only step: the runner backs the database up before applying it.
    proc = subprocess.run(
        [PYTHON, str(WRAPPER), "next_add_column", "--home", str(home)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    backups = sorted((home / "backups").glob("*.sqlite"))
    assert len(backups) == 1 and str(backups[0]) in proc.stdout
    subprocess.run([PYTHON, "-c", _WRITE_AND_DIE, str(home / "db.sqlite")], check=True, timeout=60)
    assert (home / "db.sqlite-wal").stat().st_size > 0

    # The README's command, with ~/.DashAI replaced by this home and the placeholder by the file.
    command = _readme_command().replace("~/.DashAI", str(home))
    command = re.sub(r"db-<stamp>-<version>\.sqlite", backups[0].name, command)
    assert "<" not in command, command
    subprocess.run(["bash", "-c", command], check=True, timeout=60)

    assert sqlite_problems(home / "db.sqlite") == []
    with open_store(home, migrate=False):  # at the backup's version: it opens as it is
        assert [d.name for d in datasets.list()] == ["iris"]
        assert datasets.load_table(datasets.get_by_name("iris").id).column("x").to_pylist() == [1, 2, 3]
