"""parameter_history is append-only in the database, whatever writes to it.

Step 0003's trigger refuses SQLite's REPLACE (whose implicit delete fires no DELETE
trigger); on PostgreSQL there is no REPLACE and ``INSERT ... ON CONFLICT DO UPDATE`` meets
the UPDATE trigger. Tried with the plain drivers (sqlite3, psycopg2) and with Peewee
through the store's own connection. ``maintenance.check()`` reports a dropped trigger.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import peewee
import pytest
from migration_fixtures.support import run_script, target_args

from dashai_store import generative, maintenance, models, open_store
from dashai_store.database import Store


def _snapshot(store: Store) -> tuple[int, int, Any]:
    session = generative.create_session("s", task_name="t", model_name="m", parameters={"a": 1})
    row = store.db.execute_sql("SELECT id, parameters FROM parameter_history").fetchone()
    return session.id, int(row[0]), row[1]


def _stored(store: Store) -> list[Any]:
    return [r[0] for r in store.db.execute_sql("SELECT parameters FROM parameter_history ORDER BY id")]


def test_sqlite_insert_or_replace_of_an_existing_id_is_refused(sqlite_store: Store) -> None:
    session_id, snapshot_id, before = _snapshot(sqlite_store)
    conn = sqlite3.connect(str(sqlite_store.home / "db.sqlite"), timeout=30)
    try:
        for verb in ("INSERT OR REPLACE INTO", "REPLACE INTO"):
            with pytest.raises(sqlite3.IntegrityError, match=models.APPEND_ONLY_MESSAGE):
                with conn:
                    conn.execute(
                        f"{verb} parameter_history (id, session_id, parameters, modified_at) "
                        "VALUES (?, ?, '{\"a\": 2}', '2020-01-01 00:00:00')",
                        (snapshot_id, session_id),
                    )
        # recursive_triggers on makes REPLACE's delete fire the DELETE trigger; refused either way.
        conn.execute("PRAGMA recursive_triggers = ON")
        with pytest.raises(sqlite3.IntegrityError, match=models.APPEND_ONLY_MESSAGE), conn:
            conn.execute(
                "INSERT OR REPLACE INTO parameter_history (id, session_id, parameters, modified_at) "
                "VALUES (?, ?, '{}', '2020-01-01 00:00:00')",
                (snapshot_id, session_id),
            )
        # A new id is still an append.
        with conn:
            conn.execute(
                "INSERT OR REPLACE INTO parameter_history (session_id, parameters, modified_at) "
                "VALUES (?, '{\"a\": 3}', '2020-01-01 00:00:00')",
                (session_id,),
            )
    finally:
        conn.close()
    assert _stored(sqlite_store) == [before, '{"a": 3}']


def test_peewee_replace_through_the_store_connection_is_refused(store: Store) -> None:
    session_id, snapshot_id, before = _snapshot(store)
    ph = models.ParameterHistory
    # SQLite: the trigger refuses it; PostgreSQL: Peewee has no REPLACE there and says so.
    with pytest.raises((peewee.IntegrityError, ValueError)), store.db.atomic():
        ph.replace(
            id=snapshot_id, session=session_id, parameters={"a": 2}, modified_at="2020-01-01"
        ).execute()
    with pytest.raises(peewee.IntegrityError, match=models.APPEND_ONLY_MESSAGE), store.db.atomic():
        ph.insert(
            id=snapshot_id, session=session_id, parameters={"a": 2}, modified_at="2020-01-01"
        ).on_conflict(conflict_target=[ph.id], update={ph.parameters: {"a": 2}}).execute()
    assert _stored(store) == [before]


def test_postgres_on_conflict_do_update_is_refused(store: Store) -> None:
    if store.backend != "postgresql":
        pytest.skip("PostgreSQL only")
    import psycopg2

    session_id, snapshot_id, before = _snapshot(store)
    conn = psycopg2.connect(database=store.db.database, **store.db.connect_params)
    try:
        cursor = conn.cursor()
        with pytest.raises(psycopg2.IntegrityError, match=models.APPEND_ONLY_MESSAGE):
            cursor.execute(
                "INSERT INTO parameter_history (id, session_id, parameters, modified_at) "
                "VALUES (%s, %s, '{}', now()) "
                "ON CONFLICT (id) DO UPDATE SET parameters = EXCLUDED.parameters",
                (snapshot_id, session_id),
            )
        conn.rollback()
    finally:
        conn.close()
    assert _stored(store) == [before]


def test_check_reports_a_dropped_append_only_trigger(store: Store) -> None:
    generative.create_session("s", task_name="t", model_name="m", parameters={"a": 1})
    assert maintenance.check().schema_drift == ()
    name = "parameter_history_no_replace" if store.backend == "sqlite" else "parameter_history_no_truncate"
    on = "" if store.backend == "sqlite" else " ON parameter_history"
    store.db.execute_sql(f"DROP TRIGGER {name}{on}")
    report = maintenance.check()
    assert not report.ok
    assert any(name in line and "missing" in line for line in report.schema_drift), report.schema_drift
    assert any("schema" in advice for advice in maintenance.advice(report))
    with pytest.raises(peewee.IntegrityError), store.db.atomic():  # the other triggers still hold
        store.db.execute_sql("UPDATE parameter_history SET parameters = '{}'")


def test_migrate_check_names_a_dropped_append_only_trigger(home: Path, database_url: str | None) -> None:
    with open_store(home, database=database_url) as store:
        assert run_script("--check", *target_args(home, database_url)).returncode == 0
        name = (
            "parameter_history_no_replace" if store.backend == "sqlite" else "parameter_history_no_truncate"
        )
        store.db.execute_sql(
            f"DROP TRIGGER {name}" + ("" if store.backend == "sqlite" else " ON parameter_history")
        )
    proc = run_script("--check", *target_args(home, database_url))
    assert proc.returncode != 0 and f"trigger {name}: missing from the database" in proc.stdout, proc.stdout
