"""The next step (test only): no schema change, but slow, so two migrating processes overlap."""

from __future__ import annotations

import time

from peewee import Database
from playhouse.migrate import SchemaMigrator

from migration_fixtures import NEXT

ID = f"{NEXT}_slow"
SECONDS = 1.0


def upgrade(migrator: SchemaMigrator, db: Database) -> None:
    time.sleep(SECONDS)
