"""Helpers the tests share (import as ``from helpers import ...``)."""

from __future__ import annotations

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
    """Every file under the home except the database, its sidecars, locks and the trash being emptied."""
    skip = ("db.sqlite",)
    return {
        str(p.relative_to(home)): p.read_bytes()
        for p in sorted(home.rglob("*"))
        if p.is_file() and not p.name.startswith(skip) and ".trash" not in p.relative_to(home).parts
    }
