"""Store maintenance: check, gc, online backup, restore, and marking interrupted jobs.

    >>> from dashai_store import open_store, maintenance      # doctest: +SKIP
    >>> with open_store("~/.DashAI"):                         # doctest: +SKIP
    ...     maintenance.mark_interrupted()                    # at app start, before the worker
    ...     report = maintenance.check()
    ...     if not report.ok:
    ...         maintenance.gc()

What a file "belongs to" (the rules gc relies on; it never removes a file a row refers to):

* Only the store's own folders are examined (``MANAGED_ROOTS``: datasets, notebooks, runs,
  predictions, explorers, explainers, generative). Anything else in the home — the
  database and its sidecars, the migration lock, ``backups/``, files the application keeps
  there — is not the store's to judge and is never touched.
* A file is owned when its home-relative path is one that :func:`cascade.referenced_paths`
  returns, or lies under such a path (``run.run_path`` = ``runs/<id>`` owns everything in
  it). A file merely inside a live row's folder is NOT owned: a snapshot left behind by a
  reverted notebook step inside ``notebooks/<id>/`` is garbage.
* Unowned files younger than the grace period (``grace_s``, default one hour) are left
  alone: the store writes a file under its final name before it commits the row that
  refers to it, so a young unowned file may be one a writer is about to claim.
* Temporary files of ``files.atomic_writer`` (``.<name>.<random>.tmp``) are reported as
  stale, and removed, only when older than the grace period (a large write may be in
  progress).

Backups: see :func:`backup`. SQLite: the database is copied with the SQLite backup API
inside one read transaction (a consistent snapshot; writers keep writing) while file
deletions and replacements wait, the files that snapshot refers to are pinned (hard
links), then copied. A killed backup's ``.partial`` folders are reported by ``check`` and
removed by ``gc``. PostgreSQL: the files are copied and the
database is NOT — back it up with ``pg_dump``, taken just before the file backup.

Restores: see :mod:`.restore` (``maintenance.backups()`` lists what ``<home>/backups/``
holds, ``maintenance.restore.restore(path)`` puts one of them in place while no process
has the store open; both take the home, not an open store).

One module per concern: :mod:`.check`, :mod:`.gc`, :mod:`.backup`, :mod:`.restore`,
:mod:`.interrupted`; :mod:`.scan` holds the ownership rules the first three share.
"""

from __future__ import annotations

from ..files.io import is_temp_name
from . import restore
from .backup import BACKUP_MANIFEST, BACKUP_PAGES_PER_STEP, backup
from .check import advice, check
from .gc import gc
from .interrupted import INTERRUPTED_REASON, JOB_MODELS, mark_interrupted
from .restore import BackupEntry, RestoreResult, backups
from .scan import GRACE_S, MANAGED_ROOTS, Progress

__all__ = [
    "BACKUP_MANIFEST",
    "BACKUP_PAGES_PER_STEP",
    "GRACE_S",
    "INTERRUPTED_REASON",
    "JOB_MODELS",
    "MANAGED_ROOTS",
    "BackupEntry",
    "Progress",
    "RestoreResult",
    "advice",
    "backup",
    "backups",
    "check",
    "gc",
    "is_temp_name",
    "mark_interrupted",
    "restore",
]
