"""Helpers the tests share (import as ``from helpers import ...``)."""

from __future__ import annotations

import os
from pathlib import Path

import peewee


def row_counts(db: peewee.Database) -> dict[str, int]:
    """Rows per domain table: tests compare these before and after a refused call."""
    from dashai_store.models import ALL_MODELS

    return {
        m._meta.table_name: db.execute_sql(f'SELECT COUNT(*) FROM "{m._meta.table_name}"').fetchone()[0]
        for m in ALL_MODELS
    }


def file_tree(home: Path) -> dict[str, bytes]:
    """Every file under the home except the database, its sidecars, locks and the trash.

    The trash is not even walked: a background thread empties it while we look.
    """
    skip = ("db.sqlite",)
    tree: dict[str, bytes] = {}
    for folder, dirs, names in os.walk(home):
        dirs[:] = sorted(d for d in dirs if not (Path(folder) == home and d == ".trash"))
        for name in sorted(names):
            if not name.startswith(skip):
                path = Path(folder) / name
                tree[str(path.relative_to(home))] = path.read_bytes()
    return tree
