"""Helpers the tests share (import as ``from helpers import ...``)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import peewee
import pytest

from dashai_store import errors, files, models
from dashai_store.clock import utcnow

if TYPE_CHECKING:
    import pyarrow as pa

    from dashai_store.database import Store


def row_counts(db: peewee.Database) -> dict[str, int]:
    """Rows per domain table: tests compare these before and after a refused call."""
    return {
        m._meta.table_name: db.execute_sql(f'SELECT COUNT(*) FROM "{m._meta.table_name}"').fetchone()[0]
        for m in models.ALL_MODELS
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
            if not name.startswith(skip) and not name.endswith(".lock"):
                path = Path(folder) / name
                tree[str(path.relative_to(home))] = path.read_bytes()
    return tree


def assert_refused(store: Store, case: str, call: Callable[[], Any], error: type[errors.StoreError]) -> None:
    """``call`` raises exactly ``error`` and leaves every row and every file as they were."""
    counts, tree = row_counts(store.db), file_tree(store.home)
    try:
        call()
    except errors.StoreError as exc:
        assert type(exc) is error, f"{case}: raised {type(exc).__name__} ({exc}), expected {error.__name__}"
    except Exception as exc:
        pytest.fail(f"{case}: raised untyped {type(exc).__name__}: {exc}")
    else:
        pytest.fail(f"{case}: did not raise {error.__name__}")
    assert row_counts(store.db) == counts, case
    assert file_tree(store.home) == tree, case


# -- rows planted directly through dashai_store.models (no facade involved) ------------------------------


def plant_dataset(name: str = "ds", *, table: pa.Table | None = None, **fields: Any) -> int:
    """A dataset row; with ``table``, also its datasets/<id>/data.arrow and file_path.

    ``fields`` are further columns (e.g. ``status="FINISHED"``).
    """
    now = utcnow()
    row = models.Dataset.create(name=name, created=now, last_modified=now, **fields)
    if table is not None:
        relative = files.layout.dataset_file(row.id)
        files.write_arrow(relative, table)
        models.Dataset.update(file_path=relative).where(models.Dataset.id == row.id).execute()
    return int(row.id)


def plant_session(dataset_id: int, name: str = "session", **overrides: Any) -> int:
    """A tabular classification model session on columns x -> y; ``overrides`` replace any column."""
    now = utcnow()
    columns: dict[str, Any] = {
        "task_name": "TabularClassificationTask",
        "input_columns": ["x"],
        "output_columns": ["y"],
        "splits": {"train": 0.6, "validation": 0.2, "test": 0.2},
        "created": now,
        "last_modified": now,
    }
    columns.update(overrides)
    return int(models.ModelSession.create(dataset=dataset_id, name=name, **columns).id)


def plant_run(session_id: int, name: str = "run", **overrides: Any) -> int:
    """A run row (no files) of an SVC tuned by Optuna on Accuracy; ``overrides`` replace any column."""
    now = utcnow()
    columns: dict[str, Any] = {
        "model_name": "SVC",
        "parameters": {},
        "optimizer_name": "Optuna",
        "optimizer_parameters": {},
        "goal_metric": "Accuracy",
        "created": now,
        "last_modified": now,
    }
    columns.update(overrides)
    return int(models.Run.create(model_session=session_id, name=name, **columns).id)


@contextmanager
def transaction_held_open(action: Callable[[], object]) -> Iterator[None]:
    """Run ``action`` in a write transaction on another thread and keep that transaction
    open (its locks held) for the body of the ``with``; then commit it and re-raise its error."""
    from dashai_store.database import run_in_transaction

    inside, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def holder() -> None:
        def body() -> None:
            action()
            inside.set()
            release.wait(10)

        try:
            run_in_transaction(body)
        except BaseException as exc:  # reported when the with block ends
            failures.append(exc)
            inside.set()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert inside.wait(10)
        assert not failures, failures
        yield
    finally:
        release.set()
        thread.join(10)
    assert not failures, failures


def settle_files(home: Path) -> None:
    """Free tables nobody holds any more and retry the deletions the OS refused meanwhile,
    as the next open does: under the Windows emulation (``files.io.emulating_windows``) a
    file still mapped when its row was deleted stays until then."""
    import gc

    from dashai_store import cascade

    gc.collect()
    cascade.finish_pending_deletions()
    files.wait_for_trash(home)


#: Enough legacy metric rows that an adoption's transaction spills SQLite's page cache to
#: the database file (a kill then leaves ``db.sqlite-journal`` hot).
LEGACY_BULK_METRICS = 200_000


def add_legacy_bulk_metrics(home: Path) -> None:
    """Add :data:`LEGACY_BULK_METRICS` STEP metrics of run 1 to a legacy home's database."""
    import sqlite3

    conn = sqlite3.connect(home / "db.sqlite")
    try:
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO metric (id, run_id, split, level, name, value, step, timestamp) "
            "SELECT 10000 + i, 1, 'TRAIN', 'STEP', 'bulk', i * 0.5, 1000 + i, '2026-04-22 05:58:14' FROM n",
            (LEGACY_BULK_METRICS,),
        )
        conn.commit()
    finally:
        conn.close()
