"""Step 4 (test only): changes schema and data, then fails."""

from __future__ import annotations

from peewee import Database
from playhouse.migrate import SchemaMigrator

ID = "0005_fail_halfway"
MESSAGE = "deliberate failure halfway through 0005_fail_halfway"


def upgrade(migrator: SchemaMigrator, db: Database) -> None:
    db.execute_sql("CREATE TABLE halfway (id INTEGER PRIMARY KEY, note TEXT)")
    db.execute_sql("INSERT INTO halfway (id, note) VALUES (1, 'half')")
    db.execute_sql("UPDATE dataset SET name = name || '-changed'")
    db.execute_sql("DELETE FROM metric")
    raise RuntimeError(MESSAGE)
