"""The migration runner: version table, lock, preflight, backup, one transaction per step.

Rules (DESIGN section 5):

* Steps come from the static registry in ``dashai_store.migrations`` (``migrations/`` in
  the repository), applied in order; the applied ones are recorded in
  ``dashai_schema_migration`` (sequence, id, checksum, applied_at, library version,
  duration) and, on SQLite, the head's sequence is mirrored into ``PRAGMA user_version``.
* The state is read without writing anything first. A database holding a step this code
  does not know was made by a newer version: it is refused (:class:`SchemaTooNew`) with
  no write at all.
* Before applying anything: an integrity check, a free-space check and a backup copy in
  ``<home>/backups/`` (``VACUUM INTO``). The user's database is never deleted or recreated.
* Each step runs in its own transaction, entered with none open. On SQLite foreign keys
  are switched off before BEGIN (a table rebuild must not cascade-delete child rows),
  ``PRAGMA foreign_key_check`` runs before COMMIT, and they are switched back on after.
* A failing step is rolled back; the database keeps its previous version and the error
  names the step and the backup.
* Two processes starting at once: a file lock beside the SQLite database (an advisory
  lock on PostgreSQL) lets one migrate; the other waits, re-reads, and finds nothing to do.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import re
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, closing
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from urllib.parse import quote

import peewee

from . import errors, legacy
from ._version import __version__
from .database import (
    DB_FILENAME,
    connect_postgres,
    connect_sqlite,
    is_postgres,
    resolve_home,
)
from .locks import advisory_lock, file_lock
from .preflight import check_and_back_up

VERSION_TABLE = "dashai_schema_migration"
LOCK_TIMEOUT_S = 600.0
_STEP_ID = re.compile(r"^(\d{4})_[a-z0-9_]+$")

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TOO_NEW = 0, 1, 2, 3


# -- steps -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One registered migration module."""

    sequence: int
    id: str
    module: ModuleType

    @property
    def checksum(self) -> str:
        """sha256 of the step's source; empty where no source ships (a frozen bundle)."""
        try:
            source = inspect.getsource(self.module)
        except (OSError, TypeError):
            return ""
        return hashlib.sha256(source.encode()).hexdigest()


def steps_from(registry: Sequence[ModuleType]) -> tuple[Step, ...]:
    """Validate a registry: ids ``NNNN_name`` numbered 1, 2, 3, ... each with ``upgrade``."""
    steps = []
    for index, module in enumerate(registry, start=1):
        step_id = getattr(module, "ID", None)
        match = _STEP_ID.match(step_id) if isinstance(step_id, str) else None
        if match is None or int(match.group(1)) != index:
            raise errors.MigrationError(
                f"migration module {module.__name__} has ID {step_id!r}; expected {index:04d}_<name>"
            )
        if not callable(getattr(module, "upgrade", None)):
            raise errors.MigrationError(f"migration {step_id} has no upgrade(migrator, db)")
        steps.append(Step(index, str(step_id), module))
    return tuple(steps)


def default_steps() -> tuple[Step, ...]:
    from .migration_registry import load_registry

    return steps_from(load_registry())


# -- status ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AppliedStep:
    sequence: int
    id: str
    checksum: str
    applied_at: str
    library_version: str
    duration_ms: float


@dataclass(frozen=True)
class MigrationStatus:
    """What the database holds and what this code would do to it."""

    database: str
    exists: bool
    tables: tuple[str, ...]
    legacy: bool
    applied: tuple[AppliedStep, ...]
    pending: tuple[Step, ...]
    unknown: tuple[AppliedStep, ...]
    checksum_mismatches: tuple[str, ...]

    @property
    def head(self) -> str | None:
        return self.applied[-1].id if self.applied else None

    @property
    def up_to_date(self) -> bool:
        return not self.pending and not self.unknown

    @property
    def foreign(self) -> bool:
        """Tables present, but neither ours nor DashAI's legacy schema."""
        return bool(self.tables) and not self.applied and not self.legacy


@dataclass(frozen=True)
class StepResult:
    id: str
    duration_ms: float


@dataclass(frozen=True)
class MigrationResult:
    applied: tuple[StepResult, ...]
    head: str | None
    backup: Path | None


def _applied_from_rows(rows: Sequence[Sequence[object]]) -> tuple[AppliedStep, ...]:
    return tuple(
        AppliedStep(int(str(r[0])), str(r[1]), str(r[2]), str(r[3]), str(r[4]), float(str(r[5])))
        for r in rows
    )


_STATUS_SQL = (
    f"SELECT sequence, id, checksum, applied_at, library_version, duration_ms "
    f"FROM {VERSION_TABLE} ORDER BY sequence"
)


class Migrator:
    """Migrates one database. ``home`` holds the backups (and, for SQLite, the database)."""

    def __init__(
        self,
        home: Path,
        db: peewee.Database,
        steps: Sequence[Step] | None = None,
        lock_timeout_s: float = LOCK_TIMEOUT_S,
    ) -> None:
        self.home = home
        self.db = db
        self.steps = tuple(steps) if steps is not None else default_steps()
        self.lock_timeout_s = lock_timeout_s

    @property
    def postgres(self) -> bool:
        return is_postgres(self.db)

    @property
    def sqlite_path(self) -> Path:
        return Path(str(self.db.database))

    def describe_target(self) -> str:
        if self.postgres:
            return f"PostgreSQL database {self.db.database}"
        return str(self.sqlite_path)

    # -- reading, with no write ---------------------------------------------------------

    def _read_sqlite(self) -> tuple[bool, list[str], list[Sequence[object]]]:
        path = self.sqlite_path
        if not path.exists():
            return False, [], []
        uri = f"file:{quote(str(path))}?mode=ro"
        try:
            with closing(sqlite3.connect(uri, uri=True)) as conn:
                tables = [
                    r[0]
                    for r in conn.execute(
                        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                    )
                ]
                rows = conn.execute(_STATUS_SQL).fetchall() if VERSION_TABLE in tables else []
        except sqlite3.DatabaseError as exc:
            raise errors.DatabaseError(f"{path} cannot be read as a SQLite database: {exc}") from exc
        return True, tables, rows

    def _read_postgres(self) -> tuple[bool, list[str], list[Sequence[object]]]:
        tables = [
            r[0]
            for r in self.db.execute_sql(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            ).fetchall()
        ]
        rows = self.db.execute_sql(_STATUS_SQL).fetchall() if VERSION_TABLE in tables else []
        return True, tables, rows

    def status(self, verify_checksums: bool = False) -> MigrationStatus:
        """Read the database's migration state without writing to it."""
        try:
            exists, tables, rows = self._read_postgres() if self.postgres else self._read_sqlite()
        except peewee.DatabaseError as exc:
            raise errors.DatabaseError(f"cannot read {self.describe_target()}: {exc}") from exc
        applied = _applied_from_rows(rows)
        known = {step.id: step for step in self.steps}
        applied_ids = {a.id for a in applied}
        # The legacy adoption is recorded (sequence 0) but is no registry step.
        unknown = tuple(a for a in applied if a.id not in known and a.id != legacy.ADOPTION_ID)
        pending = tuple(s for s in self.steps if s.id not in applied_ids)
        mismatches: list[str] = []
        if verify_checksums:
            for a in applied:
                step = known.get(a.id)
                if step is not None and a.checksum and step.checksum and a.checksum != step.checksum:
                    mismatches.append(a.id)
        return MigrationStatus(
            database=self.describe_target(),
            exists=exists,
            tables=tuple(sorted(tables)),
            legacy="alembic_version" in tables and VERSION_TABLE not in tables,
            applied=applied,
            pending=pending,
            unknown=unknown,
            checksum_mismatches=tuple(mismatches),
        )

    def _refuse_unusable(self, status: MigrationStatus, adopt_legacy: bool = False) -> None:
        if status.unknown:
            names = ", ".join(a.id for a in status.unknown)
            raise errors.SchemaTooNew(
                f"{status.database} was migrated by a newer dashai_store (unknown step(s): {names}; "
                f"this is {__version__}, whose last step is {self.steps[-1].id if self.steps else '-'}). "
                "Nothing was written; update the application."
            )
        if status.legacy and (self.postgres or not adopt_legacy):
            raise errors.SchemaError(
                f"{status.database} is a legacy DashAI (Alembic) database. Nothing was written. "
                + (
                    "Only a legacy SQLite home can be adopted."
                    if self.postgres
                    else "Run scripts/migrate.py (or open_store with migrate=True) to adopt it; "
                    "scripts/migrate.py --dry-run shows the plan."
                )
            )
        if status.foreign:
            raise errors.SchemaError(
                f"{status.database} holds tables ({', '.join(status.tables[:5])}...) but no "
                f"{VERSION_TABLE} table: it was not made by dashai_store. Nothing was written."
            )

    # -- writing ----------------------------------------------------------------------------

    def lock(self) -> AbstractContextManager[None]:
        if self.postgres:
            return advisory_lock(self.db, self.lock_timeout_s, "migration")
        self.home.mkdir(parents=True, exist_ok=True)
        lock_path = self.sqlite_path.with_name(self.sqlite_path.name + ".migrate.lock")
        return file_lock(lock_path, self.lock_timeout_s, "migration")

    def migrate(
        self,
        on_step: Callable[[StepResult], None] | None = None,
        on_backup: Callable[[Path], None] | None = None,
    ) -> MigrationResult:
        """Apply every pending step. Raises SchemaTooNew, MigrationError, MigrationLockTimeout.

        A legacy DashAI (Alembic) SQLite database is first adopted (:mod:`dashai_store.legacy`).
        """
        status = self.status()
        self._refuse_unusable(status, adopt_legacy=True)
        if status.legacy:
            from .legacy.adoption import check_adoptable

            check_adoptable(self.sqlite_path)  # before the lock: a refusal creates no file
        unfinished = not self.postgres and legacy.has_pending(self.home)
        if not status.pending and not unfinished:
            return MigrationResult((), status.head, None)
        with self.lock():
            status = self.status()  # another process may have migrated while we waited
            self._refuse_unusable(status, adopt_legacy=True)
            results: list[StepResult] = []
            backup: Path | None = None
            if status.legacy:
                from .legacy import adoption

                adopted = adoption.adopt(
                    self.home,
                    self.sqlite_path,
                    self.steps[0],
                    VERSION_TABLE,
                    self._version_table_sql(),
                    on_backup,
                    later_steps=self.steps[1:],  # legacy rows may need them (see adoption)
                )
                backup = adopted.backup
                for result in (
                    StepResult(legacy.ADOPTION_ID, adopted.duration_ms),
                    StepResult(self.steps[0].id, adopted.initial_ms),
                    *(StepResult(step_id, ms) for step_id, ms in adopted.later),
                ):
                    results.append(result)
                    if on_step is not None:
                        on_step(result)
                status = self.status()
            elif not self.postgres:
                from .legacy.adoption import finish_pending

                finish_pending(self.home)  # an adoption's file moves a crash interrupted
            if not status.pending:
                return MigrationResult(tuple(results), status.head, backup)
            backup = self._preflight(status) or backup
            if backup is not None and on_backup is not None and not results:
                on_backup(backup)
            for step in status.pending:
                try:
                    result = self._apply(step)
                except Exception as exc:
                    where = f"; the backup taken before migrating is {backup}" if backup else ""
                    raise errors.MigrationError(
                        f"migration {step.id} failed and was rolled back: "
                        f"{type(exc).__name__}: {exc}. {self.describe_target()} is still at "
                        f"{results[-1].id if results else status.head or 'no version (empty)'}{where}",
                        step=step.id,
                        backup=str(backup) if backup else None,
                    ) from exc
                results.append(result)
                if on_step is not None:
                    on_step(result)
            return MigrationResult(tuple(results), results[-1].id, backup)

    def _preflight(self, status: MigrationStatus) -> Path | None:
        """Integrity check, free-space check and backup; returns the backup path (SQLite)."""
        if self.postgres or not status.exists or not status.tables:
            return None
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        return check_and_back_up(
            self.db,
            self.sqlite_path,
            self.home,
            f"db-{stamp}-{status.head or 'empty'}.sqlite",
            action="migrated",
        )

    def _version_table_sql(self) -> str:
        real = "DOUBLE PRECISION" if self.postgres else "REAL"
        return (
            f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (sequence INTEGER PRIMARY KEY, "
            "id TEXT NOT NULL UNIQUE, checksum TEXT NOT NULL, applied_at TEXT NOT NULL, "
            f"library_version TEXT NOT NULL, duration_ms {real} NOT NULL)"
        )

    def _apply(self, step: Step) -> StepResult:
        from playhouse.migrate import SchemaMigrator

        db = self.db
        schema_migrator = SchemaMigrator.from_database(db)
        if db.in_transaction():
            raise errors.MigrationError(f"migration {step.id} must start with no transaction open")
        if isinstance(db, peewee.SqliteDatabase):
            db.pragma("foreign_keys", 0)
        try:
            started = time.perf_counter()
            with db.atomic():
                db.execute_sql(self._version_table_sql())
                sequences = self._sqlite_sequences()
                step.module.upgrade(schema_migrator, db)
                self._keep_sqlite_sequences(sequences)
                if not self.postgres:
                    violations = db.execute_sql("PRAGMA foreign_key_check").fetchall()
                    if violations:
                        raise errors.IntegrityError(
                            f"{len(violations)} foreign-key violation(s) after the step, e.g. "
                            f"table {violations[0][0]} rowid {violations[0][1]} -> {violations[0][2]}"
                        )
                duration_ms = (time.perf_counter() - started) * 1000
                p = db.param
                db.execute_sql(
                    f"INSERT INTO {VERSION_TABLE} (sequence, id, checksum, applied_at, "
                    f"library_version, duration_ms) VALUES ({p}, {p}, {p}, {p}, {p}, {p})",
                    (
                        step.sequence,
                        step.id,
                        step.checksum,
                        datetime.now(timezone.utc).isoformat(timespec="microseconds"),
                        __version__,
                        duration_ms,
                    ),
                )
                if not self.postgres:
                    db.execute_sql(f"PRAGMA user_version = {int(step.sequence)}")
        finally:
            if isinstance(db, peewee.SqliteDatabase):
                db.pragma("foreign_keys", 1)
        return StepResult(step.id, duration_ms)

    def _sqlite_sequences(self) -> dict[str, int]:
        """SQLite's AUTOINCREMENT high-water marks (empty on PostgreSQL)."""
        if self.postgres:
            return {}
        db = self.db
        if not db.execute_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone():
            return {}
        return {str(name): int(seq) for name, seq in db.execute_sql("SELECT name, seq FROM sqlite_sequence")}

    def _keep_sqlite_sequences(self, before: dict[str, int]) -> None:
        """Put back high-water marks a step lowered.

        A table rebuild (copy, DROP, rename) resets the table's sqlite_sequence row to the
        highest id still present, so the id of a row deleted earlier would be handed out
        again and a new row would meet the old row's files.
        """
        db = self.db
        for name, seq in before.items():
            if not db.execute_sql(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
            ).fetchone():
                continue  # the step dropped the table for good
            row = db.execute_sql("SELECT seq FROM sqlite_sequence WHERE name = ?", (name,)).fetchone()
            if row is None:
                db.execute_sql("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (name, seq))
            elif int(row[0]) < seq:
                db.execute_sql("UPDATE sqlite_sequence SET seq = ? WHERE name = ?", (seq, name))

    def drift(self) -> list[str]:
        from .schema import drift

        return drift(self.db)


# -- the command line (scripts/migrate.py and `dashai-store migrate`) ----------------------


def open_target(home: str | None, database: str | None) -> tuple[Path, peewee.Database]:
    """The home and an unbound database for ``--home`` / ``--database``."""
    home_path = resolve_home(home)
    if database:
        return home_path, connect_postgres(database)
    return home_path, connect_sqlite(home_path / DB_FILENAME)


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--home", help="store home folder (default: $DASHAI_HOME or ~/.DashAI)")
    parser.add_argument("--database", metavar="URL", help="a postgresql:// URL instead of <home>/db.sqlite")


def build_parser(prog: str = "migrate.py") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Bring a DashAI store's database to the current schema (run at every start).",
        epilog="Exit codes: 0 up to date or migrated; 1 a step failed (rolled back); "
        "2 bad usage; 3 the database is newer than this code.",
    )
    add_target_arguments(parser)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--status", action="store_true", help="show the applied and pending steps")
    mode.add_argument("--check", action="store_true", help="compare the schema with the models")
    mode.add_argument("--dry-run", action="store_true", help="show what would be applied; write nothing")
    mode.add_argument("--history", action="store_true", help="list the applied steps")
    parser.add_argument(
        "--lock-timeout",
        type=float,
        default=LOCK_TIMEOUT_S,
        metavar="SECONDS",
        help="how long to wait for another process's migration (default %(default)s)",
    )
    return parser


def run(
    args: argparse.Namespace, steps: Sequence[Step] | None = None, out: Callable[[str], None] = print
) -> int:
    """Carry out a parsed migrate command; returns the exit code."""
    try:
        home, db = open_target(args.home, args.database)
    except errors.StoreError as exc:
        out(f"error: {exc}")
        return EXIT_USAGE
    migrator = Migrator(home, db, steps, lock_timeout_s=args.lock_timeout)
    try:
        if args.check:
            status = migrator.status()
            migrator._refuse_unusable(status)
            if status.pending:
                out(f"{status.database}: {len(status.pending)} step(s) not applied; run migrate first")
                return EXIT_FAILED
            problems = migrator.drift()
            for problem in problems:
                out(f"drift: {problem}")
            out("schema matches the models" if not problems else f"{len(problems)} difference(s)")
            return EXIT_FAILED if problems else EXIT_OK
        if args.status or args.dry_run or args.history:
            status = migrator.status(verify_checksums=True)
            if args.history:
                for a in status.applied:
                    out(
                        f"{a.sequence:4d} {a.id:<32} {a.applied_at}  {a.duration_ms:8.1f} ms  "
                        f"dashai_store {a.library_version}"
                    )
                return EXIT_TOO_NEW if status.unknown else EXIT_OK
            out(f"database: {status.database}")
            out(f"current version: {status.head or '(none)'}")
            for a in status.unknown:
                out(f"unknown step (newer code): {a.id}")
            for name in status.checksum_mismatches:
                out(f"warning: step {name} changed since it was applied (checksum differs)")
            for step in status.pending:
                out(f"{'would apply' if args.dry_run else 'pending'}: {step.id}")
            if status.unknown:
                out("refused: the database is newer than this code")
                return EXIT_TOO_NEW
            if status.legacy and not migrator.postgres:
                if not _print_adoption_plan(migrator, out):
                    return EXIT_FAILED
                out("dry run: nothing was written" if args.dry_run else "run without --status to adopt it")
                return EXIT_OK
            if status.legacy or status.foreign:
                try:
                    migrator._refuse_unusable(status)
                except errors.SchemaError as exc:
                    out(f"refused: {exc}")
                    return EXIT_FAILED
            out("up to date" if not status.pending else f"{len(status.pending)} step(s) pending")
            return EXIT_OK
        return _migrate(migrator, out)
    except errors.SchemaTooNew as exc:
        out(f"refused: {exc}")
        return EXIT_TOO_NEW
    except errors.StoreError as exc:
        out(f"error: {exc}")
        return EXIT_FAILED
    finally:
        db.close()


def _print_adoption_plan(migrator: Migrator, out: Callable[[str], None]) -> bool:
    """Print what adopting the legacy database would do; False (after saying why) if it cannot."""
    from .legacy.adoption import describe, plan

    try:
        found = plan(migrator.home, migrator.sqlite_path)
    except errors.SchemaError as exc:
        out(f"refused: {exc}")
        return False
    for line in describe(found, migrator.home, migrator.sqlite_path):
        out(line)
    return True


def _migrate(migrator: Migrator, out: Callable[[str], None]) -> int:
    def on_step(result: StepResult) -> None:
        out(f"applied {result.id} in {result.duration_ms:.1f} ms")

    def on_backup(path: Path) -> None:
        out(f"backup: {path}")

    status = migrator.status()
    if status.legacy and not migrator.postgres:
        out("a legacy DashAI database was found: adopting it")
        if not _print_adoption_plan(migrator, out):
            return EXIT_FAILED
    try:
        result = migrator.migrate(on_step=on_step, on_backup=on_backup)
    except errors.MigrationError as exc:
        out(f"error: {exc}")
        if exc.backup:
            out(f"backup: {exc.backup}")
        return EXIT_FAILED
    if result.applied:
        out(f"schema version: {result.head} ({len(result.applied)} step(s) applied)")
    else:
        out(f"schema version: {result.head} (up to date)")
    return EXIT_OK


def main(argv: Sequence[str] | None = None, steps: Sequence[Step] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage and 0 on --help
        return int(exc.code or 0)
    return run(args, steps, out=lambda line: print(line, flush=True))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
