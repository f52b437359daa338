"""The migration runner on SQLite and PostgreSQL: fresh schema, table rebuilds, failing
steps, databases from a newer version, concurrent starts, the lock, and open_store's
refusals. Test-only steps live in tests/migration_fixtures/; subprocess runs go through
scripts/migrate.py or the fixtures' migrate_with.py wrapper.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from types import ModuleType

import peewee
import pytest
from conftest import PgSchema
from dashai_store.migrations import REGISTRY
from migration_fixtures import (
    next_add_column,
    next_fail_halfway,
    next_orphan,
    next_rebuild_dataset,
    next_rebuild_run,
    next_slow,
)
from migration_fixtures.support import (
    BASE,
    EXPECTED_TABLES,
    HEAD,
    PYTHON,
    REPO,
    TIMEOUT_S,
    WRAPPER,
    all_rows,
    connect,
    now,
    run_script,
    run_with,
    seed,
    sqlite_rows,
    table_names,
    target_args,
    version_rows,
)

from dashai_store import __version__, errors, models, open_store
from dashai_store.database import connect_postgres
from dashai_store.locks import advisory_key, file_lock
from dashai_store.migrator import Migrator, default_steps, steps_from
from dashai_store.schema import drift


def home_listing(home: Path) -> dict[str, bytes]:
    """Every file under the home with its bytes (the database included).

    Reading a WAL database, even read-only, may leave SQLite's ``-shm`` index and an
    empty ``-wal`` beside it: neither holds data, so they are left out, but a ``-wal`` that
    holds anything is kept (it would be a write).
    """
    listing = {}
    for p in sorted(home.rglob("*")):
        if not p.is_file() or p.name.endswith("-shm"):
            continue
        if p.name.endswith("-wal") and p.stat().st_size == 0:
            continue
        listing[str(p.relative_to(home))] = p.read_bytes()
    return listing


def seeded_store(home: Path, url: str | None) -> None:
    with open_store(home, database=url):
        seed()


# -- a fresh migrate ------------------------------------------------------------------------


def test_fresh_migrate_creates_exactly_the_schema(home: Path, database_url: str | None) -> None:
    db = connect(home, database_url)
    try:
        result = Migrator(home, db).migrate()
        steps = default_steps()
        assert [r.id for r in result.applied] == [s.id for s in steps]
        assert result.head == steps[-1].id
        assert result.backup is None  # nothing to back up in an empty database
        assert table_names(db) == list(EXPECTED_TABLES)
        assert drift(db) == []
        rows = version_rows(db)
        for row, step in zip(rows, steps, strict=True):
            assert row[:3] == (step.sequence, step.id, step.checksum)
            assert row[2] and len(str(row[2])) == 64
            datetime.fromisoformat(str(row[3]))
            assert row[4] == __version__
            assert float(str(row[5])) >= 0
        if database_url is None:
            assert db.execute_sql("PRAGMA user_version").fetchone()[0] == len(steps)
            assert db.pragma("foreign_keys") == 1

        again = Migrator(home, db).migrate()
        assert again.applied == () and again.head == steps[-1].id and again.backup is None
        assert version_rows(db) == rows
        assert table_names(db) == list(EXPECTED_TABLES)
    finally:
        db.close()
    assert not (home / "backups").exists()


def test_migrate_refuses_to_start_inside_a_transaction(home: Path) -> None:
    db = connect(home, None)
    try:
        with db.atomic(), pytest.raises(errors.MigrationError, match="no transaction open"):
            Migrator(home, db).migrate()
        assert table_names(db) == []
    finally:
        db.close()


# -- a test-only step that rebuilds a parent table -----------------------------------------------


@pytest.mark.parametrize(
    ("step", "expected_drift"),
    [
        (
            next_rebuild_dataset,
            [
                "table dataset: column file_path differs: database (type, not null, default, pk) = "
                "('TEXT', True, None, False), models = ('TEXT', False, None, False)"
            ],
        ),
        (next_rebuild_run, []),
    ],
    ids=["dataset add_not_null", "run alter_column_type"],
)
def test_rebuilding_a_parent_table_keeps_every_child_row(
    home: Path, database_url: str | None, step: ModuleType, expected_drift: list[str]
) -> None:
    with open_store(home, database=database_url) as store:
        seeded = seed()
        # The highest dataset and run are deleted: their ids must never come back.
        t = now()
        doomed_ds = models.Dataset.create(name="doomed", file_path="x", created=t, last_modified=t)
        doomed_run = models.Run.create(
            model_session=seeded.model_session,
            name="doomed",
            model_name="m",
            parameters={},
            optimizer_name="o",
            optimizer_parameters={},
            goal_metric="g",
            created=t,
            last_modified=t,
        )
        doomed_ds.delete_instance()
        doomed_run.delete_instance()
        before = all_rows(store.db)
    assert len(before["metric"]) == 12 and before["model_session"] and before["local_explainer"]

    db = connect(home, database_url)
    try:
        result = Migrator(home, db, steps_from((*REGISTRY, step))).migrate()
        assert [r.id for r in result.applied] == [step.ID]
        assert all_rows(db) == before
        assert drift(db) == expected_drift
        if database_url is None:
            assert db.pragma("foreign_keys") == 1
            assert db.execute_sql("PRAGMA foreign_key_check").fetchall() == []
            assert db.execute_sql("PRAGMA user_version").fetchone()[0] == len(REGISTRY) + 1
            assert result.backup is not None and result.backup.parent == home / "backups"
        with db.bind_ctx(models.ALL_MODELS):
            fresh_ds = models.Dataset.create(name="fresh", file_path="y", created=t, last_modified=t)
            fresh_run = models.Run.create(
                model_session=seeded.model_session,
                name="fresh",
                model_name="m",
                parameters={},
                optimizer_name="o",
                optimizer_parameters={},
                goal_metric="g",
                created=t,
                last_modified=t,
            )
            assert fresh_ds.id > doomed_ds.id
            assert fresh_run.id > doomed_run.id
            # The cascade still works after the rebuild (foreign keys point at the new table).
            models.Dataset.delete().where(models.Dataset.id == seeded.dataset).execute()
            assert models.Metric.select().count() == 0
            assert models.Prediction.select().count() == 0  # its run went with the dataset
    finally:
        db.close()


def test_a_step_leaving_a_dangling_foreign_key_is_rolled_back(home: Path, database_url: str | None) -> None:
    seeded_store(home, database_url)
    db = connect(home, database_url)
    try:
        before = all_rows(db)
        with pytest.raises(errors.MigrationError) as caught:
            Migrator(home, db, steps_from((*REGISTRY, next_orphan))).migrate()
        assert caught.value.step == next_orphan.ID
        assert f"still at {HEAD}" in str(caught.value)
        assert [r[1] for r in version_rows(db)] == BASE
        assert all_rows(db) == before
        if database_url is None:
            assert "foreign-key violation" in str(caught.value)
            assert db.pragma("foreign_keys") == 1
    finally:
        db.close()


# -- a test-only step that fails halfway -------------------------------------------------------


def test_a_step_failing_halfway_keeps_the_previous_version_and_a_backup(
    home: Path, database_url: str | None
) -> None:
    seeded_store(home, database_url)
    db = connect(home, database_url)
    before, tables_before = all_rows(db), table_names(db)
    db.close()

    proc = run_with("next_fail_halfway", *target_args(home, database_url))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert next_fail_halfway.ID in proc.stdout and next_fail_halfway.MESSAGE in proc.stdout
    assert f"still at {HEAD}" in proc.stdout

    db = connect(home, database_url)
    try:
        assert [r[1] for r in version_rows(db)] == BASE
        assert table_names(db) == tables_before  # no "halfway" table
        assert all_rows(db) == before
        if database_url is None:
            assert db.execute_sql("PRAGMA user_version").fetchone()[0] == len(BASE)
    finally:
        db.close()

    if database_url is None:
        [backup] = sorted((home / "backups").iterdir())
        assert f"backup: {backup}" in proc.stdout
        assert sqlite_rows(backup, "PRAGMA integrity_check") == [("ok",)]
        assert sqlite_rows(backup, "SELECT name FROM dataset ORDER BY id") == [("iris",), ("wine",)]
        assert sqlite_rows(backup, "SELECT COUNT(*) FROM metric") == [(12,)]
        assert sqlite_rows(backup, "SELECT id FROM dashai_schema_migration") == [(i,) for i in BASE]

    # The failure left nothing half-done behind: the real registry still finds it up to date.
    again = run_script(*target_args(home, database_url))
    assert again.returncode == 0 and "up to date" in again.stdout


# -- the preflight (SQLite) --------------------------------------------------------------------------


def test_a_database_failing_its_integrity_check_is_not_migrated(home: Path) -> None:
    with open_store(home) as store:
        seed()
        root = store.db.execute_sql(
            "SELECT rootpage FROM sqlite_master WHERE name = 'metric_run_id_split_level_name_step'"
        ).fetchone()[0]
        page_size = store.db.execute_sql("PRAGMA page_size").fetchone()[0]
    path = home / "db.sqlite"
    data = bytearray(path.read_bytes())
    offset = (root - 1) * page_size
    data[offset + 8 : offset + page_size] = b"\x07" * (page_size - 8)  # scribble over an index page
    path.write_bytes(bytes(data))
    files = home_listing(home)
    db = connect(home, None)
    try:
        with pytest.raises(errors.MigrationError, match="fails its integrity check"):
            Migrator(home, db, steps_from((*REGISTRY, next_add_column))).migrate()
    finally:
        db.close()
    assert home_listing(home) == files
    assert not (home / "backups").exists()


def test_too_little_free_space_stops_before_anything_is_written(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded_store(home, None)
    files = home_listing(home)
    monkeypatch.setattr(
        "dashai_store.preflight.shutil.disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9, 4096)
    )
    db = connect(home, None)
    try:
        with pytest.raises(errors.MigrationError, match="not enough free space"):
            Migrator(home, db, steps_from((*REGISTRY, next_add_column))).migrate()
        assert [r[1] for r in version_rows(db)] == BASE
    finally:
        db.close()
    assert home_listing(home) == files
    assert not (home / "backups").exists()


def test_the_backup_is_a_copy_taken_before_the_step(home: Path) -> None:
    """SQLite only: a PostgreSQL server is backed up by its operator, not into backups/."""
    seeded_store(home, None)
    db = connect(home, None)
    try:
        before = all_rows(db)
        result = Migrator(home, db, steps_from((*REGISTRY, next_add_column))).migrate()
    finally:
        db.close()
    assert result.backup is not None and result.backup.parent == home / "backups"
    assert HEAD in result.backup.name
    assert sqlite_rows(result.backup, "PRAGMA integrity_check") == [("ok",)]
    assert sqlite_rows(result.backup, "SELECT id FROM dashai_schema_migration") == [(i,) for i in BASE]
    copy = peewee.SqliteDatabase(f"file:{result.backup}?mode=ro", uri=True)
    try:
        assert all_rows(copy) == before
        assert "extra_note" not in [c.name for c in copy.get_columns("dataset")]
    finally:
        copy.close()


def test_the_backup_is_written_under_a_temporary_name_first(home: Path) -> None:
    """A run killed during VACUUM INTO left a half copy under the backup's own name, which
    a user restoring it would take for a good backup. Now only a .tmp can be left, and the
    next run removes it."""
    seeded_store(home, None)
    (home / "backups").mkdir()
    leftover = home / "backups" / ".db-20260101T000000000000Z-0001_initial.sqlite.tmp"
    leftover.write_bytes(b"half a copy")
    db = connect(home, None)
    try:
        result = Migrator(home, db, steps_from((*REGISTRY, next_add_column))).migrate()
    finally:
        db.close()
    assert not leftover.exists()
    assert result.backup is not None
    assert [p.name for p in (home / "backups").iterdir()] == [result.backup.name]
    assert sqlite_rows(result.backup, "PRAGMA integrity_check") == [("ok",)]


# -- a database from a newer version ----------------------------------------------------------------


def stamp_future_step(home: Path, url: str | None) -> None:
    db = connect(home, url)
    try:
        p = db.param
        db.execute_sql(
            f"INSERT INTO dashai_schema_migration (sequence, id, checksum, applied_at, library_version, "
            f"duration_ms) VALUES ({p}, {p}, {p}, {p}, {p}, {p})",
            (len(BASE) + 1, "9999_from_the_future", "f" * 64, now().isoformat(), "99.0", 1.5),
        )
    finally:
        db.close()


@pytest.mark.parametrize("mode", [[], ["--status"], ["--dry-run"], ["--check"], ["--history"]])
def test_a_database_from_a_newer_version_is_refused_with_no_write(
    home: Path, database_url: str | None, mode: list[str]
) -> None:
    seeded_store(home, database_url)
    stamp_future_step(home, database_url)
    db = connect(home, database_url)
    versions, tables, rows = version_rows(db), table_names(db), all_rows(db)
    db.close()
    files = home_listing(home)

    proc = run_script(*target_args(home, database_url), *mode)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    if mode != ["--history"]:
        assert "9999_from_the_future" in proc.stdout

    assert home_listing(home) == files  # db.sqlite byte for byte; no -wal, no backup, no lock
    db = connect(home, database_url)
    try:
        assert (version_rows(db), table_names(db), all_rows(db)) == (versions, tables, rows)
    finally:
        db.close()


@pytest.mark.parametrize("migrate", [True, False])
def test_open_store_refuses_a_newer_database(home: Path, database_url: str | None, migrate: bool) -> None:
    seeded_store(home, database_url)
    stamp_future_step(home, database_url)
    files = home_listing(home)
    with pytest.raises(errors.SchemaTooNew, match="9999_from_the_future"):
        open_store(home, database=database_url, migrate=migrate)
    assert home_listing(home) == files


@pytest.mark.parametrize("kind", ["legacy DashAI (Alembic)", "foreign"])
def test_a_database_not_made_by_dashai_store_is_refused_with_no_write(
    home: Path, database_url: str | None, kind: str
) -> None:
    db = connect(home, database_url)
    try:
        if kind == "foreign":
            db.execute_sql("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
            db.execute_sql("INSERT INTO invoices VALUES (1, 9.5)")
        else:
            db.execute_sql("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
            db.execute_sql("CREATE TABLE dataset (id INTEGER PRIMARY KEY, name TEXT)")
            db.execute_sql("INSERT INTO dataset VALUES (1, 'x')")
        tables = table_names(db)
    finally:
        db.close()
    files = home_listing(home)
    proc = run_script(*target_args(home, database_url))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Nothing was written" in proc.stdout
    assert home_listing(home) == files
    with pytest.raises(errors.SchemaError):
        open_store(home, database=database_url)
    db = connect(home, database_url)
    try:
        assert table_names(db) == tables
    finally:
        db.close()


# -- open_store(migrate=False) --------------------------------------------------------------------------


def test_open_store_without_migrating_refuses_an_empty_database(home: Path, database_url: str | None) -> None:
    with pytest.raises(errors.SchemaOutdated, match=f"{len(BASE)} migration"):
        open_store(home, database=database_url, migrate=False)
    assert not (home / "db.sqlite").exists()
    db = connect(home, database_url)
    try:
        assert table_names(db) == []
    finally:
        db.close()


def test_open_store_without_migrating_refuses_an_outdated_database(
    home: Path, database_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded_store(home, database_url)
    # This code now knows a step 3 the database has not had.
    monkeypatch.setattr(
        "dashai_store.migrator.default_steps", lambda: steps_from((*REGISTRY, next_add_column))
    )
    files = home_listing(home)
    with pytest.raises(errors.SchemaOutdated, match=f"is at {HEAD}; 1 migration"):
        open_store(home, database=database_url, migrate=False)
    assert home_listing(home) == files
    with open_store(home, database=database_url) as store:  # migrate=True applies it
        assert [r[1] for r in version_rows(store.db)] == [*BASE, next_add_column.ID]


def test_a_file_that_is_not_sqlite_is_a_clear_error(home: Path) -> None:
    path = home / "db.sqlite"
    path.write_bytes(b"these are not the bytes of a SQLite database\n" * 200)
    files = home_listing(home)
    for migrate in (True, False):
        with pytest.raises(errors.StoreError) as caught:
            open_store(home, migrate=migrate)
        assert str(path) in str(caught.value)
        assert "SQLite" in str(caught.value)
    proc = run_script("--home", str(home))
    assert proc.returncode == 1 and str(path) in proc.stdout, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert home_listing(home) == files


# -- two processes at once, and the lock -----------------------------------------------------------------


def _popen(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)


@pytest.mark.parametrize("slow", [True, False], ids=["slow step", "real registry"])
def test_two_processes_migrating_a_fresh_home_at_once(
    home: Path, database_url: str | None, slow: bool
) -> None:
    target = target_args(home, database_url)
    if slow:
        command = [PYTHON, str(WRAPPER), "next_slow", *target]
        expected = [*BASE, next_slow.ID]
    else:
        command = [PYTHON, str(REPO / "scripts" / "migrate.py"), *target]
        expected = BASE
    procs = [_popen(command), _popen(command)]
    outputs = [p.communicate(timeout=TIMEOUT_S) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, out + err
    stdout = [out for out, _err in outputs]
    for step_id in expected:
        assert sum(f"applied {step_id} " in out for out in stdout) == 1, stdout
    assert sum("up to date" in out for out in stdout) == 1, stdout

    db = connect(home, database_url)
    try:
        assert [r[1] for r in version_rows(db)] == expected
        assert table_names(db) == list(EXPECTED_TABLES)
    finally:
        db.close()


def test_a_lock_held_past_the_timeout_is_a_clear_failure(home: Path) -> None:
    with file_lock(home / "db.sqlite.migrate.lock", 1.0, "test"):
        proc = run_script("--home", str(home), "--lock-timeout", "0.3")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "lock" in proc.stdout and f"pid {os.getpid()}" in proc.stdout
    assert "0.3 s" in proc.stdout
    assert not (home / "db.sqlite").exists()
    # Once the lock is free the same command migrates.
    assert run_script("--home", str(home)).returncode == 0


def test_a_postgres_advisory_lock_held_past_the_timeout_is_a_clear_failure(
    home: Path, pg_schema: PgSchema
) -> None:
    database_url = pg_schema.url
    holder = connect_postgres(database_url)
    try:
        key = advisory_key(holder, "migration")
        holder.execute_sql("SELECT pg_advisory_lock(%s)", (key,))
        proc = run_script(*target_args(home, database_url), "--lock-timeout", "0.3")
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "lock" in proc.stdout and str(key) in proc.stdout
        assert table_names(holder) == []
        holder.execute_sql("SELECT pg_advisory_unlock(%s)", (key,))
        assert run_script(*target_args(home, database_url)).returncode == 0
        assert table_names(holder) == list(EXPECTED_TABLES)
    finally:
        holder.close()
