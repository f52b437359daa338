"""0005: ``notebook.source_path``, the dataset version a notebook started from.

Datasets are edited in place (rename a column, re-sample, replace the data) by writing a
new immutable version file and pointing the dataset row at it. A notebook's first state
(step 0) is the version it was created on, shared rather than copied; until now step 0
was read through the dataset row, which after an edit names another file. The column
records the notebook's own version, so reverting to step 0 returns to the data the
notebook started from, and the store keeps that file while a notebook refers to it.

Existing notebooks get their dataset's current file (the only version there was).
``NULL`` stays allowed (a row written by an older release reads the dataset's file).

Frozen: plain SQL and a playhouse column; ``dashai_store.models`` is never imported.
"""

from __future__ import annotations

from peewee import Database, TextField
from playhouse.migrate import SchemaMigrator, migrate

ID = "0005_notebook_source_path"


def upgrade(migrator: SchemaMigrator, db: Database) -> None:
    migrate(migrator.add_column("notebook", "source_path", TextField(null=True)))
    db.execute_sql(
        "UPDATE notebook SET source_path = "
        "(SELECT dataset.file_path FROM dataset WHERE dataset.id = notebook.dataset_id)"
    )
