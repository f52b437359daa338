"""Files that follow the write transaction: deleted after COMMIT, discarded on ROLLBACK.

* A file is deleted only after the transaction that deleted its row commits
  (:func:`delete_after_commit`): the deletion is recorded in ``dashai_pending_deletion``
  inside that transaction and carried out after COMMIT; a crash in between is finished by
  the next ``open_store`` (``cascade.finish_pending_deletions``) or ``maintenance.gc``. All
  three go through :func:`carry_out`.
* Carrying a deletion out is a rename into ``.trash/`` (O(1) whatever the size); a
  background thread frees the bytes, and ``Store.close`` waits for it (:func:`wait_for_trash`,
  registered as a close hook by ``open_store``).
* A file written for a row the transaction inserts is removed if it rolls back
  (:func:`discard_on_rollback`).
* A joblib file replacing one a committed row names is staged under a unique name and
  promoted after COMMIT (:func:`save_joblib_staged`, :func:`promote_staged`).
* Every change to a committed row's file (a deletion carried out, a promotion) happens
  under a shared lock on ``<home>/.dashai-files.lock`` (:func:`changing_files`); a backup
  holds it exclusively while it pins the files its database snapshot refers to, and
  ``check`` takes it to wait out deletions in flight (:func:`files_settled`).
"""

from __future__ import annotations

import errno
import os
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import errors
from ..clock import utcnow
from ..database import current, run_in_transaction
from ..locks import held
from ..models import PendingDeletion
from . import io, layout
from .access import dump_joblib, home, link_atomic, relative, resolve

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


def delete_after_commit(*relative_paths: str | None) -> None:
    """Delete these files or folders once the current write transaction commits.

    Must be called inside a write transaction (a facade function decorated with
    ``@writes``). The deletion is recorded in that transaction, so a crash between COMMIT
    and the unlink leaves a record that the next open (or ``maintenance.gc``) completes.
    """
    store = current()
    paths = sorted({relative(p) for p in relative_paths if p})
    if not paths:
        return
    now = utcnow()
    PendingDeletion.insert_many([{"path": p, "created": now} for p in paths]).on_conflict_ignore().execute()

    def delete_now() -> None:
        carry_out(paths)

    store.after_commit(delete_now)


def discard_on_rollback(*relative_paths: str) -> None:
    """Delete these files or folders if the current write transaction (or savepoint) rolls back.

    For files written for a row the same transaction inserts: if the row never commits,
    no row would own them. Only name paths that no committed row owns.
    """
    targets = [resolve(p) for p in relative_paths]

    def discard() -> None:
        for target in targets:
            try:
                io.remove(target)
            except OSError:
                continue  # no row refers to it; maintenance.gc() removes what is left

    current().on_rollback(discard)


# -- carrying recorded deletions out --------------------------------------------------------------


def pending_deletions() -> list[str]:
    """The recorded deletions not carried out yet (home-relative), oldest first."""
    return [row.path for row in PendingDeletion.select(PendingDeletion.path).order_by(PendingDeletion.id)]


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
    it in place and counts the bytes. ``dry_run`` only reports. A path that cannot be
    removed (or leaves the home) stays recorded, to be retried at the next open or gc.
    """
    todo = list(paths)
    if dry_run or not todo:
        return _carry_out(todo, refs, free_now, dry_run, progress)
    with changing_files(home()):  # a backup pinning files holds this back
        return _carry_out(todo, refs, free_now, dry_run, progress)


def _carry_out(
    todo: list[str],
    refs: set[str] | None,
    free_now: bool,
    dry_run: bool,
    progress: Callable[[int, int], None] | None,
) -> Deletions:
    finished: list[str] = []
    kept: list[str] = []
    failed: list[tuple[str, str]] = []
    freed = 0
    for index, rel in enumerate(todo, start=1):
        if progress is not None:
            progress(index, len(todo))
        if refs is not None and still_referenced(rel, refs):
            kept.append(rel)
            continue
        try:
            target = resolve(rel)
        except errors.UnsafePath as exc:
            failed.append((rel, str(exc)))
            continue
        if not dry_run:
            try:
                if free_now:
                    freed += io.remove_counted(home() / rel)
                elif target.exists() or target.is_symlink():
                    _move_to_trash(target)
            except FileNotFoundError:
                pass
            except OSError as exc:
                failed.append((rel, str(exc)))
                continue
        finished.append(rel)
    done = kept + finished
    if done and not dry_run:
        run_in_transaction(lambda: PendingDeletion.delete().where(PendingDeletion.path.in_(done)).execute())
    return Deletions(tuple(finished), tuple(kept), tuple(failed), freed)


# -- the trash --------------------------------------------------------------------------------------

_janitor_lock = threading.Lock()
_janitors: dict[Path, threading.Thread] = {}


def _move_to_trash(path: Path) -> None:
    """Take ``path`` out of the layout at once; its bytes are freed by a background thread.

    A rename is O(1) whatever the size, while unlinking a large file is not (about 5 ms
    for 30 MB on ext4): deleting a notebook's snapshots on revert must not cost time in
    proportion to the data. Whatever a crash leaves in ``.trash`` is emptied at the next
    open; nothing in the trash is referenced by a row.
    """
    trash = layout.trash(home())
    trash.mkdir(exist_ok=True)
    try:
        os.replace(path, trash / uuid.uuid4().hex)
    except OSError as exc:
        if exc.errno != errno.EXDEV:  # another filesystem mounted inside the home: delete in place
            raise
        io.remove(path)
        return
    empty_trash_soon(trash)


def empty_trash_soon(trash: Path) -> None:
    """Make sure a background thread is emptying ``trash``."""
    with _janitor_lock:
        running = _janitors.get(trash)
        if running is not None and running.is_alive():
            return
        thread = threading.Thread(target=_empty, args=(trash,), name="dashai-store-trash", daemon=True)
        _janitors[trash] = thread
        thread.start()


def _empty(trash: Path) -> None:
    while True:
        try:
            entries = list(trash.iterdir())
        except FileNotFoundError:
            entries = []
        if not entries:
            with _janitor_lock:  # re-checked under the lock empty_trash_soon takes
                if not trash.exists() or not any(trash.iterdir()):
                    _janitors.pop(trash, None)
                    return
            continue
        for entry in entries:
            try:
                io.remove(entry)
            except OSError:
                return  # e.g. a file still mapped on Windows: the next open tries again


def wait_for_trash(home_path: Path, timeout_s: float = 60.0) -> None:
    """Block until the background emptying of ``home_path``'s trash is done (Store.close)."""
    with _janitor_lock:
        thread = _janitors.get(layout.trash(home_path))
    if thread is not None:
        thread.join(timeout_s)


# -- staged replacement of a committed joblib file ------------------------------------------------


def save_joblib_staged(
    final: str,
    obj: Any,
    *,
    committed: str | None,
    what: str,
    repoint: Callable[[str, str], bool],
) -> tuple[str, str]:
    """Write ``obj`` for a row whose joblib file is ``final``, never over bytes a committed row names.

    Overwriting the committed file inside the transaction would leave, after a crash
    before COMMIT, the row's recorded sha256 naming bytes that are gone: the file would be
    refused forever. So, inside the caller's write transaction:

    * if the row (``committed``: the path it records now) names ``final``, ``obj`` goes to
      a unique sibling (``model.joblib`` -> ``model.<32 hex>.joblib``); otherwise to ``final``;
    * the new file is removed if the transaction rolls back; the row's previous file (if
      not ``final``) and staged siblings a crash left behind are deleted once it commits;
    * after COMMIT a second transaction promotes a staged file (:func:`promote_staged`):
      ``repoint(staged, final)`` — the caller's row-specific part — locks the row and, only
      if it still names ``staged``, points it at ``final`` and returns True; the file is
      then linked over ``final`` and the staged name deleted once that commits.

    Returns ``(path, sha256)``, which the caller records in the row in this transaction.
    A crash at any moment leaves the row naming a file whose checksum matches (the new
    one or the old one); a promotion cut short leaves the staged name, which the next save
    supersedes. An object joblib cannot pickle is a ValidationError naming ``what``
    (e.g. ``"run 3: the model (SVC)"``); nothing is left on disk.
    """
    store = current()
    folder, _, name = final.rpartition("/")
    stem, dot, suffix = name.partition(".")
    replacing = committed == final
    target = f"{folder}/{stem}.{uuid.uuid4().hex}{dot}{suffix}" if replacing else final
    discard_on_rollback(target)  # no committed row refers to it yet
    try:
        digest = dump_joblib(target, obj)
    except errors.StoreError:
        raise
    except Exception as exc:  # pickling fails with whatever the object's __reduce__ raises
        raise errors.ValidationError(
            f"{what} cannot be saved with joblib: {type(exc).__name__}: {exc}"
        ) from exc
    stale = [committed] if committed and committed not in (final, target) else []
    # Staged files a crash left behind: no row names them (the caller holds the row's lock).
    where = resolve(folder)
    if where.is_dir():
        for path in where.glob(f"{stem}.*{dot}{suffix}"):
            middle = path.name[len(stem) + 1 : len(path.name) - len(dot + suffix)]
            if len(middle) == 32 and all(c in "0123456789abcdef" for c in middle):
                stale.append(f"{folder}/{path.name}")
    delete_after_commit(*(p for p in stale if p != target))
    if replacing:

        def promote() -> None:
            promote_staged(target, final, repoint)

        store.after_commit(promote)
    return target, digest


def promote_staged(staged: str, final: str, repoint: Callable[[str, str], bool]) -> bool:
    """Give a committed, staged file its final name (see :func:`save_joblib_staged`).

    One write transaction: ``repoint(staged, final)`` checks and moves the row; only then
    is ``staged`` linked over ``final`` (the staged name stays valid until COMMIT) and
    scheduled for deletion. Returns whether it was promoted; a row deleted or replaced
    meanwhile (its new owner owns the files) or a failure leaves everything as it was,
    the row still naming a whole file.
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
