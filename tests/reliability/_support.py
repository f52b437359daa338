"""Shared by the reliability tests and the worker scripts they spawn.

Knobs (environment variables; the defaults fit the CI budget on a 2-core machine):

* ``DASHAI_RELIABILITY_SECONDS`` (20): concurrency run time on each backend.
* ``DASHAI_KILL_POINTS`` (50): SIGKILLs per run in total (ops on SQLite and PostgreSQL,
  and the migration runner).
* ``DASHAI_HOSTILE_KILLS`` (4): SIGKILLs per workload of ``test_kills.py`` (adoption,
  backup, restore, gc).
* ``DASHAI_CRASH_SEED`` (random, printed): replays one crash run (``test_kills.py`` too).
* ``DASHAI_CONCURRENCY_SEED`` (random, printed): the workers' choices.
* ``DASHAI_HOSTILE_ROWS_SEED`` (random, printed): the order and bad values of the hand edits.
* ``DASHAI_HYPOTHESIS_EXAMPLES`` (100): examples per property test and backend.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import peewee

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PYTHON = sys.executable


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


def seed_from(name: str) -> int:
    """``$name`` if set (to replay a run), else a fresh random seed (printed by the test)."""
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else random.SystemRandom().randrange(1, 2**31)


def spawn(script: str, *args: str, **kwargs: Any) -> subprocess.Popen[str]:
    """``python tests/reliability/<script> ARGS``, unbuffered, from the repository root."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.update(kwargs.pop("env", {}))
    return subprocess.Popen([PYTHON, str(HERE / script), *args], cwd=REPO, env=env, text=True, **kwargs)


# -- consistency ------------------------------------------------------------------------------


def sqlite_problems(path: Path) -> list[str]:
    """``PRAGMA integrity_check`` and ``PRAGMA foreign_key_check`` of a SQLite file, read
    with the plain driver (no dashai_store code involved, nothing written)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        integrity = [str(r[0]) for r in conn.execute("PRAGMA integrity_check").fetchall()]
        fk = [repr(tuple(r)) for r in conn.execute("PRAGMA foreign_key_check").fetchall()]
    finally:
        conn.close()
    return ([] if integrity == ["ok"] else integrity) + fk


def store_problems(grace_s: float = 0.0) -> list[str]:
    """What ``maintenance.check()`` of the open store reports (integrity, foreign keys,
    missing and unowned files, stale temporaries, pending deletions)."""
    from dashai_store import maintenance

    report = maintenance.check(grace_s=grace_s)
    if report.ok:
        return []
    return [
        f"{name}: {value}"
        for name, value in (
            ("integrity", report.integrity_problems),
            ("foreign keys", report.foreign_key_violations),
            ("missing files", report.missing_files),
            ("unowned files", report.unowned_files),
            ("stale temp files", report.stale_temp_files),
            ("pending deletions", report.pending_deletions),
        )
        if value
    ]


def count_rows(db: peewee.Database, table: str) -> int:
    return int(db.execute_sql(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])


def metric_value(run_id: int, name: str, step: int) -> float:
    """The value a worker logs for (run, name, step): a re-log writes the same value, so
    replacement (idempotent retries) never makes a verification ambiguous."""
    return run_id * 1000.0 + step * 0.25 + (0.5 if name.startswith("b") else 0.0)


def read_json_lines(path: Path) -> list[Any]:
    """Complete JSON lines of a journal (a killed writer may leave a partial last line)."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


class Journal:
    """Appends one JSON line per committed transaction and fsyncs it.

    Written only AFTER the facade call returned: a line in the journal is a transaction the
    store reported committed, which must survive any kill that follows.
    """

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, *entry: Any) -> None:
        os.write(self.fd, (json.dumps(entry) + "\n").encode())
        os.fsync(self.fd)
