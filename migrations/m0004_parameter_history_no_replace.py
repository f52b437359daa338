"""0004: refuse ``INSERT OR REPLACE`` of an existing ``parameter_history`` id on SQLite.

``parameter_history`` is append-only: step 0001's triggers refuse UPDATE and any DELETE
but the session's cascade. SQLite's REPLACE conflict resolution (``INSERT OR REPLACE``,
``REPLACE INTO``, Peewee's ``Model.replace()``) deletes the row in the way and inserts the
new one, and that implicit delete fires no DELETE trigger unless ``PRAGMA
recursive_triggers`` is on (it is off by default and in every connection DashAI opens), so
a snapshot could be rewritten in place. A BEFORE INSERT trigger that refuses an id already
present closes that: it fires before the conflict is resolved, whatever the pragma.

PostgreSQL needs no change: it has no REPLACE (Peewee's ``replace()`` raises before
sending anything), and ``INSERT ... ON CONFLICT DO UPDATE`` fires the BEFORE UPDATE row
trigger step 0001 installed, which refuses it. ``tests/test_parameter_history_append_only.py``
holds both backends to that.

Frozen: the trigger text is written out here, never imported from ``dashai_store``.
"""

from __future__ import annotations

from peewee import Database, PostgresqlDatabase
from playhouse.migrate import SchemaMigrator

ID = "0004_parameter_history_no_replace"

_MESSAGE = "parameter_history is append-only"

SQLITE_TRIGGER = (
    "CREATE TRIGGER parameter_history_no_replace BEFORE INSERT ON parameter_history "
    "WHEN EXISTS (SELECT 1 FROM parameter_history WHERE id = NEW.id) "
    f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END"
)


def upgrade(migrator: SchemaMigrator, db: Database) -> None:
    if isinstance(db, PostgresqlDatabase):
        return  # ON CONFLICT DO UPDATE already meets the UPDATE trigger; there is no REPLACE
    db.execute_sql(SQLITE_TRIGGER)
