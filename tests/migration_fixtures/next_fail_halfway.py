"""The next step (test only): changes schema and data, then fails."""

from __future__ import annotations

from peewee import Database
from playhouse.migrate import SchemaMigrator

from migration_fixtures import NEXT

ID = f"{NEXT}_fail_halfway"
MESSAGE = f"deliberate failure halfway through {ID}"


def upgrade(migrator: SchemaMigrator, db: Database) -> None:
    db.execute_sql("CREATE TABLE halfway (id INTEGER PRIMARY KEY, note TEXT)")
    db.execute_sql("INSERT INTO halfway (id, note) VALUES (1, 'half')")
    db.execute_sql("UPDATE dataset SET name = name || '-changed'")
    db.execute_sql("DELETE FROM metric")
    raise RuntimeError(MESSAGE)
