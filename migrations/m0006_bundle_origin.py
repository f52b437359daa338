"""0006: where a row's code-running files came from, and the bundles imported.

A ``.dashai`` bundle (``dashai_store.bundles``) carries joblib files: a run's model, an
explainer's explanation. Unpickling one runs whatever code its author put in it, so rows
imported from a bundle are marked, and the facade loads their files only when the caller
says it trusts them:

* ``run.origin``, ``global_explainer.origin``, ``local_explainer.origin`` (the rows that
  own joblib files): NULL for a row made in this store; otherwise the id of the
  ``dashai_bundle_import`` row recording the import that brought it.
* ``dashai_bundle_import``: one row per import (the bundle's sha256, its file name, when,
  whether it was trusted, and the pieces it added). ``import --once`` looks the sha256 up.

Existing rows keep NULL (made here). No foreign key from ``origin``: the bookkeeping table
is the store's own, never part of an export, and a row must not follow it anywhere.

Frozen: the table is defined here and the columns added with playhouse;
``dashai_store.models`` is never imported.
"""

from __future__ import annotations

from typing import Any

from peewee import (
    SQL,
    AutoField,
    BooleanField,
    Database,
    DateTimeField,
    IntegerField,
    Model,
    NodeList,
    TextField,
)
from playhouse.migrate import SchemaMigrator, migrate

ID = "0006_bundle_origin"

ORIGIN_TABLES = ("run", "global_explainer", "local_explainer")


class _Id(AutoField):
    def ddl(self, ctx: Any) -> Any:
        node = super().ddl(ctx)
        if ctx.state.field_types.get("AUTO") == "INTEGER":
            return NodeList((node, SQL("AUTOINCREMENT")))
        return node


class BundleImport(Model):
    id = _Id()
    sha256 = TextField(index=True)
    source = TextField()
    trusted = BooleanField()
    pieces = TextField()
    imported_at = DateTimeField()

    class Meta:
        table_name = "dashai_bundle_import"
        legacy_table_names = False


def upgrade(migrator: SchemaMigrator, db: Database) -> None:
    with db.bind_ctx((BundleImport,)):
        db.create_tables((BundleImport,), safe=False)
    migrate(*(migrator.add_column(table, "origin", IntegerField(null=True)) for table in ORIGIN_TABLES))
