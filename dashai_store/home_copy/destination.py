"""Where a store is copied to: what it holds, read without writing, and the copy marker.

A destination is a home folder (the files) and a database (``<home>/db.sqlite``, or a
PostgreSQL URL whose schema the files' folder goes with). It may be used when it holds
nothing yet: no folder, an empty folder, a store with no rows and no files (a schema the
first client already migrated, say). Anything else is refused by :func:`refuse_not_empty`,
the one place that decides it (``--merge`` takes another path: :mod:`.merge`).

The marker ``<home>/.dashai-copy.json`` names the source a copy is taking or took the
destination from and its state: ``copying`` (written before the first file) or ``done``
(after the rows committed). With it, a copy run again finishes an interrupted one, says
an already finished one is done, and never mistakes another store's files for its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from .. import errors, models
from ..backends.sqlite import open_read_only
from ..database import DB_FILENAME, connect_postgres, translated
from ..files import layout
from ..files.io import atomic_write
from ..maintenance.lost import COPY_MARK, NEW_STORE_MARK

MARKER = COPY_MARK
COPYING, DONE = "copying", "done"
# What a store home may hold besides its managed folders and still count as empty.
_STORE_NAMES = frozenset(
    {
        DB_FILENAME,
        f"{DB_FILENAME}-wal",
        f"{DB_FILENAME}-shm",
        f"{DB_FILENAME}-journal",
        layout.BACKUPS,
        layout.TRASH,
        MARKER,
        NEW_STORE_MARK,
    }
)


@dataclass
class DestinationState:
    """What a destination holds, read without writing to it."""

    home: Path
    database: str
    rows: int = 0
    managed_files: bool = False
    other: list[str] = field(default_factory=list)
    marker: dict[str, Any] | None = None


def inspect(home: Path, database: str | None) -> DestinationState:
    """The destination's content. Raises SchemaTooNew for a database a newer version made,
    SchemaError for a legacy DashAI or a foreign database there."""
    from ..maintenance.lost import has_managed_data
    from ..migrator import Migrator

    if home.exists() and not home.is_dir():
        raise errors.ValidationError(f"the destination {home} exists and is not a folder")
    state = DestinationState(home=home, database=database or str(home / DB_FILENAME))
    if home.is_dir():
        state.marker = read_marker(home)
        state.managed_files = has_managed_data(home)
        state.other = sorted(
            p.name
            for p in home.iterdir()
            if p.name not in _STORE_NAMES
            and p.name not in layout.MANAGED_ROOTS
            and not p.name.endswith(".lock")
        )
        if database is None and (home / DB_FILENAME).exists():
            # Read-only, writing nothing beside it either: a refused destination stays as it was.
            state.rows = _rows(Migrator(home, open_read_only(home / DB_FILENAME)))
    if database is not None:
        state.rows = _rows(Migrator(home, connect_postgres(database)))
    return state


def _rows(migrator: Any) -> int:
    try:
        with translated():
            status = migrator.status()
            migrator.check_usable(status)
            if not status.tables:
                return 0
            present = set(status.tables)
            return sum(
                int(migrator.db.execute_sql(f'SELECT COUNT(*) FROM "{m._meta.table_name}"').fetchone()[0])
                for m in models.ALL_MODELS
                if m._meta.table_name in present
            )
    finally:
        migrator.db.close()


#: What :func:`verdict` says to do with a destination.
FRESH, RESUME, COMMITTED, FINISHED = "fresh", "resume", "committed", "finished"


def verdict(state: DestinationState, source: dict[str, str]) -> str:
    """What a copy of ``source`` does with this destination: start (``FRESH``), finish an
    interrupted copy of the same source (``RESUME``; ``COMMITTED`` when its rows are in),
    or nothing (``FINISHED``). A destination that is not empty is refused here, and only
    here (:class:`~dashai_store.errors.DestinationNotEmpty`)."""
    marker = state.marker
    if marker is not None and marker.get("source") == source:
        if marker.get("state") == DONE:
            return FINISHED
        return COMMITTED if state.rows else RESUME
    if marker is not None:
        refuse_not_empty(state, f"it holds a copy of {marker.get('source')}")
    if state.rows:
        refuse_not_empty(state, f"its database holds {state.rows} row(s)")
    if state.managed_files:
        refuse_not_empty(state, "its folders hold a store's files")
    if state.other:
        refuse_not_empty(state, f"{state.home} holds {', '.join(state.other[:5])}")
    return FRESH


def refuse_not_empty(state: DestinationState, why: str) -> NoReturn:
    """The refusal of a destination that holds something: nothing was written to it."""
    raise errors.DestinationNotEmpty(
        f"the destination is not empty: {why}. Nothing was written; copy into a new or empty "
        f"folder (and an empty database), or add --merge (merge=True) to add the source's work "
        f"to it with new ids"
    )


def read_marker(home: Path) -> dict[str, Any] | None:
    path = home / MARKER
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise errors.StoreError(f"cannot read the copy marker {path}: {exc}") from exc
    return found if isinstance(found, dict) else None


def write_marker(home: Path, marker: dict[str, Any]) -> None:
    home.mkdir(parents=True, exist_ok=True)
    atomic_write(home / MARKER, json.dumps(marker, indent=2) + "\n")
