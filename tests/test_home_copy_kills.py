"""Issue 16, part 3: a copy killed anywhere is finished by running it again.

Real ``dashai-store copy`` subprocesses, SIGKILLed at each of the copy's named points
(``DASHAI_STORE_TEST_KILL_COPY``) and at random moments within the time an uninterrupted
copy took (``DASHAI_CRASH_SEED`` replays a run; ``DASHAI_HOSTILE_KILLS`` kills per
destination backend, default 4). After each kill the destination holds either no rows
or all of them (never a part that could pass for a whole store); the same command run
again exits 0 and the destination then equals the source row by row and file by file,
and ``check`` is clean.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PG_URL, PgSchema
from home_copy_support import managed_files, populate, raw_sqlite_rows, rows_of

from dashai_store import errors, maintenance, metrics, models, open_store, runs
from dashai_store.backends.sqlite import open_read_only
from dashai_store.database import connect_postgres
from dashai_store.home_copy.run import KILL_ENV, KILL_POINTS

KILLS = int(os.environ.get("DASHAI_HOSTILE_KILLS", "").strip() or 4)
SEED_TEXT = os.environ.get("DASHAI_CRASH_SEED", "").strip()
SEED = int(SEED_TEXT) if SEED_TEXT else random.SystemRandom().randrange(1, 2**31)
EXTRA_METRICS = 60_000  # the rows phase takes long enough for random kills to land in it


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("kill-source") / "home"
    populate(home)
    with open_store(home):
        run = runs.list()[0]
        metrics.log_many(run.id, (("long", "TRAIN", "BATCH", i, i * 0.5) for i in range(EXTRA_METRICS)))
    return home


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The destination's database: None (its db.sqlite) or a fresh PostgreSQL schema URL."""
    if request.param == "sqlite":
        yield None
        return
    if not PG_URL:
        pytest.skip("no PostgreSQL server: set DASHAI_TEST_POSTGRES_URL")
    schema = PgSchema()
    try:
        yield schema.url
    finally:
        schema.drop()


def _command(source: Path, dest: Path, database: str | None) -> list[str]:
    args = [sys.executable, "-m", "dashai_store", "copy", "--home", str(source), "--to-home", str(dest), "-q"]
    return args + (["--to-database", database] if database else [])


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=600, env={**os.environ, **env})


def _rows_in(dest: Path, database: str | None) -> int:
    """Rows the destination holds now (0 where it has no database yet)."""
    if database is None and not (dest / "db.sqlite").exists():
        return 0
    db = connect_postgres(database) if database else open_read_only(dest / "db.sqlite")
    try:
        present = set(db.get_tables())
        return sum(
            int(db.execute_sql(f'SELECT COUNT(*) FROM "{m._meta.table_name}"').fetchone()[0])
            for m in models.ALL_MODELS
            if m._meta.table_name in present
        )
    finally:
        db.close()


def _total_rows(source: Path) -> int:
    return sum(len(v) for k, v in raw_sqlite_rows(source / "db.sqlite").items() if k != "sqlite_sequence")


def _clear(database: str | None) -> None:
    """Empty a PostgreSQL schema between kill rounds (a SQLite destination is a new folder)."""
    if database is None:
        return
    db = connect_postgres(database)
    try:
        for table in db.get_tables():
            db.execute_sql(f'DROP TABLE IF EXISTS "{table}" CASCADE')
        db.execute_sql("DROP FUNCTION IF EXISTS parameter_history_append_only() CASCADE")
    finally:
        db.close()


def _assert_equal(source: Path, dest: Path, database: str | None) -> None:
    if database is None:  # as stored: stricter than what the models read
        assert raw_sqlite_rows(dest / "db.sqlite") == raw_sqlite_rows(source / "db.sqlite")
    else:
        assert rows_of(dest, database) == rows_of(source, None)
    assert managed_files(dest) == managed_files(source)
    with open_store(dest, database=database, migrate=False):
        report = maintenance.check(grace_s=0)
    assert report.ok, report


def _after_kill(source: Path, dest: Path, database: str | None, total: int, what: str) -> None:
    held = _rows_in(dest, database)
    assert held in (0, total), f"{what}: the killed copy left {held} of {total} rows"
    again = _run(_command(source, dest, database))
    assert again.returncode == 0, f"{what}: {again.stdout}{again.stderr}"
    _assert_equal(source, dest, database)


def test_a_copy_killed_at_each_named_point_is_finished_by_the_same_command(
    source: Path, target: str | None, tmp_path: Path
) -> None:
    total = _total_rows(source)
    for point in KILL_POINTS:
        _clear(target)
        dest = tmp_path / f"dest-{point}"
        killed = _run(_command(source, dest, target), **{KILL_ENV: point})
        assert killed.returncode == -signal.SIGKILL, f"{point}: {killed.stdout}{killed.stderr}"
        if point != "committed":
            assert _rows_in(dest, target) == 0, f"rows visible after a kill at {point}"
        if (dest / ".dashai-copy.json").exists():
            # The app must not start on half a copy (nor write rows beside it): refused until rerun.
            with pytest.raises(errors.CopyUnfinished, match="Run the same `dashai-store copy` command"):
                open_store(dest, database=target)
        _after_kill(source, dest, target, total, f"killed at {point}")


def test_a_copy_killed_at_random_moments_is_finished_by_the_same_command(
    source: Path, target: str | None, tmp_path: Path
) -> None:
    rng = random.Random(f"{SEED}-copy-{target is None}")
    print(f"kills (copy): seed={SEED} kills={KILLS}")
    total = _total_rows(source)
    started = time.monotonic()
    first = _run(_command(source, tmp_path / "timed", target))
    assert first.returncode == 0, first.stderr
    duration = time.monotonic() - started
    for i in range(KILLS):
        _clear(target)
        dest = tmp_path / f"dest{i}"
        proc = subprocess.Popen(
            _command(source, dest, target), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.0, duration * 1.1))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        _after_kill(source, dest, target, total, f"kill {i} (seed {SEED})")
