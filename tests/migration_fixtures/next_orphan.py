"""The next step (test only): leaves a metric pointing at a run that does not exist.

Foreign keys are off during a step on SQLite, so only the runner's ``PRAGMA
foreign_key_check`` before COMMIT can catch this; PostgreSQL refuses the INSERT itself.
"""

from __future__ import annotations

from peewee import Database
from playhouse.migrate import SchemaMigrator

from migration_fixtures import NEXT

ID = f"{NEXT}_orphan"


def upgrade(migrator: SchemaMigrator, db: Database) -> None:
    db.execute_sql(
        "INSERT INTO metric (run_id, name, value, split, level, step, timestamp) "
        "VALUES (987654, 'orphan', 1.0, 'TRAIN', 'LAST', 0, '2024-01-01 00:00:00')"
    )
