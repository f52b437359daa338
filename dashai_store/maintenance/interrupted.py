"""maintenance.mark_interrupted: job rows a dead process left running move to ERROR."""

from __future__ import annotations

from .. import lifecycle, models
from ..database import writes
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
    explainer, generative process); each move goes through :func:`lifecycle.interrupt`.

    >>> maintenance.mark_interrupted().by_table()         # doctest: +SKIP
    {'run': 1}
    """
    return InterruptedJobs(jobs=tuple(lifecycle.interrupt(JOB_MODELS, INTERRUPTED_REASON)))
