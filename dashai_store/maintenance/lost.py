"""A home whose database is lost: refuse to start empty over its files, and keep gc off them.

DashAI's files outlive a database truncated or deleted by a crash, a sync tool or a user.
Opening such a home used to create an empty store; ``check`` then found every file
unowned and ``gc`` removed them all. Now:

* A home with managed data (files in the store's folders, ``layout.MANAGED_ROOTS``) and no
  usable database (none, 0 bytes, or no tables at all) is refused with
  :class:`~dashai_store.errors.DatabaseLost`, which names the backups found in
  ``<home>/backups/`` and ``dashai-store restore``; nothing is written.
* ``open_store(..., new_store=True)`` (or ``scripts/migrate.py --new-store``) creates the
  new store anyway and records when (:data:`NEW_STORE_MARK`); ``gc`` never removes a file
  older than that (:func:`new_store_created`), since the new database knows none of them.
* A home a ``dashai-store copy`` is filling (:data:`COPY_MARK` not ``done``) holds files
  its database does not list yet: opening it is refused with
  :class:`~dashai_store.errors.CopyUnfinished` until the same copy command finishes it,
  or the app would write rows beside a half-copied store (and ``gc`` take its files).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from .. import errors
from ..files import layout
from ..files.io import atomic_write

#: In the home: when a store was created over files a lost database had owned.
NEW_STORE_MARK = ".dashai-new-store.json"
#: In the home: the state of a copy into it (``copying``, then ``done``; see dashai_store.home_copy).
COPY_MARK = ".dashai-copy.json"
_COPY_DONE = "done"
_copy_writer: ContextVar[Path | None] = ContextVar("dashai_copy_writer", default=None)


@contextmanager
def copying_into(home: Path) -> Iterator[None]:
    """The copy itself may open ``home`` while it fills it (:func:`refuse_if_copying`)."""
    token = _copy_writer.set(home.resolve())
    try:
        yield
    finally:
        _copy_writer.reset(token)


def refuse_if_copying(home: Path) -> None:
    """Raise CopyUnfinished if a copy into ``home`` started and has not finished."""
    mark = home / COPY_MARK
    if _copy_writer.get() == home.resolve():
        return
    try:
        found = json.loads(mark.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return
    except (OSError, ValueError):
        found = None  # unreadable: a copy was writing it; not a reason to open half a store
    if isinstance(found, dict) and found.get("state") == _COPY_DONE:
        return
    source = found.get("source") if isinstance(found, dict) else None
    raise errors.CopyUnfinished(
        f"{home} is the destination of a copy that has not finished"
        f"{f' (from {source})' if source else ''}: its database does not list all its files yet. "
        "Nothing was written. Run the same `dashai-store copy` command again to finish it."
    )


def has_managed_data(home: Path) -> bool:
    """Whether any file lies under the store's folders (never follows links)."""
    for root in layout.MANAGED_ROOTS:
        top = home / root
        if not top.is_dir() or top.is_symlink():
            continue
        for _folder, _dirs, names in os.walk(top):
            if names:
                return True
    return False


def lost_error(home: Path, database: str) -> errors.DatabaseLost:
    """The refusal for ``home``, naming the backups :func:`restore.backups` lists."""
    from .restore import backups

    found = backups(home)
    if found:
        listed = "; ".join(f"{b.path.name} ({b.kind}, {b.created or 'time unknown'})" for b in found[:5])
        more = f" and {len(found) - 5} more" if len(found) > 5 else ""
        advice = (
            f"backups found in {layout.backups(home)}: {listed}{more}. Restore one with "
            f"`dashai-store restore BACKUP --home {home}` (`dashai-store backups` lists them)"
        )
    else:
        advice = (
            f"no backup was found in {layout.backups(home)}; restore one you keep elsewhere with "
            f"`dashai-store restore BACKUP --home {home}`"
        )
    return errors.DatabaseLost(
        f"{database} is missing or empty, but {home} holds the store's files: the database was lost. "
        f"Nothing was written. {advice}, or open with new_store=True (scripts/migrate.py --new-store) "
        "to start a new, empty store beside those files (gc will not remove them).",
        home=home,
        backups=tuple(b.path for b in found),
    )


def refuse_if_lost(home: Path, database: str, tables: tuple[str, ...] | list[str], new_store: bool) -> None:
    """Raise DatabaseLost for a database with no tables in a home with managed data.

    With ``new_store=True`` the new store is allowed and :data:`NEW_STORE_MARK` records it.
    """
    if tables or not has_managed_data(home):
        return
    if not new_store:
        raise lost_error(home, database)
    mark = home / NEW_STORE_MARK
    if not mark.exists():
        atomic_write(mark, json.dumps({"created": time.time(), "database": database}))


def new_store_created(home: Path) -> float | None:
    """When (epoch seconds) a store was created over existing files, if one was."""
    try:
        found = json.loads((home / NEW_STORE_MARK).read_text(encoding="utf-8"))
        return float(found["created"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
