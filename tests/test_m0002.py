"""Migration 0002 (wider metric level/split CHECKs) on stores written by the first release.

The stores are the committed output of the 0.1.0 release (``tests/release_fixtures/0.1.0``,
see its README): a SQLite home, copied to a temp dir, and a PostgreSQL dump loaded into a
fresh schema with that home's files beside it. Each is carried forward by the real runner
(``scripts/migrate.py`` in a subprocess, ``Migrator``, ``open_store``) and compared with
what it held before: every row of every table (ids, sequences and high-water marks
included), every file byte for byte.
"""

from __future__ import annotations

import shutil
import sqlite3
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import peewee
import pytest
from conftest import PG_URL, PgSchema
from dashai_store.migrations import REGISTRY, m0002_widen_metric_enums
from migration_fixtures.support import REPO, run_script

from dashai_store import datasets, errors, explainers, metrics, open_store, predictions, runs
from dashai_store.database import connect_postgres, connect_sqlite
from dashai_store.migrator import Migrator, steps_from
from dashai_store.schema import drift

RELEASE = REPO / "tests" / "release_fixtures" / "0.1.0"
PLACEHOLDER = "__DASHAI_SCHEMA__"
STEP_IDS = [step.ID for step in REGISTRY]  # 0001, 0002, then the steps after it
HEAD = STEP_IDS[-1]
# The step after 0002 that keeps one LAST/LAST_OUTER row per (run, split, level, name).
FOLDS_SUMMARIES = any(step_id.endswith("_summary_metrics_job_ids") for step_id in STEP_IDS)
# Files a run of the runner or the store may add or rewrite; everything else is the user's.
RUNTIME = ("db.sqlite", "db.sqlite-wal", "db.sqlite-shm", "db.sqlite.migrate.lock")
NEW_LEVELS = ("EPOCH", "FOLD", "OUTER_FOLD", "LAST_OUTER")
MARKS = "(id high-water marks)"


# -- reading a store without its code ---------------------------------------------------------


def after_later_steps(rows: dict[str, list[tuple[object, ...]]]) -> dict[str, list[tuple[object, ...]]]:
    """The release's rows as every registered step leaves them: 0002 keeps all of them; the
    summary-metric step keeps one LAST/LAST_OUTER row per (run, split,
    level, name), the highest step's. Metric rows are (id, run_id, name, value, split,
    level, step, timestamp)."""
    if not FOLDS_SUMMARIES:
        return rows
    best: dict[tuple[object, ...], tuple[object, ...]] = {}
    for row in rows["metric"]:
        if row[5] in ("LAST", "LAST_OUTER"):
            key = (row[1], row[4], row[5], row[2])
            kept = best.get(key)
            if kept is None or (row[6], row[0]) > (kept[6], kept[0]):  # type: ignore[operator]
                best[key] = row
    kept_ids = {row[0] for row in best.values()}
    metric = [r for r in rows["metric"] if r[5] not in ("LAST", "LAST_OUTER") or r[0] in kept_ids]
    return {**rows, "metric": metric}


def _plain(value: object) -> object:
    """A value that compares equal only to the very same value: NaN and -0.0 included."""
    if isinstance(value, float):
        return ("float", struct.pack(">d", value))
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def contents(db: peewee.Database) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table but the version table, ordered by id; plus the id
    high-water marks (sqlite_sequence, or PostgreSQL's sequences)."""
    if isinstance(db, peewee.PostgresqlDatabase):
        tables = [
            r[0]
            for r in db.execute_sql(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            ).fetchall()
        ]
        sequences = db.execute_sql(
            "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = current_schema() "
            "ORDER BY sequencename"
        ).fetchall()
    else:
        tables = [
            r[0]
            for r in db.execute_sql(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'sqlite_sequence'"
            ).fetchall()
        ]
        sequences = db.execute_sql("SELECT name, seq FROM sqlite_sequence ORDER BY name").fetchall()
    out = {
        table: [
            tuple(_plain(v) for v in row)
            for row in db.execute_sql(f'SELECT * FROM "{table}" ORDER BY id').fetchall()
        ]
        for table in sorted(tables)
        if table != "dashai_schema_migration"
    }
    out[MARKS] = [tuple(r) for r in sequences]
    return out


def versions(db: peewee.Database) -> list[tuple[Any, ...]]:
    return [
        tuple(r)
        for r in db.execute_sql(
            "SELECT sequence, id, checksum, applied_at, library_version FROM dashai_schema_migration "
            "ORDER BY sequence"
        ).fetchall()
    ]


def user_files(home: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(home)): p.read_bytes()
        for p in sorted(home.rglob("*"))
        if p.is_file() and p.name not in RUNTIME and p.relative_to(home).parts[0] != "backups"
    }


def sqlite_at(path: Path) -> peewee.SqliteDatabase:
    return connect_sqlite(path)


def kept(before: dict[str, list[tuple[object, ...]]], after: dict[str, list[tuple[object, ...]]]) -> bool:
    """Every row of ``before`` is in ``after`` unchanged; later steps may only append columns
    and add tables, which start empty (0006's ``dashai_bundle_import``)."""
    if not set(before) <= set(after) or any(after[t] for t in set(after) - set(before)):
        return False
    for table, rows in before.items():
        width = len(rows[0]) if rows else 0
        found = after[table]
        if table == MARKS:  # a new table's sequence has handed out no id yet (PostgreSQL)
            found = [row for row in found if row[1] is not None or row in rows]
        if [row[:width] for row in found] != rows:
            return False
    return True


def read_sqlite(path: Path) -> tuple[dict[str, list[tuple[object, ...]]], list[tuple[Any, ...]]]:
    db = sqlite_at(path)
    try:
        return contents(db), versions(db)
    finally:
        db.close()


def metric_checks(db: peewee.Database) -> str:
    if isinstance(db, peewee.PostgresqlDatabase):
        rows = db.execute_sql(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'metric'::regclass AND contype = 'c' ORDER BY conname"
        ).fetchall()
        return repr(rows)
    return str(db.execute_sql("SELECT sql FROM sqlite_master WHERE name = 'metric'").fetchone()[0])


# -- the stores of the first release --------------------------------------------------------------


@pytest.fixture
def release_home(tmp_path: Path) -> Path:
    """A copy of the first release's SQLite home."""
    home = tmp_path / "home"
    shutil.copytree(RELEASE / "home", home)
    return home


@pytest.fixture
def release_pg(tmp_path: Path, pg_schema: PgSchema) -> Iterator[tuple[Path, str]]:
    """The first release's PostgreSQL dump loaded into a fresh schema, and a copy of its files."""
    dump = (RELEASE / "postgres.sql").read_text(encoding="utf-8").replace(PLACEHOLDER, pg_schema.name)
    pg_schema.admin.execute_sql(f'DROP SCHEMA "{pg_schema.name}"')  # the dump creates it
    loader = connect_postgres(PG_URL)
    try:
        loader.execute_sql(dump)
    finally:
        loader.close()
    home = tmp_path / "pg-home"
    shutil.copytree(RELEASE / "postgres-home", home)
    yield home, pg_schema.url


def test_the_fixture_is_what_the_first_release_wrote(release_home: Path) -> None:
    """Every table populated, at 0001 by 0.1.0, one file, and the rows the README promises."""
    assert not any((RELEASE / "home").glob("db.sqlite-*"))
    rows, applied = read_sqlite(release_home / "db.sqlite")
    assert [(a[1], a[4]) for a in applied] == [("0001_initial", "0.1.0")]
    assert all(rows[t] for t in rows), [t for t in rows if not rows[t]]
    assert len(rows) == 18  # 17 tables and the high-water marks
    ids = {t: [r[0] for r in rows[t]] for t in ("dataset", "run", "plugin", "generative_process")}
    assert ids == {"dataset": [1, 3, 4, 5], "run": [1, 3], "plugin": [1, 4], "generative_process": [1, 3]}
    size = sum(p.stat().st_size for p in RELEASE.rglob("*") if p.is_file())
    assert size < 2_000_000


# -- SQLite ----------------------------------------------------------------------------------------


def test_migrate_script_carries_a_release_home_forward(release_home: Path) -> None:
    before_rows, before_versions = read_sqlite(release_home / "db.sqlite")
    before_files = user_files(release_home)
    before_checks = metric_checks(sqlite_at(release_home / "db.sqlite"))

    proc = run_script("--home", str(release_home))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "applied 0002_widen_metric_enums" in proc.stdout and "applied 0001" not in proc.stdout
    assert f"schema version: {HEAD} ({len(STEP_IDS) - 1} step(s) applied)" in proc.stdout

    after_rows, after_versions = read_sqlite(release_home / "db.sqlite")
    assert kept(after_later_steps(before_rows), after_rows)
    assert user_files(release_home) == before_files
    assert after_versions[0] == before_versions[0]  # the release's own record, untouched
    steps = steps_from(REGISTRY)
    assert [(v[0], v[1], v[2]) for v in after_versions] == [(s.sequence, s.id, s.checksum) for s in steps]
    assert all(len(v[2]) == 64 for v in after_versions)
    db = sqlite_at(release_home / "db.sqlite")
    try:
        assert db.execute_sql("PRAGMA user_version").fetchone()[0] == len(STEP_IDS)
        assert db.execute_sql("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert Migrator(release_home, db).drift() == []
        assert metric_checks(db) != before_checks and "LAST_OUTER" in metric_checks(db)
    finally:
        db.close()

    # The backup: taken before the step, at 0001, with the release's rows; it opens.
    [backup] = sorted((release_home / "backups").glob("*.sqlite"))
    assert backup.name.endswith("-0001_initial.sqlite") and str(backup) in proc.stdout
    backup_rows, backup_versions = read_sqlite(backup)
    assert backup_rows == before_rows and backup_versions == before_versions
    restored = release_home.parent / "restored"
    restored.mkdir()
    shutil.copy(backup, restored / "db.sqlite")
    backup_db = sqlite_at(restored / "db.sqlite")
    try:
        status = Migrator(restored, backup_db).status(verify_checksums=True)
        assert status.head == "0001_initial" and [s.id for s in status.pending] == STEP_IDS[1:]
        assert status.checksum_mismatches == ()
        assert metric_checks(backup_db) == before_checks
    finally:
        backup_db.close()

    # A second run is a no-op: nothing applied, no new backup, the same rows.
    again = run_script("--home", str(release_home))
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.strip().splitlines() == [f"schema version: {HEAD} (up to date)"]
    assert read_sqlite(release_home / "db.sqlite") == (after_rows, after_versions)
    assert sorted((release_home / "backups").glob("*.sqlite")) == [backup]


def test_open_store_migrates_a_release_home_and_the_facade_reads_it(release_home: Path) -> None:
    before_rows, _ = read_sqlite(release_home / "db.sqlite")
    with open_store(release_home, finish_deletions=False) as store:
        assert drift(store.db) == []
        assert kept(after_later_steps(before_rows), contents(store.db))
        check_old_data_and_new_values(store.db)


def test_a_failure_in_the_step_leaves_the_database_byte_identical(release_home: Path) -> None:
    """A step that widens the CHECKs and then fails: the runner rolls it all back."""
    path = release_home / "db.sqlite"
    before = path.read_bytes()
    before_rows, before_versions = read_sqlite(path)
    db = sqlite_at(path)
    try:
        with pytest.raises(errors.MigrationError) as caught:
            Migrator(release_home, db, steps_from((REGISTRY[0], _widen_then_fail()))).migrate()
        assert caught.value.step == "0002_widen_then_fail"
        assert "still at 0001_initial" in str(caught.value)
    finally:
        db.close()
    assert path.read_bytes() == before
    assert not (release_home / "db.sqlite-wal").exists() or _wal_is_empty(release_home)
    assert read_sqlite(path) == (before_rows, before_versions)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            conn.execute(
                "INSERT INTO metric (run_id, name, value, split, level, step, timestamp) "
                "VALUES (1, 'x', 1.0, 'FULL', 'EPOCH', 0, '2024-01-01 00:00:00')"
            )
    # And the real step still applies afterwards.
    assert run_script("--home", str(release_home)).returncode == 0


def _wal_is_empty(home: Path) -> bool:
    with sqlite3.connect(home / "db.sqlite") as conn:
        return bool(conn.execute("PRAGMA wal_checkpoint").fetchone()[1] <= 0)


def _widen_then_fail() -> ModuleType:
    module = ModuleType("test_m0002.widen_then_fail")
    module.ID = "0002_widen_then_fail"  # type: ignore[attr-defined]

    def upgrade(migrator: Any, db: peewee.Database) -> None:
        m0002_widen_metric_enums.upgrade(migrator, db)
        assert "LAST_OUTER" in metric_checks(db)  # the change is made before the failure
        raise RuntimeError("failure injected after widening")

    module.upgrade = upgrade  # type: ignore[attr-defined]
    return module


def test_m0002_refuses_a_metric_table_it_does_not_recognise(release_home: Path) -> None:
    """A hand-edited CHECK is not guessed at: the step fails and nothing changes."""
    path = release_home / "db.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute(
            "UPDATE sqlite_master SET sql = replace(sql, \"split = 'TEST')\", \"split = 'TEST' )\") "
            "WHERE name = 'metric'"
        )
        version = conn.execute("PRAGMA schema_version").fetchone()[0]
        conn.execute(f"PRAGMA schema_version = {version + 1}")
    before = read_sqlite(path)
    proc = run_script("--home", str(release_home))
    assert proc.returncode == 1 and "0002_widen_metric_enums failed" in proc.stdout, proc.stdout
    assert "does not hold" in proc.stdout
    assert read_sqlite(path) == before


# -- PostgreSQL ----------------------------------------------------------------------------------------


def test_a_release_postgres_schema_is_carried_forward(release_pg: tuple[Path, str]) -> None:
    home, url = release_pg
    before_files = user_files(home)
    db = connect_postgres(url)
    try:
        before_rows, before_versions = contents(db), versions(db)
        assert [v[1] for v in before_versions] == ["0001_initial"]
        assert all(before_rows.values())
        result = Migrator(home, db).migrate()
        assert [s.id for s in result.applied] == STEP_IDS[1:] and result.backup is None
        assert kept(after_later_steps(before_rows), contents(db))
        after = versions(db)
        assert after[0] == before_versions[0]
        steps = steps_from(REGISTRY)
        assert [(v[0], v[1], v[2]) for v in after] == [(s.sequence, s.id, s.checksum) for s in steps]
        assert drift(db) == []
        assert "NOT VALID" not in metric_checks(db) and "LAST_OUTER" in metric_checks(db)
        assert Migrator(home, db).migrate().applied == ()  # a second run is a no-op
        assert versions(db) == after
    finally:
        db.close()
    assert user_files(home) == before_files
    with open_store(home, database=url, finish_deletions=False) as store:
        assert kept(after_later_steps(before_rows), contents(store.db))
        check_old_data_and_new_values(store.db)


def test_a_failure_in_the_step_leaves_the_postgres_schema_at_0001(release_pg: tuple[Path, str]) -> None:
    home, url = release_pg
    db = connect_postgres(url)
    try:
        before = contents(db), versions(db), metric_checks(db)
        with pytest.raises(errors.MigrationError, match="failure injected after widening"):
            Migrator(home, db, steps_from((REGISTRY[0], _widen_then_fail()))).migrate()
        assert (contents(db), versions(db), metric_checks(db)) == before
    finally:
        db.close()


# -- through the facade ----------------------------------------------------------------------------------


def check_old_data_and_new_values(db: peewee.Database) -> None:
    """What 0.1.0 wrote reads back through today's facade; the new values are accepted."""
    history = metrics.history(1)
    # 36 accuracy points (3 splits x 4 levels x 3 steps; LAST folded to one per split by
    # the summary-metric step), 8 special values, 1 loss.
    folded = 30 if FOLDS_SUMMARIES else 36
    assert len(history) == folded + 8 + 1
    special = [p.value for p in metrics.history(1, name="special")]
    assert special[1:3] == [float("inf"), float("-inf")] and special[5:] == [1e308, 5e-324, -1.5]
    assert metrics.latest(1)["TRAIN"] == {"accuracy": 0.75, "loss": 0.125}
    assert [p.value for p in metrics.history(3, name="rmse")] == [1.0, 0.5, 1 / 3, 0.25]
    table = datasets.load_table(1)
    assert table.num_rows == 24 and table.column_names[:2] == ["sepal_length", "sepal_width"]
    assert datasets.get(5).lineage is not None
    assert runs.load_model(1) == {"weights": [0.5, -1.25, 3.0], "bias": -0.0, "classes": ["a", "b"]}
    assert runs.load_plot(1, "history", as_figure=False)["data"][0]["y"] == [3.0, 2.0]
    assert predictions.load_results(1).column("predicted").to_pylist() == ["setosa", "versicolor", "setosa"]
    assert explainers.load_explanation("global", 1)["importances"]["sepal_length"] == 0.5

    metrics.log(1, "accuracy", 0.5, split="FULL", level="EPOCH", step=1)
    points = [("accuracy", "FULL", level, 2, 0.25) for level in NEW_LEVELS]
    points += [("loss", split, "FOLD", 3, 0.125) for split in ("TRAIN", "VALIDATION", "TEST", "FULL")]
    assert metrics.log_many(1, points) == len(points)
    got = {(p.split.name, p.level.name, p.step) for p in metrics.history(1, split="FULL")}
    assert got >= {("FULL", "EPOCH", 1), *(("FULL", level, 2) for level in NEW_LEVELS), ("FULL", "FOLD", 3)}
    assert len(metrics.history(1, level="FOLD")) == 5
    assert len(metrics.history(1)) == folded + 8 + 1 + 1 + len(points)
    with pytest.raises(errors.ValidationError):
        metrics.log(1, "accuracy", 0.5, split="HOLDOUT", level="EPOCH", step=1)


# -- a large metric table ------------------------------------------------------------------------------


@pytest.mark.slow
def test_m0002_on_a_million_metric_rows_edits_the_schema_in_place(tmp_path: Path) -> None:
    """The figure in the step's docstring: no table copy (the file keeps its pages)."""
    home = tmp_path / "home"
    home.mkdir()
    db = sqlite_at(home / "db.sqlite")
    try:
        Migrator(home, db, steps_from(REGISTRY[:1])).migrate()
    finally:
        db.close()
    rows = 1_000_000
    with sqlite3.connect(home / "db.sqlite") as conn:
        conn.execute(
            "INSERT INTO dataset (name, status, created, last_modified) "
            "VALUES ('d', 'FINISHED', '2024-01-01', '2024-01-01')"
        )
        conn.execute(
            "INSERT INTO model_session (dataset_id, name, task_name, input_columns, output_columns, splits, "
            "created, last_modified) VALUES (1, 's', 't', '[]', '[]', '{}', '2024-01-01', '2024-01-01')"
        )
        conn.execute(
            "INSERT INTO run (model_session_id, name, model_name, parameters, optimizer_name, "
            "optimizer_parameters, goal_metric, status, created, last_modified) "
            "VALUES (1, 'r', 'm', '{}', 'o', '{}', 'g', 'FINISHED', '2024-01-01', '2024-01-01')"
        )
        splits, levels = ("TRAIN", "VALIDATION", "TEST"), ("LAST", "STEP", "BATCH", "TRIAL")
        conn.executemany(
            "INSERT INTO metric (run_id, name, value, split, level, step, timestamp) "
            "VALUES (1, ?, ?, ?, ?, ?, ?)",
            (
                (f"m{i % 5}", i * 0.001, splits[i % 3], levels[(i // 3) % 4], i, "2024-01-01 00:00:00")
                for i in range(rows)
            ),
        )
    with sqlite3.connect(home / "db.sqlite") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    db = sqlite_at(home / "db.sqlite")
    try:
        started = time.perf_counter()
        result = Migrator(home, db, steps_from(REGISTRY[:2])).migrate()
        total_s = time.perf_counter() - started
        [step] = result.applied
        assert step.id == STEP_IDS[1]
        assert db.execute_sql("SELECT COUNT(*) FROM metric").fetchone()[0] == rows
        db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        assert db.execute_sql("PRAGMA page_count").fetchone()[0] == pages  # not rebuilt
        later = Migrator(home, db).migrate().applied  # the steps after 0002, to the models' schema
        assert drift(db) == []
    finally:
        db.close()
    print(
        f"m0002 on {rows} metric rows: step {step.duration_ms / 1000:.2f} s, with preflight {total_s:.2f} s; "
        + ", ".join(f"{s.id} {s.duration_ms / 1000:.2f} s" for s in later)
    )
