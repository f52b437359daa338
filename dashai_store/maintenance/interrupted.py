"""maintenance.mark_interrupted: job rows a dead process left running move to ERROR."""

from __future__ import annotations

from .. import errors, lifecycle, models
from ..database import writes
from ..enums import RunStatus
from ..records import InterruptedJobs

JOB_MODELS: tuple[type[models.JobMixin], ...] = tuple(
    m for m in models.DOMAIN_MODELS if issubclass(m, models.JobMixin)
)


INTERRUPTED_REASON = "interrupted: the process running this job ended (found {status} at startup)"


@writes
def mark_interrupted() -> InterruptedJobs:
    """Move every job row left DELIVERED or STARTED to ERROR, with the reason recorded.

    Call it at application start, BEFORE the job worker starts: a row in those states then
    belongs to a process that is gone (a crash, a kill, a power cut). One transaction over
    every job-like table (dataset, run, prediction, converter, explorer, global and local
    explainer, generative process); each move goes through :func:`lifecycle.move`.

    >>> maintenance.mark_interrupted().by_table()         # doctest: +SKIP
    {'run': 1}
    """
    running = [status.name for status in lifecycle.RUNNING]
    moved: list[tuple[str, int]] = []
    for model in JOB_MODELS:
        query = model.select(model.id, model.status).where(model.status.in_(running)).order_by(model.id)
        rows: list[tuple[int, str]] = list(query.tuples().iterator())
        for row_id, status in rows:
            try:
                lifecycle.move(model, row_id, RunStatus.ERROR, error=INTERRUPTED_REASON.format(status=status))
            except (errors.InvalidTransition, errors.NotFound):  # moved on by someone else meanwhile
                continue
            moved.append((model._meta.table_name, row_id))
    return InterruptedJobs(jobs=tuple(moved))
