"""0002: widen the metric CHECKs to DashAI's other levels and the FULL split.

DashAI logs ``metric.level`` EPOCH, FOLD, OUTER_FOLD and LAST_OUTER (epoch callbacks,
(nested) cross-validation) besides LAST, STEP, BATCH and TRIAL, and ``metric.split`` FULL
besides TRAIN, VALIDATION and TEST; step 0001's CHECKs refused them. This is the store's
first migration over users' data: every row, id and file is kept; only the two CHECK
clauses of ``metric`` change.

The CHECKs stay OR-chains rather than IN lists: SQLite evaluates an IN list per inserted
row at about twice the cost (see ``enum_check`` in the models).

SQLite cannot ALTER a CHECK. Two ways were open:

* Rebuild the table (create ``metric__new``, copy, drop, rename, recreate the indexes).
  The metric table is the store's largest (millions of rows in a long-used home), so a
  rebuild at application start costs a full copy of the table and its two indexes, and
  doubles the disk used until the commit, on top of the backup the runner has just taken.
* Edit the table's SQL in ``sqlite_master``, the procedure SQLite's ALTER TABLE
  documentation ("Making Other Kinds Of Table Schema Changes") supports for changes that
  do not affect the on-disk content, naming "removing CHECK or FOREIGN KEY or NOT NULL
  constraints" among them: ``PRAGMA writable_schema=ON``, UPDATE the table's SQL, bump
  ``schema_version``, then ``PRAGMA integrity_check``. A widened CHECK is that case: every
  stored row satisfied the narrow CHECK, so it satisfies the wide one, and neither the
  records nor the indexes change.

This step takes the second: it rewrites only the two clauses, refusing the database if
either does not appear exactly once as step 0001 wrote it (a hand-edited schema is not
guessed at), then runs ``PRAGMA integrity_check``, which re-parses the schema and checks
every row against the new CHECKs. It all happens inside the runner's transaction, so a
failure rolls the schema back with everything else.

Measured on a metric table of 1M rows (a 107 MB database; 2 cores, shared): the step takes
1.2-1.3 s, nearly all of it the integrity check, and the file keeps its size; the runner's
own preflight and backup before it take 1.5 s. Rebuilding the same table took 2.3 s and grew
the database to 165 MB with a 166 MB WAL before the checkpoint.
(``tests/test_m0002.py::test_m0002_on_a_million_metric_rows_edits_the_schema_in_place``.)

PostgreSQL: the constraints are dropped and re-added under their own names in one
``ALTER TABLE`` (one scan of the table to validate them), inside the step's transaction.

Frozen: the values are written out here, never imported from ``dashai_store``.
"""

from __future__ import annotations

from peewee import Database, PostgresqlDatabase
from playhouse.migrate import SchemaMigrator

ID = "0002_widen_metric_enums"

OLD_SPLITS = ("TRAIN", "VALIDATION", "TEST")
OLD_LEVELS = ("LAST", "STEP", "BATCH", "TRIAL")
SPLITS = (*OLD_SPLITS, "FULL")
LEVELS = (*OLD_LEVELS, "EPOCH", "FOLD", "OUTER_FOLD", "LAST_OUTER")


def or_chain(column: str, values: tuple[str, ...]) -> str:
    """``column = 'A' OR column = 'B' ...``: the CHECK expression, as the models build it."""
    return " OR ".join(f"{column} = '{value}'" for value in values)


def _sqlite_table_sql(old_sql: str) -> str:
    """``old_sql`` (metric's CREATE TABLE) with both CHECK clauses widened."""
    new_sql = old_sql
    for column, old, new in (("split", OLD_SPLITS, SPLITS), ("level", OLD_LEVELS, LEVELS)):
        clause = f"CHECK ({or_chain(column, old)})"
        if old_sql.count(clause) != 1:
            raise RuntimeError(
                f"metric's CREATE TABLE does not hold {clause!r} exactly once; "
                "its schema is not the one step 0001 made, so it is left alone"
            )
        new_sql = new_sql.replace(clause, f"CHECK ({or_chain(column, new)})")
    return new_sql


def _upgrade_sqlite(db: Database) -> None:
    row = db.execute_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'metric'").fetchone()
    if row is None:
        raise RuntimeError("no metric table")
    new_sql = _sqlite_table_sql(str(row[0]))
    (version,) = db.execute_sql("PRAGMA schema_version").fetchone()
    db.execute_sql("PRAGMA writable_schema = ON")
    try:
        db.execute_sql(
            "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'metric'", (new_sql,)
        )
        # Other connections compare the schema cookie to know they must re-read the schema.
        db.execute_sql(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        db.execute_sql("PRAGMA writable_schema = OFF")
    problems = [str(r[0]) for r in db.execute_sql("PRAGMA integrity_check").fetchall()]
    if problems != ["ok"]:
        raise RuntimeError(f"integrity check after widening metric's CHECKs: {'; '.join(problems[:5])}")


def _upgrade_postgres(db: Database) -> None:
    db.execute_sql(
        "ALTER TABLE metric "
        "DROP CONSTRAINT metric_split_check, DROP CONSTRAINT metric_level_check, "
        f"ADD CONSTRAINT metric_split_check CHECK ({or_chain('split', SPLITS)}), "
        f"ADD CONSTRAINT metric_level_check CHECK ({or_chain('level', LEVELS)})"
    )


def upgrade(migrator: SchemaMigrator, db: Database) -> None:
    if isinstance(db, PostgresqlDatabase):
        _upgrade_postgres(db)
    else:
        _upgrade_sqlite(db)
