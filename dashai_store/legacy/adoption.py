"""The adoption step ``0000_adopt_dashai_legacy``: a legacy DashAI database becomes this store's schema.

Run by the migration runner (``Migrator.migrate``) under its lock, when the database
holds Alembic's ``alembic_version`` and no ``dashai_schema_migration``. It records itself
(sequence 0), ``0001_initial`` (sequence 1), whose schema it built by calling that step's
own ``upgrade``, and every later registered step, whose ``upgrade`` it runs over the
adopted rows in the same transaction; a second run finds nothing to do. The later steps
run inside the adoption because DashAI's rows may hold values only a later step allows
(metric levels EPOCH, FOLD, ... and split FULL, step 0002): they are copied into step
0001's tables with CHECKs not enforced, the later steps widen the CHECKs, and
``PRAGMA quick_check`` then verifies every row against the final schema before COMMIT.

Order of work, chosen so that a failure leaves the legacy home exactly as it was:

1. Preflight on a dedicated connection that never switches to WAL: integrity check,
   free space, backup ``backups/db-<stamp>-legacy-<revision>.sqlite`` (``VACUUM INTO``).
2. One transaction (rollback journal, foreign keys off, BEGIN IMMEDIATE): read the legacy
   rows (:mod:`.survey`); stage their files into ``<home>/.dashai-adoption/files/`` — hard
   links (copies where linking fails) and converted figures, legacy files untouched; rename
   DashAI's tables aside, create step 0001's schema, copy every row with its id, drop the
   legacy tables, apply the later steps, raise ``sqlite_sequence`` above every legacy id
   (quarantined ones too), ``PRAGMA quick_check``, record the version rows,
   ``PRAGMA foreign_key_check``; COMMIT. On any failure: ROLLBACK
   (the database file is byte-identical) and the staging folder is removed.
3. After COMMIT (:func:`finish_pending`, idempotent, also run at the next start if a crash
   interrupted it): the legacy files that were adopted move to
   ``backups/legacy-files-<stamp>/`` (same relative paths; nothing is deleted), the staged
   files move into the layout, the report goes to ``backups/legacy-adoption-<stamp>.json``
   and empty legacy folders are removed. Then the database switches to WAL.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import peewee

from .. import errors
from ..backends import SqliteBackend
from ..files import layout
from ..files.io import atomic_write, dump_joblib, sha256_file
from ..preflight import check_and_back_up
from ..versions import VersionRow, record_versions
from . import ADOPTION_ID, ADOPTION_SEQUENCE, MANIFEST, STAGING, survey
from .convert import figure_from_pickle, legacy_zone, normalise_enum, to_utc

if TYPE_CHECKING:
    from ..migrator import Migrator, Step

LEGACY_PREFIX = "_dashai_legacy_"
METRIC_CHUNK = 20_000

#: Tests only: ``"before-commit"`` makes the adoption fail after its last statement, just
#: before COMMIT (env var for subprocesses; the attribute for in-process tests).
FAIL_ENV = "DASHAI_STORE_TEST_FAIL_ADOPTION"
fail_at: str | None = None
#: Tests only (the reliability suite's kills): SIGKILL this process at the named point,
#: one of :data:`KILL_POINTS`.
KILL_ENV = "DASHAI_STORE_TEST_KILL_ADOPTION"
KILL_POINTS = ("staged", "rebuilt", "before-commit", "retired", "placed")


@dataclass(frozen=True)
class AdoptionResult:
    backup: Path
    report: Path
    duration_ms: float
    initial_ms: float
    later: tuple[tuple[str, float], ...] = ()  # (step id, duration in ms) of each later step


def _checksum() -> str:
    try:
        sources = "".join(inspect.getsource(m) for m in (sys.modules[__name__], survey))
    except (OSError, TypeError):
        return ""
    return hashlib.sha256(sources.encode()).hexdigest()


def _fail_point(name: str) -> None:
    if fail_at == name or os.environ.get(FAIL_ENV) == name:
        raise RuntimeError(f"failure injected at {name!r} ({FAIL_ENV})")
    _kill_point(name)


def _kill_point(name: str) -> None:
    if os.environ.get(KILL_ENV) == name:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def _connect(path: Path) -> peewee.SqliteDatabase:
    # No journal_mode pragma: the legacy file stays in its rollback-journal mode until
    # the adoption has committed, so a rollback leaves it byte-identical.
    return peewee.SqliteDatabase(
        str(path),
        pragmas=[("foreign_keys", 0), ("busy_timeout", 30_000)],
        lock_type="IMMEDIATE",
        autoconnect=True,
    )


def _not_adoptable(path: Path, reason: str) -> errors.SchemaError:
    return errors.SchemaError(
        f"{path} has DashAI's Alembic version table but cannot be adopted: {reason}. Nothing was written."
    )


# -- the plan (dry run) ----------------------------------------------------------------------------


def plan(home: Path, path: Path) -> survey.Conversion:
    """What adopting ``path`` into ``home`` would do; reads through a read-only connection."""
    from contextlib import closing

    with closing(survey.open_read_only(path)) as conn:
        try:
            return survey.read(conn, home)
        except survey.NotAdoptable as exc:
            raise _not_adoptable(path, str(exc)) from None


def describe(conv: survey.Conversion, home: Path, path: Path) -> list[str]:
    """The plan as lines for ``scripts/migrate.py`` (``--dry-run``, ``--status`` and before adopting)."""
    lines = [
        f"legacy DashAI database (Alembic revision {conv.revision or '?'}, "
        f"journal mode {conv.journal_mode}): "
        f"it will be adopted in place as step {ADOPTION_ID}, then the schema is 0001_initial "
        "and the later steps apply",
        f"  backup first: {layout.backups(home)}/db-<time>-legacy-{conv.revision or 'unknown'}.sqlite"
        " (VACUUM INTO)",
    ]
    for table in survey.TABLES:
        if table not in conv.present:
            lines.append(f"  table {table}: absent (created empty)")
            continue
        changes = [f"{a} -> {b}" for a, b in survey.RENAMED_COLUMNS.get(table, {}).items()]
        changes += [f"+{c}" for c in survey.ADDED_COLUMNS.get(table, ())]
        lines.append(
            f"  table {table}: {conv.counts.get(table, 0)} row(s): "
            f"{conv.adopted(table)} adopted with their ids, "
            f"{conv.quarantined_in(table)} quarantined"
            + (f"; columns {', '.join(changes)}" if changes else "")
        )
    for name, rows in conv.extra_tables.items():
        lines.append(
            f"  table {name}: {len(rows)} row(s), not part of this schema: saved in the report, dropped"
        )
    lines.append("  alembic_version: dropped (the version is kept in dashai_schema_migration from now on)")
    lines.append(
        f"  old root of the stored paths: {conv.old_root or '(none found)'} -> {home}; "
        f"{conv.rebased} path(s) to rebase, {len(conv.actions)} file(s) to place in the layout"
    )
    for action in conv.actions:
        how = {"link": "link", "figure": "convert pickle -> Plotly JSON", "joblib": "JSON -> joblib"}[
            action.mode
        ]
        lines.append(
            f"    {action.table} {action.row_id} {action.column}: {action.source} -> {action.target} ({how})"
        )
    if conv.retire:
        lines.append(
            f"  adopted legacy files/folders move to {layout.backups(home)}/legacy-files-<time>/"
            " after COMMIT:"
        )
        lines.extend(f"    {rel}" for rel in _outermost(conv.retire))
    lines.append(f"  timestamps: naive local time read in {conv.timezone}, stored as UTC")
    if conv.problems:
        lines.append(f"  problems found ({len(conv.problems)}):")
        lines.extend(f"    {p.kind}: {p.where}: {p.detail}" for p in conv.problems)
    return lines


def check_adoptable(path: Path) -> None:
    """Raise SchemaError (nothing written, no lock taken) if ``path`` cannot be adopted."""
    from contextlib import closing

    with closing(survey.open_read_only(path)) as conn:
        reasons = survey.check_adoptable(conn)
    if reasons:
        raise _not_adoptable(path, "; ".join(reasons))


# -- the adoption ----------------------------------------------------------------------------------


def adopt(runner: Migrator, on_backup: Callable[[Path], None] | None = None) -> AdoptionResult:
    """Adopt the legacy database of ``runner`` (see the module docstring): its home, its
    database file, and its first step, whose schema the adoption builds. Raises SchemaError
    (not adoptable; nothing written) or MigrationError (rolled back; backup named)."""
    home, path, initial_step = runner.home, runner.database_file, runner.steps[0]
    later_steps = runner.steps[1:]  # legacy rows may need them (e.g. metric levels 0002 allows)
    staging = home / STAGING
    db = _connect(path)
    try:
        reasons = survey.check_adoptable(db.connection())
        if reasons:
            raise _not_adoptable(path, "; ".join(reasons))
        if staging.exists():  # left by an attempt that never committed (the database is still legacy)
            shutil.rmtree(staging)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        backup = _preflight(db, home, path, stamp)
        if on_backup is not None:
            on_backup(backup)
        started = time.perf_counter()
        try:
            with db.atomic():
                conv = survey.read(db.connection(), home)
                report = _stage(home, staging, conv, stamp, path, backup)
                _kill_point("staged")
                initial_ms, later = _rebuild(db, conv, initial_step, later_steps)
                _kill_point("rebuilt")
                _record_versions(db, initial_step, started, initial_ms, later_steps, later)
                SqliteBackend(db).check_foreign_keys("adoption")
                _fail_point("before-commit")
        except BaseException as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise errors.MigrationError(
                f"migration {ADOPTION_ID} (adopting the legacy DashAI database) failed and was rolled back: "
                f"{type(exc).__name__}: {exc}. {path} is unchanged (still the legacy database) and no "
                f"file was moved; the backup taken before is {backup}",
                step=ADOPTION_ID,
                backup=str(backup),
            ) from exc
        duration_ms = (time.perf_counter() - started) * 1000
        finish_pending(home)
        db.execute_sql("PRAGMA journal_mode = wal")
    finally:
        db.close()
    return AdoptionResult(
        backup,
        layout.backups(home) / report,
        duration_ms,
        initial_ms,
        tuple(zip((s.id for s in later_steps), later, strict=True)),
    )


def _preflight(db: peewee.SqliteDatabase, home: Path, path: Path, stamp: str) -> Path:
    revision = db.execute_sql("SELECT version_num FROM alembic_version").fetchone()
    name = f"db-{stamp}-legacy-{revision[0] if revision else 'unknown'}.sqlite"
    return check_and_back_up(db, path, home, name, action="adopted", step=ADOPTION_ID)


# -- staging the files -----------------------------------------------------------------------------


def _place(source: Path, target: Path) -> None:
    try:
        os.link(source, target)  # no copy, no extra space; the legacy name stays as it is
    except OSError:
        shutil.copy2(source, target)


def _outermost(paths: set[str]) -> list[str]:
    """``paths`` without those inside another one of them."""
    kept: list[str] = []
    for rel in sorted(paths):
        if not any(rel.startswith(k + "/") for k in kept):
            kept.append(rel)
    return kept


def _stage(home: Path, staging: Path, conv: survey.Conversion, stamp: str, path: Path, backup: Path) -> str:
    """Put every adopted file under ``staging/files/<layout path>``; fill in the checksums."""
    files_dir = staging / "files"
    files_dir.mkdir(parents=True)
    by_id = {table: {row["id"]: row for row in rows} for table, rows in conv.rows.items()}
    for action in conv.actions:
        source, target = home / action.source, files_dir / action.target
        target.parent.mkdir(parents=True, exist_ok=True)
        if action.mode == "figure":
            text = figure_from_pickle(source.read_bytes())
            if text is None:
                raise errors.MigrationError(f"{source} changed while it was adopted")
            atomic_write(target, text)
        elif action.mode == "joblib":
            dump_joblib(target, json.loads(source.read_bytes()))
        else:
            _place(source, target)
        if action.artifact is not None:
            row = by_id[action.table][action.row_id]
            artifacts = json.loads(row["artifacts"])
            artifacts[action.artifact]["sha256"] = sha256_file(target)
            row["artifacts"] = json.dumps(artifacts, ensure_ascii=False)
    report_name = f"legacy-adoption-{stamp}.json"
    report = {
        "adopted_at": stamp,
        "database": str(path),
        "backup": str(backup),
        "legacy_revision": conv.revision,
        "old_root": conv.old_root,
        "timestamps": f"naive local time read in {conv.timezone}, stored as UTC",
        "legacy_files_moved_to": f"{layout.BACKUPS}/legacy-files-{stamp}",
        "tables": {
            t: {
                "legacy": conv.counts.get(t, 0),
                "adopted": conv.adopted(t),
                "quarantined": conv.quarantined_in(t),
            }
            for t in survey.TABLES
        },
        "quarantined": [asdict(q) for q in conv.quarantined],
        "problems": [asdict(p) for p in conv.problems],
        "files": [asdict(a) for a in conv.actions],
        "unadopted_tables": conv.extra_tables,
    }
    atomic_write(staging / "report.json", json.dumps(report, ensure_ascii=False, indent=1, default=str))
    manifest = {
        "stamp": stamp,
        "report": report_name,
        "retire": _outermost(conv.retire),
        "place": sorted({a.target for a in conv.actions}),
        "retired": False,
    }
    atomic_write(staging / MANIFEST, json.dumps(manifest))
    return report_name


# -- the database ----------------------------------------------------------------------------------


def _rebuild(
    db: peewee.SqliteDatabase, conv: survey.Conversion, initial_step: Step, later_steps: Sequence[Step]
) -> tuple[float, list[float]]:
    from playhouse.migrate import SchemaMigrator

    conn = db.connection()
    names = [
        str(r[0])
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    for (index,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    ).fetchall():
        conn.execute(f'DROP INDEX "{index}"')
    for name in names:
        conn.execute(f'ALTER TABLE "{name}" RENAME TO "{LEGACY_PREFIX}{name}"')
    started = time.perf_counter()
    initial_step.module.upgrade(SchemaMigrator.from_database(db), db)
    initial_ms = (time.perf_counter() - started) * 1000
    for table in survey.TABLES:
        rows = conv.rows.get(table, [])
        if table == "metric":
            if table in conv.present:
                # Values a later step allows (survey.SPLITS/LEVELS are the current ones) do
                # not pass step 0001's CHECKs yet; quick_check below verifies the final ones.
                conn.execute("PRAGMA ignore_check_constraints = ON")
                try:
                    _copy_metrics(conn, conv.skipped_metrics)
                finally:
                    conn.execute("PRAGMA ignore_check_constraints = OFF")
            continue
        if not rows:
            continue
        columns = sorted({c for row in rows for c in row})
        placeholders = ", ".join("?" for _ in columns)
        quoted = ", ".join(f'"{c}"' for c in columns)
        conn.executemany(
            f'INSERT INTO "{table}" ({quoted}) VALUES ({placeholders})',
            [tuple(row.get(c) for c in columns) for row in rows],
        )
    for name in names:
        conn.execute(f'DROP TABLE "{LEGACY_PREFIX}{name}"')
    later = []
    for step in later_steps:
        step_started = time.perf_counter()
        step.module.upgrade(SchemaMigrator.from_database(db), db)
        later.append((time.perf_counter() - step_started) * 1000)
    # Ids are never reused: not the adopted ones, nor those of rows left in quarantine.
    for table, high in conv.high_water.items():
        if high <= 0:
            continue
        if conn.execute("SELECT 1 FROM sqlite_sequence WHERE name = ?", (table,)).fetchone():
            conn.execute("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = ?", (high, table))
        else:
            conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, high))
    problems = [str(r[0]) for r in conn.execute("PRAGMA quick_check").fetchall()]
    if problems != ["ok"]:
        raise errors.IntegrityError(f"adopted rows fail this store's schema: {'; '.join(problems[:5])}")
    return initial_ms, later


def _copy_metrics(conn: Any, skipped: set[int]) -> None:
    zone, _ = legacy_zone()
    cursor = conn.execute(
        "SELECT id, run_id, split, level, name, value, step, timestamp "
        f'FROM "{LEGACY_PREFIX}metric" ORDER BY id'
    )
    insert = (
        "INSERT INTO metric (id, run_id, split, level, name, value, step, timestamp) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    )
    while batch := cursor.fetchmany(METRIC_CHUNK):
        out = []
        for metric_id, run_id, split, level, name, value, step, stamp in batch:
            if metric_id in skipped:
                continue
            try:
                when = to_utc(stamp, zone)
            except (ValueError, TypeError, OverflowError):
                when = stamp
            out.append(
                (
                    metric_id,
                    run_id,
                    normalise_enum(split, survey.SPLITS),
                    normalise_enum(level, survey.LEVELS),
                    name,
                    value,
                    step,
                    when,
                )
            )
        # A separate cursor: the reading one must not be reset by the inserts.
        conn.cursor().executemany(insert, out)


def _record_versions(
    db: peewee.SqliteDatabase,
    initial_step: Step,
    started: float,
    initial_ms: float,
    later_steps: Sequence[Step] = (),
    later_ms: Sequence[float] = (),
) -> None:
    adoption_ms = (time.perf_counter() - started) * 1000
    record_versions(
        SqliteBackend(db),
        [
            VersionRow(ADOPTION_SEQUENCE, ADOPTION_ID, _checksum(), adoption_ms),
            VersionRow(initial_step.sequence, initial_step.id, initial_step.checksum, initial_ms),
            *(
                VersionRow(step.sequence, step.id, step.checksum, ms)
                for step, ms in zip(later_steps, later_ms, strict=True)
            ),
        ],
    )


# -- after COMMIT ----------------------------------------------------------------------------------


def finish_pending(home: Path) -> bool:
    """Finish the file moves of a committed adoption (idempotent); False if there were none.

    Call only once the database is adopted: the staging folder of an attempt that never
    committed is removed by :func:`adopt` instead.
    """
    staging = home / STAGING
    manifest_path = staging / MANIFEST
    if not manifest_path.is_file():
        return False
    manifest = json.loads(manifest_path.read_text())
    backups = layout.backups(home)
    retired = backups / f"legacy-files-{manifest['stamp']}"
    if not manifest.get("retired"):
        for rel in manifest["retire"]:
            source, target = home / rel, retired / rel
            if os.path.lexists(source) and not os.path.lexists(target):
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(source, target)
        manifest["retired"] = True
        atomic_write(manifest_path, json.dumps(manifest))
    _kill_point("retired")
    for rel in manifest["place"]:
        staged, final = staging / "files" / rel, home / rel
        if os.path.lexists(staged):
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, final)
    _kill_point("placed")
    report = staging / "report.json"
    if report.is_file():
        backups.mkdir(parents=True, exist_ok=True)
        os.replace(report, backups / manifest["report"])
    for rel in manifest["retire"]:  # legacy folders the moves left empty
        folder = (home / rel).parent
        while folder != home and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
    shutil.rmtree(staging)
    return True
