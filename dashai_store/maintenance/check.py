"""maintenance.check: inspect the open store (database and files); writes nothing."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

from .. import cascade, errors, files, models
from ..database import current, reads, translated
from ..records import CheckReport, MissingFile
from .backup import partial_backups
from .lost import new_store_created
from .scan import GRACE_S, Progress, artifact_entries, scan_home


def _path_problem(home: Path, stored: str) -> tuple[Path, str] | None:
    absolute = home / stored
    try:
        files.resolve(stored)
    except errors.UnsafePath:
        return absolute, "outside the home"
    if not os.path.lexists(absolute):
        return absolute, "missing"
    return None


def _missing_files(home: Path) -> list[MissingFile]:
    found: list[MissingFile] = []

    def note(model: type[models.BaseModel], row_id: int, column: str, stored: str | None) -> None:
        if not stored:
            return
        problem = _path_problem(home, stored)
        if problem is not None:
            found.append(
                MissingFile(
                    table=model._meta.table_name,
                    row_id=row_id,
                    column=column,
                    path=problem[0],
                    reason=problem[1],
                )
            )

    for model, columns in cascade.FILE_COLUMNS.items():
        own_folder = cascade.OWNED_FOLDERS.get(model)
        condition = None
        for column in columns:
            clause = getattr(model, column).is_null(False)
            condition = clause if condition is None else condition | clause
        for row in model.select().where(condition).order_by(model.id).iterator():
            for column in columns:
                stored = getattr(row, column)
                # The row's own layout folder not existing yet only means nothing was written.
                if own_folder is not None and stored == own_folder(row):
                    continue
                note(model, row.id, column, stored)
    nb = models.Notebook
    for row_id, stored in nb.select(nb.id, nb.file_path).order_by(nb.id).tuples().iterator():
        note(nb, row_id, "file_path", stored)
    pd = models.ProcessData
    query = pd.select(pd.id, pd.data).where(pd.data_type.in_(cascade.FILE_DATA_TYPES)).order_by(pd.id)
    for row_id, stored in query.tuples().iterator():
        note(pd, row_id, "data", stored)
    for model, row_id, name, entry in artifact_entries():
        note(model, row_id, f"artifacts.{name}", entry.get("path"))
    return found


#: How long :func:`check` waits for deletions another process is carrying out (their
#: records vanish within milliseconds of their COMMIT; a record outliving this is real).
IN_FLIGHT_S = 1.0


def _read_pending() -> set[str]:
    with translated():
        return set(files.pending_deletions())


def _split_in_flight(home: Path, pending: list[str], settle_s: float) -> tuple[list[str], list[str]]:
    """``pending`` split into (still pending, in flight): those another process finishes now.

    A deletion is carried out right after its COMMIT under the home's file lock, shared
    (``files.tx.changing_files``); taking it exclusively waits those out. The records still
    there are re-read for up to ``settle_s`` (a deleter may be between COMMIT and the lock);
    those that vanish were in flight, the rest are left behind (a crash, a failure).
    """
    if not pending:
        return [], []
    deadline = time.monotonic() + settle_s
    left = set(pending)
    while True:
        with files.tx.files_settled(home, timeout_s=max(0.0, deadline - time.monotonic())):
            left &= _read_pending()
        if not left or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    return [p for p in pending if p in left], [p for p in pending if p not in left]


@reads
def _recheck_missing(home: Path) -> list[MissingFile]:
    return _missing_files(home)


def check(*, grace_s: float = GRACE_S, progress: Progress | None = None) -> CheckReport:
    """Inspect the open store; writes nothing.

    Reports SQLite's ``PRAGMA integrity_check`` and ``PRAGMA foreign_key_check`` (on
    PostgreSQL: no integrity check — use ``pg_amcheck`` on the server — and an orphan
    query per foreign key instead), rows whose files are missing, files under the store's
    folders that no row owns, stale temporary files, and recorded file deletions that were
    not carried out. ``report.ok`` is True when there is nothing to fix.

    Work in flight is not a problem, and reported apart: deletions another process is
    carrying out (``in_flight_deletions``, see :func:`_split_in_flight`). Folders left by
    killed backups are reported in ``partial_backups`` (``gc`` removes them).

    >>> report = maintenance.check()                     # doctest: +SKIP
    >>> [str(p) for p in report.unowned_files]           # doctest: +SKIP
    """
    report = _check(grace_s, progress)
    store = current()
    pending, in_flight = _split_in_flight(
        store.home, [p.relative_to(store.home).as_posix() for p in report.pending_deletions], IN_FLIGHT_S
    )
    # What a deletion in flight during the scan made look wrong (a row read, then its file
    # moved away; a file walked, then its row deleted) is gone once the deletions settled.
    missing = report.missing_files
    if missing:
        again = set(_recheck_missing(store.home))
        missing = tuple(m for m in missing if m in again)
    unowned = tuple(p for p in report.unowned_files if os.path.lexists(p))
    partial = partial_backups(store.home) or []  # None: a backup is running
    return dataclasses.replace(
        report,
        missing_files=missing,
        unowned_files=unowned,
        pending_deletions=tuple(store.home / p for p in pending),
        in_flight_deletions=tuple(store.home / p for p in in_flight),
        partial_backups=tuple(partial),
    )


@reads
def _check(grace_s: float, progress: Progress | None) -> CheckReport:
    store = current()
    integrity = store.dialect.integrity_problems()  # None: the backend cannot check (PostgreSQL)
    checked, problems = integrity is not None, integrity or []
    violations = store.dialect.foreign_key_violations(models.DOMAIN_MODELS)
    scan = scan_home(store.home, grace_s, progress)
    missing = _missing_files(store.home)
    pending = files.pending_deletions()
    notes: list[str] = []
    if not checked:
        notes.append("PostgreSQL: no integrity_check; run pg_amcheck on the server to verify its storage")
    return CheckReport(
        backend=store.backend,
        home=store.home,
        integrity_checked=checked,
        integrity_problems=tuple(problems),
        foreign_key_violations=tuple(violations),
        missing_files=tuple(missing),
        unowned_files=tuple(store.home / e.rel for e in scan.unowned),
        stale_temp_files=tuple(store.home / e.rel for e in scan.stale_temp),
        pending_deletions=tuple(store.home / p for p in pending),
        recent_files=tuple(store.home / e.rel for e in scan.recent),
        notes=tuple(notes),
    )


def advice(report: CheckReport) -> tuple[str, ...]:
    """What to do about each kind of problem ``report`` holds; ``()`` when it is ok.

    ``gc`` is recommended only for what it fixes (unowned and stale temporary files,
    pending deletions). A row whose file is missing is never sent to gc: gc removes files,
    it cannot bring one back, and a missing file usually means the files and the database
    got out of step (a database restored without its files); a backup brings it back.
    """
    found: list[str] = []
    if report.integrity_problems or report.foreign_key_violations:
        found.append(
            "the database is damaged: restore a backup (`dashai-store backups`, `dashai-store restore`)"
        )
    if report.missing_files:
        found.append(
            f"{len(report.missing_files)} row(s) refer to missing files: put the files back (a full "
            "backup: `dashai-store restore`) or delete those rows in the app; do NOT run gc for these"
        )
    if report.unowned_files or report.stale_temp_files or report.pending_deletions:
        found.append(
            "run `dashai-store gc` to remove unowned and stale temporary files and finish pending deletions"
        )
    if report.unowned_files and new_store_created(report.home) is not None:
        found.append(
            "this store was created over the files of a lost database: gc keeps the files older "
            "than it; restore a backup (`dashai-store backups`, `dashai-store restore`) to own them again"
        )
    if report.partial_backups:
        found.append(
            f"{len(report.partial_backups)} folder(s) of backups that never finished: "
            "`dashai-store gc` removes them"
        )
    return tuple(found)
