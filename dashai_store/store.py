"""Opening a store: resolve the home, connect, migrate (or verify), bind the facade."""

from __future__ import annotations

import os
from pathlib import Path

import peewee

from . import errors
from .database import (
    BUSY_TIMEOUT_S,
    DB_FILENAME,
    Store,
    bind,
    connect_postgres,
    connect_sqlite,
    redact,
    resolve_home,
    translated,
)


def open_store(
    home: str | os.PathLike[str] | None = None,
    *,
    database: str | None = None,
    migrate: bool = True,
    busy_timeout_s: float = BUSY_TIMEOUT_S,
    finish_deletions: bool = True,
    new_store: bool = False,
) -> Store:
    """Open the store at ``home`` and bind the facade to it; usable as a context manager.

    ``home`` defaults to ``$DASHAI_HOME`` or ``~/.DashAI``; the database is
    ``<home>/db.sqlite`` unless ``database`` gives a ``postgresql://`` URL (files still
    live under ``home``). With ``migrate=True`` pending migrations are applied (as
    ``scripts/migrate.py`` would); with ``migrate=False`` a database that is not up to date
    raises :class:`~dashai_store.errors.SchemaOutdated`. A database made by a newer version
    raises :class:`~dashai_store.errors.SchemaTooNew` either way, having written nothing.
    File deletions a crash interrupted are finished here (unless ``finish_deletions=False``:
    read-only tools such as ``dashai-store check`` report them instead).

    A home that holds the store's files but whose database is missing, empty (0 bytes) or
    has no tables raises :class:`~dashai_store.errors.DatabaseLost` naming the backups found
    (restore one with ``dashai-store restore``) and writes nothing; ``new_store=True``
    starts a new, empty store there anyway, and ``gc`` then never removes the older files.
    A home that ``dashai-store copy`` is still filling raises
    :class:`~dashai_store.errors.CopyUnfinished` (run the same copy again to finish it).

    Stores stack: opening one while another is bound makes the new one current, and
    closing it makes the previous one current again, so a nested ``with open_store(B)``
    inside ``with open_store(A)`` leaves A usable after the inner block. Two handles on the
    same home may be closed in either order; closing one never unbinds the other.

    >>> from dashai_store import open_store, datasets          # doctest: +SKIP
    >>> with open_store("~/.DashAI") as store:                  # doctest: +SKIP
    ...     print([d.name for d in datasets.list()])
    """
    home_path = resolve_home(home)
    if home_path.exists() and not home_path.is_dir():
        raise errors.ValidationError(f"store home {home_path} exists and is not a folder")
    _refuse_if_copying(home_path)
    try:
        home_path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise errors.StoreError(f"cannot create the store home {home_path}: {exc}") from exc
    db: peewee.Database
    if database:
        db = connect_postgres(database)
        url = redact(database)
    else:
        db = connect_sqlite(home_path / DB_FILENAME, busy_timeout_s)
        url = str(home_path / DB_FILENAME)
    from .migrator import Migrator  # not at import time: `import dashai_store` stays cheap

    try:
        with translated():
            migrator = Migrator(home_path, db)
            status = migrator.status()
            if migrate:
                _refuse_if_lost(home_path, status.database, status.tables, new_store)
                migrator.migrate()
            else:
                migrator.check_usable(status)
                _refuse_if_lost(home_path, status.database, status.tables, new_store)
                if status.pending:
                    raise errors.SchemaOutdated(
                        f"{status.database} is at {status.head or 'no version'}; "
                        f"{len(status.pending)} migration(s) pending: run scripts/migrate.py"
                    )
        store = Store(home=home_path, db=db, url=url, dialect=migrator.backend)
        _finish_files_on_close(store)
        bind(store)
        if finish_deletions:
            _finish_pending_deletions()
    except BaseException:
        db.close()
        raise
    return store


def _refuse_if_copying(home: Path) -> None:
    from .maintenance.lost import refuse_if_copying

    refuse_if_copying(home)


def _refuse_if_lost(home: Path, database: str, tables: tuple[str, ...], new_store: bool) -> None:
    from .maintenance.lost import refuse_if_lost

    refuse_if_lost(home, database, tables, new_store)


def _finish_files_on_close(store: Store) -> None:
    from . import files

    store.on_close(lambda: files.wait_for_trash(store.home))


def _finish_pending_deletions() -> None:
    from . import cascade

    cascade.finish_pending_deletions()
