"""Predictions: create, lifecycle, results in Arrow, list, delete with files, on both backends."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pyarrow as pa
import pytest
from helpers import assert_refused, file_tree, plant_run, row_counts

from dashai_store import cascade, datasets, errors, files, model_sessions, models, predictions
from dashai_store.clock import utcnow
from dashai_store.database import Store, run_in_transaction
from dashai_store.enums import RunStatus

RESULTS = pa.table({"y_pred": [0, 1, 1], "proba": [0.2, 0.9, 0.7]})


def make_run(session_id: int, name: str = "run") -> int:
    """A run row made directly (runs.py belongs to another area)."""
    return plant_run(session_id, name, parameters={"C": 1.0})


@pytest.fixture
def setup(store: Store) -> tuple[int, int]:
    """(run id, dataset id)."""
    ds = datasets.create("iris", pa.table({"a": [1.0, 2.0, 3.0], "label": [0, 1, 1]}))
    session = model_sessions.create(ds.id, "s", "TabularClassificationTask", ["a"], ["label"], {"train": 1.0})
    return make_run(session.id), ds.id


def test_create_get_and_list(store: Store, setup: tuple[int, int]) -> None:
    run_id, dataset_id = setup
    other_run = make_run(model_sessions.list()[0].id, "other")
    before = utcnow()
    p1 = predictions.create(run_id, dataset_id)
    p2 = predictions.create(run_id, None)
    p3 = predictions.create(other_run, dataset_id)
    assert p1.run_id == run_id and p1.dataset_id == dataset_id
    assert p2.dataset_id is None
    assert p1.status is RunStatus.NOT_STARTED and p1.results_path is None
    assert p1.delivery_time is None and p1.huey_id is None and p1.error is None
    assert before <= p1.created <= p1.last_modified
    assert predictions.get(p2.id) == p2
    assert predictions.list() == [p1, p2, p3]
    assert predictions.list(run_id) == [p1, p2]
    assert predictions.list(run_id=other_run) == [p3]
    assert predictions.list(dataset_id=dataset_id) == [p1, p3]
    assert predictions.list(run_id, dataset_id=dataset_id) == [p1]
    assert predictions.list(status=RunStatus.NOT_STARTED) == [p1, p2, p3]
    assert predictions.list(status="FINISHED") == []
    assert file_tree(store.home).keys() == {f"datasets/{dataset_id}/data.arrow"}  # no file until results


def test_lifecycle_and_results(store: Store, setup: tuple[int, int]) -> None:
    run_id, dataset_id = setup
    p = predictions.create(run_id, dataset_id)
    delivered = predictions.deliver(p.id, "job-9")
    assert delivered.status is RunStatus.DELIVERED and delivered.huey_id == "job-9"
    started = predictions.start(p.id)
    assert started.start_time is not None and started.delivery_time == delivered.delivery_time
    saved = predictions.save_results(p.id, RESULTS)
    assert saved.results_path == store.home / "predictions" / str(p.id) / "results.arrow"
    assert saved.results_path.is_file() and saved.status is RunStatus.STARTED
    row = store.db.execute_sql(f"SELECT results_path FROM prediction WHERE id = {p.id}").fetchone()
    assert row[0] == f"predictions/{p.id}/results.arrow"  # relative in the row
    assert predictions.load_results(p.id).equals(RESULTS)
    finished = predictions.finish(p.id)
    assert finished.status is RunStatus.FINISHED and finished.end_time is not None
    assert predictions.list(status="FINISHED") == [finished]
    replaced = pa.table({"y_pred": [1, 1, 1]})
    predictions.save_results(p.id, replaced)  # replaced atomically
    assert predictions.load_results(p.id).equals(replaced)
    assert [k for k in file_tree(store.home) if k.startswith("predictions/")] == [
        f"predictions/{p.id}/results.arrow"
    ]


def test_fail(store: Store, setup: tuple[int, int]) -> None:
    run_id, dataset_id = setup
    p = predictions.create(run_id, dataset_id)
    predictions.deliver(p.id)
    predictions.start(p.id)
    failed = predictions.fail(p.id, "model file missing")
    assert failed.status is RunStatus.ERROR and failed.error == "model file missing"
    assert failed.end_time is not None


def test_bad_input_raises_its_typed_error_and_writes_nothing(store: Store, setup: tuple[int, int]) -> None:
    run_id, dataset_id = setup
    fresh = predictions.create(run_id, dataset_id).id
    done = predictions.create(run_id, dataset_id).id
    predictions.deliver(done)
    predictions.start(done)
    predictions.save_results(done, RESULTS)
    predictions.finish(done)
    cases: list[tuple[str, Callable[[], Any], type[errors.StoreError]]] = [
        ("unknown run", partial(predictions.create, 999, dataset_id), errors.NotFound),
        ("unknown dataset", partial(predictions.create, run_id, 999), errors.NotFound),
        ("run id a str", partial(predictions.create, str(run_id), dataset_id), errors.ValidationError),
        ("dataset id a float", partial(predictions.create, run_id, 1.0), errors.ValidationError),
        ("run id None", partial(predictions.create, None, dataset_id), errors.ValidationError),
        ("get unknown", partial(predictions.get, 999), errors.NotFound),
        ("get a bool", partial(predictions.get, True), errors.ValidationError),
        ("list unknown run", partial(predictions.list, 999), errors.NotFound),
        ("list unknown dataset", partial(predictions.list, dataset_id=999), errors.NotFound),
        ("list unknown status", partial(predictions.list, status="DONE"), errors.ValidationError),
        ("list status a split", partial(predictions.list, status="TRAIN"), errors.ValidationError),
        ("start before deliver", partial(predictions.start, fresh), errors.InvalidTransition),
        ("finish before start", partial(predictions.finish, fresh), errors.InvalidTransition),
        ("fail before deliver", partial(predictions.fail, fresh, "x"), errors.InvalidTransition),
        ("deliver a finished one", partial(predictions.deliver, done), errors.InvalidTransition),
        ("fail a finished one", partial(predictions.fail, done, "x"), errors.InvalidTransition),
        ("deliver unknown", partial(predictions.deliver, 999), errors.NotFound),
        ("start unknown", partial(predictions.start, 999), errors.NotFound),
        ("finish unknown", partial(predictions.finish, 999), errors.NotFound),
        ("fail unknown", partial(predictions.fail, 999, "x"), errors.NotFound),
        ("job id an int", partial(predictions.deliver, fresh, 42), errors.ValidationError),
        ("error None", partial(predictions.fail, fresh, None), errors.ValidationError),
        ("results a dict", partial(predictions.save_results, fresh, {"y_pred": [0]}), errors.ValidationError),
        ("results a list", partial(predictions.save_results, fresh, [[0, 1]]), errors.ValidationError),
        ("results None", partial(predictions.save_results, fresh, None), errors.ValidationError),
        (
            "results a batch",
            partial(predictions.save_results, fresh, RESULTS.to_batches()[0]),
            errors.ValidationError,
        ),
        ("results of unknown", partial(predictions.save_results, 999, RESULTS), errors.NotFound),
        ("load results not saved", partial(predictions.load_results, fresh), errors.NotFound),
        ("load results unknown", partial(predictions.load_results, 999), errors.NotFound),
        ("delete unknown", partial(predictions.delete, 999), errors.NotFound),
        ("delete a str id", partial(predictions.delete, "1"), errors.ValidationError),
    ]
    for case, call, error in cases:
        assert_refused(store, case, call, error)
    assert predictions.get(fresh).status is RunStatus.NOT_STARTED
    assert predictions.load_results(done).equals(RESULTS)


def test_transition_message_names_the_row(store: Store, setup: tuple[int, int]) -> None:
    p = predictions.create(*setup)
    with pytest.raises(errors.InvalidTransition, match=f"prediction {p.id} is NOT_STARTED"):
        predictions.finish(p.id)


def test_delete_removes_the_row_and_its_files(store: Store, setup: tuple[int, int]) -> None:
    run_id, dataset_id = setup
    kept = predictions.create(run_id, dataset_id)
    predictions.save_results(kept.id, RESULTS)
    counts, tree = row_counts(store.db), file_tree(store.home)
    doomed = predictions.create(run_id, dataset_id)
    predictions.save_results(doomed.id, RESULTS)
    assert (store.home / "predictions" / str(doomed.id)).is_dir()
    predictions.delete(doomed.id)
    # Its record lingers, finished and queued, until the next deletion or the close.
    assert row_counts(store.db) == {**counts, "dashai_pending_deletion": 1}
    assert files.tx._queued(store) == {f"predictions/{doomed.id}"}
    assert file_tree(store.home) == tree
    assert not (store.home / "predictions" / str(doomed.id)).exists()
    assert files.pending_deletions() == []
    with pytest.raises(errors.NotFound):
        predictions.get(doomed.id)
    assert predictions.load_results(kept.id).equals(RESULTS)


def test_a_first_save_rolled_back_leaves_no_file(store: Store, setup: tuple[int, int]) -> None:
    p = predictions.create(*setup)
    counts, tree = row_counts(store.db), file_tree(store.home)

    def save_then_fail() -> None:
        saved = predictions.save_results(p.id, RESULTS)
        assert saved.results_path is not None and saved.results_path.is_file()
        raise RuntimeError("the job dies before COMMIT")

    with pytest.raises(RuntimeError):
        run_in_transaction(save_then_fail)
    assert row_counts(store.db) == counts
    assert file_tree(store.home) == tree
    assert predictions.get(p.id) == p


def test_deleting_the_run_or_the_dataset_removes_predictions_and_files(
    store: Store, setup: tuple[int, int]
) -> None:
    run_id, dataset_id = setup
    on_dataset = predictions.create(make_run(model_sessions.list()[0].id, "r2"), dataset_id)
    of_run = predictions.create(run_id, None)
    for p in (on_dataset, of_run):
        predictions.save_results(p.id, RESULTS)
    run_in_transaction(lambda: cascade.delete_rows(models.Run, [run_id]))  # as runs.delete does
    assert [p.id for p in predictions.list()] == [on_dataset.id]
    assert not (store.home / "predictions" / str(of_run.id)).exists()
    datasets.delete(dataset_id)
    assert predictions.list() == []
    assert not (store.home / "predictions" / str(on_dataset.id)).exists()
