"""A test-only migration step standing in for "the next schema version".

The bundle app appends it after the shipped registry to upgrade a home that this version
made and filled (the home a user has when the next release starts), so the bundle
exercises the upgrade path — backup, one transaction per step, foreign keys switched off
and checked, rows kept — even while the registry holds a single step. Its number follows
the last registered step, so it stays valid when real steps are added.
"""

from __future__ import annotations

from typing import Any

from dashai_store.migrations import REGISTRY

ID = f"{len(REGISTRY) + 1:04d}_bundle_probe"


def upgrade(migrator: Any, db: Any) -> None:
    db.execute_sql("CREATE TABLE bundle_probe (id INTEGER PRIMARY KEY, note TEXT NOT NULL)")
    db.execute_sql("INSERT INTO bundle_probe (id, note) VALUES (1, 'upgraded')")
