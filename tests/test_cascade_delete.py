"""cascade.delete_rows with its statements built once: what a delete finds, and what it removes.

The cascade reads the file-owning children of many parents in one UNION ALL query per 500
parents, and keeps each statement's SQL text per backend and shape (cascade._execute);
these tests pin that a large cascade still finds every row, that a parent without children
and an unknown id behave, and that a path column edited by hand is read as the model
reads it.
"""

from __future__ import annotations

import logging

import pytest
from helpers import plant_dataset, plant_run, plant_session

from dashai_store import cascade, errors, files, models, runs
from dashai_store.clock import utcnow
from dashai_store.database import Store, run_in_transaction


def _prediction(run_id: int) -> int:
    now = utcnow()
    row = models.Prediction.create(run=run_id, status="NOT_STARTED", created=now, last_modified=now)
    return int(row.id)


def test_a_cascade_over_more_than_one_chunk_of_parents_finds_every_child(store: Store) -> None:
    dataset = plant_dataset()
    session = plant_session(dataset)
    run_ids = [plant_run(session, f"r{i}") for i in range(1203)]  # three chunks of 500
    predictions = [_prediction(run_id) for run_id in run_ids[::2]]
    found = cascade.descendants(models.Dataset, [dataset])
    assert found[models.Run] == set(run_ids)
    assert found[models.Prediction] == set(predictions)
    assert models.Metric not in found  # owns no files: its ids are never read
    paths = run_in_transaction(lambda: cascade.owned_paths(models.Run, run_ids))
    assert sorted(paths) == sorted(files.layout.run_folder(run_id) for run_id in run_ids)
    assert run_in_transaction(lambda: cascade.delete_rows(models.Dataset, [dataset])) == 1
    assert models.Run.select().count() == models.Prediction.select().count() == 0


def test_deleting_an_unknown_run_is_not_found_and_changes_nothing(store: Store) -> None:
    run_id = plant_run(plant_session(plant_dataset()))
    with pytest.raises(errors.NotFound, match="run 999 does not exist"):
        runs.delete(999)
    with pytest.raises(errors.NotFound, match="run 0 does not exist"):
        runs.delete(0)
    assert files.pending_deletions() == []
    runs.delete(run_id)
    with pytest.raises(errors.NotFound):
        runs.delete(run_id)


def test_statements_of_different_sizes_do_not_share_their_sql(store: Store) -> None:
    session = plant_session(plant_dataset())
    first, second, third = (plant_run(session, name) for name in "abc")
    assert run_in_transaction(lambda: cascade.delete_rows(models.Run, [first])) == 1
    assert run_in_transaction(lambda: cascade.delete_rows(models.Run, [second, third, 12345])) == 2
    assert models.Run.select().count() == 0


def test_a_path_column_edited_by_hand_is_read_as_the_model_reads_it(
    sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    run_id = plant_run(plant_session(plant_dataset()))
    sqlite_store.db.execute_sql("UPDATE run SET plot_history_path = X'3432' WHERE id = ?", (run_id,))
    with caplog.at_level(logging.WARNING, logger="dashai_store.files"):
        paths = run_in_transaction(lambda: cascade.owned_paths(models.Run, [run_id]))
    assert paths == [files.layout.run_folder(run_id)]
    assert "plot_history_path '42' is not in the row's own layout place" in caplog.text
