"""Listing the backups under ``<home>/backups/`` and putting one back in place (SQLite homes).

    >>> from dashai_store.maintenance import restore              # doctest: +SKIP
    >>> for entry in restore.backups("~/.DashAI"):                # doctest: +SKIP
    ...     print(entry.kind, entry.created, entry.version, entry.path)
    >>> restore.restore("~/.DashAI/backups/db-...-0001_initial.sqlite", home="~/.DashAI")  # doctest: +SKIP

What ``backups/`` can hold (:func:`backups` lists each as a :class:`BackupEntry`):

* ``db-<UTC time>-<version>.sqlite``: the database before a migration (the migration
  runner's preflight). Restoring it gives the database as it was at ``<version>``; the
  next start migrates it again (taking a new backup first).
* ``db-<UTC time>-legacy-<revision>.sqlite`` with ``legacy-files-<time>/`` and
  ``legacy-adoption-<time>.json``: the old DashAI database and files before the adoption
  (:mod:`dashai_store.legacy.adoption`). Restoring it is the way back to the old DashAI,
  files included: see :func:`restore`.
* ``db-<UTC time>-before-restore.sqlite``: the database a restore set aside (so a restore
  can itself be undone), with ``files-<time>-before-restore/`` when files were set aside.
* a folder holding ``backup.json``: a full backup written by ``dashai-store backup DEST``
  (database and files).

Nothing here deletes anything: whatever a restore replaces is renamed into ``backups/``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from .. import errors, files, legacy
from ..database import DB_FILENAME, resolve_home
from ..files.layout import BACKUPS as BACKUP_DIR
from ..locks import file_lock
from .backup import BACKUP_MANIFEST

KIND_PRE_MIGRATION = "pre-migration"
KIND_LEGACY = "legacy"
KIND_FULL = "full backup"
KIND_BEFORE_RESTORE = "before-restore"
KIND_DATABASE = "database"
"""A SQLite file of this store found anywhere else (e.g. a copy the user kept)."""

SQLITE_HEADER = b"SQLite format 3\x00"
STAMP_FORMAT = "%Y%m%dT%H%M%S%fZ"
SIDECARS = ("-wal", "-shm")
_DB_NAME = re.compile(r"^db-(?P<stamp>\d{8}T\d{6}\d*Z)-(?P<rest>.+)\.sqlite$")

#: Tests only: a restore raises after this step (``"after-aside"``: the current database
#: has been renamed aside; ``"after-files"``: the files are in place, the database not yet).
fail_at: str | None = None
#: Tests only (the reliability suite's kills): SIGKILL the process at one of KILL_POINTS.
KILL_ENV = "DASHAI_STORE_TEST_KILL_RESTORE"
KILL_POINTS = ("copied", "after-aside", "after-files")


@dataclass(frozen=True, kw_only=True)
class BackupEntry:
    """One restorable backup.

    ``path`` is what to pass to :func:`restore`; ``database`` the SQLite file in it.
    ``version`` is the schema version (the last applied step) or, for ``kind ==
    "legacy"``, the Alembic revision. ``size`` counts the database and ``files`` (the
    legacy or backed-up files restored with it) in bytes; ``created`` is UTC.
    """

    path: Path
    kind: str
    created: datetime | None
    version: str | None
    size: int
    database: Path
    files: int
    legacy_files: Path | None = None
    legacy_report: Path | None = None


@dataclass(frozen=True, kw_only=True)
class RestoreResult:
    """What :func:`restore` did.

    ``previous`` is where the database that was in place went (None if there was none);
    ``set_aside`` the home-relative paths moved into ``set_aside_folder`` because they were
    in the way; ``placed`` the files put back from the backup (legacy files, or files of a
    full backup missing from the home).
    """

    backup: Path
    kind: str
    version: str | None
    database: Path
    previous: Path | None
    set_aside_folder: Path | None
    set_aside: tuple[str, ...]
    placed: tuple[str, ...]
    notes: tuple[str, ...]


# -- listing ---------------------------------------------------------------------------------------


def _stamp_time(stamp: str) -> datetime | None:
    try:
        return datetime.strptime(stamp, STAMP_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def _tree_size(folder: Path) -> tuple[int, int]:
    """(file count, bytes) under ``folder``; links are not followed."""
    count = size = 0
    for base, _dirs, names in os.walk(folder):
        for name in names:
            try:
                size += (Path(base) / name).lstat().st_size
            except OSError:
                continue
            count += 1
    return count, size


def _entry_for_db(path: Path) -> BackupEntry | None:
    match = _DB_NAME.match(path.name)
    if match is None or not path.is_file():
        return None
    stamp, rest = match.group("stamp"), match.group("rest")
    size = path.stat().st_size
    if rest == "before-restore":
        aside = path.parent / f"files-{stamp}-before-restore"
        count, extra = _tree_size(aside) if aside.is_dir() else (0, 0)
        return BackupEntry(
            path=path,
            kind=KIND_BEFORE_RESTORE,
            created=_stamp_time(stamp),
            version=_schema_version(path),
            size=size + extra,
            database=path,
            files=count,
        )
    if rest.startswith("legacy-"):
        folder = path.parent / f"legacy-files-{stamp}"
        report = path.parent / f"legacy-adoption-{stamp}.json"
        count, extra = _tree_size(folder) if folder.is_dir() else (0, 0)
        return BackupEntry(
            path=path,
            kind=KIND_LEGACY,
            created=_stamp_time(stamp),
            version=rest[len("legacy-") :],
            size=size + extra,
            database=path,
            files=count,
            legacy_files=folder if folder.is_dir() else None,
            legacy_report=report if report.is_file() else None,
        )
    return BackupEntry(
        path=path,
        kind=KIND_PRE_MIGRATION,
        created=_stamp_time(stamp),
        version=None if rest == "empty" else rest,
        size=size,
        database=path,
        files=0,
    )


def _entry_for_full(folder: Path) -> BackupEntry | None:
    manifest_path = folder / BACKUP_MANIFEST
    database = folder / DB_FILENAME
    if not manifest_path.is_file() or not database.is_file():
        return None  # a PostgreSQL file backup has no database to restore
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    created: datetime | None = None
    raw = manifest.get("created")
    if isinstance(raw, str):
        try:
            created = datetime.fromisoformat(raw.removesuffix("Z")).replace(tzinfo=timezone.utc)
        except ValueError:
            created = None
    count, size = _tree_size(folder)
    head = manifest.get("schema_head")
    return BackupEntry(
        path=folder,
        kind=KIND_FULL,
        created=created,
        version=head if isinstance(head, str) else None,
        size=size,
        database=database,
        files=max(count - 2, 0),  # without db.sqlite and backup.json
    )


def backups(home: str | os.PathLike[str] | None = None) -> tuple[BackupEntry, ...]:
    """What ``<home>/backups/`` holds that :func:`restore` can put back, newest first.

    Reads file names, sizes and ``backup.json`` manifests only (no database is opened,
    except a before-restore copy's version table). An absent ``backups/`` gives ``()``.
    """
    folder = resolve_home(home) / BACKUP_DIR
    if not folder.is_dir():
        return ()
    found: list[BackupEntry] = []
    for path in sorted(folder.iterdir()):
        entry = _entry_for_full(path) if path.is_dir() else _entry_for_db(path)
        if entry is not None:
            found.append(entry)
    oldest = datetime.min.replace(tzinfo=timezone.utc)
    found.sort(key=lambda e: (e.created or oldest, e.path.name), reverse=True)
    return tuple(found)


# -- reading a backup --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Inspected:
    database: Path
    kind: str
    version: str | None
    legacy: bool


def _connect_read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)


def _schema_version(path: Path) -> str | None:
    """The last applied step of a dashai_store database, None if it cannot be read."""
    from ..versions import VERSION_TABLE

    try:
        with closing(_connect_read_only(path)) as conn:
            row = conn.execute(f"SELECT id FROM {VERSION_TABLE} ORDER BY sequence DESC LIMIT 1").fetchone()
    except sqlite3.Error:
        return None
    return None if row is None else str(row[0])


def _locate(backup: str | os.PathLike[str], home: Path) -> Path:
    """The backup's path: as given (relative to the working folder), else a name in ``backups/``."""
    if not isinstance(backup, (str, os.PathLike)):
        raise errors.ValidationError(f"a backup must be a path, got {type(backup).__name__}")
    given = Path(backup).expanduser()
    if not os.path.lexists(given) and len(given.parts) == 1 and (home / BACKUP_DIR / given).exists():
        given = home / BACKUP_DIR / given
    if not given.exists():
        raise errors.NotFound(f"backup {given} does not exist (`dashai-store backups` lists them)")
    return given.resolve()


def _inspect(path: Path) -> _Inspected:
    """Refuse what cannot be restored; say what the backup is. Reads it read-only."""
    from ..migrator import default_steps
    from ..versions import VERSION_TABLE

    database = path
    kind = KIND_DATABASE
    if path.is_dir():
        if not (path / BACKUP_MANIFEST).is_file():
            raise errors.ValidationError(f"backup {path} is a folder but not one `dashai-store backup` wrote")
        database = path / DB_FILENAME
        if not database.is_file():
            raise errors.ValidationError(
                f"backup {path} holds no {DB_FILENAME} (a PostgreSQL backup: restore it with pg_restore)"
            )
        kind = KIND_FULL
    elif not path.is_file():
        raise errors.ValidationError(f"backup {path} is not a file")
    else:
        entry = _entry_for_db(path)
        if entry is not None:
            kind = entry.kind
    try:
        with database.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise errors.ValidationError(f"cannot read backup {database}: {exc}") from exc
    if header != SQLITE_HEADER:
        raise errors.ValidationError(f"backup {database} is not a SQLite database")
    try:
        with closing(_connect_read_only(database)) as conn:
            problems = [str(r[0]) for r in conn.execute("PRAGMA integrity_check").fetchall()]
            if problems != ["ok"]:
                raise errors.FileIntegrityError(
                    f"backup {database} fails its integrity check ({'; '.join(problems[:3])}); "
                    "nothing was changed"
                )
            tables = {
                str(r[0])
                for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
            }
            if VERSION_TABLE in tables:
                applied = [
                    str(r[0]) for r in conn.execute(f"SELECT id FROM {VERSION_TABLE} ORDER BY sequence")
                ]
                revision = None
            elif "alembic_version" in tables:
                applied = []
                row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
                revision = str(row[0]) if row else None
            else:
                raise errors.ValidationError(
                    f"backup {database} is a SQLite database but neither a dashai_store nor a DashAI one"
                )
    except sqlite3.Error as exc:
        raise errors.ValidationError(f"backup {database} cannot be read as a SQLite database: {exc}") from exc
    if not applied:
        return _Inspected(database, KIND_LEGACY, revision, legacy=True)
    known = {step.id for step in default_steps()} | {legacy.ADOPTION_ID}
    unknown = [step for step in applied if step not in known]
    if unknown:
        raise errors.SchemaTooNew(
            f"backup {database} was made by a newer dashai_store (unknown step(s): {', '.join(unknown)}); "
            "nothing was changed; update the application to restore it"
        )
    return _Inspected(database, kind, applied[-1], legacy=False)


# -- the store must be idle -----------------------------------------------------------------------------


@contextmanager
def _idle_store(db_path: Path) -> Iterator[None]:
    """Hold the migration lock and make sure no connection has the database open.

    The lock is the one the migration runner takes (no migration or adoption can start).
    A connection another process holds — even idle, in WAL mode — blocks an exclusive
    lock, so taking one (briefly) tells that the database is in use. A DashAI started
    between this check and the rename would keep the old file open; quit the app first.
    """
    lock_path = db_path.with_name(db_path.name + ".migrate.lock")
    try:
        with file_lock(lock_path, 0.0, "migration"):
            if db_path.exists():
                _refuse_if_open(db_path)
            yield
    except errors.MigrationLockTimeout as exc:
        raise errors.StoreBusy(f"the store is in use, so nothing was restored: {exc}") from exc


def _refuse_if_open(db_path: Path) -> None:
    conn = sqlite3.connect(str(db_path), timeout=0.1, isolation_level=None)
    try:
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        raise errors.StoreBusy(
            f"{db_path} is open in another process or connection (is DashAI running?): {exc}; "
            "quit it and retry. Nothing was restored"
        ) from exc
    except sqlite3.DatabaseError:
        pass  # a damaged current database: restoring a backup is the cure; it is kept aside
    finally:
        conn.close()  # the last connection: SQLite checkpoints and removes the -wal itself


# -- putting files in place, undoably ---------------------------------------------------------------------


def _copy_synced(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` atomically (a temporary name, fsync, rename)."""
    with files.io.atomic_writer(target) as handle, source.open("rb") as original:
        shutil.copyfileobj(original, handle, 1 << 20)


class _Journal:
    """Every change a restore makes, so that a failure can undo them in reverse."""

    def __init__(self, home: Path, aside: Path) -> None:
        self.home = home
        self.aside = aside
        self.moved: list[tuple[Path, Path]] = []  # (from, to)
        self.created: list[Path] = []
        self.set_aside: list[str] = []

    def move(self, source: Path, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        if os.path.lexists(target):
            raise errors.StoreError(f"cannot move {source} aside: {target} exists")
        os.rename(source, target)
        self.moved.append((source, target))

    def keep_aside(self, source: Path, target: Path) -> None:
        """Give ``source`` the second name ``target`` (a hard link; a copy where that fails)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except OSError:
            _copy_synced(source, target)
        self.created.append(target)

    def set_path_aside(self, rel: str) -> None:
        self.move(self.home / rel, self.aside / rel)
        self.set_aside.append(rel)

    def place(self, source: Path, rel: str) -> None:
        """Put ``source`` at ``home/rel``: a hard link (no space), a copy where that fails."""
        self.keep_aside(source, self.home / rel)

    def undo(self) -> list[str]:
        """Undo every change, newest first; returns what could not be undone (keeps going)."""
        failed: list[str] = []
        for path in reversed(self.created):
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                failed.append(f"remove {path}: {exc}")
        for source, target in reversed(self.moved):
            try:
                source.parent.mkdir(parents=True, exist_ok=True)
                if source.is_dir() and not source.is_symlink() and not any(source.iterdir()):
                    source.rmdir()  # an empty folder the placing left behind
                os.rename(target, source)
            except OSError as exc:
                failed.append(f"move {target} back to {source}: {exc}")
        return failed


def _fail_point(name: str) -> None:
    if fail_at == name:
        raise RuntimeError(f"failure injected at {name!r} (restore.fail_at)")
    if os.environ.get(KILL_ENV) == name:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def _in_the_way(home: Path, rel: str) -> str | None:
    """The home-relative path that stops a file being placed at ``rel``, if any.

    An ancestor that is a file (or link) where a folder is needed, or ``rel`` itself when
    it exists: a folder of the new layout (``runs/<id>/``) where the old one had a file.
    """
    parts = PurePosixPath(rel).parts
    for i in range(1, len(parts)):
        prefix = "/".join(parts[:i])
        path = home / prefix
        if os.path.lexists(path) and (path.is_symlink() or not path.is_dir()):
            return prefix
    return rel if os.path.lexists(home / rel) else None


def _files_under(folder: Path) -> list[str]:
    rels: list[str] = []
    for base, _dirs, names in os.walk(folder):
        rels.extend(PurePosixPath(Path(base, n).relative_to(folder)).as_posix() for n in names)
    return sorted(rels)


def _adopted_targets(report: Path | None) -> list[str]:
    """The new-layout paths the adoption placed (from its report), to be set aside."""
    if report is None:
        return []
    try:
        data = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    targets = {a.get("target") for a in data.get("files", []) if isinstance(a, dict)}
    return sorted(t for t in targets if isinstance(t, str))


def _restore_legacy_files(journal: _Journal, folder: Path, report: Path | None) -> list[str]:
    home = journal.home
    wanted = _files_under(folder)
    for rel in wanted:  # the new layout's paths in the old layout's way
        blocking = _in_the_way(home, rel)
        if blocking is not None:
            journal.set_path_aside(blocking)
    for rel in _adopted_targets(report):  # the adopted copies: not the old DashAI's
        if os.path.lexists(home / rel) and not (home / rel).is_dir():
            journal.set_path_aside(rel)
            _remove_empty_parents(home, home / rel)
    for rel in wanted:
        journal.place(folder / rel, rel)
    return wanted


def _remove_empty_parents(home: Path, path: Path) -> None:
    folder = path.parent
    while folder != home and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def _restore_missing_files(journal: _Journal, folder: Path) -> list[str]:
    """Files of a full backup the home lacks (existing files are left as they are)."""
    placed: list[str] = []
    for rel in _files_under(folder):
        if rel in (DB_FILENAME, BACKUP_MANIFEST) or _in_the_way(journal.home, rel) is not None:
            continue
        journal.place(folder / rel, rel)
        placed.append(rel)
    return placed


# -- restore ----------------------------------------------------------------------------------------------


def restore(backup: str | os.PathLike[str], *, home: str | os.PathLike[str] | None = None) -> RestoreResult:
    """Put ``backup`` in place as ``<home>/db.sqlite``; the database there is kept aside.

    ``backup`` is a path (or a name in ``<home>/backups/``, see :func:`backups`): a
    database backup, a legacy backup, or a full-backup folder. In order, stopping with
    nothing changed at the first refusal:

    1. the backup must be a SQLite database of this store or of the old DashAI that passes
       ``PRAGMA integrity_check`` (read-only): else ValidationError / FileIntegrityError;
       one made by a newer dashai_store raises SchemaTooNew (a legacy one never does);
    2. the store must be idle: the migration lock is taken and no other connection may
       have the database open, else StoreBusy;
    3. the backup is copied to a temporary name in the home and fsynced;
    4. ``db.sqlite`` gets a second name, ``backups/db-<time>-before-restore.sqlite`` (a hard
       link, never deleted; its ``-wal``/``-shm``, if any are left, move beside it);
    5. a legacy backup also brings the old DashAI's files back from
       ``backups/legacy-files-<time>/`` (hard links; the folder stays): whatever of the new
       layout is in the way — ``runs/<id>/`` where the old layout had the model file
       ``runs/<id>`` — and the adopted copies are moved to
       ``backups/files-<time>-before-restore/``. A full backup brings back the files the
       home lacks;
    6. the copy is renamed over ``db.sqlite`` (atomically: a restore killed at any moment
       leaves the old database or the restored one, whole, never none).

    A failure at any step undoes the earlier ones: the current database and files are
    where they were. After a legacy restore the home is an old DashAI home again (and the
    next ``open_store`` adopts it anew); after any other, the next start migrates the
    restored database forward if it is older than this code.
    """
    home_path = resolve_home(home)
    if not home_path.is_dir():
        raise errors.ValidationError(f"store home {home_path} is not a folder")
    source = _locate(backup, home_path)
    inspected = _inspect(source)
    entry = None if source.is_dir() else _entry_for_db(source)
    notes: list[str] = []
    legacy_files = entry.legacy_files if entry is not None else None
    if inspected.legacy:
        notes.append(
            "this is an old DashAI home again: run the old DashAI, or start this version to adopt it anew"
        )
        if legacy_files is None:
            notes.append("no legacy-files-<time>/ folder matches this backup: only the database was restored")
    db_path = home_path / DB_FILENAME
    backups_dir = home_path / BACKUP_DIR
    stamp = datetime.now(timezone.utc).strftime(STAMP_FORMAT)
    previous = backups_dir / f"db-{stamp}-before-restore.sqlite"
    journal = _Journal(home_path, backups_dir / f"files-{stamp}-before-restore")
    placed: list[str] = []
    with _idle_store(db_path):
        for stale in home_path.glob(f".{DB_FILENAME}.restore-*.tmp"):  # a killed restore's copy
            stale.unlink(missing_ok=True)
        partial = home_path / f".{DB_FILENAME}.restore-{stamp}.tmp"
        try:
            _copy_synced(inspected.database, partial)
            _fail_point("copied")
            backups_dir.mkdir(parents=True, exist_ok=True)
            for suffix in ("", *SIDECARS):
                current = db_path.with_name(db_path.name + suffix)
                if not os.path.lexists(current):
                    continue
                if suffix:  # normally gone: the idle check's last connection checkpointed it
                    journal.move(current, previous.with_name(previous.name + suffix))
                else:
                    # A second name, not a move: until the copy replaces it atomically,
                    # db.sqlite stays whole, so a restore killed at any moment leaves a
                    # home that opens (before, a kill here left no database at all).
                    journal.keep_aside(current, previous)
            _fail_point("after-aside")
            if inspected.legacy and legacy_files is not None:
                placed = _restore_legacy_files(journal, legacy_files, entry.legacy_report if entry else None)
            elif source.is_dir():
                placed = _restore_missing_files(journal, source)
            _fail_point("after-files")
            if inspected.legacy and legacy.has_pending(home_path):
                # an adoption's unfinished file moves would otherwise run against the old database
                journal.set_path_aside(legacy.STAGING)
            os.replace(partial, db_path)
            files.io.fsync_dir(home_path)
        except BaseException as exc:
            partial.unlink(missing_ok=True)
            not_undone = journal.undo()
            if not_undone:
                raise errors.StoreError(
                    f"the restore failed ({type(exc).__name__}: {exc}) and could not be fully undone: "
                    f"{'; '.join(not_undone)}. Nothing was deleted: what was moved is under {backups_dir}"
                ) from exc
            raise
    return RestoreResult(
        backup=source,
        kind=inspected.kind,
        version=inspected.version,
        database=db_path,
        previous=previous if os.path.lexists(previous) else None,
        set_aside_folder=journal.aside if journal.set_aside else None,
        set_aside=tuple(journal.set_aside),
        placed=tuple(placed),
        notes=tuple(notes),
    )
