"""Files that follow the write transaction: deleted after COMMIT, discarded on ROLLBACK.

* A file is deleted only after the transaction that deleted its row commits
  (:func:`delete_after_commit`): the deletion is recorded in ``dashai_pending_deletion``
  inside that transaction and carried out after COMMIT; a crash in between is finished by
  the next ``open_store`` (``cascade.finish_pending_deletions``) or ``maintenance.gc``. All
  three go through :func:`carry_out`.
* Carrying a deletion out removes a small tree in place (:data:`IN_PLACE_MAX_ENTRIES`,
  :data:`IN_PLACE_MAX_BYTES`); a larger one is renamed into ``.trash/`` (O(1) whatever the
  size) and a background thread frees the bytes (one per trash folder, kept a moment after
  it runs dry for the next delete's entries); ``Store.close`` waits until the trash is
  empty (:func:`wait_for_trash`, registered as a close hook by ``open_store``).
* A file written for a row the transaction inserts is removed if it rolls back
  (:func:`discard_on_rollback`).
* A file replacing one a committed row names (a model, a plot, prediction results, an
  explorer's result) is staged under a unique name and promoted after COMMIT
  (:func:`save_staged`, :func:`save_joblib_staged`, :func:`promote_staged`).

Deleting never follows a symbolic link and only ever removes a path inside a row's own
layout folder (``files.layout.row_folder_of``): a recorded path outside the home, or one
reached through a link, is refused, its record dropped and the refusal reported
(:class:`Deletions`, and a warning on the ``dashai_store.files`` logger). A deletion the OS
refuses (a file still open or mapped, on Windows) stays recorded and is retried at the
next open or ``maintenance.gc``; the operation that asked for it has succeeded anyway.

Every change to a committed row's file (a deletion carried out, a promotion) happens under
a shared lock on ``<home>/.dashai-files.lock`` (:func:`changing_files`); a backup holds it
exclusively while it pins the files its database snapshot refers to, and ``check`` takes
it to wait out deletions in flight (:func:`files_settled`).
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .. import errors
from ..clock import utcnow
from ..database import Store, current, pinned, run_in_transaction
from ..locks import held
from ..models import BaseModel, PendingDeletion
from ..statements import execute_cached
from . import io, layout
from .access import dump_joblib, home, link_atomic

log = logging.getLogger("dashai_store.files")
T = TypeVar("T")


def lexical(path: str | os.PathLike[str]) -> str:
    """The home-relative POSIX form of ``path`` without touching the disk (links not followed).

    UnsafePath for a path that is not plainly inside the home (``..``, another root).
    """
    text = os.fspath(path)
    if os.path.isabs(text):
        try:
            text = Path(text).relative_to(home()).as_posix()
        except ValueError as exc:
            raise errors.UnsafePath(f"path {text!r} points outside the store home {home()}") from exc
    io.split_relative(text)
    return text


def deletable(rel: str) -> str | None:
    """Why the store may not delete ``rel`` (None: it may): only paths inside a row's own
    layout folder, plainly spelled, are ever deleted."""
    try:
        io.split_relative(rel)
    except errors.UnsafePath as exc:
        return str(exc)
    if layout.row_folder_of(rel) is None:
        return f"path {rel!r} is not inside a row's folder of the store home; the store never deletes it"
    return None


FILES_LOCK = ".dashai-files.lock"

# -- the home's file lock -----------------------------------------------------------------------


@contextmanager
def changing_files(home_path: Path) -> Iterator[None]:
    """Shared: committed rows' files may be removed or replaced here (waits out a backup's pinning)."""
    with held(home_path / FILES_LOCK, shared=True, timeout_s=None):
        yield


@contextmanager
def files_settled(home_path: Path, timeout_s: float | None) -> Iterator[bool]:
    """Exclusive: no committed row's file changes in this block; yields False after ``timeout_s``."""
    with held(home_path / FILES_LOCK, shared=False, timeout_s=timeout_s) as locked:
        yield locked


# -- deletion after commit, discard on rollback ------------------------------------------------


def delete_after_commit(
    *relative_paths: str | None, within: str | None = None, rows_deleted: bool = False
) -> None:
    """Delete these files or folders once the current write transaction commits.

    Must be called inside a write transaction (a facade function decorated with
    ``@writes``). The deletion is recorded in that transaction, so a crash between COMMIT
    and the unlink leaves a record that the next open (or ``maintenance.gc``) completes.
    A path the store may not delete (outside every row folder, or outside ``within``: the
    layout folder of the row whose recorded paths these are) is not recorded: it is
    reported on the ``dashai_store.files`` logger and left alone.

    ``rows_deleted``: the paths are the layout places of rows this transaction deletes
    (``cascade.delete_rows``). Ids are never reused, so no live row can take such a path
    again: once carried out, their records are dropped by the next deletion's transaction
    (or at ``Store.close``) instead of a transaction of their own (see
    :func:`_drop_finished`). Any other path — one a live row keeps using, as after a reset
    or a replaced file — has its record dropped at once, or another process's open could
    finish it over the files that row writes there next.
    """
    store = current()
    paths: set[str] = set()
    for path in relative_paths:
        if not path:
            continue
        try:
            rel = lexical(path)
        except errors.UnsafePath as exc:
            log.warning("not deleting %s: %s", path, exc)
            continue
        why = deletable(rel)
        if why is None and within is not None and not layout.within(rel, within):
            why = f"it is not in the row's own folder {within}"
        if why is not None:
            log.warning("not deleting %s: %s", rel, why)
            continue
        paths.add(rel)
    if not paths:
        return
    ordered = sorted(paths)
    # Before the new records: a path recorded again keeps its new record.
    _drop_finished(store)
    _record_pending(ordered)

    def delete_now() -> None:
        if rows_deleted:
            _carry_out_for_deleted_rows(store, ordered)
        else:
            carry_out(ordered)

    store.after_commit(delete_now)


# The pending-deletion records are written and dropped by every delete: their statements
# go through the backends' cache of SQL text, in chunks that keep the shapes few.
_PENDING_CHUNK = 100


def _record_pending(paths: list[str]) -> None:
    """Record ``paths`` in ``dashai_pending_deletion`` (a path already recorded stays as it is)."""
    db = PendingDeletion._meta.database
    created = PendingDeletion.created.db_value(utcnow())
    for start in range(0, len(paths), _PENDING_CHUNK):
        chunk = paths[start : start + _PENDING_CHUNK]

        def build(chunk: list[str] = chunk) -> Any:
            return PendingDeletion.insert_many(
                [{"path": p, "created": created} for p in chunk]
            ).on_conflict_ignore()

        params = [value for path in chunk for value in (path, created)]
        execute_cached(db, ("pending-insert", len(chunk)), build, params)


def _drop_pending(paths: list[str]) -> None:
    """Drop the records of ``paths`` (carried out, kept or refused)."""
    db = PendingDeletion._meta.database
    for start in range(0, len(paths), _PENDING_CHUNK):
        chunk = paths[start : start + _PENDING_CHUNK]

        def build(chunk: list[str] = chunk) -> Any:
            return PendingDeletion.delete().where(PendingDeletion.path.in_(chunk))

        execute_cached(db, ("pending-drop", len(chunk)), build, chunk)


def free_if_disk_full(*relative_paths: str) -> None:
    """If the current write transaction fails on a full disk, free these paths at once and
    run it again (``Store.on_disk_full``): deleting must work on a full disk.

    For the paths a deletion records with :func:`delete_after_commit`: the database needs
    a little space to commit the deletion, which the deleted files give back. Only if the
    second run fails too do rows remain that name the freed files (``check`` reports them;
    deleting again finishes).
    """
    base = home()
    targets = [rel for rel in relative_paths if deletable(rel) is None]

    def free() -> None:
        for rel in targets:
            try:
                io.remove_within(base, rel)
            except (OSError, errors.UnsafePath):
                continue

    if targets:
        current().on_disk_full(free)


def discard_on_rollback(*relative_paths: str) -> None:
    """Delete these files or folders if the current write transaction (or savepoint) rolls back.

    For files written for a row the same transaction inserts: if the row never commits,
    no row would own them. Only name paths that no committed row owns.
    """
    base = home()
    targets = [lexical(p) for p in relative_paths]

    def discard() -> None:
        for target in targets:
            try:
                io.remove_within(base, target)
            except (OSError, errors.UnsafePath):
                continue  # no row refers to it; maintenance.gc() removes what is left

    current().on_rollback(discard)


# -- carrying recorded deletions out --------------------------------------------------------------


def pending_deletions() -> list[str]:
    """The recorded deletions not carried out yet (home-relative), oldest first.

    Not those this process has finished and only queued the records of (:func:`_drop_finished`).
    """
    rows = PendingDeletion.select(PendingDeletion.path).order_by(PendingDeletion.id)
    finished = _queued(current())
    return [row.path for row in rows if row.path not in finished]


# -- records of finished deletions, dropped by the next deletion ----------------------------------
#
# Dropping a finished deletion's record in a transaction of its own doubled the
# transactions of every delete. A deleted row's path can never be taken again (ids are
# never reused: SQLite tables use AUTOINCREMENT, PostgreSQL sequences, and ``copy`` moves
# the sequences past deleted ids), so its record may linger harmlessly: it is queued here
# (per store, in memory) and dropped by the next deletion's transaction or at close. A
# crash meanwhile leaves the record of a path already gone, which the next open (or any
# other process's open or gc) finds missing and drops. A queued path leaves the queue only
# once the transaction dropping its record commits, so a rollback loses nothing.


@dataclass
class _Finished:
    paths: set[str] = field(default_factory=set)
    closing: bool = False  # the close hook is registered


_finished_lock = threading.Lock()
_finished: weakref.WeakKeyDictionary[Store, _Finished] = weakref.WeakKeyDictionary()


def _queued(store: Store) -> frozenset[str]:
    """The paths whose deletion this process finished and whose records are not dropped yet."""
    with _finished_lock:
        state = _finished.get(store)
        return frozenset(state.paths) if state is not None else frozenset()


def _queue_finished(store: Store, paths: Iterable[str]) -> None:
    """Queue the records of ``paths`` (carried out) for the next deletion, or the close."""
    with _finished_lock:
        state = _finished.setdefault(store, _Finished())
        state.paths.update(paths)
        if state.paths and not state.closing:
            state.closing = True
            store.on_close(lambda: _drop_finished_at_close(store))


def _drop_finished(store: Store) -> None:
    """In the current write transaction: drop the queued records of finished deletions.

    They leave the queue once the transaction commits; rolled back, they stay queued.
    """
    taken = sorted(_queued(store))
    if not taken:
        return
    _drop_pending(taken)

    def forget() -> None:
        with _finished_lock:
            state = _finished.get(store)
            if state is not None:
                state.paths.difference_update(taken)

    # Registered before the deletion's own callback: a path it queues again stays queued.
    store.after_commit(forget)


def _drop_finished_at_close(store: Store) -> None:
    """The close hook: drop the queued records in one transaction (left to the next open if
    that fails: it finds the paths gone and drops them)."""
    if not _queued(store):
        return
    try:
        with pinned(store):
            run_in_transaction(lambda: _drop_finished(store))
    except errors.StoreError as exc:
        log.warning("finished deletions' records left for the next open: %s", exc)


def still_referenced(rel: str, refs: set[str]) -> bool:
    """Whether deleting ``rel`` (a file or a folder) would remove a path some row refers to."""
    prefix = rel + "/"
    return rel in refs or any(ref.startswith(prefix) for ref in refs)


@dataclass(frozen=True)
class Deletions:
    """What :func:`carry_out` did with recorded deletions (home-relative paths)."""

    finished: tuple[str, ...] = ()  # removed, or already gone: record dropped
    kept: tuple[str, ...] = ()  # a row refers to it (or under it) again: record dropped, file kept
    failed: tuple[tuple[str, str], ...] = ()  # (path, why): record kept for the next attempt
    bytes_freed: int = 0  # counted only with ``free_now=True``
    #: (path, why): never to be deleted by the store (outside the home or every row folder,
    #: or reached through a symbolic link): record dropped, nothing touched.
    refused: tuple[tuple[str, str], ...] = ()

    @property
    def done(self) -> tuple[str, ...]:
        """The paths whose records are to be dropped: finished, kept and refused."""
        return (*self.kept, *self.finished, *(rel for rel, _ in self.refused))


def carry_out(
    paths: Iterable[str],
    *,
    refs: set[str] | None = None,
    free_now: bool = False,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Deletions:
    """Carry out recorded deletions of ``paths``; drop the records of those done.

    ``refs`` (paths rows refer to, ``cascade.referenced_paths``): a path some row refers
    to again — a run retrained into ``runs/<id>/`` after its reset's deletion failed — is
    kept and its record dropped, since deleting it would destroy the new files. By default
    a path is moved to the trash (its bytes freed in the background); ``free_now`` removes
    it in place and counts the bytes. ``dry_run`` only reports. A path the OS will not
    remove (a file open or mapped, on Windows) stays recorded, to be retried at the next
    open or gc. A path the store must never delete (outside every row folder, or behind a
    symbolic link) is refused: its record is dropped and the refusal reported.
    """
    base = home()
    todo = list(paths)
    if dry_run or not todo:
        return _carry_out(base, todo, refs, free_now, dry_run, progress)
    with changing_files(base):  # a backup pinning files holds this back
        outcome = _carry_out(base, todo, refs, free_now, dry_run, progress)
        # Dropped under the lock: ``check`` takes it to wait out deletions in flight.
        if outcome.done:
            run_in_transaction(lambda: _drop_pending(list(outcome.done)))
        return outcome


def _carry_out_for_deleted_rows(store: Store, paths: list[str]) -> None:
    """Carry out the deletion of deleted rows' paths; queue the records of those done."""
    with changing_files(store.home):
        outcome = _carry_out(store.home, paths, None, False, False, None)
        _queue_finished(store, outcome.done)


def _carry_out(
    base: Path,
    todo: list[str],
    refs: set[str] | None,
    free_now: bool,
    dry_run: bool,
    progress: Callable[[int, int], None] | None,
) -> Deletions:
    finished: list[str] = []
    kept: list[str] = []
    failed: list[tuple[str, str]] = []
    refused: list[tuple[str, str]] = []
    freed = 0
    for index, rel in enumerate(todo, start=1):
        if progress is not None:
            progress(index, len(todo))
        if refs is not None and still_referenced(rel, refs):
            kept.append(rel)
            continue
        why = deletable(rel)
        if why is not None:
            refused.append((rel, why))
            continue
        if not dry_run:
            try:
                if free_now:
                    freed += io.remove_within(base, rel, count=True)
                elif not io.remove_if_small(
                    base, rel, max_entries=IN_PLACE_MAX_ENTRIES, max_bytes=IN_PLACE_MAX_BYTES
                ):
                    _move_to_trash(base, rel)
            except FileNotFoundError:
                pass
            except errors.UnsafePath as exc:
                refused.append((rel, str(exc)))
                continue
            except OSError as exc:
                failed.append((rel, str(exc)))
                continue
        finished.append(rel)
    for rel, why in refused:
        log.warning("refused to delete %s (record dropped): %s", rel, why)
    return Deletions(tuple(finished), tuple(kept), tuple(failed), freed, tuple(refused))


# -- the trash --------------------------------------------------------------------------------------

#: A deletion of at most this many entries holding at most this many bytes is carried out
#: in place; a larger one goes through the trash. The trash makes deleting a large tree
#: O(1) for the caller (a rename; the unlinks, ~5 ms per 30 MB on ext4, happen in the
#: background), but for a small tree the rename plus a background thread competing for the
#: GIL cost more than unlinking now (a run folder with a 180 kB model: ~0.1 ms in place).
#: Measuring stops as soon as a limit is passed, so a large tree costs a few entries' stat.
IN_PLACE_MAX_ENTRIES = 16
IN_PLACE_MAX_BYTES = 1 << 20

#: How long a trash worker waits for more work once the trash is empty before it ends. A
#: loop of deletes (one rename each) then hands every entry to the same thread instead of
#: starting one per delete (about 0.1 ms each, and a wait for it to start).
TRASH_IDLE_S = 2.0


@dataclass
class _Janitor:
    """The one thread emptying a trash folder, and what it has been asked."""

    thread: threading.Thread
    wanted: bool = True  # entries may have arrived since the worker last listed the trash
    idle: bool = False  # the worker found the trash empty and nothing wanted since


_janitor_lock = threading.Lock()
_janitor_changed = threading.Condition(_janitor_lock)  # a worker went idle, was asked, or ended
_janitors: dict[Path, _Janitor] = {}


def trash_is_link(home_path: Path) -> bool:
    """Whether ``.trash`` is a symbolic link: then it is never used (nor emptied), only reported."""
    if layout.trash(home_path).is_symlink():
        log.warning("%s is a symbolic link: the store does not use it", layout.trash(home_path))
        return True
    return False


def _move_to_trash(base: Path, rel: str) -> None:
    """Take ``rel`` out of the layout at once; its bytes are freed by a background thread.

    A rename is O(1) whatever the size, while unlinking a large file is not (about 5 ms
    for 30 MB on ext4): deleting a notebook's snapshots on revert must not cost time in
    proportion to the data. Whatever a crash leaves in ``.trash`` is emptied at the next
    open; nothing in the trash is referenced by a row. A ``.trash`` that is a link is
    never used: the path is removed in place instead.
    """
    if trash_is_link(base):
        io.remove_within(base, rel)
        return
    try:
        io.move_within(base, rel, layout.TRASH, uuid.uuid4().hex)
    except OSError as exc:
        if exc.errno != errno.EXDEV:  # another filesystem mounted inside the home: delete in place
            raise
        io.remove_within(base, rel)
        return
    empty_trash_soon(layout.trash(base))


def empty_trash_soon(trash: Path) -> None:
    """Make sure a background thread is emptying ``trash`` (never one that is a link).

    One worker per trash folder: a running one is told to look again, an idle one woken;
    a new one starts only when none runs (it ends :data:`TRASH_IDLE_S` after running dry).
    """
    if trash_is_link(trash.parent):
        return
    with _janitor_lock:
        running = _janitors.get(trash)
        if running is not None and running.thread.is_alive():
            running.wanted = True
            running.idle = False
            _janitor_changed.notify_all()
            return
        thread = threading.Thread(target=_empty, args=(trash,), name="dashai-store-trash", daemon=True)
        _janitors[trash] = _Janitor(thread)
        thread.start()


def _trash_entries(trash: Path) -> list[str]:
    try:
        return io.list_within(trash.parent, trash.name)
    except (OSError, errors.UnsafePath):  # replaced by a link meanwhile: leave it alone
        return []


def _empty(trash: Path) -> None:
    with _janitor_lock:
        me = _janitors[trash]
    try:
        while _empty_once(trash, me):
            pass
    finally:  # an unexpected error too: the next request starts a new worker
        with _janitor_lock:
            _leave(trash, me)


def _empty_once(trash: Path, me: _Janitor) -> bool:
    """Remove what the trash holds; False when the worker is to end (idle too long, or a
    removal the OS refused: e.g. a file still mapped on Windows, tried again at the next open)."""
    with _janitor_lock:
        me.wanted = False
    for entry in _trash_entries(trash):
        try:
            io.remove_within(trash.parent, f"{trash.name}/{entry}")
        except FileNotFoundError:
            continue
        except (OSError, errors.UnsafePath):
            with _janitor_lock:
                _leave(trash, me)
            return False
    with _janitor_lock:
        if me.wanted:
            return True
        me.idle = True
        _janitor_changed.notify_all()
        _janitor_changed.wait_for(lambda: me.wanted, timeout=TRASH_IDLE_S)
        if me.wanted:
            return True
        # Leaving under the same hold of the lock: a request from now on starts a new worker.
        _leave(trash, me)
        return False


def _leave(trash: Path, me: _Janitor) -> None:
    """Unregister the worker ``me`` (with ``_janitor_lock`` held)."""
    if _janitors.get(trash) is me:
        _janitors.pop(trash)
    _janitor_changed.notify_all()


def wait_for_trash(home_path: Path, timeout_s: float = 60.0) -> None:
    """Block until the background emptying of ``home_path``'s trash is done (Store.close):
    its worker has run dry (and waits, idle, for more) or has ended."""
    trash = layout.trash(home_path)

    def done() -> bool:
        janitor = _janitors.get(trash)
        return janitor is None or not janitor.thread.is_alive() or janitor.idle

    with _janitor_lock:
        _janitor_changed.wait_for(done, timeout=timeout_s)


# -- staged replacement of a file a committed row names --------------------------------------------


def save_staged(
    final: str,
    write: Callable[[str], T],
    *,
    committed: str | None,
    repoint: Callable[[str, str], bool],
) -> tuple[str, T]:
    """Write a row's file ``final`` with ``write(path)``, never over bytes a committed row names.

    Overwriting the committed file inside the transaction would leave, after a rollback or
    a crash before COMMIT, the committed row naming the new bytes (or, for a checksummed
    file, bytes that no longer match: refused forever). So, inside the caller's write
    transaction (holding the row's lock):

    * if the row (``committed``: the path it records now) names ``final``, or a file is in
      ``final``'s place (one the OS may refuse to replace while it is mapped, on Windows),
      the new file goes to a unique sibling (``model.joblib`` -> ``model.<32 hex>.joblib``);
      otherwise to ``final``;
    * the new file is removed if the transaction rolls back; the row's previous file (if
      not ``final``) and staged siblings a crash left behind are deleted once it commits;
    * after COMMIT a second transaction promotes a staged file (:func:`promote_staged`):
      ``repoint(staged, final)`` — the caller's row-specific part (:func:`repoint_column`)
      — points the row at ``final`` only if it still names ``staged``; the file is then
      linked over ``final`` and the staged name deleted once that commits. If the OS
      refuses (``final`` still mapped), the row keeps naming the staged file.

    Returns ``(path, write's result)``; the caller records ``path`` in the row in this
    transaction. A crash at any moment leaves the row naming a whole file (the new one or
    the old one); a promotion cut short leaves the staged name, which the next save supersedes.
    """
    store = current()
    base = home()
    folder, _, name = final.rpartition("/")
    stem, dot, suffix = name.partition(".")
    replacing = committed == final or os.path.lexists(base / final)
    target = f"{folder}/{stem}.{uuid.uuid4().hex}{dot}{suffix}" if replacing else final
    discard_on_rollback(target)  # no committed row refers to it yet
    result = write(target)
    # The row's previous file goes only if it lies in the row's own folder (a path a row
    # claims elsewhere — another row's file — is never its to delete: ``within``).
    stale = [committed] if committed and committed not in (final, target) else []
    # Staged files a crash left behind: no row names them (the caller holds the row's lock).
    try:
        names = io.list_within(base, folder)
    except (OSError, errors.UnsafePath):
        names = []
    for entry in names:
        if entry.startswith(stem + ".") and entry.endswith(dot + suffix):
            middle = entry[len(stem) + 1 : len(entry) - len(dot + suffix)]
            if len(middle) == 32 and all(c in "0123456789abcdef" for c in middle):
                stale.append(f"{folder}/{entry}")
    delete_after_commit(*(p for p in stale if p != target), within=folder)
    if replacing:

        def promote() -> None:
            promote_staged(target, final, repoint)

        store.after_commit(promote)
    return target, result


def save_joblib_staged(
    final: str,
    obj: Any,
    *,
    committed: str | None,
    what: str,
    repoint: Callable[[str, str], bool],
) -> tuple[str, str]:
    """:func:`save_staged` for a joblib file; returns ``(path, sha256)`` to record in the row.

    An object joblib cannot pickle is a ValidationError naming ``what`` (e.g.
    ``"run 3: the model (SVC)"``); nothing is left on disk.
    """

    def write(target: str) -> str:
        try:
            return dump_joblib(target, obj)
        except errors.StoreError:
            raise
        except Exception as exc:  # pickling fails with whatever the object's __reduce__ raises
            raise errors.ValidationError(
                f"{what} cannot be saved with joblib: {type(exc).__name__}: {exc}"
            ) from exc

    return save_staged(final, write, committed=committed, repoint=repoint)


def repoint_column(model: type[BaseModel], row_id: int, column: str) -> Callable[[str, str], bool]:
    """A ``repoint`` for :func:`save_staged` whose row names its file in one column."""

    def repoint(staged: str, final: str) -> bool:
        named = getattr(model, column)
        query = model.update(**{column: final}).where((model.id == row_id) & (named == staged))
        return bool(query.execute())  # 0: deleted or replaced meanwhile, its new owner owns the files

    return repoint


def promote_staged(staged: str, final: str, repoint: Callable[[str, str], bool]) -> bool:
    """Give a committed, staged file its final name (see :func:`save_staged`).

    One write transaction: ``repoint(staged, final)`` checks and moves the row; only then
    is ``staged`` linked over ``final`` (the staged name stays valid until COMMIT) and
    scheduled for deletion. Returns whether it was promoted; a row deleted or replaced
    meanwhile (its new owner owns the files) or a failure (the OS refusing to replace a
    mapped ``final``) leaves everything as it was, the row still naming a whole file.
    """

    def promote() -> bool:
        if not repoint(staged, final):
            return False
        with changing_files(home()):  # replaces the bytes of a name a backup may be pinning
            link_atomic(staged, final)  # raising here rolls the repointing back
        delete_after_commit(staged)
        return True

    try:
        return run_in_transaction(promote)
    except errors.StoreError:
        return False


def finish_pending_deletions(referenced: Callable[[], set[str]]) -> int:
    """Carry out deletions a crash interrupted (at open); returns how many were recorded.

    ``referenced`` lists the paths rows refer to (``cascade.referenced_paths``, passed in
    because the cascade depends on this module, not the other way round); it is called
    only when something is recorded. Whatever a crash left in the trash is emptied too.
    """
    trash = layout.trash(home())
    if trash.is_dir():
        empty_trash_soon(trash)
    paths = pending_deletions()
    if not paths:
        return 0
    carry_out(paths, refs=referenced())
    return len(paths)
