"""The store being copied: opened so that nothing in it is ever written.

SQLite: the file is opened read-only (``immutable`` when no process has it open, so not
even ``-wal``/``-shm`` files appear; see :func:`dashai_store.backends.sqlite.open_read_only`)
and read inside one read transaction. PostgreSQL: one ``REPEATABLE READ READ ONLY``
transaction, rows streamed through a server-side cursor. Either way the rows come from one
snapshot, in batches, with flat memory. No migration, no pending-deletion replay, no lock
file: a source at an older schema is refused (run ``dashai-store migrate`` on it first).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import peewee

from .. import errors
from ..backends import Backend, backend_for
from ..backends.sqlite import ReadOnlySqliteDatabase, file_mark, open_read_only
from ..database import DB_FILENAME, connect_postgres, redact, resolve_home, translated

BATCH_ROWS = 5000
_CURSOR = "dashai_copy_source"


class Source:
    """One source store, read-only: its home (the files), its database and backend."""

    def __init__(self, home: Path, db: peewee.Database, url: str) -> None:
        self.home = home
        self.db = db
        self.url = url
        self.backend: Backend = backend_for(db)
        # (size, mtime) of a SQLite file read as immutable: a writer meanwhile is detected.
        self._file = db.file_path if isinstance(db, ReadOnlySqliteDatabase) and db.immutable else None
        self._mark = file_mark(self._file) if self._file is not None else None
        self._in_snapshot = False

    @property
    def identity(self) -> dict[str, str]:
        """What names this source in a destination's copy marker."""
        return {"home": str(self.home), "database": self.url}

    def check_schema(self) -> str | None:
        """The schema head; raises unless the source is a store at this code's version."""
        from ..migrator import Migrator

        migrator = Migrator(self.home, self.db)
        with translated():
            status = migrator.status()
        if not status.exists or not status.tables:
            raise errors.NotFound(f"no store to copy: {status.database} holds no tables")
        if not status.legacy:
            migrator.check_usable(status)  # SchemaTooNew, a foreign database
        if status.legacy or status.pending:
            raise errors.SchemaOutdated(
                f"{status.database} is at {status.head or 'a legacy DashAI schema'}, older than this "
                f"code: run `dashai-store migrate --home {self.home}"
                + (f" --database {self.url}" if self.backend.name == "postgresql" else "")
                + "` first (copy never writes to its source)"
            )
        return status.head

    def begin_snapshot(self) -> None:
        """Every later read sees the database as it is now."""
        with translated():
            if self.backend.name == "postgresql":
                self.db.execute_sql("BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            else:
                self._sqlite().execute("BEGIN")
                self._sqlite().execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        self._in_snapshot = True

    def count(self, table: str) -> int:
        with translated():
            return int(self.db.execute_sql(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])

    def id_marks(self, tables: Sequence[str]) -> dict[str, int]:
        with translated():
            return self.backend.id_marks(tables)

    def batches(self, table: str, columns: Sequence[str]) -> Iterator[list[tuple[Any, ...]]]:
        """The table's rows (``columns`` of each, by id), ``BATCH_ROWS`` at a time."""
        names = ", ".join(f'"{c}"' for c in columns)
        query = f'SELECT {names} FROM "{table}" ORDER BY id'
        with translated():
            if self.backend.name == "postgresql":
                # A server-side cursor: a million metric rows never sit in memory at once.
                self.db.execute_sql(f"DECLARE {_CURSOR} NO SCROLL CURSOR FOR {query}")
                try:
                    while rows := self.db.execute_sql(f"FETCH {BATCH_ROWS} FROM {_CURSOR}").fetchall():
                        yield [tuple(r) for r in rows]
                finally:
                    self.db.execute_sql(f"CLOSE {_CURSOR}")
            else:
                cursor = self._sqlite().execute(query)
                while rows := cursor.fetchmany(BATCH_ROWS):
                    yield rows

    def check_unchanged(self) -> None:
        """Raise if a process wrote the SQLite file while it was read as immutable."""
        if self._file is None:
            return
        wal = self._file.with_name(self._file.name + "-wal")
        if file_mark(self._file) != self._mark or wal.exists():
            raise errors.StoreBusy(
                f"{self._file} was opened by another process while it was copied: "
                "close the application using it and run the copy again"
            )

    def _sqlite(self) -> sqlite3.Connection:
        connection: sqlite3.Connection = self.db.connection()
        return connection

    def close(self) -> None:
        with translated():
            if self._in_snapshot and not self.db.is_closed():
                if self.backend.name == "postgresql":
                    self.db.execute_sql("ROLLBACK")
                else:
                    self._sqlite().execute("ROLLBACK")
            self._in_snapshot = False
            self.db.close()


def open_source(home: str | Path, database: str | None) -> Source:
    """The store at ``home`` (its database: ``database``, a PostgreSQL URL, or
    ``<home>/db.sqlite``), opened read-only; NotFound when there is none."""
    home_path = resolve_home(home)
    if not home_path.is_dir():
        raise errors.NotFound(f"no store to copy at {home_path}: the folder does not exist")
    if database:
        return Source(home_path, connect_postgres(database), redact(database))
    db_file = home_path / DB_FILENAME
    if not db_file.is_file():
        from ..maintenance.lost import has_managed_data, lost_error

        if has_managed_data(home_path):
            raise lost_error(home_path, str(db_file))
        raise errors.NotFound(f"no store to copy at {home_path}: {db_file} does not exist")
    return Source(home_path, open_read_only(db_file), str(db_file))
