"""The column-wise fast paths of log_many and since give what the point-by-point paths give.

log_many's plain-chunk check skips the enum-member scans when a chunk's first point has
names; since() parses SQLite's timestamp text at C speed when the page's first value is
text. A chunk or page that breaks the guess (a member further down; a value edited by
hand) must still be read or written as the slow path does.
"""

from __future__ import annotations

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
