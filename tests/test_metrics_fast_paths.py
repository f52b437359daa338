"""The column-wise fast paths of log_many and since give what the point-by-point paths give.

log_many's plain-chunk check skips the enum-member scans when a chunk's first point has
names; since() parses SQLite's timestamp text at C speed when the page's first value is
text. A chunk or page that breaks the guess (a member further down; a value edited by
hand) must still be read or written as the slow path does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime

from helpers import plant_dataset, plant_session

from dashai_store import metrics, runs
from dashai_store.database import Store
from dashai_store.decoding import Unreadable
from dashai_store.enums import LevelEnum, SplitEnum


def _run() -> int:
    return runs.create(plant_session(plant_dataset()), "r", "SVC", {}).id


def test_members_after_a_first_point_with_names_are_stored_as_names(store: Store) -> None:
    run_id = _run()
    points = [("loss", "TRAIN", "STEP", 0, 1.0)]
    points += [("loss", SplitEnum.TRAIN, LevelEnum.STEP, step, 1.0 / step) for step in range(1, 50)]
    points += [("acc", "VALIDATION", LevelEnum.STEP, step, 0.5) for step in range(50)]
    assert metrics.log_many(run_id, points) == 100
    history = metrics.history(run_id)
    assert len(history) == 100
    assert {(p.split, p.level) for p in history} == {
        (SplitEnum.TRAIN, LevelEnum.STEP),
        (SplitEnum.VALIDATION, LevelEnum.STEP),
    }
    rows = store.db.execute_sql("SELECT DISTINCT split, level FROM metric").fetchall()
    assert sorted(rows) == [("TRAIN", "STEP"), ("VALIDATION", "STEP")]


def test_since_reads_a_page_with_a_hand_edited_timestamp_as_history_does(sqlite_store: Store) -> None:
    run_id = _run()
    metrics.log_many(run_id, [("loss", "TRAIN", "STEP", step, 0.5) for step in range(5)])
    first, third = metrics.history(run_id)[0].id, metrics.history(run_id)[2].id
    sqlite_store.db.execute_sql('UPDATE metric SET "timestamp" = 12 WHERE id = ?', (third,))
    points, cursor = metrics.since(run_id)
    assert [p.id for p in points] == [p.id for p in metrics.history(run_id)] and cursor == points[-1].id
    assert isinstance(points[0].timestamp, datetime) and points[0].id == first
    assert points[2].timestamp == 12  # not text: kept as stored, as history() reads it
    sqlite_store.db.execute_sql("UPDATE metric SET \"timestamp\" = 'yesterday' WHERE id = ?", (third,))
    points, _ = metrics.since(run_id)
    assert isinstance(points[2].timestamp, Unreadable)


def _metric_inserts(sqlite_store: Store, log: Callable[[], object]) -> list[str]:
    """The INSERT INTO metric statements SQLite runs while ``log()`` runs."""
    seen: list[str] = []
    connection = sqlite_store.db.connection()
    connection.set_trace_callback(seen.append)
    try:
        log()
    finally:
        connection.set_trace_callback(None)
    return [sql for sql in seen if sql.startswith("INSERT INTO metric")]


def test_a_second_call_reuses_the_compiled_insert_whatever_its_run_and_timestamp(sqlite_store: Store) -> None:
    # The driver's statement cache is keyed by the SQL text: a run id or a timestamp spelled
    # into it made every call compile its 500-row statement anew. SQLite asks the authorizer
    # while it compiles a statement, never when it runs a compiled one.
    session = plant_session(plant_dataset())
    first, second = (runs.create(session, name, "SVC", {}).id for name in ("a", "b"))
    compiled: list[str | None] = []

    def authorizer(action: int, table: str | None, *_: object) -> int:
        if action == sqlite3.SQLITE_INSERT and table == "metric":
            compiled.append(table)
        return sqlite3.SQLITE_OK

    points = [("loss", "TRAIN", "STEP", step, 0.5) for step in range(3)]
    connection = sqlite_store.db.connection()
    connection.set_authorizer(authorizer)
    try:
        metrics.log_many(first, points, timestamp=datetime(2026, 1, 1))
        metrics.log_many(second, points, timestamp=datetime(2026, 2, 2, 3, 4, 5))
    finally:
        connection.set_authorizer(None)
    assert len(compiled) == 1
    assert [(p.step, p.timestamp.month) for p in metrics.history(second)] == [(0, 2), (1, 2), (2, 2)]
    assert [(p.run_id, p.timestamp.month) for p in metrics.history(first)] == [(first, 1)] * 3


def test_a_low_bound_parameter_limit_splits_the_rows_over_more_statements(sqlite_store: Store) -> None:
    # 11 bound values: the run id and the timestamp (2) leave room for one 5-value row.
    run_id = _run()
    connection = sqlite_store.db.connection()
    previous = connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 11)
    try:
        plain = [("loss", "TRAIN", "STEP", step, step / 2) for step in range(4)]
        traced = _metric_inserts(sqlite_store, lambda: metrics.log_many(run_id, plain))
        assert len(traced) == 4
        stamped = [("acc", "TRAIN", "STEP", step, 0.5, datetime(2026, 3, 3)) for step in range(3)]
        assert metrics.log_many(run_id, stamped) == 3
    finally:
        connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, previous)
    history = metrics.history(run_id)
    assert [(p.name, p.step, p.value) for p in history if p.name == "loss"] == [
        ("loss", step, step / 2) for step in range(4)
    ]
    assert [p.timestamp.month for p in history if p.name == "acc"] == [3, 3, 3]


def test_every_split_and_level_reads_back_as_its_member_in_pages_and_histories(store: Store) -> None:
    # SQLite hands split and level over as the members' indexes (a CASE in the select
    # list), PostgreSQL as names: both must give back each member, whatever its position.
    run_id = _run()
    pairs = [(split, level) for split in SplitEnum for level in LevelEnum]
    points = [("m", split.name, level.name, step, float(step)) for step, (split, level) in enumerate(pairs)]
    metrics.log_many(run_id, points)
    page, _ = metrics.since(run_id, limit=1_000)
    history = metrics.history(run_id)
    assert sorted((p.step, p.split, p.level) for p in page) == [
        (step, *pair) for step, pair in enumerate(pairs)
    ]
    assert sorted((p.split.name, p.level.name) for p in history) == sorted(
        (s.name, lv.name) for s, lv in pairs
    )
    assert all(type(p.split) is SplitEnum and type(p.level) is LevelEnum for p in page + history)


def test_a_page_with_one_unknown_split_keeps_its_other_points_members(sqlite_store: Store) -> None:
    run_id = _run()
    metrics.log_many(run_id, [("loss", "TEST", "EPOCH", step, 0.5) for step in range(600)])
    edited = metrics.history(run_id)[300].id
    conn = sqlite3.connect(str(sqlite_store.home / "db.sqlite"))
    try:
        conn.execute("PRAGMA ignore_check_constraints = ON")
        with conn:
            conn.execute("UPDATE metric SET split = 'test', level = 'STEP' WHERE id = ?", (edited,))
    finally:
        conn.close()
    page, _ = metrics.since(run_id, limit=1_000)
    bad = next(p for p in page if p.id == edited)
    assert isinstance(bad.split, Unreadable) and bad.split == "test" and bad.level is LevelEnum.STEP
    assert all(p.split is SplitEnum.TEST and p.level is LevelEnum.EPOCH for p in page if p.id != edited)


def test_a_page_of_one_timestamp_and_a_page_of_many_read_their_own(store: Store) -> None:
    run_id = _run()
    metrics.log_many(run_id, [("a", "TRAIN", "STEP", step, 0.5) for step in range(700)])
    first_batch = metrics.history(run_id)[0].timestamp
    for step in range(700, 704):  # one call each: later timestamps
        metrics.log(run_id, "a", 0.5, split="TRAIN", level="STEP", step=step)
    one_call, _ = metrics.since(run_id, limit=700)
    assert {p.timestamp for p in one_call} == {first_batch}
    if store.backend == "sqlite":  # SQLite's text, parsed once and shared by the page's points
        assert len({id(p.timestamp) for p in one_call}) == 1
    page, _ = metrics.since(run_id, limit=1_000)
    assert [p.timestamp for p in page] == [p.timestamp for p in metrics.history(run_id)]
    assert page[-1].timestamp > page[-2].timestamp > first_batch
