"""LAST (and LAST_OUTER) hold one value per (run, split, name), whatever the step.

DashAI's models upsert a LAST metric by (run, split, level, name): value and step are
replaced. These tests hold the store's two write paths (``log``, ``log_many``: the plain
bulk path and the point-by-point path, across chunks) to that on both backends, the
partial unique index to it for raw SQL, and migration 0003 to folding the duplicates an
older store may hold.
"""

from __future__ import annotations

from pathlib import Path

import peewee
import pytest
from dashai_store.migrations import REGISTRY
from helpers import plant_dataset, plant_run, plant_session
from migration_fixtures.support import connect

from dashai_store import errors, metrics, open_store
from dashai_store.database import Store
from dashai_store.enums import LevelEnum, SplitEnum
from dashai_store.migrator import Migrator, steps_from


@pytest.fixture
def run_id(store: Store) -> int:
    return plant_run(plant_session(plant_dataset()))


def rows(run_id: int, level: str) -> list[tuple[str, str, int, float]]:
    return sorted((p.split.name, p.name, p.step, p.value) for p in metrics.history(run_id, level=level))


def test_a_second_last_point_replaces_the_first_whatever_its_step(store: Store, run_id: int) -> None:
    metrics.log(run_id, "accuracy", 0.5, split="TEST", level="LAST", step=3)
    (first,) = metrics.history(run_id)
    metrics.log(run_id, "accuracy", 0.75, split=SplitEnum.TEST, level=LevelEnum.LAST, step=7)
    (point,) = metrics.history(run_id)
    assert (point.step, point.value, point.id) == (7, 0.75, first.id)  # updated in place
    assert point.timestamp >= first.timestamp
    metrics.log(run_id, "accuracy", 0.25, split="TEST", level="LAST", step=1)  # a lower step too
    assert rows(run_id, "LAST") == [("TEST", "accuracy", 1, 0.25)]
    assert metrics.latest(run_id) == {"TEST": {"accuracy": 0.25}}


def test_splits_and_names_keep_their_own_last_value(store: Store, run_id: int) -> None:
    for step, value in ((0, 0.1), (1, 0.2)):
        for split in ("TRAIN", "TEST"):
            metrics.log(run_id, "f1", value, split=split, level="LAST", step=step)
        metrics.log(run_id, "acc", value + 1, split="TRAIN", level="LAST", step=step)
    assert rows(run_id, "LAST") == [("TEST", "f1", 1, 0.2), ("TRAIN", "acc", 1, 1.2), ("TRAIN", "f1", 1, 0.2)]


def test_last_outer_is_a_summary_too_and_other_levels_keep_every_step(store: Store, run_id: int) -> None:
    for level in ("LAST_OUTER", "STEP", "EPOCH", "FOLD", "OUTER_FOLD", "TRIAL", "BATCH"):
        metrics.log(run_id, "acc", 0.1, split="VALIDATION", level=level, step=0)
        metrics.log(run_id, "acc", 0.2, split="VALIDATION", level=level, step=1)
    assert rows(run_id, "LAST_OUTER") == [("VALIDATION", "acc", 1, 0.2)]
    for level in ("STEP", "EPOCH", "FOLD", "OUTER_FOLD", "TRIAL", "BATCH"):
        assert len(rows(run_id, level)) == 2, level
    # LAST and LAST_OUTER of one name are two different summaries.
    metrics.log(run_id, "acc", 0.3, split="VALIDATION", level="LAST", step=4)
    assert rows(run_id, "LAST") == [("VALIDATION", "acc", 4, 0.3)]
    assert rows(run_id, "LAST_OUTER") == [("VALIDATION", "acc", 1, 0.2)]


@pytest.mark.parametrize("shape", ["plain", "converted"])
def test_log_many_upserts_last_points_and_keeps_the_series(store: Store, run_id: int, shape: str) -> None:
    """Repeats inside one call (the last one wins) and against stored points alike."""
    metrics.log(run_id, "loss", 9.0, split="TRAIN", level="LAST", step=0)
    points: list[tuple[object, ...]] = []
    for step in range(5):
        points.append(("loss", "TRAIN", "STEP", step, 1.0 / (step + 1)))
        points.append(("loss", "TRAIN", "LAST", step, 1.0 / (step + 1)))
        points.append(("acc", "VALIDATION", "LAST_OUTER", step, float(step)))
    if shape == "converted":  # enum members and ints take the point-by-point path
        points = [(n, SplitEnum[s], LevelEnum[lv], st, int(v * 100)) for n, s, lv, st, v in points]  # type: ignore[misc]
    assert metrics.log_many(run_id, points) == 15
    scale = 100 if shape == "converted" else 1
    assert rows(run_id, "LAST") == [("TRAIN", "loss", 4, 0.2 * scale)]
    assert rows(run_id, "LAST_OUTER") == [("VALIDATION", "acc", 4, 4.0 * scale)]
    assert len(rows(run_id, "STEP")) == 5


def test_log_many_folds_last_points_across_chunks(
    store: Store, run_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics, "CHUNK_ROWS", 3)
    points = [("acc", "TEST", "LAST", step, step / 10) for step in range(10)]
    points += [("acc", "TEST", "STEP", step, step / 10) for step in range(10)]
    assert metrics.log_many(run_id, iter(points)) == 20
    assert rows(run_id, "LAST") == [("TEST", "acc", 9, 0.9)]
    assert len(rows(run_id, "STEP")) == 10


def test_the_index_refuses_a_second_last_row_written_with_raw_sql(store: Store, run_id: int) -> None:
    metrics.log(run_id, "acc", 0.5, split="TEST", level="LAST", step=0)
    param = store.db.param
    with pytest.raises(peewee.IntegrityError), store.db.atomic():
        store.db.execute_sql(
            'INSERT INTO metric (run_id, name, value, split, level, step, "timestamp") '
            f"VALUES ({param}, 'acc', 0.6, 'TEST', 'LAST', 1, '2024-01-01 00:00:00')",
            (run_id,),
        )
    assert rows(run_id, "LAST") == [("TEST", "acc", 0, 0.5)]


def test_a_refused_last_point_writes_nothing(store: Store, run_id: int) -> None:
    metrics.log(run_id, "acc", 0.5, split="TEST", level="LAST", step=0)
    with pytest.raises(errors.ValidationError):
        metrics.log_many(run_id, [("acc", "TEST", "LAST", 1, 0.9), ("acc", "TEST", "LAST", "x", 0.1)])
    assert rows(run_id, "LAST") == [("TEST", "acc", 0, 0.5)]


# -- migration 0003 on a store written before it -------------------------------------------------------


def test_migration_keeps_the_highest_step_of_each_summary_key(home: Path, database_url: str | None) -> None:
    db = connect(home, database_url)
    try:
        Migrator(home, db, steps_from(REGISTRY[:2])).migrate()
        db.execute_sql(
            "INSERT INTO dataset (name, status, created, last_modified) "
            "VALUES ('d', 'NOT_STARTED', '2024-01-01', '2024-01-01')"
        )
        db.execute_sql(
            "INSERT INTO model_session (dataset_id, name, task_name, input_columns, output_columns, splits,"
            " created, last_modified)"
            " VALUES (1, 's', 't', '[\"a\"]', '[\"b\"]', '{}', '2024-01-01', '2024-01-01')"
        )
        for run in (1, 2):
            db.execute_sql(
                "INSERT INTO run (model_session_id, name, model_name, parameters, optimizer_name,"
                " optimizer_parameters, goal_metric, status, created, last_modified) VALUES"
                f" (1, 'r{run}', 'm', '{{}}', '', '{{}}', '', 'NOT_STARTED', '2024-01-01', '2024-01-01')"
            )
        old = [
            (1, "acc", "TEST", "LAST", 0, 0.1),
            (1, "acc", "TEST", "LAST", 5, 0.5),  # kept: the highest step
            (1, "acc", "TEST", "LAST", 2, 0.2),
            (1, "acc", "TRAIN", "LAST", 1, 0.9),  # kept: alone in its split
            (1, "acc", "TEST", "LAST_OUTER", 0, 0.3),
            (1, "acc", "TEST", "LAST_OUTER", 1, 0.4),  # kept
            (1, "acc", "TEST", "STEP", 0, 0.1),  # series: all kept
            (1, "acc", "TEST", "STEP", 1, 0.2),
            (2, "acc", "TEST", "LAST", 3, 0.7),  # another run: kept
        ]
        for run, name, split, level, step, value in old:
            db.execute_sql(
                'INSERT INTO metric (run_id, name, split, level, step, value, "timestamp") VALUES '
                f"({run}, '{name}', '{split}', '{level}', {step}, {value}, '2024-01-01 00:00:00')"
            )
        Migrator(home, db, steps_from(REGISTRY)).migrate()
        left = sorted(db.execute_sql("SELECT run_id, name, split, level, step, value FROM metric").fetchall())
    finally:
        db.close()
    assert left == sorted(
        [
            (1, "acc", "TEST", "LAST", 5, 0.5),
            (1, "acc", "TRAIN", "LAST", 1, 0.9),
            (1, "acc", "TEST", "LAST_OUTER", 1, 0.4),
            (1, "acc", "TEST", "STEP", 0, 0.1),
            (1, "acc", "TEST", "STEP", 1, 0.2),
            (2, "acc", "TEST", "LAST", 3, 0.7),
        ]
    )
    with open_store(home, database=database_url):
        metrics.log(1, "acc", 0.6, split="TEST", level="LAST", step=6)
        assert metrics.latest(1) == {"TEST": {"acc": 0.6}, "TRAIN": {"acc": 0.9}}


def test_latest_reads_the_summary_index_not_the_whole_run(store: Store, run_id: int) -> None:
    # latest() once used only run_id of the general metric index and sorted every point of
    # the run; its query must be provably inside metric_summary_key's partial predicate.
    metrics.log_many(run_id, [("loss", "TRAIN", "STEP", step, 0.5) for step in range(50)])
    metrics.log(run_id, "loss", 0.1, split="TRAIN", level="LAST", step=49)
    sql = metrics._latest_sql(store.db.param)
    if isinstance(store.db, peewee.SqliteDatabase):
        plan = " ".join(str(row[-1]) for row in store.db.execute_sql(f"EXPLAIN QUERY PLAN {sql}", (run_id,)))
    else:
        with store.db.atomic():  # the planner would rightly prefer a scan of a tiny table
            store.db.execute_sql("SET LOCAL enable_seqscan = off")
            plan = " ".join(row[0] for row in store.db.execute_sql(f"EXPLAIN {sql}", (run_id,)))
    assert "metric_summary_key" in plan, plan
    assert metrics.latest(run_id) == {"TRAIN": {"loss": 0.1}}
