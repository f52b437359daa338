"""The ``dashai-store`` command (also ``python -m dashai_store``).

    dashai-store migrate [--home DIR | --database URL] [--status | --check | --dry-run | --history]
    dashai-store status  [--home DIR | --database URL] [--json]
    dashai-store check   [--home DIR | --database URL] [--json] [--grace SECONDS]
    dashai-store gc      [--home DIR | --database URL] [--json] [--grace SECONDS] [--dry-run]
    dashai-store backup DEST [--home DIR | --database URL] [--json]
    dashai-store backups [--home DIR] [--json]
    dashai-store restore BACKUP [--home DIR] [--json]
    dashai-store export-metrics RUN_ID --output FILE [--format csv|arrow] [--json]
    dashai-store copy --home SRC [--database URL] --to-home DEST [--to-database URL] [--json] [--quiet]
    dashai-store export  (--dataset ID | --model-session ID | --run ID | --notebook ID
                          | --generative-session ID)... | --everything  -o FILE.dashai
                         [--home DIR | --database URL] [--json] [--quiet]
    dashai-store import  FILE.dashai [--home DIR] [--database URL] [--trust] [--once] [--json]
    dashai-store demo    [--home DIR] [--database URL] [--json] [--quiet]

Human-readable results go to stdout (``--json``: one JSON document instead), progress of
long operations to stderr (``--quiet`` silences it), errors to stderr.

Exit codes: 0 success; 1 ``check`` found problems, or an operation failed or was
incomplete; 2 bad usage; 3 the database was made by a newer dashai_store; 4 no usable store
(the home is missing or not a folder, ``db.sqlite`` is not a SQLite database, the database
cannot be reached, or it needs ``dashai-store migrate``); 5 the run given to
``export-metrics`` (or a piece given to ``export``, or the file given to ``import``) does not
exist; 6 this Python lacks a dependency (the message names the
interpreter and what to install); 7 the home holds the store's files but its database is
missing or empty (``DatabaseLost``: nothing written; the message names the backups found
and ``dashai-store restore``; ``migrate --new-store`` starts an empty store anyway). Every
command that meets a database made by a newer version exits 3, ``status`` included.
``import`` exits 3 for a bundle written by a newer dashai_store, 1 for a tampered,
truncated or malformed one and for ``--once`` meeting a bundle imported before (nothing is
written in each case). ``restore`` exits 1 when the store is in use or the backup fails its integrity check, 2
for a backup that is not a restorable SQLite file, 3 for one made by a newer dashai_store
(never for a legacy DashAI backup). ``migrate``
keeps the codes of ``scripts/migrate.py`` (0, 1, 2, 3, 6, 7), plus 4 for a home that is not
a folder; :func:`migrate_main` is ``scripts/migrate.py`` itself. ``demo`` exits 2 for a
home it will not use (not empty and not an earlier demo home). ``copy`` exits 1 for a
destination that is not empty (nothing written) or a failed copy (run it again to finish
it), 2 for a source and destination that overlap, 3 for a source or destination made by a
newer dashai_store, 4 for no store at SRC or one that needs ``dashai-store migrate``, 7 for
a source whose database is lost.

Only argparse is imported up front; each command imports what it needs, so
``dashai-store --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from .database import Store
    from .migrator import Migrator, Step, StepResult

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TOO_NEW, EXIT_NO_STORE, EXIT_NOT_FOUND = 0, 1, 2, 3, 4, 5
EXIT_MISSING_DEPENDENCY = 6
EXIT_DATABASE_LOST = 7
# What a missing top-level module means: the distribution that provides it.
DEPENDENCIES = {
    "peewee": "peewee",
    "playhouse": "peewee",
    "pyarrow": "pyarrow",
    "joblib": "joblib",
    "plotly": "plotly",
    "psycopg2": "psycopg2-binary (pip install 'dashai-store[postgres]')",
    "dashai_store": "dashai-store",
}
SQLITE_HEADER = b"SQLite format 3\x00"
PROG = "dashai-store"


class CommandError(Exception):
    """Ends a command with a message on stderr and an exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _fail(message: str, code: int) -> NoReturn:
    raise CommandError(message, code)


# -- progress on stderr --------------------------------------------------------------------


class StderrProgress:
    """``progress(phase, done, total)`` printing at most one line per phase every 0.5 s."""

    def __init__(self, command: str, quiet: bool) -> None:
        self.command = command
        self.quiet = quiet
        self.last: dict[str, float] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        final = total > 0 and done >= total
        if not final and now - self.last.get(phase, 0.0) < 0.5:
            return
        self.last[phase] = now
        amount = f"{done}/{total}" if total else f"{done}"
        if phase in ("files", "database") and total:
            amount += f" ({100 * done // total}%)"
        print(f"{self.command}: {phase} {amount}", file=sys.stderr, flush=True)


# -- opening the target ----------------------------------------------------------------------


def _validate_home(home: str | None, database: str | None, *, must_exist: bool) -> Path:
    """The resolved home, after refusing what cannot be a store (exit code 4)."""
    from .database import DB_FILENAME, resolve_home

    path = resolve_home(home)
    if path.exists() and not path.is_dir():
        _fail(f"store home {path} is not a folder", EXIT_NO_STORE)
    if database:  # the database is the store; the home (its files) may not exist yet
        return path
    if must_exist and not path.is_dir():
        _fail(f"no store at {path}: the folder does not exist", EXIT_NO_STORE)
    db_file = path / DB_FILENAME
    if must_exist and not db_file.exists():
        from .maintenance.lost import has_managed_data, lost_error

        if has_managed_data(path):
            _fail(str(lost_error(path, str(db_file))), EXIT_DATABASE_LOST)
        _fail(
            f"no store at {path}: {db_file} does not exist (run `{PROG} migrate` to create one)",
            EXIT_NO_STORE,
        )
    if db_file.exists():
        if not db_file.is_file():
            _fail(f"{db_file} is not a file", EXIT_NO_STORE)
        try:
            with db_file.open("rb") as handle:
                header = handle.read(len(SQLITE_HEADER))
        except OSError as exc:
            _fail(f"cannot read {db_file}: {exc}", EXIT_NO_STORE)
        if header and header != SQLITE_HEADER:
            _fail(f"{db_file} is not a SQLite database", EXIT_NO_STORE)
    return path


def _open(args: argparse.Namespace, *, finish_deletions: bool = True, create: bool = False) -> Store:
    """The store the command names; ``create``: a new home is made and migrated, as the app's
    start would (``import`` into a fresh install), where read-only commands refuse it."""
    from . import errors
    from .store import open_store

    home = _validate_home(args.home, args.database, must_exist=not create)
    try:
        return open_store(home, database=args.database, migrate=create, finish_deletions=finish_deletions)
    except errors.SchemaTooNew as exc:
        _fail(str(exc), EXIT_TOO_NEW)
    except errors.SchemaOutdated as exc:
        _fail(f"{exc} (`{PROG} migrate`)", EXIT_NO_STORE)
    except errors.DatabaseLost as exc:
        _fail(str(exc), EXIT_DATABASE_LOST)
    except errors.StoreError as exc:
        _fail(f"cannot open the store at {home}: {exc}", EXIT_NO_STORE)


def _emit(args: argparse.Namespace, document: dict[str, Any], lines: Sequence[str]) -> None:
    if args.json:
        print(json.dumps(document, indent=2, default=str))
    else:
        for line in lines:
            print(line)


def _rel(home: Path, path: Path) -> str:
    try:
        return path.relative_to(home).as_posix()
    except ValueError:
        return str(path)


# -- commands ---------------------------------------------------------------------------------


def build_migrate_parser(prog: str = "migrate.py") -> argparse.ArgumentParser:
    """The parser of ``scripts/migrate.py`` and ``dashai-store migrate``."""
    from .migrator import LOCK_TIMEOUT_S

    parser = argparse.ArgumentParser(
        prog=prog,
        description="Bring a DashAI store's database to the current schema (run at every start).",
        epilog="Exit codes: 0 up to date or migrated; 1 a step failed (rolled back); "
        "2 bad usage; 3 the database is newer than this code; 7 the database is lost "
        "(missing or empty beside the store's files).",
    )
    _common(parser, json_flag=False, quiet=False)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--status", action="store_true", help="show the applied and pending steps")
    mode.add_argument("--check", action="store_true", help="compare the schema with the models")
    mode.add_argument("--dry-run", action="store_true", help="show what would be applied; write nothing")
    mode.add_argument("--history", action="store_true", help="list the applied steps")
    parser.add_argument(
        "--new-store",
        action="store_true",
        help="start a new, empty store even though the home holds files of a lost database",
    )
    parser.add_argument(
        "--lock-timeout",
        type=float,
        default=LOCK_TIMEOUT_S,
        metavar="SECONDS",
        help="how long to wait for another process's migration (default %(default)s)",
    )
    return parser


def run_migrate(
    args: argparse.Namespace, steps: Sequence[Step] | None = None, out: Callable[[str], None] = print
) -> int:
    """Carry out a parsed migrate command; returns the exit code (0, 1, 2 or 3)."""
    from . import errors
    from .database import open_target
    from .migrator import Migrator

    try:
        home, db = open_target(args.home, args.database)
    except errors.StoreError as exc:
        out(f"error: {exc}")
        return EXIT_USAGE
    migrator = Migrator(home, db, steps, lock_timeout_s=args.lock_timeout)
    try:
        if args.check:
            status = migrator.status()
            migrator.check_usable(status)
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
            if status.legacy and migrator.backend.can_adopt_legacy:
                if not _print_adoption_plan(migrator, out):
                    return EXIT_FAILED
                out("dry run: nothing was written" if args.dry_run else "run without --status to adopt it")
                return EXIT_OK
            if status.legacy or status.foreign:
                try:
                    migrator.check_usable(status)
                except errors.SchemaError as exc:
                    out(f"refused: {exc}")
                    return EXIT_FAILED
            out("up to date" if not status.pending else f"{len(status.pending)} step(s) pending")
            return EXIT_OK
        return _migrate(migrator, out, new_store=args.new_store)
    except errors.SchemaTooNew as exc:
        out(f"refused: {exc}")
        return EXIT_TOO_NEW
    except errors.DatabaseLost as exc:
        out(f"refused: {exc}")
        return EXIT_DATABASE_LOST
    except errors.StoreError as exc:
        out(f"error: {exc}")
        return EXIT_FAILED
    finally:
        db.close()


def _print_adoption_plan(migrator: Migrator, out: Callable[[str], None]) -> bool:
    """Print what adopting the legacy database would do; False (after saying why) if it cannot."""
    from . import errors
    from .legacy.adoption import describe, plan

    try:
        found = plan(migrator.home, migrator.database_file)
    except errors.SchemaError as exc:
        out(f"refused: {exc}")
        return False
    for line in describe(found, migrator.home, migrator.database_file):
        out(line)
    return True


def _migrate(migrator: Migrator, out: Callable[[str], None], new_store: bool = False) -> int:
    from . import errors

    def on_step(result: StepResult) -> None:
        out(f"applied {result.id} in {result.duration_ms:.1f} ms")

    def on_backup(path: Path) -> None:
        out(f"backup: {path}")

    from .maintenance.lost import refuse_if_lost

    status = migrator.status()
    refuse_if_lost(migrator.home, status.database, status.tables, new_store)
    if status.legacy and migrator.backend.can_adopt_legacy:
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


def migrate_main(argv: Sequence[str] | None = None, steps: Sequence[Step] | None = None) -> int:
    """``scripts/migrate.py``: migrate (or inspect) a store's database; returns the exit code.

    0 up to date or migrated; 1 a step failed (rolled back, backup kept); 2 bad usage;
    3 the database was made by a newer version (nothing written); 6 this Python lacks a
    dependency (nothing written); 7 the database is lost (missing or empty beside the
    store's files; nothing written).
    """
    try:
        parser = build_migrate_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # argparse exits 2 on bad usage and 0 on --help
            return int(exc.code or 0)
        return run_migrate(args, steps, out=lambda line: print(line, flush=True))
    except ModuleNotFoundError as exc:
        return _report_missing(exc, "migrate.py")


def cmd_migrate(argv: Sequence[str]) -> int:
    parser = build_migrate_parser(prog=f"{PROG} migrate")
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exc:
        return int(exc.code or 0)
    _validate_home(args.home, args.database, must_exist=False)

    def out(line: str) -> None:
        # Per-step lines are progress (stderr); the outcome goes to stdout.
        progress = line.startswith(("applied ", "backup: "))
        print(line, file=sys.stderr if progress else sys.stdout, flush=True)

    return run_migrate(args, out=out)


def cmd_status(args: argparse.Namespace) -> int:
    from . import errors
    from .database import open_target
    from .migrator import Migrator
    from .models import ALL_MODELS

    home = _validate_home(args.home, args.database, must_exist=True)
    home_path, db = open_target(str(home), args.database)
    try:
        migrator = Migrator(home_path, db)
        try:
            status = migrator.status()
            counts, size = _counts_and_size(migrator, [m._meta.table_name for m in ALL_MODELS], status.tables)
        except errors.StoreError as exc:
            _fail(str(exc), EXIT_NO_STORE)
        except Exception as exc:  # a driver error reaching the server
            _fail(f"cannot read {migrator.describe_target()}: {exc}", EXIT_NO_STORE)
    finally:
        db.close()
    file_count, file_bytes = _file_usage(home_path)
    document = {
        "home": str(home_path),
        "backend": "postgresql" if args.database else "sqlite",
        "database": status.database,
        "schema": {
            "head": status.head,
            "pending": [step.id for step in status.pending],
            "unknown": [step.id for step in status.unknown],
            "up_to_date": status.up_to_date,
        },
        "tables": counts,
        "database_bytes": size,
        "files": {"count": file_count, "bytes": file_bytes},
    }
    lines = [
        f"home:           {home_path}",
        f"database:       {status.database} ({_human(size)})",
        f"schema version: {status.head or '(none)'}" + _schema_state(status),
        f"files:          {file_count} ({_human(file_bytes)})",
        "rows:",
        *(f"  {table:<26} {count:>10}" for table, count in counts.items()),
    ]
    _emit(args, document, lines)
    if status.unknown:
        return EXIT_TOO_NEW
    return EXIT_OK


def _schema_state(status: Any) -> str:
    if status.unknown:
        steps = ", ".join(step.id for step in status.unknown)
        return f", made by a newer dashai_store (unknown steps: {steps}); upgrade the app"
    if status.pending:
        return f", {len(status.pending)} step(s) pending"
    return ", up to date"


def _counts_and_size(
    migrator: Migrator, tables: list[str], present: Sequence[str]
) -> tuple[dict[str, int], int]:
    """Rows per table and the database's size, read without writing anything."""
    return migrator.backend.table_counts_and_size([t for t in tables if t in present])


def _file_usage(home: Path) -> tuple[int, int]:
    from .maintenance import MANAGED_ROOTS

    count = size = 0
    for root in MANAGED_ROOTS:
        for folder, _dirs, names in os.walk(home / root):
            for name in names:
                try:
                    size += (Path(folder) / name).lstat().st_size
                except OSError:
                    continue
                count += 1
    return count, size


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


def cmd_check(args: argparse.Namespace) -> int:
    from . import maintenance

    with _open(args, finish_deletions=False) as store:
        report = maintenance.check(grace_s=args.grace, progress=StderrProgress("check", args.quiet))
    home = store.home
    document = {
        "ok": report.ok,
        "home": str(home),
        "backend": report.backend,
        "integrity_checked": report.integrity_checked,
        "integrity_problems": list(report.integrity_problems),
        "foreign_key_violations": [
            {"table": v.table, "row_id": v.row_id, "parent": v.parent, "column": v.column}
            for v in report.foreign_key_violations
        ],
        "missing_files": [
            {
                "table": m.table,
                "row_id": m.row_id,
                "column": m.column,
                "path": _rel(home, m.path),
                "reason": m.reason,
            }
            for m in report.missing_files
        ],
        "unowned_files": [_rel(home, p) for p in report.unowned_files],
        "stale_temp_files": [_rel(home, p) for p in report.stale_temp_files],
        "pending_deletions": [_rel(home, p) for p in report.pending_deletions],
        "in_flight_deletions": [_rel(home, p) for p in report.in_flight_deletions],
        "partial_backups": [str(p) for p in report.partial_backups],
        "recent_files": [_rel(home, p) for p in report.recent_files],
        "bad_rows": [
            {"table": b.table, "row_id": b.row_id, "column": b.column, "problem": b.problem}
            for b in report.bad_rows
        ],
        "schema_drift": list(report.schema_drift),
        "notes": list(report.notes),
    }
    lines = [f"store {home} ({report.backend})"]
    if report.integrity_checked:
        lines.append("integrity: " + ("ok" if not report.integrity_problems else "PROBLEMS"))
        lines.extend(f"  {p}" for p in report.integrity_problems)
    lines.append(f"foreign keys: {len(report.foreign_key_violations) or 'ok'}")
    lines.extend(
        f"  {v.table} row {v.row_id} -> missing {v.parent} ({v.column or '?'})"
        for v in report.foreign_key_violations
    )
    lines.append(f"rows with missing files: {len(report.missing_files)}")
    lines.extend(
        f"  {m.table} {m.row_id} {m.column}: {_rel(home, m.path)} ({m.reason})" for m in report.missing_files
    )
    for title, paths in (
        ("files no row owns", report.unowned_files),
        ("stale temporary files", report.stale_temp_files),
        ("pending file deletions", report.pending_deletions),
        ("unfinished backups (.partial folders)", report.partial_backups),
    ):
        lines.append(f"{title}: {len(paths)}")
        lines.extend(f"  {_rel(home, p)}" for p in paths)
    lines.append(f"values that cannot be read: {len(report.bad_rows)}")
    lines.extend(f"  {b.table} {b.row_id} {b.column}: {b.problem}" for b in report.bad_rows)
    if report.schema_drift:
        lines.append(f"schema differs from this version's: {len(report.schema_drift)}")
        lines.extend(f"  {d}" for d in report.schema_drift)
    if report.in_flight_deletions:  # another process is deleting: work in progress, no problem
        lines.append(f"deletions in flight (not a problem): {len(report.in_flight_deletions)}")
    if report.recent_files:
        lines.append(f"not judged (younger than {args.grace:g} s): {len(report.recent_files)}")
    lines.extend(f"note: {n}" for n in report.notes)
    advice = maintenance.advice(report)
    document["advice"] = list(advice)
    lines.append("ok" if report.ok else "problems found:")
    lines.extend(f"  {a}" for a in advice)
    _emit(args, document, lines)
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_gc(args: argparse.Namespace) -> int:
    from . import maintenance

    with _open(args, finish_deletions=False) as store:
        report = maintenance.gc(
            grace_s=args.grace, dry_run=args.dry_run, progress=StderrProgress("gc", args.quiet)
        )
    home = store.home
    verb = "would remove" if report.dry_run else "removed"
    document = {
        "ok": report.ok,
        "dry_run": report.dry_run,
        "removed_files": [_rel(home, p) for p in report.removed_files],
        "removed_temp_files": [_rel(home, p) for p in report.removed_temp_files],
        "removed_folders": [_rel(home, p) for p in report.removed_folders],
        "finished_deletions": [_rel(home, p) for p in report.finished_deletions],
        "kept_referenced": [_rel(home, p) for p in report.kept_referenced],
        "failed": [{"path": _rel(home, p), "error": e} for p, e in report.failed],
        "bytes_freed": report.bytes_freed,
    }
    lines = [
        *(f"{verb} {_rel(home, p)}" for p in (*report.removed_files, *report.removed_temp_files)),
        *(f"finished deletion of {_rel(home, p)}" for p in report.finished_deletions),
        *(f"kept {_rel(home, p)} (a row refers to it)" for p in report.kept_referenced),
        *(f"FAILED {_rel(home, p)}: {e}" for p, e in report.failed),
        f"{verb} {len(report.removed_files)} unowned file(s), {len(report.removed_temp_files)} temporary "
        f"file(s), {len(report.removed_folders)} empty folder(s); finished {len(report.finished_deletions)} "
        f"deletion(s); {_human(report.bytes_freed)} freed",
    ]
    _emit(args, document, lines)
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_backup(args: argparse.Namespace) -> int:
    from . import errors, maintenance

    with _open(args):
        try:
            report = maintenance.backup(args.dest, progress=StderrProgress("backup", args.quiet))
        except errors.ValidationError as exc:
            _fail(str(exc), EXIT_USAGE)
    document = {
        "ok": report.ok,
        "path": str(report.path),
        "backend": report.backend,
        "database": str(report.database) if report.database else None,
        "schema_head": report.schema_head,
        "files": report.files,
        "bytes": report.bytes,
        "missing_files": list(report.missing_files),
        "changed_files": list(report.changed_files),
        "note": report.note,
    }
    lines = [
        f"backup: {report.path}",
        f"database: {report.database or 'not included'}; schema {report.schema_head}",
        f"files: {report.files} ({_human(report.bytes)})",
        *(f"missing (deleted before it could be copied): {p}" for p in report.missing_files),
        *(f"changed (replaced before it could be copied): {p}" for p in report.changed_files),
        f"note: {report.note}",
    ]
    _emit(args, document, lines)
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_backups(args: argparse.Namespace) -> int:
    from .maintenance import restore

    home = _validate_home(args.home, None, must_exist=False)
    entries = restore.backups(home)
    document = {
        "home": str(home),
        "backups": [
            {
                "path": str(e.path),
                "kind": e.kind,
                "created": e.created.isoformat(timespec="seconds") if e.created else None,
                "version": e.version,
                "size": e.size,
                "files": e.files,
            }
            for e in entries
        ],
    }
    lines = [
        f"{e.created.strftime('%Y-%m-%d %H:%M:%S') if e.created else '?':<19}  {e.kind:<14}  "
        f"{e.version or '-':<24} {_human(e.size):>10}  {_rel(home, e.path)}"
        for e in entries
    ] or [f"no backups in {home / 'backups'}"]
    _emit(args, document, lines)
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    from . import errors
    from .database import resolve_home
    from .maintenance import restore

    # Not _validate_home: a damaged or missing db.sqlite is what a restore repairs.
    home = resolve_home(args.home)
    if not home.is_dir():
        _fail(f"no store at {home}: the folder does not exist or is not a folder", EXIT_NO_STORE)
    try:
        result = restore.restore(args.backup, home=home)
    except errors.SchemaTooNew as exc:
        _fail(str(exc), EXIT_TOO_NEW)
    except (errors.NotFound, errors.UnsafePath) as exc:
        _fail(str(exc), EXIT_USAGE)
    except errors.FileIntegrityError as exc:
        _fail(str(exc), EXIT_FAILED)
    except errors.ValidationError as exc:
        _fail(str(exc), EXIT_USAGE)
    document = {
        "ok": True,
        "backup": str(result.backup),
        "kind": result.kind,
        "version": result.version,
        "database": str(result.database),
        "previous": str(result.previous) if result.previous else None,
        "set_aside_folder": str(result.set_aside_folder) if result.set_aside_folder else None,
        "set_aside": list(result.set_aside),
        "placed": list(result.placed),
        "notes": list(result.notes),
    }
    lines = [
        f"restored {result.kind} backup {result.backup} ({result.version or 'no version'})",
        f"database: {result.database}",
        f"the database that was in place: {result.previous or '(none)'}",
        *([f"files put back: {len(result.placed)}"] if result.placed else []),
        *(
            [f"moved aside into {result.set_aside_folder}: {len(result.set_aside)}"]
            if result.set_aside_folder
            else []
        ),
        *(f"note: {n}" for n in result.notes),
    ]
    _emit(args, document, lines)
    return EXIT_OK


def cmd_export_metrics(args: argparse.Namespace) -> int:
    from . import errors, metrics

    if args.output == "-" and args.format != "csv":
        _fail("--output - (stdout) is only possible with --format csv", EXIT_USAGE)
    if args.output == "-" and args.json:
        _fail("--json needs --output FILE (stdout holds the CSV)", EXIT_USAGE)
    with _open(args, finish_deletions=False):
        try:
            table = metrics.history_table(args.run_id)
        except errors.NotFound as exc:
            _fail(str(exc), EXIT_NOT_FOUND)
        except errors.StoreError as exc:
            _fail(str(exc), EXIT_FAILED)
    written = _write_table(table, args.format, args.output)
    document = {"run_id": args.run_id, "rows": table.num_rows, "format": args.format, "output": written}
    if args.output != "-":
        _emit(args, document, [f"wrote {table.num_rows} metric row(s) of run {args.run_id} to {written}"])
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from . import demo, errors

    progress = None if args.quiet else demo.stderr_progress
    try:
        summary = demo.run(args.home, database=args.database, progress=progress)
    except demo.DemoHomeRefused as exc:
        _fail(str(exc), EXIT_USAGE)
    except errors.SchemaTooNew as exc:
        _fail(str(exc), EXIT_TOO_NEW)
    except demo.DemoFailed as exc:
        _fail(f"the walkthrough failed: {exc}", EXIT_FAILED)
    _emit(args, demo.summary_document(summary), demo.summary_lines(summary))
    return EXIT_OK if summary.ok else EXIT_FAILED


def cmd_copy(args: argparse.Namespace) -> int:
    from . import errors
    from .home_copy import copy_home

    try:
        record = copy_home(
            args.home if args.home else os.environ.get("DASHAI_HOME") or "~/.DashAI",
            database=args.database,
            to_home=args.to_home,
            to_database=args.to_database,
            merge=args.merge,
            progress=StderrProgress("copy", args.quiet),
        )
    except errors.SchemaTooNew as exc:
        _fail(str(exc), EXIT_TOO_NEW)
    except errors.SchemaOutdated as exc:
        _fail(str(exc), EXIT_NO_STORE)
    except errors.DatabaseLost as exc:
        _fail(str(exc), EXIT_DATABASE_LOST)
    except errors.NotFound as exc:
        _fail(str(exc), EXIT_NO_STORE)
    except (errors.DestinationNotEmpty, errors.CopyUnfinished, errors.BundleRejected) as exc:
        _fail(str(exc), EXIT_FAILED)
    except errors.ValidationError as exc:
        _fail(str(exc), EXIT_USAGE)
    document = {
        "ok": record.ok,
        "source": record.source,
        "destination": record.destination,
        "backend": record.backend,
        "rows": record.rows,
        "files": record.files,
        "bytes": record.bytes,
        "skipped_files": record.skipped_files,
        "links": list(record.links),
        "damaged_files": list(record.damaged_files),
        "seconds": round(record.seconds, 3),
        "resumed": record.resumed,
        "already_done": record.already_done,
        "merged": record.merged,
    }
    if record.merged:
        verb = "already merged (the source is unchanged; nothing added)" if record.already_done else "merged"
    else:
        verb = "already copied (nothing to do)" if record.already_done else "copied"
    lines = [
        f"{verb}: {record.source} -> {record.destination}" + (" (resumed)" if record.resumed else ""),
        f"rows: {sum(record.rows.values())} in {sum(1 for n in record.rows.values() if n)} table(s)",
        f"files: {record.files} ({_human(record.bytes)})"
        + (f", {record.skipped_files} already there" if record.skipped_files else ""),
        *(f"symbolic link not copied: {p}" for p in record.links),
        *(
            f"damaged (differs from the checksum its row records; copied as is): {p}"
            for p in record.damaged_files
        ),
    ]
    _emit(args, document, lines)
    return EXIT_OK if record.ok else EXIT_FAILED


# -- bundles: export / import (dashai_store.bundles) --------------------------------------------------

_PIECE_OPTIONS = (
    ("--dataset", "datasets"),
    ("--model-session", "model_sessions"),
    ("--run", "runs"),
    ("--notebook", "notebooks"),
    ("--generative-session", "generative_sessions"),
)


def cmd_export(args: argparse.Namespace) -> int:
    from . import bundles, errors

    pieces = {kind: getattr(args, kind) or [] for _, kind in _PIECE_OPTIONS}
    if not args.everything and not any(pieces.values()):
        _fail("name at least one piece (--run ID, --dataset ID, ...) or --everything", EXIT_USAGE)
    if args.everything and any(pieces.values()):
        _fail("--everything exports every row; name no pieces with it", EXIT_USAGE)
    progress = None if args.quiet else StderrProgress("export", quiet=False)
    with _open(args, finish_deletions=False):
        try:
            record = bundles.export_bundle(
                args.output, everything=args.everything, progress=progress, **pieces
            )
        except errors.NotFound as exc:
            _fail(str(exc), EXIT_NOT_FOUND)
        except errors.ValidationError as exc:
            _fail(str(exc), EXIT_USAGE)
    document = {
        "path": str(record.path),
        "bundle_id": record.bundle_id,
        "size": record.size,
        "format_version": record.format_version,
        "schema": record.schema,
        "pieces": {kind: list(ids) for kind, ids in record.pieces.items()},
        "rows": record.rows,
        "files": record.files,
        "file_bytes": record.file_bytes,
    }
    lines = [
        f"wrote {record.path} ({_human(record.size)}): {sum(record.rows.values())} row(s), "
        f"{record.files} file(s) ({_human(record.file_bytes)}); schema {record.schema}",
        *(f"  {table:<26} {count:>10}" for table, count in record.rows.items()),
    ]
    _emit(args, document, lines)
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    from . import bundles, errors

    with _open(args, create=True):
        try:
            record = bundles.import_bundle(args.bundle, trust=args.trust, once=args.once)
        except errors.BundleTooNew as exc:
            _fail(str(exc), EXIT_TOO_NEW)
        except errors.NotFound as exc:
            _fail(str(exc), EXIT_NOT_FOUND)
        except (errors.BundleRejected, errors.AlreadyImported) as exc:
            _fail(str(exc), EXIT_FAILED)
    outside = sum(record.rows.get(t, 0) for t in ("run", "global_explainer", "local_explainer"))
    document = {
        "import_id": record.import_id,
        "path": str(record.path),
        "bundle_id": record.bundle_id,
        "trusted": record.trusted,
        "schema": record.schema,
        "rows": record.rows,
        "pieces": {kind: {str(old): new for old, new in ids.items()} for kind, ids in record.pieces.items()},
        "renamed": [
            {"table": r.table, "id": r.id, "name": r.name, "new_name": r.new_name} for r in record.renamed
        ],
        "files": record.files,
        "file_bytes": record.file_bytes,
    }
    lines = [
        f"imported {record.path} as import {record.import_id}: {sum(record.rows.values())} row(s), "
        f"{record.files} file(s) ({_human(record.file_bytes)})",
        *(
            f"  {kind[:-1].replace('_', ' ')} {old} -> {new}"
            for kind, ids in record.pieces.items()
            for old, new in ids.items()
        ),
        *(f"  renamed {r.table} {r.name!r} -> {r.new_name!r} (its name was taken)" for r in record.renamed),
    ]
    if outside and not record.trusted:
        lines.append(
            "note: models and explanations from this bundle load only when trusted "
            "(load_model(..., trust=True), or import again with --trust)"
        )
    _emit(args, document, lines)
    return EXIT_OK


def _add_bundle_commands(sub: Any) -> None:
    export = sub.add_parser(
        "export",
        help="write pieces of work (with their rows and files) to one portable .dashai file",
        description="Write the pieces named, with every row they need to stand alone and their "
        "files, to FILE.dashai (a zip with a manifest of sha256s). A run brings its model session "
        "and dataset, metrics, predictions and explainers; a notebook its converters, snapshots "
        "and explorers; a generative session its parameter history, processes and payloads. "
        "Exit code 5 when a piece does not exist.",
    )
    for option, kind in _PIECE_OPTIONS:
        export.add_argument(
            option, dest=kind, type=int, action="append", metavar="ID", help=f"one of the {kind} (repeatable)"
        )
    export.add_argument("--everything", action="store_true", help="every row of the store and its files")
    export.add_argument("--output", "-o", required=True, metavar="FILE", help="the .dashai file to write")
    _common(export)
    imp = sub.add_parser(
        "import",
        help="add the work in a .dashai file to this store (new ids, one transaction)",
        description="Check the bundle's manifest and every checksum, then add its rows and files "
        "in one transaction with new ids; names already taken get a suffix (iris -> iris (2)). "
        "Importing a file twice makes two copies unless --once. Models and explanations from a "
        "bundle are someone else's code: they load only when trusted (--trust). Exit code 3: "
        "the bundle is from a newer dashai_store; 1: it is damaged or tampered with, or --once "
        "found it imported before; nothing is written then.",
    )
    imp.add_argument("bundle", metavar="FILE", help="a .dashai file written by `dashai-store export`")
    imp.add_argument("--trust", action="store_true", help="let its models and explanations load (runs code)")
    imp.add_argument("--once", action="store_true", help="refuse a bundle this store imported before")
    _common(imp, quiet=False)


def _write_table(table: Any, fmt: str, output: str) -> str:
    """Write ``table`` to ``output`` atomically (a temporary name, then a rename)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from . import errors
    from .files.io import atomic_writer

    if output == "-":
        sink = pa.BufferOutputStream()
        pacsv.write_csv(table, sink)
        sys.stdout.buffer.write(sink.getvalue().to_pybytes())
        sys.stdout.flush()
        return "-"
    target = Path(output).expanduser().resolve()
    if target.is_dir():
        _fail(f"--output {target} is a folder", EXIT_USAGE)
    try:
        with atomic_writer(target) as handle:
            if fmt == "csv":
                pacsv.write_csv(table, handle)
            else:
                with pa.ipc.new_file(handle, table.schema) as writer:
                    writer.write_table(table)
    except errors.StoreError as exc:  # "cannot write <target>: <why>"
        _fail(str(exc), EXIT_FAILED)
    return str(target)


# -- the parser -----------------------------------------------------------------------------------


def _common(parser: argparse.ArgumentParser, *, json_flag: bool = True, quiet: bool = True) -> None:
    parser.add_argument("--home", help="store home folder (default: $DASHAI_HOME or ~/.DashAI)")
    parser.add_argument("--database", metavar="URL", help="a postgresql:// URL instead of <home>/db.sqlite")
    if json_flag:
        parser.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    if quiet:
        parser.add_argument("--quiet", "-q", action="store_true", help="no progress lines on stderr")


def _home_and_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--home", help="store home folder (default: $DASHAI_HOME or ~/.DashAI)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of text")


def _grace(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--grace",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="leave unowned and temporary files younger than this alone (default %(default)g); "
        "a writer may be about to commit the row that owns them",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Maintain a DashAI store: its database and the files beside it.",
        epilog="Exit codes: 0 ok; 1 problems found or the operation failed; 2 bad usage; "
        "3 database (or bundle) newer than this code; 4 no usable store at the home; 5 unknown run, "
        "piece or bundle file. "
        f"`{PROG} COMMAND --help` describes each command.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser(
        "migrate",
        help="bring the database to the current schema (as scripts/migrate.py)",
        add_help=False,
    )
    status = sub.add_parser(
        "status",
        help="schema version, rows per table, sizes",
        description="Show the schema version, rows per table, the database and file sizes. Writes nothing.",
    )
    _common(status, quiet=False)
    check = sub.add_parser(
        "check",
        help="integrity and foreign-key checks, missing and unowned files",
        description="Check the database and the files; writes nothing. Exit code 1 when there are problems.",
    )
    _common(check)
    _grace(check)
    gc = sub.add_parser(
        "gc",
        help="remove files no row owns, finish pending deletions",
        description="Remove unowned and stale temporary files and finish recorded deletions. "
        "Never removes a file a row refers to.",
    )
    _common(gc)
    _grace(gc)
    gc.add_argument("--dry-run", action="store_true", help="list what would be removed; remove nothing")
    backup = sub.add_parser(
        "backup",
        help="copy the store to DEST while it stays in use",
        description="Copy the database (SQLite: a consistent online snapshot) and the files its rows "
        "refer to into DEST, a new or empty folder; `--home DEST` opens the copy. On PostgreSQL "
        "only the files are copied: back the database up with pg_dump.",
    )
    backup.add_argument("dest", metavar="DEST", help="a new or empty folder")
    _common(backup)
    backups = sub.add_parser(
        "backups",
        help="list the backups in <home>/backups/ that restore can put back",
        description="List the pre-migration, legacy (pre-adoption), before-restore and full backups "
        "in <home>/backups/: path, kind, time (UTC), schema version or legacy revision, size.",
    )
    _home_and_json(backups)
    restore = sub.add_parser(
        "restore",
        help="put a backup back in place (the current database is kept aside)",
        description="Replace <home>/db.sqlite with BACKUP (a file or folder `backups` lists, or its "
        "name) while no process has the store open. The current database moves to "
        "backups/db-<time>-before-restore.sqlite. A legacy backup also brings the old DashAI's "
        "files back: the home becomes an old DashAI home again. Exit code 1: the store is in "
        "use or the backup is damaged; 3: the backup is newer than this code.",
    )
    restore.add_argument("backup", metavar="BACKUP", help="a backup file or folder, or its name in backups/")
    _home_and_json(restore)
    export = sub.add_parser(
        "export-metrics",
        help="write a run's metric history as CSV or Arrow",
        description="Write every metric point of RUN_ID (id, name, split, level, step, value, timestamp) "
        "to a CSV or Arrow IPC file. Exit code 5 when the run does not exist.",
    )
    export.add_argument("run_id", metavar="RUN_ID", type=int, help="the run's id")
    export.add_argument("--format", choices=("csv", "arrow"), default="csv", help="default: %(default)s")
    export.add_argument(
        "--output", "-o", required=True, metavar="FILE", help="the file to write ('-': stdout, CSV)"
    )
    _common(export, quiet=False)
    _copy_parser(sub)
    demo = sub.add_parser(
        "demo",
        help="walk the whole product on generated data; writes report.html",
        description="Run the main job end to end in a new store (generated data, no network, a few "
        "seconds): migrate, a dataset, a notebook, a model session and a run with metrics and plots, "
        "a prediction, a generative session, a plugin, explainers, then check; print a summary "
        "and write <home>/report.html (self-contained). Exit code 1 if the check finds problems.",
    )
    demo.add_argument(
        "--home",
        help="a new or empty folder, or an earlier demo home (default: ./dashai-demo; "
        "~/.DashAI is never used unless given here)",
    )
    demo.add_argument("--database", metavar="URL", help="a postgresql:// URL instead of <home>/db.sqlite")
    demo.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    demo.add_argument("--quiet", "-q", action="store_true", help="no progress lines on stderr")
    _add_bundle_commands(sub)
    return parser


def _copy_parser(sub: Any) -> None:
    copy = sub.add_parser(
        "copy",
        help="copy a whole store (rows with their ids, files) into an empty one, or --merge it",
        description="Copy every row (with its id) and every file of the store at --home SRC into "
        "--to-home DEST (its files; its database too unless --to-database URL names a PostgreSQL "
        "one), e.g. a desktop home into a team server; --home defaults to $DASHAI_HOME or "
        "~/.DashAI. The destination must be empty; it is created and migrated. With --merge it "
        "may hold work already: the source's rows are added with new ids in one transaction "
        "(as an import of everything; taken names get a suffix). The source is never written. "
        "Run the same command again to finish an interrupted copy; after a finished one (or a "
        "merge of an unchanged source) it says so and exits 0.",
    )
    _common(copy)
    copy.add_argument("--to-home", required=True, metavar="DEST", help="the destination folder (its files)")
    copy.add_argument("--to-database", metavar="URL", help="a postgresql:// URL for the destination's rows")
    copy.add_argument(
        "--merge",
        action="store_true",
        help="add to a destination that holds work (new ids, renamed if taken)",
    )


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "status": cmd_status,
    "check": cmd_check,
    "gc": cmd_gc,
    "backup": cmd_backup,
    "backups": cmd_backups,
    "restore": cmd_restore,
    "export-metrics": cmd_export_metrics,
    "copy": cmd_copy,
    "demo": cmd_demo,
    "export": cmd_export,
    "import": cmd_import,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``dashai-store``; returns the exit code (the console script exits with it)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        if arguments and arguments[0] == "migrate":
            return cmd_migrate(arguments[1:])
        parser = build_parser()
        try:
            args = parser.parse_args(arguments)
        except SystemExit as exc:  # argparse: 0 after --help, 2 on bad usage
            return int(exc.code or 0)
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        return COMMANDS[args.command](args)
    except CommandError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as exc:
        return _report_missing(exc, PROG)
    except Exception as exc:
        from . import errors

        if isinstance(exc, errors.StoreError):
            print(f"{PROG}: error: {exc}", file=sys.stderr)
            return EXIT_FAILED
        raise


def _report_missing(exc: ModuleNotFoundError, prog: str) -> int:
    """Exit code 6 and one line on stderr for a missing dependency; anything else re-raised."""
    message = missing_dependency(exc)
    if message is None:
        raise exc
    print(f"{prog}: error: {message}", file=sys.stderr)
    return EXIT_MISSING_DEPENDENCY


def missing_dependency(exc: ModuleNotFoundError) -> str | None:
    """One line naming this Python and what to install, if ``exc`` is a missing dependency."""
    top = (exc.name or "").partition(".")[0]
    package = DEPENDENCIES.get(top)
    if package is None:
        return None
    return (
        f"{top} is not installed for this Python ({sys.executable}): "
        f"install {package} into it, e.g. `{sys.executable} -m pip install <dashai_store checkout or wheel>`"
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
