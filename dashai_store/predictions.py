"""Predictions: a trained run applied to an input dataset, results in an Arrow file.

    >>> from dashai_store import predictions                      # doctest: +SKIP
    >>> p = predictions.create(run.id, ds.id)                      # doctest: +SKIP
    >>> predictions.deliver(p.id, "job-7"); predictions.start(p.id)  # doctest: +SKIP
    >>> predictions.save_results(p.id, pa.table({"y_pred": [0, 1]}))  # doctest: +SKIP
    >>> predictions.finish(p.id).status                             # doctest: +SKIP
    <RunStatus.FINISHED: 3>

Results live in ``predictions/<id>/results.arrow`` and are read memory-mapped. The input
dataset may be None (a prediction on data that was never stored as a dataset). Deleting
the run or the input dataset deletes the prediction and its files.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from . import errors, files, models, paging
from .cascade import delete_rows
from .clock import utcnow
from .database import reads, writes
from .enums import RunStatus, coerce
from .records import PredictionRecord, to_record
from .rows import Jobs, Reader, check_id, fetch, require

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "create",
    "delete",
    "deliver",
    "fail",
    "finish",
    "get",
    "list",
    "load_results",
    "save_results",
    "start",
]


def _record(row: Any) -> PredictionRecord:
    return to_record(PredictionRecord, row, results_path=files.to_absolute(row.results_path))


_reader: Reader[PredictionRecord] = Reader(models.Prediction, PredictionRecord, paths=("results_path",))


# -- create and lifecycle ---------------------------------------------------------------------------


@writes
def create(run_id: int, dataset_id: int | None) -> PredictionRecord:
    """A new NOT_STARTED prediction of run ``run_id`` on dataset ``dataset_id`` (or None).

    Raises NotFound for an unknown run or dataset; nothing is written then.
    """
    check_id(run_id, "run")
    if dataset_id is not None:
        check_id(dataset_id, "dataset")
    require(models.Run, run_id, "run")
    if dataset_id is not None:
        require(models.Dataset, dataset_id, "dataset")
    now = utcnow()
    row_id = models.Prediction.insert(
        run=run_id,
        dataset=dataset_id,
        status=RunStatus.NOT_STARTED.name,
        created=now,
        last_modified=now,
    ).execute()
    return _record(fetch(models.Prediction, int(row_id)))


_jobs = Jobs(models.Prediction, _record, "prediction")


def deliver(prediction_id: int, job_id: str | None = None) -> PredictionRecord:
    """NOT_STARTED -> DELIVERED; records the job id and the delivery time."""
    return _jobs.deliver(prediction_id, job_id)


def start(prediction_id: int) -> PredictionRecord:
    """DELIVERED -> STARTED; records the start time."""
    return _jobs.start(prediction_id)


def finish(prediction_id: int) -> PredictionRecord:
    """STARTED -> FINISHED; records the end time."""
    return _jobs.finish(prediction_id)


def fail(prediction_id: int, error: str) -> PredictionRecord:
    """DELIVERED or STARTED -> ERROR; records the end time and the error message."""
    return _jobs.fail(prediction_id, error)


# -- results -------------------------------------------------------------------------------------------


@writes
def save_results(prediction_id: int, table: pa.Table) -> PredictionRecord:
    """Store ``table`` as the prediction's results (replacing earlier ones, atomically).

    Raises ValidationError if ``table`` is not a ``pyarrow.Table`` and NotFound for an
    unknown id; nothing is written then. The status is not changed.
    """
    import pyarrow as pa

    check_id(prediction_id, "prediction")
    if not isinstance(table, pa.Table):
        raise errors.ValidationError(
            f"results of prediction {prediction_id} must be a pyarrow.Table, got {type(table).__name__}"
        )
    row = fetch(models.Prediction, prediction_id, lock=True)
    # Staged: new results never overwrite the committed ones before COMMIT.
    relative, _ = files.save_staged(
        files.layout.prediction_results(prediction_id),
        lambda target: files.write_arrow(target, table),
        committed=row.results_path,
        repoint=files.repoint_column(models.Prediction, prediction_id, "results_path"),
    )
    models.Prediction.update(results_path=relative, last_modified=utcnow()).where(
        models.Prediction.id == prediction_id
    ).execute()
    return _record(fetch(models.Prediction, prediction_id))


@reads
def load_results(prediction_id: int) -> pa.Table:
    """The saved results, memory-mapped; NotFound for an unknown id or no results yet."""
    check_id(prediction_id, "prediction")
    row = fetch(models.Prediction, prediction_id)
    if row.results_path is None:
        raise errors.NotFound(f"prediction {prediction_id} has no results yet (it is {row.status})")
    return files.read_arrow(row.results_path)


# -- reads and delete ------------------------------------------------------------------------------------


@reads
def get(prediction_id: int) -> PredictionRecord:
    """The prediction with this id; NotFound if there is none."""
    return _reader.get(check_id(prediction_id, "prediction"))


@reads
def list(
    run_id: int | None = None,
    *,
    dataset_id: int | None = None,
    status: RunStatus | str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> builtins.list[PredictionRecord]:
    """Predictions ordered by id, optionally only of ``run_id``, on ``dataset_id``, with ``status``.

    ``limit`` and ``offset`` give one page (see :mod:`dashai_store.paging`). An unknown run
    or dataset id raises NotFound; an unknown status, limit or offset ValidationError.

    >>> predictions.list(run.id, limit=20)                               # doctest: +SKIP
    """
    prediction = models.Prediction
    query = prediction.select().order_by(prediction.id)
    if run_id is not None:
        check_id(run_id, "run")
        require(models.Run, run_id, "run")
        query = query.where(prediction.run == run_id)
    if dataset_id is not None:
        check_id(dataset_id, "dataset")
        require(models.Dataset, dataset_id, "dataset")
        query = query.where(prediction.dataset == dataset_id)
    if status is not None:
        query = query.where(prediction.status == coerce(RunStatus, status))
    return _reader.all(paging.page(query, limit, offset))


@writes
def delete(prediction_id: int) -> None:
    """Delete the prediction and (after the transaction commits) its results folder."""
    check_id(prediction_id, "prediction")
    fetch(models.Prediction, prediction_id, lock=True)
    delete_rows(models.Prediction, [prediction_id])
