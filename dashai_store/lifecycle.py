"""The one job-status state machine every job-like row shares.

    NOT_STARTED -> DELIVERED -> STARTED -> FINISHED
                       |           |
                       +-> ERROR <-+

``deliver`` records the job id (``huey_id``) and ``delivery_time``, ``start`` the
``start_time``, ``finish`` and ``fail`` the ``end_time`` (``fail`` also the error
message). ``reset`` takes a job that is not running back to NOT_STARTED and clears all
of that. Any other move raises :class:`~dashai_store.errors.InvalidTransition`.

Each move is one conditional UPDATE (``WHERE id = ? AND status IN (...)``), so two
processes racing to move the same row cannot both succeed, on SQLite or PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
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


def can_move(current: RunStatus, target: RunStatus) -> bool:
    return current in ALLOWED_FROM[target]


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
