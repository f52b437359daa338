"""The next step (test only): make ``dataset.file_path`` NOT NULL.

On SQLite before 3.53 this is a table rebuild (``legacy=True`` forces it everywhere):
copy into ``dataset__tmp__``, DROP the parent table, rename. With foreign keys left on,
the DROP would cascade-delete every model session, run, metric, notebook, ...
"""

from __future__ import annotations

from peewee import Database, PostgresqlDatabase
from playhouse.migrate import SchemaMigrator, migrate

from migration_fixtures import NEXT

ID = f"{NEXT}_rebuild_dataset"


def upgrade(migrator: SchemaMigrator, db: Database) -> None:
    if isinstance(db, PostgresqlDatabase):
        migrate(migrator.add_not_null("dataset", "file_path"))
    else:
        migrate(migrator.add_not_null("dataset", "file_path", legacy=True))
