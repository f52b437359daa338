"""Store maintenance: check, gc, online backup, and marking interrupted jobs.

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
inside one read transaction (a consistent snapshot; writers keep writing), then exactly the
files that snapshot refers to are copied. PostgreSQL: the files are copied and the
database is NOT — back it up with ``pg_dump``, taken just before the file backup.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import peewee

from . import cascade, errors, files, lifecycle, models
from .clock import utcnow
from .database import (
    BUSY_TIMEOUT_S,
    Store,
    current,
    is_postgres,
    reads,
    run_in_transaction,
    translated,
    writes,
)
from .enums import RunStatus
from .records import (
    BackupReport,
    CheckReport,
    ForeignKeyViolation,
    GcReport,
    InterruptedJobs,
    MissingFile,
)

# The top folders of the layout (cascade.OWNED_FOLDERS); tests keep the two in step.
MANAGED_ROOTS: tuple[str, ...] = (
    "datasets",
    "notebooks",
    "runs",
    "predictions",
    "explorers",
    "explainers",
    "generative",
)
GRACE_S = 3600.0
BACKUP_MANIFEST = "backup.json"
BACKUP_PAGES_PER_STEP = 4096

JOB_MODELS: tuple[type[models.JobMixin], ...] = tuple(
    m for m in models.DOMAIN_MODELS if issubclass(m, models.JobMixin)
)

Progress = Callable[[str, int, int], None]
"""``progress(phase, done, total)``; ``total`` is 0 when it is not known yet."""


def _tick(progress: Progress | None, phase: str, done: int, total: int) -> None:
    if progress is not None:
        progress(phase, done, total)


# -- scanning the home ----------------------------------------------------------------------


def is_temp_name(name: str) -> bool:
    """Whether ``name`` is a temporary file of ``files.atomic_writer`` (``.<name>.<rnd>.tmp``)."""
    return name.startswith(".") and name.endswith(".tmp") and name.count(".") >= 3


def _covered(rel: str, refs: set[str]) -> bool:
    """Whether ``rel`` is a referenced path or lies under one."""
    parts = rel.split("/")
    return any("/".join(parts[:i]) in refs for i in range(1, len(parts) + 1))


def _protected_dirs(refs: Iterable[str]) -> set[str]:
    """Every referenced path and every folder above one: folders gc must keep."""
    kept: set[str] = set()
    for ref in refs:
        parts = ref.split("/")
        kept.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    return kept


@dataclass
class _Entry:
    rel: str
    size: int
    age_s: float


def _walk(home: Path, now: float) -> Iterator[_Entry]:
    """Every file (and symlink) under the managed roots; never follows links."""
    for root in MANAGED_ROOTS:
        top = home / root
        if not top.is_dir() or top.is_symlink():
            continue
        for folder, dirnames, filenames in os.walk(top):
            base = Path(folder)
            names = list(filenames)
            for name in list(dirnames):  # a linked folder is judged as a file, not entered
                if (base / name).is_symlink():
                    dirnames.remove(name)
                    names.append(name)
            for name in names:
                path = base / name
                try:
                    info = path.lstat()
                except FileNotFoundError:  # removed by a writer while we walked
                    continue
                rel = PurePosixPath(path.relative_to(home)).as_posix()
                yield _Entry(rel, info.st_size, now - info.st_mtime)


@dataclass
class _Scan:
    unowned: list[_Entry] = field(default_factory=list)
    stale_temp: list[_Entry] = field(default_factory=list)
    recent: list[_Entry] = field(default_factory=list)
    refs: set[str] = field(default_factory=set)


def _scan(home: Path, grace_s: float, progress: Progress | None) -> _Scan:
    # The walk comes before the read of the references: a file seen by the walk whose
    # row committed before the read is then owned; one whose row commits later is young.
    entries: list[_Entry] = []
    for entry in _walk(home, time.time()):
        entries.append(entry)
        if len(entries) % 1000 == 0:
            _tick(progress, "scan", len(entries), 0)
    _tick(progress, "scan", len(entries), len(entries))
    scan = _Scan(refs=cascade.referenced_paths())
    for entry in entries:
        name = entry.rel.rsplit("/", 1)[-1]
        if is_temp_name(name):
            if entry.age_s >= grace_s:
                scan.stale_temp.append(entry)
        elif not _covered(entry.rel, scan.refs):
            (scan.unowned if entry.age_s >= grace_s else scan.recent).append(entry)
    return scan


# -- check ----------------------------------------------------------------------------------------


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
    for model, row_id, name, entry in _artifact_entries():
        note(model, row_id, f"artifacts.{name}", entry.get("path"))
    return found


def _artifact_entries(
    db: peewee.Database | None = None,
) -> Iterator[tuple[type[models.BaseModel], int, str, dict[str, Any]]]:
    """(model, row id, artifact name, {"path", "sha256"}) of every artifact entry."""
    for model in (models.Run, models.GlobalExplainer, models.LocalExplainer):
        field_ = model.artifacts
        query = model.select(model.id, field_).where(field_.is_null(False)).tuples()
        for row_id, artifacts in query.iterator(db):
            if not isinstance(artifacts, dict):
                continue
            for name, entry in artifacts.items():
                if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                    yield model, row_id, str(name), entry


def _foreign_key_violations(db: peewee.Database) -> list[ForeignKeyViolation]:
    if not is_postgres(db):
        return [
            ForeignKeyViolation(table=str(r[0]), row_id=r[1], parent=str(r[2]), column=None)
            for r in db.execute_sql("PRAGMA foreign_key_check").fetchall()
        ]
    # PostgreSQL enforces foreign keys itself; this finds orphans only a restore with
    # triggers disabled (session_replication_role = replica) could have left.
    found: list[ForeignKeyViolation] = []
    for model in models.DOMAIN_MODELS:
        for fk in model._meta.refs:
            parent = fk.rel_model
            query = model.select(model.id).where(
                fk.is_null(False) & ~peewee.fn.EXISTS(parent.select(parent.id).where(parent.id == fk))
            )
            found.extend(
                ForeignKeyViolation(
                    table=model._meta.table_name,
                    row_id=row_id,
                    parent=parent._meta.table_name,
                    column=fk.column_name,
                )
                for (row_id,) in query.tuples().iterator()
            )
    return found


def _integrity(db: peewee.Database) -> tuple[bool, list[str]]:
    if is_postgres(db):
        return False, []
    rows = [str(r[0]) for r in db.execute_sql("PRAGMA integrity_check").fetchall()]
    return True, [] if rows == ["ok"] else rows


@reads
def check(*, grace_s: float = GRACE_S, progress: Progress | None = None) -> CheckReport:
    """Inspect the open store; writes nothing.

    Reports SQLite's ``PRAGMA integrity_check`` and ``PRAGMA foreign_key_check`` (on
    PostgreSQL: no integrity check — use ``pg_amcheck`` on the server — and an orphan
    query per foreign key instead), rows whose files are missing, files under the store's
    folders that no row owns, stale temporary files, and recorded file deletions that were
    not carried out. ``report.ok`` is True when there is nothing to fix.

    >>> report = maintenance.check()                     # doctest: +SKIP
    >>> [str(p) for p in report.unowned_files]           # doctest: +SKIP
    """
    store = current()
    checked, problems = _integrity(store.db)
    violations = _foreign_key_violations(store.db)
    scan = _scan(store.home, grace_s, progress)
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


# -- gc -----------------------------------------------------------------------------------------------


def _remove_path(path: Path) -> int:
    """Remove a file, a link, or a folder tree; returns the bytes freed."""
    info = path.lstat()
    if stat.S_ISDIR(info.st_mode):
        size = sum(p.lstat().st_size for p in path.rglob("*") if not p.is_dir() or p.is_symlink())
        shutil.rmtree(path)
        return size
    path.unlink()
    return info.st_size


def gc(*, grace_s: float = GRACE_S, dry_run: bool = False, progress: Progress | None = None) -> GcReport:
    """Remove what no row owns; finish recorded deletions. Never removes a referenced file.

    Removes unowned files and stale temporary files older than ``grace_s`` under the
    store's folders, the folders that leaves empty (never one a row refers to, or one
    above such a path), and carries out the deletions recorded in the pending-deletion
    table — except of a path some row refers to (the record is dropped, the file kept).
    Missing files and database problems are only reported by :func:`check`.
    ``dry_run=True`` reports what would be removed and changes nothing.
    """
    store = current()
    home = store.home
    with translated():
        pending = files.pending_deletions()
        refs = cascade.referenced_paths()
    removed: list[Path] = []
    removed_temp: list[Path] = []
    finished: list[Path] = []
    kept: list[Path] = []
    failed: list[tuple[Path, str]] = []
    freed = 0
    touched_dirs: set[str] = set()

    # 1. recorded deletions (a crash between COMMIT and unlink, or a locked file)
    done_records: list[str] = []
    for index, rel in enumerate(pending, start=1):
        _tick(progress, "pending deletions", index, len(pending))
        if cascade.still_referenced(rel, refs):
            kept.append(home / rel)
            done_records.append(rel)
            continue
        try:
            files.resolve(rel)
        except errors.UnsafePath as exc:
            failed.append((home / rel, str(exc)))
            continue
        target = home / rel
        if not dry_run:
            try:
                freed += _remove_path(target)
            except FileNotFoundError:
                pass
            except OSError as exc:
                failed.append((target, str(exc)))
                continue
        finished.append(target)
        done_records.append(rel)
        touched_dirs.add(rel.rsplit("/", 1)[0] if "/" in rel else "")
    if done_records and not dry_run:
        table = models.PendingDeletion
        run_in_transaction(lambda: table.delete().where(table.path.in_(done_records)).execute())

    # 2. unowned and stale temporary files
    with translated():
        scan = _scan(home, grace_s, progress)
    doomed = [(e, False) for e in scan.unowned] + [(e, True) for e in scan.stale_temp]
    for index, (entry, temp) in enumerate(doomed, start=1):
        _tick(progress, "remove", index, len(doomed))
        path = home / entry.rel
        if not dry_run:
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:
                failed.append((path, str(exc)))
                continue
        freed += entry.size
        (removed_temp if temp else removed).append(path)
        touched_dirs.add(entry.rel.rsplit("/", 1)[0])

    # 3. folders left empty
    folders = (
        [] if dry_run else _remove_empty_folders(home, _protected_dirs(scan.refs), touched_dirs, grace_s)
    )
    return GcReport(
        dry_run=dry_run,
        removed_files=tuple(removed),
        removed_temp_files=tuple(removed_temp),
        removed_folders=tuple(folders),
        finished_deletions=tuple(finished),
        kept_referenced=tuple(kept),
        failed=tuple(failed),
        bytes_freed=freed,
    )


def _remove_empty_folders(home: Path, protected: set[str], touched: set[str], grace_s: float) -> list[Path]:
    """Remove empty folders under the managed roots (not the roots themselves).

    A folder is removed when gc emptied it, or when it has been empty and untouched for
    the grace period; never when a row refers to it or to something under it.
    """
    removed: list[Path] = []
    now = time.time()
    for root in MANAGED_ROOTS:
        top = home / root
        if not top.is_dir() or top.is_symlink():
            continue
        for folder, _dirs, _files in os.walk(top, topdown=False):
            path = Path(folder)
            if path == top:
                continue
            rel = PurePosixPath(path.relative_to(home)).as_posix()
            if rel in protected:
                continue
            try:
                if any(path.iterdir()):
                    continue
                recent = now - path.stat().st_mtime < grace_s
                if recent and rel not in touched and not any(t.startswith(rel + "/") for t in touched):
                    continue
                path.rmdir()  # fails, harmlessly, if a writer just created something in it
            except OSError:
                continue
            removed.append(path)
            touched.add(rel)
    return removed


# -- mark_interrupted ---------------------------------------------------------------------------------


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


# -- backup ----------------------------------------------------------------------------------------


def _check_destination(store: Store, dest: Path) -> None:
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise errors.ValidationError(f"backup destination {dest} exists and is not an empty folder")
    home = store.home
    backups = home / "backups"
    inside_home = dest == home or home in dest.parents
    if inside_home and backups not in dest.parents:
        raise errors.ValidationError(
            f"backup destination {dest} is inside the store home {home}; use a folder outside it "
            f"or under {backups}"
        )


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Copier:
    """Copies home-relative files into the staging folder, once each."""

    def __init__(self, home: Path, staging: Path, progress: Progress | None) -> None:
        self.home = home
        self.staging = staging
        self.progress = progress
        self.copied: dict[str, int] = {}  # relative path -> size

    def expand(self, refs: Iterable[str]) -> tuple[list[str], list[str]]:
        """The files ``refs`` stand for (folders expanded) and the refs that do not exist."""
        wanted: list[str] = []
        missing: list[str] = []
        for ref in sorted(refs):
            try:
                files.resolve(ref)
            except errors.UnsafePath:
                missing.append(ref)
                continue
            source = self.home / ref
            if source.is_dir() and not source.is_symlink():
                (self.staging / ref).mkdir(parents=True, exist_ok=True)  # kept even when empty
                for folder, _dirs, names in os.walk(source):
                    base = PurePosixPath(Path(folder).relative_to(self.home))
                    wanted.extend((base / n).as_posix() for n in sorted(names) if not is_temp_name(n))
            elif source.is_file():
                wanted.append(ref)
            else:
                missing.append(ref)
        return wanted, missing

    def copy(self, rels: list[str], force: bool = False) -> list[str]:
        """Copy ``rels`` not copied yet; returns those that vanished before they could be."""
        # dict.fromkeys: a file and the folder holding it may both be refs
        todo = [r for r in dict.fromkeys(rels) if force or r not in self.copied]
        sizes = {}
        for rel in todo:
            try:
                sizes[rel] = (self.home / rel).stat().st_size
            except OSError:
                sizes[rel] = 0
        total = sum(sizes.values())
        done = 0
        vanished: list[str] = []
        for rel in todo:
            target = self.staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                shutil.copyfile(self.home / rel, target)
            except FileNotFoundError:
                vanished.append(rel)
                continue
            except OSError as exc:
                raise errors.StoreError(f"cannot copy {self.home / rel} into the backup: {exc}") from exc
            _fsync_file(target)
            self.copied[rel] = target.stat().st_size
            done += sizes[rel]
            _tick(self.progress, "files", done, total)
        return vanished

    def prune(self, refs: set[str]) -> None:
        """Drop copies no ref covers (their rows were deleted before the snapshot)."""
        for rel in [r for r in self.copied if not _covered(r, refs)]:
            (self.staging / rel).unlink()
            del self.copied[rel]


def _snapshot_sqlite(source: Path, target: Path, progress: Progress | None, pages: int) -> None:
    """Copy the database at one instant while writers keep writing.

    The backup runs in steps (for progress) inside one read transaction, so every step
    reads the same WAL snapshot and the copy never restarts: it holds exactly what was
    committed when the transaction began.
    """
    src = sqlite3.connect(str(source), isolation_level=None, timeout=BUSY_TIMEOUT_S)
    try:
        src.execute("BEGIN")
        src.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # pins the snapshot
        dst = sqlite3.connect(str(target))
        try:

            def on_step(_status: int, remaining: int, total: int) -> None:
                _tick(progress, "database", total - remaining, total)

            src.backup(dst, pages=pages, progress=on_step)
        finally:
            dst.close()
        src.execute("COMMIT")
    except sqlite3.Error as exc:
        raise errors.DatabaseError(f"cannot back up {source}: {exc}") from exc
    finally:
        src.close()


def _verify_artifacts(copier: _Copier, snap: peewee.Database) -> list[str]:
    """Artifacts whose copy does not match the checksum the snapshot recorded."""
    changed: list[str] = []
    for _model, _row_id, _name, entry in _artifact_entries(snap):
        rel, expected = entry["path"], entry.get("sha256")
        if not expected or rel not in copier.copied:
            continue
        if files.sha256_file(copier.staging / rel) == expected:
            continue
        copier.copy([rel], force=True)  # replaced while we copied: try the live one again
        if rel not in copier.copied or files.sha256_file(copier.staging / rel) != expected:
            changed.append(rel)
    return changed


def backup(
    dest: str | os.PathLike[str],
    *,
    progress: Progress | None = None,
    pages_per_step: int = BACKUP_PAGES_PER_STEP,
) -> BackupReport:
    """Copy the open store to ``dest`` (a new or empty folder) while it stays in use.

    ``open_store(dest)`` opens the result. SQLite: the database is copied at one instant
    (see ``_snapshot_sqlite``), then the files that copy refers to. Files are immutable
    under their final names (a re-save replaces a file whole), so copying them after the
    snapshot gives the bytes the snapshot refers to; to survive rows deleted meanwhile,
    the files referenced just before the snapshot are copied first, copies no longer
    referenced by the snapshot are dropped, and artifact checksums are verified against
    the snapshot. The backup is built in a hidden sibling folder and renamed to ``dest``
    at the end, so ``dest`` never holds half a backup. ``backup.json`` describes it.

    PostgreSQL: only the files are copied; ``report.database`` is None and ``report.note``
    says to back the database up with ``pg_dump`` (take the dump first, then this backup,
    so every file the dump refers to is still there to copy).
    """
    store = current()
    if not isinstance(pages_per_step, int) or isinstance(pages_per_step, bool) or pages_per_step < 1:
        raise errors.ValidationError(f"pages_per_step must be a positive int, got {pages_per_step!r}")
    if not isinstance(dest, (str, os.PathLike)):
        raise errors.ValidationError(f"backup destination must be a path, got {type(dest).__name__}")
    target = Path(dest).expanduser().resolve()
    _check_destination(store, target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.parent / f".{target.name}.partial-{uuid.uuid4().hex[:8]}"
        staging.mkdir()
    except OSError as exc:
        raise errors.StoreError(f"cannot create the backup folder {target}: {exc}") from exc
    try:
        report = _backup_into(store, staging, target, progress, pages_per_step)
        if target.exists():
            target.rmdir()  # empty (checked above); a rename cannot replace it on Windows
        os.replace(staging, target)
        files._fsync_dir(target.parent)
        return report
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _backup_into(
    store: Store, staging: Path, target: Path, progress: Progress | None, pages: int
) -> BackupReport:
    copier = _Copier(store.home, staging, progress)
    started = utcnow()
    with translated():
        before = cascade.referenced_paths()
    wanted, missing = copier.expand(before)
    missing += copier.copy(wanted)
    database: Path | None = None
    head: str | None = None
    changed: list[str] = []
    if is_postgres(store.db):
        refs = before
        note = (
            "PostgreSQL: this folder holds the store's files only; back the database up with "
            "pg_dump (taken just before this backup), restore it with pg_restore, then "
            f"open_store({str(target)!r}, database=URL)"
        )
        with translated():
            head = _schema_head(store.db)
    else:
        snapshot = staging / "db.sqlite"
        _snapshot_sqlite(Path(str(store.db.database)), snapshot, progress, pages)
        snap = peewee.SqliteDatabase(str(snapshot))
        try:
            with translated():
                problems = [str(r[0]) for r in snap.execute_sql("PRAGMA integrity_check").fetchall()]
                if problems != ["ok"]:
                    raise errors.DatabaseError(f"the database snapshot fails integrity_check: {problems[:5]}")
                refs = cascade.referenced_paths(snap)
                head = _schema_head(snap)
            copier.prune(refs)
            wanted, missing = copier.expand(refs)
            missing += copier.copy(wanted)
            with translated():
                changed = _verify_artifacts(copier, snap)
        finally:
            snap.close()
        database = target / "db.sqlite"
        note = f"SQLite: database snapshot taken at {utcnow().isoformat(timespec='seconds')}Z"
    missing = sorted(
        {r for r in missing if not _covered_by_copies(r, copier.copied, staging) and not _is_row_folder(r)}
    )
    report = BackupReport(
        path=target,
        backend=store.backend,
        database=database,
        schema_head=head,
        files=len(copier.copied),
        bytes=sum(copier.copied.values()),
        missing_files=tuple(missing),
        changed_files=tuple(sorted(changed)),
        note=note,
    )
    manifest = {
        "created": started.isoformat(timespec="seconds") + "Z",
        "source_home": str(store.home),
        "backend": report.backend,
        "database": "db.sqlite" if database is not None else None,
        "schema_head": head,
        "files": report.files,
        "bytes": report.bytes,
        "missing_files": list(report.missing_files),
        "changed_files": list(report.changed_files),
        "note": note,
    }
    (staging / BACKUP_MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    _fsync_file(staging / BACKUP_MANIFEST)
    return report


def _is_row_folder(rel: str) -> bool:
    """Whether ``rel`` is a row's own layout folder (``runs/12``): absent until written to."""
    parts = rel.split("/")
    if parts[0] == "explainers":
        return len(parts) == 3 and parts[1] in ("global", "local") and parts[2].isdigit()
    if parts[0] == "generative":
        return 2 <= len(parts) <= 3 and all(p.isdigit() for p in parts[1:])
    return len(parts) == 2 and parts[0] in MANAGED_ROOTS and parts[1].isdigit()


def _covered_by_copies(ref: str, copied: dict[str, int], staging: Path) -> bool:
    """Whether a referenced path made it into the backup (a folder: it exists there)."""
    return ref in copied or (staging / ref).is_dir()


def _schema_head(db: peewee.Database) -> str | None:
    from .migrator import VERSION_TABLE

    row = db.execute_sql(f"SELECT id FROM {VERSION_TABLE} ORDER BY sequence DESC LIMIT 1").fetchone()
    return None if row is None else str(row[0])
