"""The migration runner: version table, lock, preflight, backup, one transaction per step.

Rules (docs/ARCHITECTURE.md, "Migrations"):

* Steps come from the static registry in ``dashai_store.migrations`` (``migrations/`` in
  the repository), applied in order; the applied ones are recorded in
  ``dashai_schema_migration`` (sequence, id, checksum, applied_at, library version,
  duration) and, on SQLite, the head's sequence is mirrored into ``PRAGMA user_version``.
* The state is read without writing anything first. A database holding a step this code
  does not know was made by a newer version: it is refused (:class:`SchemaTooNew`) with
  no write at all.
* Before applying anything: an integrity check, a free-space check and a backup copy in
  ``<home>/backups/`` (``VACUUM INTO``). The user's database is never deleted or recreated.
* Each step runs in its own transaction, entered with none open, inside Peewee's
  ``migration_context()`` (on SQLite it switches foreign keys off before BEGIN and back on
  after: a table rebuild must not cascade-delete child rows); the backend checks the
  foreign keys before COMMIT.
* A failing step is rolled back; the database keeps its previous version and the error
  names the step and the backup.
* Two processes starting at once: the backend's migration lock (a file lock beside the
  SQLite database, an advisory lock on PostgreSQL) lets one migrate; the other waits,
  re-reads, and finds nothing to do.

Whatever differs between SQLite and PostgreSQL is asked of the :class:`Backend` chosen
when the migrator is made. The command line is ``dashai_store.cli`` (``migrate_main``).
"""

from __future__ import annotations

import hashlib
import inspect
import re
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import peewee

from . import errors, legacy
from ._version import __version__
from .backends import backend_for

# Re-exported for dashai_store.demo and .maintenance, which import them from here.
from .versions import STATUS_SQL, VERSION_TABLE, VersionRow, record_versions

LOCK_TIMEOUT_S = 600.0
_STEP_ID = re.compile(r"^(\d{4})_[a-z0-9_]+$")


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
        self.backend = backend_for(db)
        self.steps = tuple(steps) if steps is not None else default_steps()
        self.lock_timeout_s = lock_timeout_s

    @property
    def database_file(self) -> Path:
        """The database file (a legacy home's, to adopt); SchemaError where there is none."""
        path = self.backend.path
        if path is None:
            raise errors.SchemaError(f"{self.describe_target()} is not a database file")
        return path

    def describe_target(self) -> str:
        return self.backend.describe_target()

    # -- reading, with no write ---------------------------------------------------------

    def status(self, verify_checksums: bool = False) -> MigrationStatus:
        """Read the database's migration state without writing to it."""
        try:
            exists, tables, rows = self.backend.read_migration_state(VERSION_TABLE, STATUS_SQL)
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

    def check_usable(self, status: MigrationStatus, adopt_legacy: bool = False) -> None:
        """Raise unless this code may use (or, with ``adopt_legacy``, migrate) the database.

        SchemaTooNew for a step this code does not know; SchemaError for a legacy DashAI
        database (unless it is to be adopted) or for tables dashai_store did not make.
        """
        if status.unknown:
            names = ", ".join(a.id for a in status.unknown)
            raise errors.SchemaTooNew(
                f"{status.database} was migrated by a newer dashai_store (unknown step(s): {names}; "
                f"this is {__version__}, whose last step is {self.steps[-1].id if self.steps else '-'}). "
                "Nothing was written; update the application."
            )
        adoptable = self.backend.can_adopt_legacy
        if status.legacy and (not adoptable or not adopt_legacy):
            raise errors.SchemaError(
                f"{status.database} is a legacy DashAI (Alembic) database. Nothing was written. "
                + (
                    "Only a legacy SQLite home can be adopted."
                    if not adoptable
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
        return self.backend.migration_lock(self.home, self.lock_timeout_s)

    def migrate(
        self,
        on_step: Callable[[StepResult], None] | None = None,
        on_backup: Callable[[Path], None] | None = None,
    ) -> MigrationResult:
        """Apply every pending step. Raises SchemaTooNew, MigrationError, MigrationLockTimeout.

        A legacy DashAI (Alembic) SQLite database is first adopted (:mod:`dashai_store.legacy`).
        """
        status = self.status()
        self.check_usable(status, adopt_legacy=True)
        if status.legacy:
            from .legacy.adoption import check_adoptable

            check_adoptable(self.database_file)  # before the lock: a refusal creates no file
        unfinished = self.backend.can_adopt_legacy and legacy.has_pending(self.home)
        if not status.pending and not unfinished:
            return MigrationResult((), status.head, None)
        with self.lock():
            status = self.status()  # another process may have migrated while we waited
            self.check_usable(status, adopt_legacy=True)
            results: list[StepResult] = []
            backup: Path | None = None
            if status.legacy:
                from .legacy import adoption

                adopted = adoption.adopt(self, on_backup)
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
            elif unfinished:
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
        """Integrity check, free-space check and backup (where the backend keeps one)."""
        if not status.exists or not status.tables:
            return None
        return self.backend.back_up_before_migrating(self.home, status.head or "empty")

    def _apply(self, step: Step) -> StepResult:
        from playhouse.migrate import SchemaMigrator

        db, backend = self.db, self.backend
        schema_migrator = SchemaMigrator.from_database(db)
        if db.in_transaction():
            raise errors.MigrationError(f"migration {step.id} must start with no transaction open")
        with schema_migrator.migration_context():
            started = time.perf_counter()
            marks = backend.autoincrement_marks()
            step.module.upgrade(schema_migrator, db)
            backend.restore_autoincrement_marks(marks)
            backend.check_foreign_keys("the step")
            duration_ms = (time.perf_counter() - started) * 1000
            record_versions(backend, [VersionRow(step.sequence, step.id, step.checksum, duration_ms)])
        return StepResult(step.id, duration_ms)

    def drift(self) -> list[str]:
        from .schema import drift

        return drift(self.db)
