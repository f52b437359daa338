"""The next step (test only): adds a column the models do not have (the drift check must see it)."""

from __future__ import annotations

from peewee import Database, TextField
from playhouse.migrate import SchemaMigrator, migrate

from migration_fixtures import NEXT

ID = f"{NEXT}_add_column"


def upgrade(migrator: SchemaMigrator, db: Database) -> None:
    migrate(migrator.add_column("dataset", "extra_note", TextField(null=True)))
