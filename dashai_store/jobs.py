"""Rows by the job queue's id: what a worker's job is about, and writing that id.

DashAI's job worker knows a job by the queue's id (Huey's) and asks which row it belongs
to (``find_entity_by_huey_id``, for the job list and notifications); its ModelJob,
PredictJob and ExplorerJob write that id on their row when they start, after the API
process delivered it. Every job table's ``huey_id`` column is indexed, so :func:`find` is
one index probe per table, never a scan::

    >>> from dashai_store import jobs                                      # doctest: +SKIP
    >>> jobs.set_job_id("prediction", p.id, "huey-51c2")                    # doctest: +SKIP
    >>> jobs.find("huey-51c2")                                              # doctest: +SKIP
    JobEntity(entity_type='prediction', entity_id=3, name=None, ..., status=<RunStatus.DELIVERED: 1>)

The tables are searched in DashAI's order (run, dataset, explorer, global explainer,
local explainer, converter), then prediction and generative process; a job id is the
queue's unique id, so one row has it (if a caller reused one, the first table's row wins).
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias, get_args

from . import errors, models
from .clock import utcnow
from .database import reads, writes
from .enums import RunStatus
from .lifecycle import DELIVERED, NOT_STARTED, STARTED
from .records import JobEntity
from .rows import check_id, check_text, fetch

__all__ = ["JobKind", "find", "set_job_id"]

JobKind: TypeAlias = Literal[
    "run",
    "dataset",
    "explorer",
    "global_explainer",
    "local_explainer",
    "converter",
    "prediction",
    "generative_process",
]

_TABLES: dict[str, type[models.JobMixin]] = {
    "run": models.Run,
    "dataset": models.Dataset,
    "explorer": models.Explorer,
    "global_explainer": models.GlobalExplainer,
    "local_explainer": models.LocalExplainer,
    "converter": models.Converter,
    "prediction": models.Prediction,
    "generative_process": models.GenerativeProcess,
}
assert tuple(_TABLES) == get_args(JobKind)

#: A job may record its id until it ends (a worker can pick a job up before the API
#: process has marked it delivered).
_UNFINISHED = (NOT_STARTED.name, DELIVERED.name, STARTED.name)


def _check_kind(kind: object) -> str:
    if not isinstance(kind, str) or kind not in _TABLES:
        raise errors.ValidationError(f"job kind must be one of {', '.join(_TABLES)}, got {kind!r}")
    return kind


def _check_job_id(job_id: object, row: str = "") -> str:
    text: str = check_text(job_id, "job_id", required=True, row=row)
    return text


def _name_column(model: type[models.JobMixin]) -> Any:
    fields = model._meta.fields
    if "name" in fields:
        return fields["name"]
    if "converter" in fields:  # a converter step is named by its class
        return fields["converter"]
    return None


def _entity(kind: str, condition: Any) -> JobEntity | None:
    """The first row of table ``kind`` matching ``condition``, as a JobEntity."""
    model = _TABLES[kind]
    fields = model._meta.fields
    columns = [model.id, fields["created"], model.status, model.huey_id]
    if "last_modified" in fields:
        columns.append(fields["last_modified"])
    name = _name_column(model)
    if name is not None:
        columns.append(name.alias("entity_name"))
    row = model.select(*columns).where(condition).order_by(model.id).first()
    if row is None:
        return None
    return JobEntity(
        entity_type=kind,
        entity_id=row.id,
        name=getattr(row, "entity_name", None),
        created=row.created,
        last_modified=getattr(row, "last_modified", None),
        status=RunStatus[row.status],
        job_id=row.huey_id,
    )


@reads
def find(job_id: str) -> JobEntity | None:
    """The row whose job has the queue's id ``job_id``, or None if no row has it.

    Returns the table (``entity_type``), the row's id, name, created and last-modified
    times and status; a non-blank str is required (ValidationError otherwise).

    >>> jobs.find("huey-7f3a").entity_type                                  # doctest: +SKIP
    'run'
    """
    job = _check_job_id(job_id)
    for kind, model in _TABLES.items():
        found = _entity(kind, model.huey_id == job)
        if found is not None:
            return found
    return None


@writes
def set_job_id(kind: JobKind, row_id: int, job_id: str) -> JobEntity:
    """Record ``job_id`` as the queue's id of the job of row ``row_id`` of table ``kind``.

    For a worker that learns its id only when it runs (DashAI's ModelJob, PredictJob and
    ExplorerJob write it as they start). Refused with InvalidTransition once the row's job
    has ended (FINISHED or ERROR); NotFound for an unknown row; ValidationError for a bad
    kind or a blank id. Returns the row as :func:`find` would.

    >>> jobs.set_job_id("explorer", explorer.id, "huey-9e01")               # doctest: +SKIP
    """
    table = _check_kind(kind)
    model = _TABLES[table]
    noun = table.replace("_", " ")
    checked = check_id(row_id, noun)
    job = _check_job_id(job_id, row=f"{noun} {checked}")
    changes: dict[str, Any] = {"huey_id": job}
    if "last_modified" in model._meta.fields:
        changes["last_modified"] = utcnow()
    updated = model.update(**changes).where((model.id == checked) & model.status.in_(_UNFINISHED)).execute()
    if not updated:
        row = fetch(model, checked, noun)
        raise errors.InvalidTransition(
            f"{noun} {checked} is {row.status}: its job has ended, so it takes no job id (reset it first)"
        )
    found = _entity(table, model.id == checked)
    assert found is not None  # just updated, in this transaction
    return found
