"""maintenance.backup: an online, consistent copy of the store into a new folder.

SQLite: the database is copied with the SQLite backup API inside one read transaction (a
consistent snapshot; writers keep writing) while file deletions and replacements are
held back, and exactly the files that snapshot refers to are pinned (hard links), then
copied (see :func:`backup`). PostgreSQL: the files are copied and the database is NOT —
back it up with ``pg_dump``, taken just before the file backup.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

import peewee

from .. import cascade, errors, files
from ..clock import utcnow
from ..database import BUSY_TIMEOUT_S, Store, current, translated
from ..files import layout
from ..files.io import is_temp_name
from ..locks import held
from ..records import BackupReport
from .scan import Progress, artifact_entries, tick

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
            files.io.fsync_file(target)
            self.copied[rel] = target.stat().st_size
            done += sizes[rel]
            tick(self.progress, "files", done, total)
        return vanished


def _recorded_checksums(db: peewee.Database) -> list[tuple[str, str]]:
    """(path, sha256) of every artifact the database records a checksum for."""
    return [
        (entry["path"], entry["sha256"])
        for _model, _row_id, _name, entry in artifact_entries(db)
        if entry.get("sha256")
    ]


def _verify_artifacts(copier: _Copier, recorded: list[tuple[str, str]]) -> list[str]:
    """Artifacts whose copy does not match the checksum the rows recorded."""
    changed: list[str] = []
    for rel, expected in recorded:
        if rel not in copier.copied:
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

    ``open_store(dest)`` opens the result, and every row in it finds its file, with the
    checksum it records. How, with other processes deleting rows and re-saving models:

    * While the backup pins its files, nothing may remove or replace a committed row's
      file: deletions carried out after COMMIT and promotions of re-saved models take the
      home's file lock shared (``files.tx.changing_files``); the backup takes it
      exclusively (``files.tx.files_settled``) for the database snapshot (SQLite: the
      backup API inside one read transaction) and the pinning of every file that snapshot
      refers to: a hard link into ``<home>/backups/.backup-<id>.partial/pins`` (a copy
      where a link is impossible). The files the live database refers to are pinned
      just before the snapshot too, so a file overwritten in place of the store's staged
      replacement (older code did) keeps the bytes the snapshot's checksum names. A link
      is O(1) whatever the size, so writers wait for the snapshot and a link per file,
      not for the copy: a deletion waits after its COMMIT, a promotion inside its own
      short transaction, around one rename; no other write waits.
    * Then the pinned bytes — exactly those the snapshot refers to, since the store
      never writes a file in place — are copied into a hidden staging folder beside
      ``dest``, checked against the snapshot's checksums, and the staging folder is
      renamed to ``dest``: ``dest`` never holds half a backup. ``backup.json`` describes it.

    Why not copy the files after the snapshot with no lock (the earlier way): a row
    deleted or a model re-saved in between left the backup naming files it did not
    have, or bytes failing their checksum; and the trash frees deleted files at once, so
    it cannot serve as a second source.

    A killed backup leaves its ``.partial`` folders; ``check`` reports them
    (``partial_backups``) and ``gc`` removes them when no backup is running (each backup
    holds ``<home>/backups/.backup-running.lock`` shared).

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
    work_dir = layout.backups(store.home) / f".backup-{uuid.uuid4().hex[:8]}{PARTIAL_MARK}"
    try:
        work_dir.mkdir(parents=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.parent / f".{target.name}{PARTIAL_MARK}-{uuid.uuid4().hex[:8]}"
        (work_dir / STAGING_NOTE).write_text(str(staging), encoding="utf-8")
        staging.mkdir()
    except OSError as exc:
        shutil.rmtree(work_dir, ignore_errors=True)
        raise errors.StoreError(f"cannot create the backup folder {target}: {exc}") from exc
    try:
        with running(store.home):
            report = _backup_into(store, staging, work_dir / "pins", target, progress, pages_per_step)
            if target.exists():
                target.rmdir()  # empty (checked above); a rename cannot replace it on Windows
            os.replace(staging, target)
            files.io.fsync_dir(target.parent)
            return report
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


# -- partial backups: what a killed backup leaves -----------------------------------------------------

PARTIAL_MARK = ".partial"
STAGING_NOTE = "staging"
RUNNING_LOCK = ".backup-running.lock"


@contextmanager
def running(home: Path) -> Iterator[None]:
    """Held (shared) by every backup while it runs: :func:`partial_backups` then finds none."""
    folder = layout.backups(home)
    folder.mkdir(parents=True, exist_ok=True)
    with held(folder / RUNNING_LOCK, shared=True, timeout_s=None):
        yield


def partial_backups(home: Path) -> list[Path] | None:
    """Folders killed backups left (``.partial``), or None while a backup is running.

    The work folders in ``<home>/backups/`` and the staging folders they name (a backup's
    staging folder sits beside its destination, which may be outside the home).
    """
    folder = layout.backups(home)
    if not folder.is_dir():
        return []
    with held(folder / RUNNING_LOCK, shared=False, timeout_s=0) as idle:
        return _partial_unlocked(folder) if idle else None


def remove_partial_backups(home: Path, dry_run: bool = False) -> tuple[list[Path], int]:
    """Remove what :func:`partial_backups` lists (unless a backup started meanwhile): (paths, bytes)."""
    folder = layout.backups(home)
    if not folder.is_dir():
        return [], 0
    with held(folder / RUNNING_LOCK, shared=False, timeout_s=0) as idle:
        if not idle:
            return [], 0
        found = _partial_unlocked(folder)
        freed = 0
        for path in found:  # staging folders first: the work folder names them
            freed += sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
            if not dry_run:
                shutil.rmtree(path, ignore_errors=True)
        return found, freed


def _is_partial(path: Path) -> bool:
    return path.name.startswith(".") and PARTIAL_MARK in path.name and path.is_dir()


def _partial_unlocked(folder: Path) -> list[Path]:
    found: list[Path] = []
    work = [p for p in sorted(folder.iterdir()) if _is_partial(p)]
    for path in work:
        note = path / STAGING_NOTE
        try:
            staging = Path(note.read_text(encoding="utf-8").strip()) if note.is_file() else None
        except OSError:
            staging = None
        if staging is not None and staging.is_dir() and staging not in work:
            found.append(staging)
    return found + work


# -- pinning and copying --------------------------------------------------------------------------------


def _pin(home: Path, pins: Path, rels: list[str]) -> list[str]:
    """Hard-link (else copy) each file into ``pins``; returns those that do not exist."""
    vanished: list[str] = []
    for rel in dict.fromkeys(rels):  # a file and the folder holding it may both be refs
        source, pinned = home / rel, pins / rel
        pinned.parent.mkdir(parents=True, exist_ok=True)
        try:
            try:
                os.link(source, pinned)
            except FileNotFoundError:
                raise
            except OSError:  # another filesystem, or no hard links: a copy, inside the hold
                shutil.copyfile(source, pinned)
        except FileNotFoundError:
            vanished.append(rel)
        except OSError as exc:
            raise errors.StoreError(f"cannot pin {source} for the backup: {exc}") from exc
    return vanished


def _backup_into(
    store: Store, staging: Path, pins: Path, target: Path, progress: Progress | None, pages: int
) -> BackupReport:
    home = store.home
    started = utcnow()
    database: Path | None = None
    head: str | None = None
    snapshot = staging / "db.sqlite"
    snap: peewee.Database | None = None
    pins.mkdir(parents=True)
    try:
        pinner = _Copier(home, pins, None)
        with files.tx.files_settled(home, timeout_s=None):
            # Pinned before the snapshot too: a file overwritten under its name meanwhile
            # (not something the store does, but older code did) keeps the bytes it had.
            with translated():
                early, _ = pinner.expand(cascade.referenced_paths())
            _pin(home, pins, early)
            snapshotted = store.dialect.snapshot(
                snapshot,
                pages,
                BUSY_TIMEOUT_S,
                progress=lambda done, total: tick(progress, "database", done, total),
            )
            with translated():
                if snapshotted:
                    snap = peewee.SqliteDatabase(str(snapshot))
                    problems = [str(r[0]) for r in snap.execute_sql("PRAGMA integrity_check").fetchall()]
                    if problems != ["ok"]:
                        raise errors.DatabaseError(
                            f"the database snapshot fails integrity_check: {problems[:5]}"
                        )
                    refs = cascade.referenced_paths(snap)
                    head = _schema_head(snap)
                    recorded = _recorded_checksums(snap)
                else:
                    # PostgreSQL: the rows as they are while the files are pinned (under
                    # the hold, no deletion or promotion can change what they name).
                    refs = cascade.referenced_paths()
                    head = _schema_head(store.db)
                    recorded = _recorded_checksums(store.db)
            wanted, missing = pinner.expand(refs)
            missing += _pin(home, pins, [r for r in wanted if not os.path.lexists(pins / r)])
        # Outside the hold: writers go on; the pinned bytes cannot change any more.
        copier = _Copier(pins, staging, progress)
        for ref in refs:
            if (pins / ref).is_dir():
                (staging / ref).mkdir(parents=True, exist_ok=True)  # kept even when empty
        copier.copy([r for r in dict.fromkeys(wanted) if r not in missing])
        changed = _verify_artifacts(copier, recorded)
    finally:
        if snap is not None:
            snap.close()
    if snapshotted:
        database = target / "db.sqlite"
        note = f"SQLite: database snapshot taken at {utcnow().isoformat(timespec='seconds')}Z"
    else:
        note = (
            "PostgreSQL: this folder holds the store's files only; back the database up with "
            "pg_dump (taken just before this backup), restore it with pg_restore, then "
            f"open_store({str(target)!r}, database=URL)"
        )
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
    files.io.fsync_file(staging / BACKUP_MANIFEST)
    return report


def _covered_by_copies(ref: str, copied: dict[str, int], staging: Path) -> bool:
    """Whether a referenced path made it into the backup (a folder: it exists there)."""
    return ref in copied or (staging / ref).is_dir()


def _schema_head(db: peewee.Database) -> str | None:
    from ..versions import VERSION_TABLE

    row = db.execute_sql(f"SELECT id FROM {VERSION_TABLE} ORDER BY sequence DESC LIMIT 1").fetchone()
    return None if row is None else str(row[0])
