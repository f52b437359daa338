"""Schema introspection and the drift check.

:func:`describe` reads a live database's schema into plain, comparable data — tables,
columns (type, nullability, default, primary key), indexes, unique constraints, foreign
keys with their ON DELETE action, CHECK constraints, AUTOINCREMENT, triggers and trigger
functions. :func:`drift` builds the schema the models describe in a scratch place (an
in-memory SQLite database, or a PostgreSQL schema inside a transaction that is rolled
back) and lists every difference from the migrated one.
"""

from __future__ import annotations

import peewee

from . import models
from .backends import backend_for
from .backends.schema_types import IGNORED_TABLES, Schema, TableSchema


def describe(db: peewee.Database, schema_name: str | None = None) -> Schema:
    """The schema of ``db`` (on PostgreSQL, of ``schema_name`` or the current schema)."""
    return backend_for(db).describe_schema(schema_name)


def reference_schema(db: peewee.Database) -> Schema:
    """The schema :mod:`dashai_store.models` describes, built in a scratch place for ``db``."""
    backend = backend_for(db)
    return backend.reference_schema(lambda scratch: models.create_schema(scratch, backend.name))


def diff(actual: Schema, expected: Schema) -> list[str]:
    """Human-readable differences; ``actual`` is the migrated schema, ``expected`` the models'."""
    problems: list[str] = []
    for name in sorted(set(expected.tables) - set(actual.tables)):
        problems.append(f"table {name}: in the models, missing from the database")
    for name in sorted(set(actual.tables) - set(expected.tables)):
        problems.append(f"table {name}: in the database, not in the models")
    for name in sorted(set(actual.tables) & set(expected.tables)):
        got, want = actual.tables[name], expected.tables[name]
        for col in sorted(set(want.columns) | set(got.columns)):
            if col not in got.columns:
                problems.append(f"table {name}: column {col} missing from the database")
            elif col not in want.columns:
                problems.append(f"table {name}: column {col} not in the models")
            elif got.columns[col] != want.columns[col]:
                problems.append(
                    f"table {name}: column {col} differs: database (type, not null, default, pk)"
                    f" = {got.columns[col]}, models = {want.columns[col]}"
                )
        for label, got_set, want_set in (
            ("index/unique", got.indexes, want.indexes),
            ("foreign key", got.foreign_keys, want.foreign_keys),
            ("check", got.checks, want.checks),
        ):
            for item in sorted(want_set - got_set, key=str):
                problems.append(f"table {name}: {label} {item} missing from the database")
            for item in sorted(got_set - want_set, key=str):
                problems.append(f"table {name}: {label} {item} not in the models")
        if got.autoincrement != want.autoincrement:
            problems.append(
                f"table {name}: AUTOINCREMENT is {got.autoincrement} in the database, "
                f"{want.autoincrement} in the models"
            )
    for trig in sorted(set(expected.triggers) | set(actual.triggers)):
        got_sql, want_sql = actual.triggers.get(trig), expected.triggers.get(trig)
        if got_sql is None:
            problems.append(f"trigger {trig}: missing from the database")
        elif want_sql is None:
            problems.append(f"trigger {trig}: in the database, not in the models")
        elif got_sql != want_sql:
            problems.append(f"trigger {trig}: differs: database {got_sql!r}, models {want_sql!r}")
    return problems


def drift(db: peewee.Database) -> list[str]:
    """Every difference between ``db``'s schema and the models' (empty when they agree)."""
    return diff(describe(db), reference_schema(db))


__all__ = ["IGNORED_TABLES", "Schema", "TableSchema", "describe", "diff", "drift", "reference_schema"]
