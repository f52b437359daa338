"""The drift check is strict: every kind of schema difference is named.

Each case starts from a freshly migrated store (both backends), alters it with raw SQL in
one category (tables, columns, types, nullability, defaults, indexes, unique constraints,
foreign-key targets and ON DELETE actions, CHECKs, triggers) and asserts that
``schema.drift`` reports that very difference and nothing about other tables. SQLite
cannot ALTER most of these, so its cases rebuild the table with raw SQL (foreign keys off,
as a migration would). A second group proves the check also fails when the *models*
disagree with the migrations.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import peewee
import pytest
from conftest import PgSchema
from dashai_store.migrations import REGISTRY
from migration_fixtures import next_add_column
from peewee import TextField

from dashai_store import models, open_store
from dashai_store.database import Store, connect_postgres, connect_sqlite
from dashai_store.migrator import Migrator, steps_from
from dashai_store.schema import Schema, describe, diff, drift, reference_schema

# -- raw-SQL helpers -----------------------------------------------------------------------


def sqlite_rebuild(db: peewee.Database, table: str, edit: Callable[[str], str]) -> None:
    """Rebuild ``table`` from its CREATE TABLE text passed through ``edit``, keeping the rows,
    indexes and triggers (the classic 12-step ALTER of the SQLite manual)."""
    create_sql = db.execute_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
    original = create_sql.fetchone()[0]
    edited = edit(original)
    assert edited != original, f"the edit did not change {table}'s CREATE TABLE"
    extras = [
        r[0]
        for r in db.execute_sql(
            "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') "
            "AND sql IS NOT NULL",
            (table,),
        ).fetchall()
    ]
    old_cols = [r[1] for r in db.execute_sql(f'PRAGMA table_info("{table}")').fetchall()]
    db.pragma("foreign_keys", 0)
    try:
        with db.atomic():
            db.execute_sql(edited.replace(f'CREATE TABLE "{table}"', f'CREATE TABLE "{table}__new"', 1))
            new_cols = [r[1] for r in db.execute_sql(f'PRAGMA table_info("{table}__new")').fetchall()]
            common = ", ".join(f'"{c}"' for c in old_cols if c in new_cols)
            db.execute_sql(f'INSERT INTO "{table}__new" ({common}) SELECT {common} FROM "{table}"')
            db.execute_sql(f'DROP TABLE "{table}"')
            db.execute_sql(f'ALTER TABLE "{table}__new" RENAME TO "{table}"')
            for statement in extras:
                db.execute_sql(statement)
            assert db.execute_sql("PRAGMA foreign_key_check").fetchall() == []
    finally:
        db.pragma("foreign_keys", 1)


def sub(pattern: str, replacement: str) -> Callable[[str], str]:
    return lambda sql: re.sub(pattern, replacement, sql, count=1)


def pg_constraint(db: peewee.Database, table: str, kind: str, like: str) -> str:
    """The name of ``table``'s constraint of ``kind`` ('c', 'f', 'u') whose definition matches."""
    row = db.execute_sql(
        "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = %s "
        "AND pg_get_constraintdef(oid) LIKE %s",
        (table, kind, like),
    ).fetchone()
    assert row is not None, f"no {kind} constraint on {table} like {like}"
    return str(row[0])


# -- the cases -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """An alteration per backend and what the drift report must say.

    ``scope``: every reported problem must start with this (the altered table or trigger);
    ``needles``: one problem must contain all of them.
    """

    sqlite: Callable[[peewee.Database], None]
    postgres: Callable[[peewee.Database], None]
    scope: str
    needles: tuple[str, ...]


def sql(*statements: str) -> Callable[[peewee.Database], None]:
    def run(db: peewee.Database) -> None:
        for statement in statements:
            db.execute_sql(statement)

    return run


def rebuild(table: str, pattern: str, replacement: str) -> Callable[[peewee.Database], None]:
    return lambda db: sqlite_rebuild(db, table, sub(pattern, replacement))


def pg_replace_constraint(
    table: str, kind: str, like: str, new_def: str
) -> Callable[[peewee.Database], None]:
    def run(db: peewee.Database) -> None:
        name = pg_constraint(db, table, kind, like)
        db.execute_sql(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        db.execute_sql(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {new_def}')

    return run


def pg_drop_constraint(table: str, kind: str, like: str) -> Callable[[peewee.Database], None]:
    def run(db: peewee.Database) -> None:
        name = pg_constraint(db, table, kind, like)
        db.execute_sql(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')

    return run


CASES: dict[str, Case] = {
    "extra table": Case(
        sql("CREATE TABLE stray (id INTEGER PRIMARY KEY, note TEXT)"),
        sql("CREATE TABLE stray (id INTEGER PRIMARY KEY, note TEXT)"),
        "table stray:",
        ("in the database, not in the models",),
    ),
    "missing table": Case(
        sql("DROP TABLE tag"),
        sql("DROP TABLE tag"),
        "table tag:",
        ("in the models, missing from the database",),
    ),
    "missing column": Case(
        sql("ALTER TABLE dataset DROP COLUMN lineage"),
        sql("ALTER TABLE dataset DROP COLUMN lineage"),
        "table dataset:",
        ("column lineage", "missing from the database"),
    ),
    "extra column": Case(
        sql("ALTER TABLE run ADD COLUMN colour TEXT"),
        sql("ALTER TABLE run ADD COLUMN colour TEXT"),
        "table run:",
        ("column colour", "not in the models"),
    ),
    "column type": Case(
        rebuild("metric", r'"value" REAL', '"value" TEXT'),
        sql("ALTER TABLE metric ALTER COLUMN value TYPE TEXT"),
        "table metric:",
        ("column value differs", "TEXT"),
    ),
    "nullability: NOT NULL added": Case(
        rebuild("dataset", r'"file_path" TEXT', '"file_path" TEXT NOT NULL'),
        sql("ALTER TABLE dataset ALTER COLUMN file_path SET NOT NULL"),
        "table dataset:",
        ("column file_path differs",),
    ),
    "nullability: NOT NULL dropped": Case(
        rebuild("run", r'"goal_metric" TEXT NOT NULL', '"goal_metric" TEXT'),
        sql("ALTER TABLE run ALTER COLUMN goal_metric DROP NOT NULL"),
        "table run:",
        ("column goal_metric differs",),
    ),
    "default": Case(
        rebuild("plugin", r'"summary" TEXT NOT NULL', "\"summary\" TEXT NOT NULL DEFAULT ''"),
        sql("ALTER TABLE plugin ALTER COLUMN summary SET DEFAULT ''"),
        "table plugin:",
        ("column summary differs", "''"),
    ),
    "missing index": Case(
        sql("DROP INDEX run_status"),
        sql("DROP INDEX run_status"),
        "table run:",
        ("run_status", "missing from the database"),
    ),
    "extra index": Case(
        sql("CREATE INDEX metric_name ON metric (name)"),
        sql("CREATE INDEX metric_name ON metric (name)"),
        "table metric:",
        ("metric_name", "not in the models"),
    ),
    "index columns": Case(
        sql("DROP INDEX run_status", "CREATE INDEX run_status ON run (status, name)"),
        sql("DROP INDEX run_status", "CREATE INDEX run_status ON run (status, name)"),
        "table run:",
        ("run_status", "name"),
    ),
    "column collation": Case(
        rebuild("dataset", r'"name" TEXT NOT NULL', '"name" TEXT NOT NULL COLLATE NOCASE'),
        sql('ALTER TABLE dataset ALTER COLUMN name TYPE text COLLATE "C"'),
        "table dataset:",
        ("column name differs", "COLLATE"),
    ),
    "index sort order": Case(
        sql("DROP INDEX run_status", "CREATE INDEX run_status ON run (status DESC)"),
        sql("DROP INDEX run_status", "CREATE INDEX run_status ON run (status DESC)"),
        "table run:",
        ("run_status", "DESC", "not in the models"),
    ),
    "index collation": Case(
        sql("DROP INDEX dataset_name", "CREATE UNIQUE INDEX dataset_name ON dataset (name COLLATE NOCASE)"),
        sql("DROP INDEX dataset_name", 'CREATE UNIQUE INDEX dataset_name ON dataset (name COLLATE "C")'),
        "table dataset:",
        ("dataset_name", "COLLATE", "not in the models"),
    ),
    "index made partial": Case(
        sql("DROP INDEX run_status", "CREATE INDEX run_status ON run (status) WHERE status = 'STARTED'"),
        sql("DROP INDEX run_status", "CREATE INDEX run_status ON run (status) WHERE status = 'STARTED'"),
        "table run:",
        ("run_status", "WHERE", "STARTED", "not in the models"),
    ),
    "index on an expression": Case(
        sql("DROP INDEX run_status", "CREATE INDEX run_status ON run (lower(status))"),
        sql("DROP INDEX run_status", "CREATE INDEX run_status ON run (lower(status))"),
        "table run:",
        ("run_status", "lower", "not in the models"),
    ),
    "unique index made plain": Case(
        sql("DROP INDEX dataset_name", "CREATE INDEX dataset_name ON dataset (name)"),
        sql("DROP INDEX dataset_name", "CREATE INDEX dataset_name ON dataset (name)"),
        "table dataset:",
        ("dataset_name",),
    ),
    "unique constraint added": Case(
        rebuild("notebook", r"\)$", ', UNIQUE ("file_path"))'),
        sql("ALTER TABLE notebook ADD CONSTRAINT notebook_file_path_key UNIQUE (file_path)"),
        "table notebook:",
        ("index/unique", "file_path", "not in the models"),
    ),
    "unique constraint (metric) dropped": Case(
        sql("DROP INDEX metric_run_id_split_level_name_step"),
        sql("DROP INDEX metric_run_id_split_level_name_step"),
        "table metric:",
        ("metric_run_id_split_level_name_step", "missing from the database"),
    ),
    "foreign-key target": Case(
        rebuild(
            "prediction",
            r'FOREIGN KEY \("dataset_id"\) REFERENCES "dataset"',
            'FOREIGN KEY ("dataset_id") REFERENCES "run"',
        ),
        pg_replace_constraint(
            "prediction",
            "f",
            "%(dataset_id)%",
            "FOREIGN KEY (dataset_id) REFERENCES run(id) ON DELETE CASCADE",
        ),
        "table prediction:",
        ("foreign key", "dataset_id", "run"),
    ),
    "foreign-key ON DELETE action": Case(
        rebuild(
            "local_explainer",
            r'(FOREIGN KEY \("dataset_id"\) REFERENCES "dataset" \("id"\)) ON DELETE CASCADE',
            r"\1 ON DELETE SET NULL",
        ),
        pg_replace_constraint(
            "local_explainer",
            "f",
            "%(dataset_id)%",
            "FOREIGN KEY (dataset_id) REFERENCES dataset(id) ON DELETE SET NULL",
        ),
        "table local_explainer:",
        ("foreign key", "dataset_id", "SET NULL"),
    ),
    "foreign key dropped": Case(
        rebuild("metric", r', FOREIGN KEY \("run_id"\) REFERENCES "run" \("id"\) ON DELETE CASCADE', ""),
        pg_drop_constraint("metric", "f", "%(run_id)%"),
        "table metric:",
        ("foreign key", "run_id", "missing from the database"),
    ),
    "CHECK changed": Case(
        rebuild("metric", r"split = 'FULL'\)", "split = 'FULL' OR split = 'HOLDOUT')"),
        pg_replace_constraint(
            "metric", "c", "%split%", "CHECK (split IN ('TRAIN', 'VALIDATION', 'TEST', 'HOLDOUT'))"
        ),
        "table metric:",
        ("check", "HOLDOUT"),
    ),
    "CHECK dropped": Case(
        rebuild("tag", r" CHECK \(name IN \([^)]*\)\)", ""),
        pg_drop_constraint("tag", "c", "%name%"),
        "table tag:",
        ("check", "Dataloader", "missing from the database"),
    ),
    "trigger dropped": Case(
        sql("DROP TRIGGER parameter_history_no_update"),
        sql("DROP TRIGGER parameter_history_append_only ON parameter_history"),
        "trigger parameter_history_",
        ("missing from the database",),
    ),
    "trigger body changed": Case(
        sql(
            "DROP TRIGGER parameter_history_no_delete",
            "CREATE TRIGGER parameter_history_no_delete BEFORE DELETE ON parameter_history "
            "BEGIN SELECT 1; END",
        ),
        sql(
            "CREATE OR REPLACE FUNCTION parameter_history_append_only() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$"
        ),
        "trigger ",
        ("differs",),
    ),
    "extra trigger": Case(
        sql("CREATE TRIGGER dataset_touch AFTER UPDATE ON dataset BEGIN SELECT 1; END"),
        sql(
            "CREATE TRIGGER dataset_touch AFTER UPDATE ON dataset FOR EACH ROW "
            "EXECUTE FUNCTION parameter_history_append_only()"
        ),
        "trigger dataset_touch:",
        ("in the database, not in the models",),
    ),
    "ids reusable (AUTOINCREMENT / sequence default dropped)": Case(
        rebuild("run", r" AUTOINCREMENT", ""),
        sql("ALTER TABLE run ALTER COLUMN id DROP DEFAULT"),
        "table run:",
        ("run",),
    ),
}


_REFERENCE: dict[str, Schema] = {}


def cached_drift(store: Store) -> list[str]:
    """``drift`` with the models' reference schema built once per backend (it is the same
    for every test here, and building it on PostgreSQL costs a scratch schema)."""
    if store.backend not in _REFERENCE:
        _REFERENCE[store.backend] = reference_schema(store.db)
    return diff(describe(store.db), _REFERENCE[store.backend])


@pytest.mark.parametrize("name", sorted(CASES))
def test_drift_names_each_kind_of_difference(store: Store, name: str) -> None:
    case = CASES[name]
    assert cached_drift(store) == []
    alter = case.postgres if store.backend == "postgresql" else case.sqlite
    alter(store.db)
    problems = cached_drift(store)
    assert problems, f"{name}: the drift check saw nothing"
    assert all(p.startswith(case.scope) for p in problems), problems
    assert any(all(needle in p for needle in case.needles) for p in problems), problems


def test_drift_sees_a_disabled_trigger_on_postgres(home: Path, pg_schema: PgSchema) -> None:
    """A disabled append-only trigger keeps its definition but enforces nothing.

    (SQLite has no way to disable a trigger.)
    """
    with open_store(home, database=pg_schema.url) as store:
        store.db.execute_sql("ALTER TABLE parameter_history DISABLE TRIGGER parameter_history_append_only")
        problems = drift(store.db)
    assert len(problems) == 1
    assert problems[0].startswith("trigger parameter_history_append_only: differs")
    assert "tgenabled=D" in problems[0]


def test_sqlite_rebuild_helper_keeps_the_schema(sqlite_store: Store) -> None:
    """The helper itself adds no drift: an identity edit of the SQL (a space) changes nothing."""
    sqlite_rebuild(sqlite_store.db, "metric", sub(r"\)$", " )"))
    assert drift(sqlite_store.db) == []


# -- the models disagree with the migrations --------------------------------------------------


def _target(home: Path, url: str | None) -> peewee.Database:
    return connect_postgres(url) if url else connect_sqlite(home / "db.sqlite")


@pytest.fixture
def migrated_db(home: Path, database_url: str | None) -> Iterator[peewee.Database]:
    """A database migrated by the real registry, not bound to the facade."""
    db = _target(home, database_url)
    Migrator(home, db).migrate()
    try:
        yield db
    finally:
        db.close()


def test_a_migration_the_models_lack_is_drift(home: Path, database_url: str | None) -> None:
    db = _target(home, database_url)
    try:
        result = Migrator(home, db, steps_from((*REGISTRY, next_add_column))).migrate()
        assert result.head == next_add_column.ID
        problems = drift(db)
    finally:
        db.close()
    assert problems == ["table dataset: column extra_note not in the models"]


def test_a_model_column_the_migrations_lack_is_drift(migrated_db: peewee.Database) -> None:
    models.Plugin._meta.add_field("homepage", TextField(null=True))
    try:
        problems = drift(migrated_db)
    finally:
        models.Plugin._meta.remove_field("homepage")
    assert problems == ["table plugin: column homepage missing from the database"]
    assert drift(migrated_db) == []


def test_a_model_index_the_migrations_lack_is_drift(
    migrated_db: peewee.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(models.Run._meta, "indexes", [*models.Run._meta.indexes, (("name",), False)])
    problems = drift(migrated_db)
    assert len(problems) == 1 and "run_name" in problems[0] and "missing from the database" in problems[0]


def test_a_model_without_the_metric_unique_index_is_drift(
    migrated_db: peewee.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(models.Metric._meta, "indexes", [])
    problems = drift(migrated_db)
    assert problems and all(p.startswith("table metric:") for p in problems)
    assert any("metric_run_id_split_level_name_step" in p and "not in the models" in p for p in problems)


def test_model_triggers_that_differ_are_drift(
    migrated_db: peewee.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(models, "SQLITE_TRIGGERS", models.SQLITE_TRIGGERS[:1])
    monkeypatch.setattr(models, "POSTGRES_TRIGGERS", models.POSTGRES_TRIGGERS[:1])
    problems = drift(migrated_db)
    assert problems and all(p.startswith("trigger parameter_history_") for p in problems)
    assert all("in the database, not in the models" in p for p in problems)


def test_diff_of_a_schema_with_itself_is_empty_and_detects_a_missing_table(
    migrated_db: peewee.Database,
) -> None:
    schema = describe(migrated_db)
    assert diff(schema, schema) == []
    smaller = describe(migrated_db)
    del smaller.tables["metric"]
    assert diff(smaller, schema) == ["table metric: in the models, missing from the database"]
