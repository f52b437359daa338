"""Shared by the copy tests: a richly populated store, and what "equal" means for two stores."""

from __future__ import annotations

import hashlib
import math
import os
import shutil
from pathlib import Path
from typing import Any

import peewee
import pyarrow as pa

from dashai_store import datasets, demo, metrics, models, open_store, runs
from dashai_store.backends.sqlite import open_read_only
from dashai_store.database import connect_postgres
from dashai_store.home_copy import file_copy

EDGE_VALUES = [-0.0, math.inf, -math.inf, math.nan, 5e-324, 0.0, -1.5e308, 1 / 3]
BULK_METRICS = 12_000  # more than two of the source's read batches


def populate(home: Path, database: str | None = None) -> None:
    """The demo's walkthrough (every table, every kind of file) plus edge cases: metric
    values that differ between the backends' storage, a bulk series crossing batches, and
    a deleted row above the highest id left (its id must never come back)."""
    demo.run(home, database=database)
    with open_store(home, database=database):
        run = runs.list()[0]
        metrics.log_many(run.id, [("edge", "TRAIN", "STEP", i, v) for i, v in enumerate(EDGE_VALUES)])
        metrics.log_many(run.id, (("bulk", "VALIDATION", "BATCH", i, i / 7) for i in range(BULK_METRICS)))
        odd = "tab\there\nnew line\r\\N back\\slash 'quote' \"dq\" ünïcødé 🎉"
        runs.create(
            run.model_session_id, odd, "SVC", {"nan": math.nan, "inf": -math.inf, odd: [odd]}, description=odd
        )
        gone = datasets.create("deleted-at-the-top", pa.table({"x": [1, 2, 3]}))
        datasets.delete(gone.id)


def tree(home: Path) -> dict[str, tuple[Any, ...]]:
    """Every entry under ``home`` (folders and links too): kind, size, mtime and content hash."""
    found: dict[str, tuple[Any, ...]] = {}
    for folder, dirs, names in os.walk(home):
        for name in dirs + names:
            path = Path(folder) / name
            info = path.lstat()
            rel = path.relative_to(home).as_posix()
            if path.is_symlink():
                found[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                found[rel] = ("dir", info.st_mtime_ns)
            else:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                found[rel] = ("file", info.st_size, info.st_mtime_ns, digest)
    return found


def managed_files(home: Path) -> dict[str, bytes]:
    """The files a copy carries (the managed folders, staging left out), by content."""
    return {rel: (home / rel).read_bytes() for rel in file_copy.scan(home).files}


def _norm(value: Any) -> Any:
    if isinstance(value, float):
        return repr(value)  # -0.0 and 0.0 differ, NaN equals NaN
    return value


def model_rows(db: peewee.Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table as the models read it (what the application sees)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for model in models.ALL_MODELS:
        query = model.select().order_by(model.id).tuples()
        out[model._meta.table_name] = [tuple(_norm(v) for v in row) for row in query.iterator(db)]
    return out


def raw_sqlite_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row as stored in a SQLite file, and its AUTOINCREMENT marks."""
    db = open_read_only(path)
    try:
        out = {
            m._meta.table_name: [
                tuple(_norm(v) for v in row)
                for row in db.execute_sql(f'SELECT * FROM "{m._meta.table_name}" ORDER BY id').fetchall()
            ]
            for m in models.ALL_MODELS
        }
        out["sqlite_sequence"] = sorted(db.execute_sql("SELECT name, seq FROM sqlite_sequence").fetchall())
        return out
    finally:
        db.close()


def rows_of(home: Path, database: str | None) -> dict[str, list[tuple[Any, ...]]]:
    db: peewee.Database = connect_postgres(database) if database else open_read_only(home / "db.sqlite")
    try:
        return model_rows(db)
    finally:
        db.close()


def copy_tree(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, symlinks=True)
    return target
