"""The SQLite backend: the default, a file ``<home>/db.sqlite``."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, closing
from datetime import datetime, timezone
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

import peewee

from .. import errors
from ..decoding import encode_negative_zero
from ..enums import SUMMARY_LEVELS
from ..locks import file_lock
from .base import (
    METRIC_INSERT_HEAD,
    METRIC_ON_CONFLICT,
    METRIC_SUMMARY_ON_CONFLICT,
    Backend,
    MetricWriter,
    SnapshotProgress,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from ..records import ForeignKeyViolation
    from .schema_types import Schema

_INSERT_ONE = METRIC_INSERT_HEAD + "(?, ?, ?, ?, ?, ?, ?)" + METRIC_ON_CONFLICT
_INSERT_ONE_SUMMARY = METRIC_INSERT_HEAD + "(?, ?, ?, ?, ?, ?, ?)" + METRIC_SUMMARY_ON_CONFLICT
# The run id (and, for points without their own timestamp, the call's default timestamp)
# are bound once per statement as ?1 (and ?2); the rows' own values follow as plain ``?``,
# which SQLite numbers on from the highest index already used. The SQL text then depends
# only on the row count, so the driver's statement cache compiles each shape once: with
# the run id and the timestamp as literals every call was a new statement, compiled anew
# (about a sixth of a 1,000-point ``log_many``).
_PLAIN_HEAD = 'INSERT INTO metric (run_id, "timestamp", name, split, level, step, value) VALUES '
_PLAIN_ROW = "(?1, ?2, ?, ?, ?, ?, ?)"
_STAMPED_HEAD = 'INSERT INTO metric (run_id, name, split, level, step, value, "timestamp") VALUES '
_STAMPED_ROW = "(?1, ?, ?, ?, ?, ?, ?)"
#: Rows per multi-row INSERT. One statement for many rows, rather than executemany's one
#: statement per row, is 2.4x faster here (700k vs 295k rows/s): the per-statement work
#: (AUTOINCREMENT bookkeeping among it) is paid once per 500 rows.
ROWS_PER_STATEMENT = 500
_VALUE = itemgetter(4)


def roll_back_hot_journal(path: Path) -> None:
    """Roll back what a writer killed mid-transaction left in ``<path>-journal``.

    A read-only connection cannot roll a hot journal back (every read fails with "attempt
    to write a readonly database"), and deleting the journal corrupts the database; the
    first read through a writable connection rolls it back (SQLite's own recovery). It
    changes nothing else: no journal mode switch, no file created. A journal that is not
    hot (a live writer's) is left to its writer.
    """
    journal = path.with_name(path.name + "-journal")
    try:
        if journal.stat().st_size == 0:
            return
    except OSError:
        return
    conn = sqlite3.connect(str(path), timeout=30)
    try:
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    finally:
        conn.close()


def _read_only(path: Path) -> sqlite3.Connection:
    roll_back_hot_journal(path)
    return sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)


class ReadOnlySqliteDatabase(peewee.SqliteDatabase):
    """A SQLite file opened so that reading it writes nothing at all (the source of a copy).

    Made by :func:`open_read_only`; ``immutable`` says whether SQLite was told the file
    cannot change (no locks, no ``-wal``/``-shm`` created).
    """

    def __init__(self, path: Path, immutable: bool) -> None:
        self.file_path = path
        self.immutable = immutable
        flags = "mode=ro&immutable=1" if immutable else "mode=ro"
        # No pragmas: setting journal_mode or anything else could write the file.
        super().__init__(f"file:{quote(str(path))}?{flags}", uri=True, autoconnect=True)

    def unchanged_since_open(self, mark: tuple[int, int]) -> bool:
        """Whether the file still has the (size, mtime) :func:`file_mark` gave at open."""
        return file_mark(self.file_path) == mark


def file_mark(path: Path) -> tuple[int, int]:
    """(size, mtime in ns) of a file, or (-1, -1) when it is gone."""
    try:
        info = path.stat()
    except OSError:
        return (-1, -1)
    return (info.st_size, info.st_mtime_ns)


def open_read_only(path: Path) -> ReadOnlySqliteDatabase:
    """``path`` opened for reading only, writing nothing to it or beside it.

    A reader of a WAL database normally creates ``-wal`` and ``-shm`` files beside it (and
    a read-only one leaves them behind). With no ``-wal`` file present no connection has
    the database open, so it is opened ``immutable``: nothing is created or locked (the
    caller checks, with :func:`file_mark`, that no writer came meanwhile). With a ``-wal``
    present (the app is running, or it crashed) it is read through SQLite's locking, which
    writes only its shared-memory index. A hot rollback journal (a writer killed
    mid-transaction) cannot be read past without rolling it back, which writes: refused.
    """
    journal = path.with_name(path.name + "-journal")
    if journal.is_file() and journal.stat().st_size > 0:
        raise errors.DatabaseError(
            f"{path} has a hot journal (a writer stopped mid-transaction): open it once "
            "(`dashai-store status`) to roll that back, then try again"
        )
    wal = path.with_name(path.name + "-wal")
    return ReadOnlySqliteDatabase(path, immutable=not wal.exists())


class SqliteMetricWriter(MetricWriter):
    """Multi-row ``INSERT ... VALUES`` statements; SQLite's single writer needs no run lock.

    The run id and the default timestamp are bound once per statement (``?1``, ``?2``), so
    a plain 5-tuple goes to the driver as it is and the statement's text is the same for
    every call of the same size.
    """

    def __init__(self, cursor: Any, run_id: int, stamp: str) -> None:
        self.cursor = cursor
        self.run_id = run_id
        self.stamp = stamp

    def write(self, rows: Sequence[Sequence[Any]], timestamped: bool, summary: bool = False) -> None:
        # A REAL column keeps -0.0 as the integer 0; such values go in as their BLOB. The
        # C-level scan finds zeros of either sign, so only a chunk holding one pays more.
        if 0.0 in map(_VALUE, rows):
            rows = [(*row[:4], encode_negative_zero(row[4]), *row[5:]) for row in rows]
        head: list[Any] = [self.run_id] if timestamped else [self.run_id, self.stamp]
        width = 6 if timestamped else 5
        limit = (_variable_limit(self.cursor.connection) - len(head)) // width
        per_statement = max(1, min(ROWS_PER_STATEMENT, limit))
        for start in range(0, len(rows), per_statement):
            part = rows[start : start + per_statement]
            sql = _insert_sql(len(part), timestamped, summary)
            self.cursor.execute(sql, head + [value for row in part for value in row])


@functools.lru_cache(maxsize=64)
def _insert_sql(count: int, timestamped: bool, summary: bool) -> str:
    """The INSERT of ``count`` rows (see ``_PLAIN_ROW``)."""
    head, row = (_STAMPED_HEAD, _STAMPED_ROW) if timestamped else (_PLAIN_HEAD, _PLAIN_ROW)
    # SQLite applies a multi-row upsert row by row: a key repeated in one statement
    # updates the row its earlier occurrence wrote, so the last one wins.
    tail = METRIC_SUMMARY_ON_CONFLICT if summary else METRIC_ON_CONFLICT
    return head + ", ".join([row] * count) + tail


def _variable_limit(connection: Any) -> int:
    """The connection's bound-parameter limit (999 on SQLite builds before 3.32)."""
    getlimit = getattr(connection, "getlimit", None)  # Python 3.11+
    if getlimit is None:
        return 999
    return int(getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))


def _state(conn: sqlite3.Connection, version_table: str, status_sql: str) -> tuple[list[str], list[Any]]:
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return tables, conn.execute(status_sql).fetchall() if version_table in tables else []


def _sqlite_datetime(value: Any) -> Any:
    # The text Peewee writes for a datetime on SQLite (what a PostgreSQL source hands out).
    return value.isoformat(" ") if isinstance(value, datetime) else value


def _sqlite_real(value: Any) -> Any:
    if isinstance(value, float):
        return None if value != value else encode_negative_zero(value)
    return value  # None, or already SQLite's -0.0 BLOB


_SQLITE_CONVERTERS: dict[str, Callable[[Any], Any]] = {"datetime": _sqlite_datetime, "real": _sqlite_real}


class SqliteBackend(Backend):
    name: ClassVar[str] = "sqlite"
    can_adopt_legacy: ClassVar[bool] = True
    max_id: ClassVar[int] = 2**63 - 1
    real_type: ClassVar[str] = "REAL"
    history_order: ClassVar[str] = " ORDER BY step, name, split, level"
    point_enum_codes: ClassVar[bool] = True

    @property
    def path(self) -> Path:
        if isinstance(self.db, ReadOnlySqliteDatabase):
            return self.db.file_path
        return Path(str(self.db.database))

    # -- the migration runner -----------------------------------------------------------------

    def describe_target(self) -> str:
        return str(self.path)

    def read_migration_state(self, version_table: str, status_sql: str) -> tuple[bool, list[str], list[Any]]:
        # A read-only connection of its own: reading the state must not create the file,
        # switch it to WAL or take a write lock.
        path = self.path
        if not path.exists():
            return False, [], []
        try:
            if isinstance(self.db, ReadOnlySqliteDatabase):  # already opened writing nothing
                return True, *_state(self.db.connection(), version_table, status_sql)  # type: ignore[no-untyped-call]
            with closing(_read_only(path)) as conn:
                tables, rows = _state(conn, version_table, status_sql)
        except sqlite3.DatabaseError as exc:
            raise errors.DatabaseError(f"{path} cannot be read as a SQLite database: {exc}") from exc
        return True, tables, rows

    def migration_lock(self, home: Path, timeout_s: float) -> AbstractContextManager[None]:
        home.mkdir(parents=True, exist_ok=True)
        return file_lock(self.path.with_name(self.path.name + ".migrate.lock"), timeout_s, "migration")

    def back_up_before_migrating(self, home: Path, label: str) -> Path | None:
        from ..preflight import check_and_back_up

        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        return check_and_back_up(self.db, self.path, home, f"db-{stamp}-{label}.sqlite", action="migrated")

    def mark_schema_version(self, sequence: int) -> None:
        self.db.execute_sql(f"PRAGMA user_version = {int(sequence)}")

    def autoincrement_marks(self) -> dict[str, int]:
        db = self.db
        if not db.execute_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone():
            return {}
        return {str(name): int(seq) for name, seq in db.execute_sql("SELECT name, seq FROM sqlite_sequence")}

    def restore_autoincrement_marks(self, before: dict[str, int]) -> None:
        # A table rebuild (copy, DROP, rename) resets the table's sqlite_sequence row to the
        # highest id still present, so the id of a row deleted earlier would be handed out
        # again and a new row would meet the old row's files.
        db = self.db
        for name, seq in before.items():
            if not db.execute_sql(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
            ).fetchone():
                continue  # the change dropped the table for good
            row = db.execute_sql("SELECT seq FROM sqlite_sequence WHERE name = ?", (name,)).fetchone()
            if row is None:
                db.execute_sql("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (name, seq))
            elif int(row[0]) < seq:
                db.execute_sql("UPDATE sqlite_sequence SET seq = ? WHERE name = ?", (seq, name))

    def check_foreign_keys(self, after: str) -> None:
        # Foreign keys are off during a schema change (a table rebuild must not cascade), so
        # they are checked once, before COMMIT.
        violations = self.db.execute_sql("PRAGMA foreign_key_check").fetchall()
        if violations:
            raise errors.IntegrityError(
                f"{len(violations)} foreign-key violation(s) after {after}, e.g. "
                f"table {violations[0][0]} rowid {violations[0][1]} -> {violations[0][2]}"
            )

    # -- maintenance -------------------------------------------------------------------------

    def integrity_problems(self) -> list[str]:
        rows = [str(r[0]) for r in self.db.execute_sql("PRAGMA integrity_check").fetchall()]
        return [] if rows == ["ok"] else rows

    def foreign_key_violations(self, models: Sequence[type[peewee.Model]]) -> list[ForeignKeyViolation]:
        from ..records import ForeignKeyViolation

        return [
            ForeignKeyViolation(table=str(r[0]), row_id=r[1], parent=str(r[2]), column=None)
            for r in self.db.execute_sql("PRAGMA foreign_key_check").fetchall()
        ]

    def snapshot(
        self, target: Path, pages: int, busy_timeout_s: float, progress: SnapshotProgress | None = None
    ) -> bool:
        # The backup runs in steps (for progress) inside one read transaction, so every step
        # reads the same WAL snapshot and the copy never restarts: it holds exactly what was
        # committed when the transaction began.
        source = self.path
        src = sqlite3.connect(str(source), isolation_level=None, timeout=busy_timeout_s)
        try:
            src.execute("BEGIN")
            src.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # pins the snapshot
            dst = sqlite3.connect(str(target))
            try:

                def on_step(_status: int, remaining: int, total: int) -> None:
                    if progress is not None:
                        progress(total - remaining, total)

                src.backup(dst, pages=pages, progress=on_step)
            finally:
                dst.close()
            src.execute("COMMIT")
        except sqlite3.Error as exc:
            raise errors.DatabaseError(f"cannot back up {source}: {exc}") from exc
        finally:
            src.close()
        return True

    def serialize_writers(self, key: str) -> None:
        pass  # write transactions already run one at a time (BEGIN IMMEDIATE)

    def read_snapshot(self) -> AbstractContextManager[Any]:
        # A deferred BEGIN: the first SELECT pins a WAL snapshot; writers are never blocked.
        return self.db.atomic(lock_type="DEFERRED")

    def table_counts_and_size(self, tables: Sequence[str]) -> tuple[dict[str, int], int]:
        path = self.path
        with closing(_read_only(path)) as conn:
            counts = {t: int(conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]) for t in tables}
        size = sum(
            p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists() and p.is_file()
        )
        return counts, size

    # -- rows and metrics ----------------------------------------------------------------------

    # lock_rows: none needed. A write transaction starts with BEGIN IMMEDIATE and already
    # excludes every other writer.

    def metric_row(
        self, run_id: int, name: str, value: float, split: str, level: str, step: int, moment: datetime
    ) -> tuple[Any, ...]:
        # SQLite stores a bound NaN as NULL by itself; the timestamp is the text Peewee writes.
        return (run_id, name, encode_negative_zero(value), split, level, step, moment.isoformat(" "))

    def write_metric_point(self, cursor: Any, run_id: int, row: tuple[Any, ...]) -> None:
        cursor.execute(_INSERT_ONE_SUMMARY if row[4] in SUMMARY_LEVELS else _INSERT_ONE, row)

    def metric_writer(self, cursor: Any, run_id: int, stamp: str) -> MetricWriter:
        return SqliteMetricWriter(cursor, run_id, stamp)

    def history_timestamp_type(self) -> pa.DataType:
        import pyarrow as pa

        return pa.string()  # ISO text; Arrow's cast parses it

    # -- copying a whole store -----------------------------------------------------------------

    def id_marks(self, tables: Sequence[str]) -> dict[str, int]:
        wanted = set(tables)
        return {name: seq for name, seq in self.autoincrement_marks().items() if name in wanted}

    def raise_id_marks(self, marks: dict[str, int]) -> None:
        # An INSERT with an explicit id already moves sqlite_sequence up to it; a deleted
        # row's id above the highest copied one is what this adds. A mark of 0 (a table that
        # never held a row: PostgreSQL reports its unused sequence so) is no mark at all.
        self.restore_autoincrement_marks({name: seq for name, seq in marks.items() if seq > 0})

    def insert_with_ids(
        self,
        cursor: Any,
        table: str,
        columns: Sequence[str],
        kinds: Sequence[str],
        rows: Sequence[Sequence[Any]],
    ) -> None:
        if not rows:
            return
        convert = [
            (i, _SQLITE_CONVERTERS[kind]) for i, kind in enumerate(kinds) if kind in _SQLITE_CONVERTERS
        ]
        if convert:
            converted = []
            for row in rows:
                values = list(row)
                for i, fn in convert:
                    values[i] = fn(values[i])
                converted.append(values)
            rows = converted
        width = len(columns)
        per_statement = max(1, min(ROWS_PER_STATEMENT, _variable_limit(cursor.connection) // width))
        names = ", ".join(f'"{c}"' for c in columns)
        one = "(" + ", ".join(["?"] * width) + ")"
        head = f'INSERT INTO "{table}" ({names}) VALUES '
        full = head + ", ".join([one] * per_statement)
        for start in range(0, len(rows), per_statement):
            part = rows[start : start + per_statement]
            sql = full if len(part) == per_statement else head + ", ".join([one] * len(part))
            cursor.execute(sql, [value for row in part for value in row])

    # -- schema introspection ------------------------------------------------------------------

    def describe_schema(self, schema_name: str | None = None) -> Schema:
        from .sqlite_schema import describe_sqlite

        return describe_sqlite(self.db)

    def reference_schema(self, create: Callable[[peewee.Database], None]) -> Schema:
        from .sqlite_schema import describe_sqlite

        scratch = peewee.SqliteDatabase(":memory:")
        try:
            create(scratch)
            return describe_sqlite(scratch)
        finally:
            scratch.close()
