"""maintenance.gc: remove what no row owns and finish recorded deletions."""

from __future__ import annotations

import os
import time
from pathlib import Path, PurePosixPath

from .. import cascade, files
from ..database import current, translated
from ..records import GcReport
from .backup import remove_partial_backups
from .lost import new_store_created
from .scan import GRACE_S, MANAGED_ROOTS, Progress, protected_dirs, scan_home, tick


def gc(*, grace_s: float = GRACE_S, dry_run: bool = False, progress: Progress | None = None) -> GcReport:
    """See :func:`_gc`; runs under the home's file lock, shared, so a backup pinning files waits."""
    store = current()
    with files.tx.changing_files(store.home):
        return _gc(grace_s, dry_run, progress)


def _gc(grace_s: float, dry_run: bool, progress: Progress | None) -> GcReport:
    """Remove what no row owns; finish recorded deletions. Never removes a referenced file.

    Removes unowned files and stale temporary files older than ``grace_s`` under the
    store's folders, the folders that leaves empty (never one a row refers to, or one
    above such a path), and carries out the deletions recorded in the pending-deletion
    table — except of a path some row refers to (the record is dropped, the file kept),
    and never through a symbolic link or outside a row's folder (such a record is refused,
    reported in ``failed`` and dropped).
    Missing files and database problems are only reported by :func:`check`.
    ``dry_run=True`` reports what would be removed and changes nothing.

    Never removed: a file older than a store created over existing files
    (``open_store(..., new_store=True)`` in a home whose database was lost, see
    :mod:`.lost`): the new database knows none of them, which says nothing about whether
    they are garbage; they are listed in ``failed`` (restore a backup, or move them away).
    Folders killed backups left (``.partial``) are removed when no backup is running.
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

    # 1. recorded deletions (a crash between COMMIT and unlink, or a file the OS would not let go)
    def pending_tick(done: int, total: int) -> None:
        tick(progress, "pending deletions", done, total)

    with translated():
        outcome = files.tx.carry_out(
            pending, refs=refs, free_now=True, dry_run=dry_run, progress=pending_tick
        )
    freed += outcome.bytes_freed
    kept.extend(home / rel for rel in outcome.kept)
    finished.extend(home / rel for rel in outcome.finished)
    failed.extend((home / rel, why) for rel, why in outcome.failed)
    # A record the store must never carry out (outside the home, behind a link) is dropped:
    # reported once here, it never blocks a later gc or open.
    failed.extend((home / rel, f"refused, record dropped: {why}") for rel, why in outcome.refused)
    touched_dirs.update(rel.rsplit("/", 1)[0] if "/" in rel else "" for rel in outcome.finished)

    # 2. unowned and stale temporary files
    with translated():
        scan = scan_home(home, grace_s, progress)
    doomed = [(e, False) for e in scan.unowned] + [(e, True) for e in scan.stale_temp]
    created = new_store_created(home)
    for index, (entry, temp) in enumerate(doomed, start=1):
        tick(progress, "remove", index, len(doomed))
        path = home / entry.rel
        if created is not None and time.time() - entry.age_s < created:
            failed.append((path, "older than this store's database (created over existing files): kept"))
            continue
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
    folders = [] if dry_run else _remove_empty_folders(home, protected_dirs(scan.refs), touched_dirs, grace_s)

    # 4. what killed backups left
    partial, partial_bytes = remove_partial_backups(home, dry_run)
    folders += partial
    freed += partial_bytes
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
