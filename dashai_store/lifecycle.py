"""The one job-status state machine every job-like row shares.

    NOT_STARTED -> DELIVERED -> STARTED -> FINISHED
                       |           |
                       +-> ERROR <-+

``deliver`` records the job id (``huey_id``) and ``delivery_time``, ``start`` the
``start_time``, ``finish`` and ``fail`` the ``end_time`` (``fail`` also the error
message). ``reset`` takes a job that is not running back to NOT_STARTED and clears all
of that. Any other move raises :class:`~dashai_store.errors.InvalidTransition`.

Every status change of every job-like row is made here: the single moves, :func:`walk`
(several moves in one call, for work the store does itself) and :func:`interrupt` (jobs
whose process is gone, at startup).

Each move is one conditional UPDATE (``WHERE id = ? AND status IN (...)``), so two
processes racing to move the same row cannot both succeed, on SQLite or PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Generic, TypeVar

from . import errors
from .clock import utcnow
from .database import writes
from .enums import RunStatus
from .models import JobMixin

R = TypeVar("R")

NOT_STARTED, DELIVERED, STARTED, FINISHED, ERROR = (
    RunStatus.NOT_STARTED,
    RunStatus.DELIVERED,
    RunStatus.STARTED,
    RunStatus.FINISHED,
    RunStatus.ERROR,
)

# target status -> the statuses it may be reached from
ALLOWED_FROM: dict[RunStatus, frozenset[RunStatus]] = {
    DELIVERED: frozenset({NOT_STARTED}),
    STARTED: frozenset({DELIVERED}),
    FINISHED: frozenset({STARTED}),
    ERROR: frozenset({DELIVERED, STARTED}),
    NOT_STARTED: frozenset({NOT_STARTED, FINISHED, ERROR}),  # reset: never a running job
}
RUNNING: frozenset[RunStatus] = frozenset({DELIVERED, STARTED})


def _changes(target: RunStatus, now: datetime, job_id: str | None, error: str | None) -> dict[str, Any]:
    changes: dict[str, Any] = {"status": target.name}
    if target is DELIVERED:
        changes.update(delivery_time=now, huey_id=job_id, error=None)
    elif target is STARTED:
        changes["start_time"] = now
    elif target is FINISHED:
        changes["end_time"] = now
    elif target is ERROR:
        changes.update(end_time=now, error=error or "failed")
    else:  # reset
        changes.update(delivery_time=None, start_time=None, end_time=None, huey_id=None, error=None)
    return changes


def move(
    model: type[JobMixin],
    row_id: int,
    target: RunStatus,
    *,
    job_id: str | None = None,
    error: str | None = None,
    extra: dict[str, Any] | None = None,
) -> JobMixin:
    """Move ``model`` row ``row_id`` to ``target`` inside the caller's write transaction.

    ``extra`` holds further columns to set in the same UPDATE. Returns the updated row.
    """
    now = utcnow()
    changes = _changes(target, now, job_id, error)
    if "last_modified" in model._meta.fields:
        changes["last_modified"] = now
    if extra:
        changes.update(extra)
    allowed = [status.name for status in ALLOWED_FROM[target]]
    updated = model.update(**changes).where((model.id == row_id) & (model.status.in_(allowed))).execute()
    row = model.get_or_none(model.id == row_id)
    noun = model._meta.table_name
    if row is None:
        raise errors.NotFound(f"{noun} {row_id} does not exist")
    if not updated:
        raise errors.InvalidTransition(
            f"{noun} {row_id} is {row.status}; it cannot move to {target.name} "
            f"(allowed from: {', '.join(sorted(allowed))})"
        )
    return row


# The forward path of a job; ERROR branches off it (see the module docstring).
_FORWARD = (NOT_STARTED, DELIVERED, STARTED, FINISHED)


def _walk_path(current: RunStatus, target: RunStatus) -> list[RunStatus]:
    """The moves from ``current`` to ``target`` one legal step at a time.

    A job in ERROR is reset first (a retry); FINISHED is final (a walk from it is the one
    move to ``target``, which :func:`move` refuses unless it is a reset).
    """
    path: list[RunStatus] = []
    if current is ERROR and target is not NOT_STARTED:
        path.append(NOT_STARTED)
        current = NOT_STARTED
    if target is ERROR:
        if current is NOT_STARTED:
            path.append(DELIVERED)
        return [*path, ERROR]
    here, there = _FORWARD.index(current), _FORWARD.index(target)
    return [*path, *(_FORWARD[here + 1 : there + 1] if there > here else [target])]


def walk(
    model: type[JobMixin],
    row_id: int,
    target: RunStatus,
    *,
    current: RunStatus,
    error: str | None = None,
    extra: dict[str, Any] | None = None,
) -> JobMixin:
    """Move row ``row_id``, now ``current``, to ``target`` through every step in between.

    For work the store does in one call rather than through a job queue: a dataset
    created with its data goes NOT_STARTED -> DELIVERED -> STARTED -> FINISHED; a
    notebook step that is retried goes ERROR -> NOT_STARTED -> DELIVERED -> STARTED; a
    step that never ran can still be marked ERROR. Each step is a :func:`move` (the last
    one with ``error`` and ``extra``), inside the caller's write transaction, which holds
    the row's lock so ``current`` stays true. Returns the updated row.
    """
    path = _walk_path(current, target)
    for step in path[:-1]:
        move(model, row_id, step)
    return move(model, row_id, path[-1], error=error, extra=extra)


def interrupt(job_models: Iterable[type[JobMixin]], reason: str) -> list[tuple[str, int]]:
    """Move every row of ``job_models`` left DELIVERED or STARTED to ERROR.

    For application start, before the job worker starts: a running row then belongs to a
    process that is gone. ``reason`` is the error recorded; ``{status}`` in it becomes the
    status the row was found in. Runs inside the caller's write transaction; a row another
    process moved on meanwhile is skipped. Returns the moved rows as (table, id).
    """
    running = [status.name for status in RUNNING]
    moved: list[tuple[str, int]] = []
    for model in job_models:
        query = model.select(model.id, model.status).where(model.status.in_(running)).order_by(model.id)
        rows: list[tuple[int, str]] = list(query.tuples().iterator())
        for row_id, status in rows:
            try:
                move(model, row_id, ERROR, error=reason.format(status=status))
            except (errors.InvalidTransition, errors.NotFound):  # moved on by someone else meanwhile
                continue
            moved.append((model._meta.table_name, row_id))
    return moved


class JobLifecycle(Generic[R]):
    """The lifecycle moves of one job-like table, returning that area's records.

    An area module binds one: ``_jobs = JobLifecycle(models.Run, run_record)`` and exposes
    ``deliver``/``start``/``finish``/``fail`` as its own documented functions.
    """

    def __init__(self, model: type[JobMixin], to_record: Callable[[Any], R]) -> None:
        self.model = model
        self.to_record = to_record

    def _move(self, row_id: int, target: RunStatus, **kwargs: Any) -> R:
        @writes
        def run() -> R:
            return self.to_record(move(self.model, row_id, target, **kwargs))

        return run()

    def deliver(self, row_id: int, job_id: str | None = None) -> R:
        return self._move(row_id, DELIVERED, job_id=job_id)

    def start(self, row_id: int) -> R:
        return self._move(row_id, STARTED)

    def finish(self, row_id: int) -> R:
        return self._move(row_id, FINISHED)

    def fail(self, row_id: int, error: str) -> R:
        return self._move(row_id, ERROR, error=error)

    def reset(self, row_id: int) -> R:
        return self._move(row_id, NOT_STARTED)
