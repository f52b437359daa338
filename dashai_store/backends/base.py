"""What differs between the database kinds, as one interface.

A :class:`Backend` wraps one Peewee database and answers every question whose answer
depends on the kind of database: how the migration runner locks and backs up, what the
version table's DDL is, how foreign keys and integrity are checked, how a row is locked,
how metric points are written in bulk and read back, how the schema is introspected.
It is chosen once (:func:`dashai_store.backends.backend_for`) when a store or a migrator
connects; no other module asks which database it is on.

This module stays cheap to import (the migration runner reads it at every start): pyarrow
and the schema introspection are imported inside the methods that need them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import peewee

from ..enums import SUMMARY_PREDICATE, LevelEnum, SplitEnum

Select = TypeVar("Select", bound="peewee.ModelSelect[Any]")

if TYPE_CHECKING:
    import pyarrow as pa

    from ..records import ForeignKeyViolation
    from .schema_types import Schema

#: The shared head and tail of every metric INSERT (both backends upsert the same way).
METRIC_INSERT_HEAD = 'INSERT INTO metric (run_id, name, value, split, level, step, "timestamp") VALUES '
METRIC_ON_CONFLICT = (
    " ON CONFLICT (run_id, split, level, name, step)"
    ' DO UPDATE SET value = excluded.value, "timestamp" = excluded."timestamp"'
)

#: The tail of an INSERT of summary-level points: the conflict target is the partial index.
METRIC_SUMMARY_ON_CONFLICT = (
    f" ON CONFLICT (run_id, split, level, name) WHERE {SUMMARY_PREDICATE}"
    ' DO UPDATE SET value = excluded.value, step = excluded.step, "timestamp" = excluded."timestamp"'
)

#: The columns of a metric point as the store reads them, names as stored.
POINT_COLUMNS = 'id, name, split, level, step, value, "timestamp"'


def enum_code(column: str, members: Sequence[str]) -> str:
    """SQL giving a known name of ``column`` as its index in ``members`` (the text itself
    for any other value, so a name edited by hand still reads as what it is)."""
    cases = " ".join(f"WHEN '{name}' THEN {index}" for index, name in enumerate(members))
    return f"CASE {column} {cases} ELSE {column} END"


#: :data:`POINT_COLUMNS` with split and level read as their members' indexes in
#: ``tuple(SplitEnum)`` / ``tuple(LevelEnum)`` (see :attr:`Backend.point_enum_codes`).
POINT_COLUMNS_CODED = (
    f"id, name, {enum_code('split', [m.name for m in SplitEnum])},"
    f' {enum_code("level", [m.name for m in LevelEnum])}, step, value, "timestamp"'
)

#: ``(done, total)`` progress of a database snapshot, in pages.
SnapshotProgress = Callable[[int, int], None]

#: How a column's values are carried between backends by :meth:`Backend.insert_with_ids`:
#: ``"datetime"`` (text or a datetime), ``"real"`` (a float, None for NaN, or SQLite's -0.0
#: BLOB), ``"bool"`` (a bool, or 0/1) or ``"plain"`` (int, text, None: passed as they are).
COLUMN_KINDS = ("datetime", "real", "bool", "plain")


class MetricWriter(ABC):
    """Writes one :func:`dashai_store.metrics.log_many` call's chunks into ``metric``.

    Made inside the write transaction (:meth:`Backend.metric_writer`), after the run was
    found; it has already taken whatever lock the backend needs for the run.
    """

    @abstractmethod
    def write(self, rows: Sequence[Sequence[Any]], timestamped: bool, summary: bool = False) -> None:
        """Upsert validated rows: ``(name, split, level, step, value)``, or with
        ``timestamped`` a sixth item, the timestamp as text (else the call's default).

        With ``summary`` every row is of a summary level (``enums.SUMMARY_LEVELS``) and replaces the
        stored point of its (split, level, name) whatever its step; without, no row is."""


class Backend(ABC):
    """One database kind's way of doing what the store needs; bound to one database."""

    #: ``"sqlite"`` or ``"postgresql"`` (what ``Store.backend`` and reports show).
    name: ClassVar[str]
    #: Whether a legacy DashAI (Alembic) database on this backend can be adopted.
    can_adopt_legacy: ClassVar[bool]
    #: The largest id a row can have.
    max_id: ClassVar[int]
    #: SQL type of a float column in the version table.
    real_type: ClassVar[str]
    #: ORDER BY of a metric history (same order on both backends).
    history_order: ClassVar[str]
    #: Whether metric points are read with :data:`POINT_COLUMNS_CODED` (else :data:`POINT_COLUMNS`).
    #: SQLite then hands split and level over as small ints (cached by Python) instead of
    #: a new str per row that a dict lookup hashes: a sixth of reading a page of 1,000
    #: points. PostgreSQL's CASE cannot mix an int with the text of an unknown name.
    point_enum_codes: ClassVar[bool] = False

    def __init__(self, db: peewee.Database) -> None:
        self.db = db

    @property
    def path(self) -> Path | None:
        """The database file, or None where the database is not a file."""
        return None

    # -- the migration runner -----------------------------------------------------------------

    @abstractmethod
    def describe_target(self) -> str:
        """The database as messages name it (a path, or "PostgreSQL database NAME")."""

    @abstractmethod
    def read_migration_state(self, version_table: str, status_sql: str) -> tuple[bool, list[str], list[Any]]:
        """(exists, table names, rows of ``status_sql``), read without writing anything."""

    @abstractmethod
    def migration_lock(self, home: Path, timeout_s: float) -> AbstractContextManager[None]:
        """The inter-process lock one migration holds (MigrationLockTimeout after ``timeout_s``)."""

    @abstractmethod
    def back_up_before_migrating(self, home: Path, label: str) -> Path | None:
        """Integrity check, free-space check and backup before a schema change; the backup's
        path, or None where the backend keeps no backup of its own (PostgreSQL: pg_dump)."""

    def version_table_ddl(self, table: str) -> str:
        """CREATE TABLE IF NOT EXISTS of the migration runner's version table."""
        return (
            f"CREATE TABLE IF NOT EXISTS {table} (sequence INTEGER PRIMARY KEY, "
            "id TEXT NOT NULL UNIQUE, checksum TEXT NOT NULL, applied_at TEXT NOT NULL, "
            f"library_version TEXT NOT NULL, duration_ms {self.real_type} NOT NULL)"
        )

    @abstractmethod
    def mark_schema_version(self, sequence: int) -> None:
        """Mirror the head's sequence where the database has a place for it (SQLite's user_version)."""

    @abstractmethod
    def autoincrement_marks(self) -> dict[str, int]:
        """High-water marks of AUTOINCREMENT ids that a schema change could lower."""

    @abstractmethod
    def restore_autoincrement_marks(self, before: dict[str, int]) -> None:
        """Put back marks (from :meth:`autoincrement_marks`) a schema change lowered."""

    @abstractmethod
    def check_foreign_keys(self, after: str) -> None:
        """Raise IntegrityError if a foreign key is violated (inside a schema change's
        transaction, ``after`` names it); a no-op where every statement enforces them."""

    # -- maintenance -------------------------------------------------------------------------

    @abstractmethod
    def integrity_problems(self) -> list[str] | None:
        """The storage integrity check's problems ([] when sound), or None where it cannot run."""

    @abstractmethod
    def foreign_key_violations(self, models: Sequence[type[peewee.Model]]) -> list[ForeignKeyViolation]:
        """Every row of ``models`` whose foreign key names a missing parent row (writes nothing)."""

    @abstractmethod
    def snapshot(
        self, target: Path, pages: int, busy_timeout_s: float, progress: SnapshotProgress | None = None
    ) -> bool:
        """Copy the live database to ``target`` at one instant; False where the backend
        cannot (PostgreSQL: back up with pg_dump)."""

    @abstractmethod
    def table_counts_and_size(self, tables: Sequence[str]) -> tuple[dict[str, int], int]:
        """Rows per table and the database's size in bytes, read without writing anything."""

    # -- rows and metrics ----------------------------------------------------------------------

    def lock_rows(self, query: Select) -> Select:
        """``query`` made to lock the rows it reads until the write transaction ends."""
        return query

    @abstractmethod
    def serialize_writers(self, key: str) -> None:
        """Make other write transactions that call this with ``key`` wait for the current
        one to end (a check-then-insert on a key no unique index guards)."""

    @abstractmethod
    def read_snapshot(self) -> AbstractContextManager[Any]:
        """A read-only transaction in which every SELECT sees one committed state (an export
        reads many tables and must not see a row without its parent); takes no write lock."""

    @abstractmethod
    def metric_row(
        self, run_id: int, name: str, value: float, split: str, level: str, step: int, moment: datetime
    ) -> tuple[Any, ...]:
        """A validated point as the parameters of :meth:`write_metric_point`."""

    @abstractmethod
    def write_metric_point(self, cursor: Any, run_id: int, row: tuple[Any, ...]) -> None:
        """Upsert one point (a :meth:`metric_row`) inside the write transaction; a point of
        a summary level (``enums.SUMMARY_LEVELS``) replaces its (split, level, name)'s, whatever the step."""

    @abstractmethod
    def metric_writer(self, cursor: Any, run_id: int, stamp: str) -> MetricWriter:
        """The bulk writer of one ``log_many`` call (``stamp``: the default timestamp text)."""

    @abstractmethod
    def history_timestamp_type(self) -> pa.DataType:
        """The Arrow type the driver's metric timestamps arrive as (text on SQLite)."""

    # -- copying a whole store (dashai_store.home_copy) ------------------------------------------

    @abstractmethod
    def id_marks(self, tables: Sequence[str]) -> dict[str, int]:
        """The highest id each of ``tables`` has handed out, deleted rows' ids included
        (read without writing anything)."""

    @abstractmethod
    def raise_id_marks(self, marks: dict[str, int]) -> None:
        """After rows were inserted with their own ids: each table's next id is above its
        highest id and above ``marks`` (from :meth:`id_marks` of the source), so no id of the
        source, not even a deleted row's, is ever handed out again."""

    @abstractmethod
    def insert_with_ids(
        self,
        cursor: Any,
        table: str,
        columns: Sequence[str],
        kinds: Sequence[str],
        rows: Sequence[Sequence[Any]],
    ) -> None:
        """Insert ``rows`` (values of ``columns``, ``id`` among them) as they are, in bulk,
        inside the caller's transaction. ``kinds`` (one of :data:`COLUMN_KINDS` per column)
        says how a value read from either backend is written to this one."""

    # -- schema introspection ------------------------------------------------------------------

    @abstractmethod
    def describe_schema(self, schema_name: str | None = None) -> Schema:
        """The live schema (on PostgreSQL of ``schema_name``, else the current schema)."""

    @abstractmethod
    def reference_schema(self, create: Callable[[peewee.Database], None]) -> Schema:
        """The schema ``create`` (the models' DDL) makes, built in a scratch place of this
        backend that is gone afterwards."""
