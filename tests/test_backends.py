"""The backend objects: chosen once per connection, each answering for its database kind.

Most of what they own is pinned through the facade (metrics, rows, the migrator, the
drift check); here are the choice itself and the methods maintenance is to call.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import peewee
import pytest
from dashai_store.migrations import REGISTRY

from dashai_store import errors, models
from dashai_store.backends import PostgresBackend, SqliteBackend, backend_for
from dashai_store.clock import utcnow
from dashai_store.database import BUSY_TIMEOUT_S, Store
from dashai_store.migrator import Migrator
from dashai_store.versions import VERSION_TABLE


def test_the_backend_is_chosen_once_when_the_store_connects(store: Store, backend: str) -> None:
    expected = PostgresBackend if backend == "postgresql" else SqliteBackend
    assert type(store.dialect) is expected
    assert store.dialect.db is store.db
    assert store.dialect is store.dialect  # an attribute, not chosen again per call
    assert store.backend == store.dialect.name == backend


def test_a_database_of_another_kind_is_refused() -> None:
    with pytest.raises(errors.StoreError, match="unsupported database"):
        backend_for(peewee.MySQLDatabase("nowhere"))


def test_rows_are_locked_for_update_on_postgresql_only(store: Store, backend: str) -> None:
    query = models.Run.select().where(models.Run.id == 1)
    sql, _params = store.dialect.lock_rows(query).sql()
    assert ("FOR UPDATE" in sql) is (backend == "postgresql")


def _plant_orphan_metric(store: Store) -> None:
    now = utcnow()
    row = {"run": 987654, "name": "acc", "value": 1.0, "split": "TRAIN", "level": "LAST", "step": 0}
    if store.backend == "postgresql":
        # Only a restore with triggers disabled can leave an orphan on PostgreSQL.
        with store.db.atomic():
            store.db.execute_sql("SET LOCAL session_replication_role = replica")
            models.Metric.insert(**row, timestamp=now).execute()
        return
    store.db.pragma("foreign_keys", 0)
    try:
        models.Metric.insert(**row, timestamp=now).execute()
    finally:
        store.db.pragma("foreign_keys", 1)


def test_foreign_key_violations_are_found_on_both_backends(store: Store) -> None:
    assert store.dialect.foreign_key_violations(models.DOMAIN_MODELS) == []
    _plant_orphan_metric(store)
    found = store.dialect.foreign_key_violations(models.DOMAIN_MODELS)
    assert [(v.table, v.parent) for v in found] == [("metric", "run")]


def test_a_schema_change_with_a_violated_foreign_key_is_refused_on_sqlite(sqlite_store: Store) -> None:
    _plant_orphan_metric(sqlite_store)
    with pytest.raises(errors.IntegrityError, match="1 foreign-key violation"):
        sqlite_store.dialect.check_foreign_keys("the step")


def test_integrity_is_checked_on_sqlite_and_left_to_the_server_on_postgresql(
    store: Store, backend: str
) -> None:
    assert store.dialect.integrity_problems() == ([] if backend == "sqlite" else None)


def test_a_snapshot_copies_the_sqlite_database_and_nothing_on_postgresql(
    store: Store, backend: str, tmp_path: Path
) -> None:
    target = tmp_path / "snapshot.sqlite"
    seen: list[tuple[int, int]] = []
    copied = store.dialect.snapshot(target, 1, BUSY_TIMEOUT_S, lambda done, total: seen.append((done, total)))
    if backend == "postgresql":
        assert copied is False and not target.exists()
        return
    assert copied is True and seen and seen[-1][0] == seen[-1][1]
    conn = sqlite3.connect(target)
    try:
        assert conn.execute(f"SELECT id FROM {VERSION_TABLE}").fetchall() == [(m.ID,) for m in REGISTRY]
    finally:
        conn.close()


def test_counts_and_size_are_read_on_both_backends(store: Store) -> None:
    counts, size = store.dialect.table_counts_and_size(["run", "metric"])
    assert counts == {"run": 0, "metric": 0} and size > 0


def test_the_runner_and_the_store_ask_the_same_kind_of_backend(store: Store) -> None:
    migrator = Migrator(store.home, store.db)
    assert type(migrator.backend) is type(store.dialect)
    status = migrator.status()
    migrator.check_usable(status)  # public: store.py and the CLI call it
    assert status.up_to_date
