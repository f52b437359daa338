"""The next step (test only): rebuild ``run`` without changing the schema.

``alter_column_type`` to the type the column already has is, on SQLite, a full table
rebuild of ``run`` — the parent of metrics, predictions and explainers — whose result
must be schema-identical (indexes recreated, AUTOINCREMENT kept).
"""

from __future__ import annotations

from peewee import Database, PostgresqlDatabase, TextField
from playhouse.migrate import SchemaMigrator, migrate

from migration_fixtures import NEXT

ID = f"{NEXT}_rebuild_run"


def upgrade(migrator: SchemaMigrator, db: Database) -> None:
    if isinstance(db, PostgresqlDatabase):
        migrate(migrator.alter_column_type("run", "name", TextField()))
    else:
        migrate(migrator.alter_column_type("run", "name", TextField()))
