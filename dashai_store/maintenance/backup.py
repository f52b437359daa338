"""maintenance.backup: an online, consistent copy of the store into a new folder.

SQLite: the database is copied with the SQLite backup API inside one read transaction (a
consistent snapshot; writers keep writing), then exactly the files that snapshot refers
to are copied. PostgreSQL: the files are copied and the database is NOT — back it up
with ``pg_dump``, taken just before the file backup.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

import peewee

from .. import cascade, errors, files
from ..clock import utcnow
from ..database import BUSY_TIMEOUT_S, Store, current, translated
from ..files.io import is_temp_name
from ..records import BackupReport
from .scan import Progress, artifact_entries, covered, tick

BACKUP_MANIFEST = "backup.json"
BACKUP_PAGES_PER_STEP = 4096


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
            tick(self.progress, "files", done, total)
        return vanished

    def prune(self, refs: set[str]) -> None:
        """Drop copies no ref covers (their rows were deleted before the snapshot)."""
        for rel in [r for r in self.copied if not covered(r, refs)]:
            (self.staging / rel).unlink()
            del self.copied[rel]


def _verify_artifacts(copier: _Copier, snap: peewee.Database) -> list[str]:
    """Artifacts whose copy does not match the checksum the snapshot recorded."""
    changed: list[str] = []
    for _model, _row_id, _name, entry in artifact_entries(snap):
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
    (see ``Backend.snapshot``), then the files that copy refers to. Files are immutable
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
        files.io.fsync_dir(target.parent)
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
    snapshot = staging / "db.sqlite"
    snapshotted = store.dialect.snapshot(
        snapshot, pages, BUSY_TIMEOUT_S, progress=lambda done, total: tick(progress, "database", done, total)
    )
    if not snapshotted:
        refs = before
        note = (
            "PostgreSQL: this folder holds the store's files only; back the database up with "
            "pg_dump (taken just before this backup), restore it with pg_restore, then "
            f"open_store({str(target)!r}, database=URL)"
        )
        with translated():
            head = _schema_head(store.db)
    else:
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
        {
            r
            for r in missing
            if not _covered_by_copies(r, copier.copied, staging) and not files.layout.is_row_folder(r)
        }
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


def _covered_by_copies(ref: str, copied: dict[str, int], staging: Path) -> bool:
    """Whether a referenced path made it into the backup (a folder: it exists there)."""
    return ref in copied or (staging / ref).is_dir()


def _schema_head(db: peewee.Database) -> str | None:
    from ..versions import VERSION_TABLE

    row = db.execute_sql(f"SELECT id FROM {VERSION_TABLE} ORDER BY sequence DESC LIMIT 1").fetchone()
    return None if row is None else str(row[0])
