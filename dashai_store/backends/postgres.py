"""The PostgreSQL backend: a ``postgresql://`` URL (files still live under the home)."""

from __future__ import annotations

import builtins
import io
import uuid
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import peewee

from ..decoding import decode_real
from ..enums import SUMMARY_LEVELS
from ..locks import advisory_lock
from .base import (
    METRIC_INSERT_HEAD,
    METRIC_ON_CONFLICT,
    METRIC_SUMMARY_ON_CONFLICT,
    Backend,
    MetricWriter,
    Select,
    SnapshotProgress,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from ..records import ForeignKeyViolation
    from .schema_types import Schema

# psycopg2 spells a float as a bare literal, and PostgreSQL reads "-0.0" as the numeric 0
# negated (numeric has no -0); the cast makes it float8 negation, which keeps -0.0.
_INSERT_ONE = METRIC_INSERT_HEAD + "(%s, %s, %s::float8, %s, %s, %s, %s)" + METRIC_ON_CONFLICT
_INSERT_ONE_SUMMARY = METRIC_INSERT_HEAD + "(%s, %s, %s::float8, %s, %s, %s, %s)" + METRIC_SUMMARY_ON_CONFLICT
# The bulk path: COPY a chunk into a session-private temporary table, then one
# INSERT ... SELECT ... ON CONFLICT moves it into metric (about 3x execute_values here).
_LOAD = "pg_temp.dashai_metric_load"
_LOAD_TABLE = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {_LOAD} (name text, split text, level text,"
    ' step integer, value double precision, "timestamp" timestamp) ON COMMIT DELETE ROWS'
)
_COPY = f'COPY {_LOAD} (name, split, level, step, value, "timestamp") FROM STDIN'
_MOVE_HEAD = (
    'INSERT INTO metric (run_id, name, split, level, step, value, "timestamp")'
    " SELECT {run_id}, name, split, level, step, NULLIF(value, 'NaN'::float8), \"timestamp\""
    f" FROM {_LOAD}"
)
_MOVE = _MOVE_HEAD + METRIC_ON_CONFLICT + f"; TRUNCATE {_LOAD}"
_MOVE_SUMMARY = _MOVE_HEAD + METRIC_SUMMARY_ON_CONFLICT + f"; TRUNCATE {_LOAD}"
# Live tailing reads ``id > cursor``, but a sequence hands ids out at INSERT, not at COMMIT:
# writers of one run take this lock first, so a run's ids become visible in increasing
# order. Two-key advisory locks live in their own key space (the migrator uses one key).
_RUN_LOCK = "SELECT pg_advisory_xact_lock(%s, %s)"
RUN_LOCK_NAMESPACE = zlib.crc32(b"dashai_store:metric") - (1 << 31)
WRITERS_LOCK_NAMESPACE = zlib.crc32(b"dashai_store:writers") - (1 << 31)

_NAME = itemgetter(0)
_KEY = itemgetter(0, 1, 2, 3)
_SUMMARY_KEY = itemgetter(0, 1, 2)


def current_schema(db: peewee.Database) -> str:
    """The schema unqualified names resolve to on this connection."""
    row = db.execute_sql("SELECT current_schema()").fetchone()
    return str(row[0])


def _copy_text(value: str) -> str:
    """``value`` escaped for COPY's text format."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _copy_plain(value: Any) -> str:
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is str:
        # Most text needs no escape; four scans cost less than four replace() calls.
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            return _copy_text(value)
        return value  # type: ignore[no-any-return]
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    return _copy_text(str(value))


def _copy_datetime(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat(" ")
    return _copy_plain(value)


def _copy_real(value: Any) -> str:
    if isinstance(value, bytes):  # SQLite's -0.0 (see decoding.NEGATIVE_ZERO_BLOB)
        decoded = decode_real(value)
        value = decoded if isinstance(decoded, float) else value
    if isinstance(value, float):
        return "\\N" if value != value else repr(value)  # NaN is NULL on both backends
    return _copy_plain(value)


def _copy_bool(value: Any) -> str:
    if value is True or value == 1:
        return "t"
    if value is False or value == 0:
        return "f"
    return _copy_plain(value)


_COPY_SPELLERS: dict[str, Callable[[Any], str]] = {
    "plain": _copy_plain,
    "datetime": _copy_datetime,
    "real": _copy_real,
    "bool": _copy_bool,
}


class PostgresMetricWriter(MetricWriter):
    """COPY into a temporary table, then one ``INSERT ... SELECT ... ON CONFLICT`` per chunk."""

    def __init__(self, cursor: Any, run_id: int, stamp: str) -> None:
        self.cursor = cursor
        self.run_id = run_id
        self.stamp = stamp
        cursor.execute(_RUN_LOCK, (RUN_LOCK_NAMESPACE, run_id))
        cursor.execute(_LOAD_TABLE)

    def write(self, rows: Sequence[Sequence[Any]], timestamped: bool, summary: bool = False) -> None:
        # One INSERT ... ON CONFLICT may not touch a row twice, so repeats inside a chunk are
        # folded first (the last one wins, as on SQLite where each row is its own statement);
        # summary points repeat when their (name, split, level) does, whatever the step.
        key = _SUMMARY_KEY if summary else _KEY
        unique = builtins.list(dict(zip(map(key, rows), rows, strict=True)).values())
        names = {name: _copy_text(name) for name in set(map(_NAME, unique))}
        stamp = self.stamp
        # repr() of a float is exact and spells nan/inf/-inf the way float8 input reads them.
        text = "".join(
            f"{names[row[0]]}\t{row[1]}\t{row[2]}\t{row[3]}\t{row[4]!r}\t"
            f"{row[5] if len(row) > 5 else stamp}\n"
            for row in unique
        )
        self.cursor.copy_expert(_COPY, io.StringIO(text))
        self.cursor.execute((_MOVE_SUMMARY if summary else _MOVE).format(run_id=self.run_id))


class PostgresBackend(Backend):
    name: ClassVar[str] = "postgresql"
    can_adopt_legacy: ClassVar[bool] = False
    # ``serial`` ids are 32-bit, and so are the keys of pg_advisory_xact_lock(int, int).
    max_id: ClassVar[int] = 2**31 - 1
    real_type: ClassVar[str] = "DOUBLE PRECISION"
    # PostgreSQL sorts text by the database's locale; byte order ("C") matches SQLite's.
    history_order: ClassVar[str] = ' ORDER BY step, name COLLATE "C", split, level'

    # -- the migration runner -----------------------------------------------------------------

    def describe_target(self) -> str:
        return f"PostgreSQL database {self.db.database}"

    def read_migration_state(self, version_table: str, status_sql: str) -> tuple[bool, list[str], list[Any]]:
        tables = [
            r[0]
            for r in self.db.execute_sql(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            ).fetchall()
        ]
        rows = self.db.execute_sql(status_sql).fetchall() if version_table in tables else []
        return True, tables, rows

    def migration_lock(self, home: Path, timeout_s: float) -> AbstractContextManager[None]:
        return advisory_lock(self.db, timeout_s, "migration")

    def back_up_before_migrating(self, home: Path, label: str) -> Path | None:
        return None  # the server's own backups (pg_dump) are the operator's; DDL is transactional

    def mark_schema_version(self, sequence: int) -> None:
        pass  # the version table is the only record; PostgreSQL has no user_version

    def autoincrement_marks(self) -> dict[str, int]:
        return {}  # a sequence survives a table change; ids are never handed out twice

    def restore_autoincrement_marks(self, before: dict[str, int]) -> None:
        pass

    def check_foreign_keys(self, after: str) -> None:
        pass  # PostgreSQL enforces every foreign key at each statement, in a schema change too

    # -- maintenance -------------------------------------------------------------------------

    def integrity_problems(self) -> list[str] | None:
        return None  # no integrity_check; pg_amcheck on the server verifies the storage

    def foreign_key_violations(self, models: Sequence[type[peewee.Model]]) -> list[ForeignKeyViolation]:
        # PostgreSQL enforces foreign keys itself; this finds orphans only a restore with
        # triggers disabled (session_replication_role = replica) could have left.
        from ..records import ForeignKeyViolation

        found: list[ForeignKeyViolation] = []
        for model in models:
            for fk in model._meta.refs:
                parent = fk.rel_model
                key = model._meta.primary_key
                query = model.select(key).where(
                    fk.is_null(False) & ~peewee.fn.EXISTS(parent.select(parent.id).where(parent.id == fk))
                )
                found.extend(
                    ForeignKeyViolation(
                        table=model._meta.table_name,
                        row_id=row_id,
                        parent=parent._meta.table_name,
                        column=fk.column_name,
                    )
                    for (row_id,) in query.tuples().iterator(self.db)
                )
        return found

    def snapshot(
        self, target: Path, pages: int, busy_timeout_s: float, progress: SnapshotProgress | None = None
    ) -> bool:
        return False  # the database is backed up with pg_dump on the server

    def table_counts_and_size(self, tables: Sequence[str]) -> tuple[dict[str, int], int]:
        db = self.db
        counts = {t: int(db.execute_sql(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]) for t in tables}
        row = db.execute_sql(
            "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
        ).fetchone()
        return counts, int(row[0])

    # -- rows and metrics ----------------------------------------------------------------------

    def lock_rows(self, query: Select) -> Select:
        # A concurrent writer of the same row (a delete, a read-modify-write) waits for this
        # transaction instead of racing it.
        return query.for_update()

    def serialize_writers(self, key: str) -> None:
        # Released at COMMIT or ROLLBACK; the key space is the metric lock's, by another namespace.
        self.db.execute_sql(_RUN_LOCK, (WRITERS_LOCK_NAMESPACE, zlib.crc32(key.encode()) - (1 << 31)))

    @contextmanager
    def read_snapshot(self) -> Iterator[None]:
        # READ COMMITTED (the default) takes a new snapshot per statement.
        with self.db.atomic():
            self.db.execute_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield

    def metric_row(
        self, run_id: int, name: str, value: float, split: str, level: str, step: int, moment: datetime
    ) -> tuple[Any, ...]:
        # NaN is stored as NULL, as SQLite does by itself: raw SQL sees one spelling.
        return (run_id, name, None if value != value else value, split, level, step, moment)

    def write_metric_point(self, cursor: Any, run_id: int, row: tuple[Any, ...]) -> None:
        cursor.execute(_RUN_LOCK, (RUN_LOCK_NAMESPACE, run_id))
        cursor.execute(_INSERT_ONE_SUMMARY if row[4] in SUMMARY_LEVELS else _INSERT_ONE, row)

    def metric_writer(self, cursor: Any, run_id: int, stamp: str) -> MetricWriter:
        return PostgresMetricWriter(cursor, run_id, stamp)

    def history_timestamp_type(self) -> pa.DataType:
        import pyarrow as pa

        return pa.timestamp("us")  # psycopg2 hands out datetimes

    # -- copying a whole store -----------------------------------------------------------------

    def id_marks(self, tables: Sequence[str]) -> dict[str, int]:
        marks: dict[str, int] = {}
        for table in tables:
            sequence = self._id_sequence(table)
            if sequence is None:
                continue
            last, called = self.db.execute_sql(f"SELECT last_value, is_called FROM {sequence}").fetchone()
            marks[table] = int(last) if called else 0
        return marks

    def raise_id_marks(self, marks: dict[str, int]) -> None:
        # COPY with explicit ids leaves the sequences where they were: the next nextval()
        # would hand out a copied row's id.
        for table in marks.keys() | set(self._serial_tables()):
            sequence = self._id_sequence(table)
            if sequence is None:
                continue
            (highest,) = self.db.execute_sql(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"').fetchone()
            last, called = self.db.execute_sql(f"SELECT last_value, is_called FROM {sequence}").fetchone()
            current = int(last) if called else 0
            target = max(int(highest), marks.get(table, 0), current)
            if target > current:
                self.db.execute_sql("SELECT setval(%s, %s, true)", (sequence, target))

    def _serial_tables(self) -> list[str]:
        rows = self.db.execute_sql(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND column_name = 'id' AND column_default LIKE 'nextval(%%'"
        ).fetchall()
        return [str(r[0]) for r in rows]

    def _id_sequence(self, table: str) -> str | None:
        (name,) = self.db.execute_sql("SELECT pg_get_serial_sequence(%s, 'id')", (f'"{table}"',)).fetchone()
        return None if name is None else str(name)

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
        # COPY: the fastest bulk path, and its text format is read by each column's type
        # (a SQLite 0/1 becomes a boolean, ISO text a timestamp, repr() of -0.0 stays -0.0).
        spell = [_COPY_SPELLERS[kind] for kind in kinds]
        text = "".join(
            "\t".join([fn(value) for fn, value in zip(spell, row, strict=True)]) + "\n" for row in rows
        )
        names = ", ".join(f'"{c}"' for c in columns)
        cursor.copy_expert(f'COPY "{table}" ({names}) FROM STDIN', io.StringIO(text))

    # -- schema introspection ------------------------------------------------------------------

    def describe_schema(self, schema_name: str | None = None) -> Schema:
        from .postgres_schema import describe_postgres

        return describe_postgres(self.db, schema_name or current_schema(self.db))

    def reference_schema(self, create: Callable[[peewee.Database], None]) -> Schema:
        # Built in a scratch schema inside a transaction that is rolled back: nothing remains.
        from .postgres_schema import describe_postgres

        db = self.db
        scratch_name = f"dashai_check_{uuid.uuid4().hex[:12]}"
        with db.atomic() as txn:
            db.execute_sql(f'CREATE SCHEMA "{scratch_name}"')
            db.execute_sql(f'SET LOCAL search_path TO "{scratch_name}"')
            create(db)
            result = describe_postgres(db, scratch_name)
            txn.rollback()
        return result


__all__ = ["PostgresBackend", "PostgresMetricWriter", "current_schema"]
