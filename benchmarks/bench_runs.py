"""Deleting runs and listing them against raw SQL doing the same work, in one run.

``runs.delete`` — ``runs.delete(run_id)`` of 200 runs (20 with ``DASHAI_BENCH_QUICK=1``),
each holding 100 metric points and a saved model (``runs.save_model``, ~180 kB), one call
per run, until the model files' bytes are freed (in place, a small run folder is removed
by the delete itself; ``files.wait_for_trash`` for anything larger), against, per
run, ``BEGIN IMMEDIATE; DELETE FROM metric WHERE run_id = ?; DELETE FROM run WHERE id =
?; COMMIT`` on a raw ``sqlite3`` connection (the store's pragmas) and the removal of the
run's folder, on an identical copy of the same home. The home is built once, closed, and
copied per repeat; only the deletes are timed, and each side's timing ends with a
``PRAGMA wal_checkpoint`` on its connection: both pay for moving exactly the pages they
wrote into the database file (with SQLite's automatic checkpoint at 1,000 WAL pages
instead, the side that happens to cross that line inside the timed deletes paid for a
whole checkpoint and the other for none). ``value`` and ``baseline`` are median runs
deleted per second.

``runs.list`` — ``runs.list(session)`` of 10,000 runs of one session (1,000 quick)
against a raw fetch of the same columns (``SELECT <every run column> FROM run WHERE
model_session_id = ? ORDER BY id``, a list of tuples). Ours decodes JSON, timestamps,
statuses and paths into ``RunRecord`` objects, which the baseline does not.

The two sides alternate which goes first; ``ratio`` is the median of the per-repeat ratios
of the baseline's time over ours (higher is better, 1.0 = as fast).

Run standalone: ``python benchmarks/bench_runs.py``.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_metrics import new_run
from pairs import alternate, figure

RUN_METRICS = 100  # points per deleted run
MODEL_FLOATS = 20_000  # the model: a list of floats, about 180 kB pickled


def _quick() -> bool:
    return os.environ.get("DASHAI_BENCH_QUICK") == "1"


def _build(home: Path, count: int) -> list[int]:
    """A store at ``home`` with ``count`` runs, each with RUN_METRICS points and a model."""
    from dashai_store import metrics, open_store, runs

    model = {"weights": [float(i) for i in range(MODEL_FLOATS)]}
    ids = []
    with open_store(home) as store:
        for _ in range(count):
            run_id = new_run(store)
            metrics.log_many(run_id, [("loss", "TRAIN", "STEP", step, 0.5) for step in range(RUN_METRICS)])
            runs.save_model(run_id, model)
            ids.append(run_id)
        new_run(store)  # a neighbour, so the deletes have to pick the runs' rows out
    # Closing the last connection checkpoints the WAL into db.sqlite; a copy of the folder
    # is then the whole database and its files.
    return ids


def _copy(master: Path, target: Path) -> Path:
    shutil.copytree(master, target)
    return target


def bench_delete(workdir: Path) -> dict[str, Any]:
    from dashai_store import files, open_store, runs

    count, repeats = (20, 3) if _quick() else (200, 5)
    master = workdir / "master"
    ids = _build(master, count)
    with open_store(master):
        folders = [files.layout.run_folder(run_id) for run_id in ids]
    ours_s: list[float] = []
    base_s: list[float] = []
    for repeat in range(repeats):
        ours_home = _copy(master, workdir / f"ours-{repeat}")
        base_home = _copy(master, workdir / f"base-{repeat}")

        def ours(home: Path = ours_home) -> float:
            with open_store(home) as store:
                start = time.perf_counter()
                for run_id in ids:
                    runs.delete(run_id)
                files.wait_for_trash(store.home)  # the model's bytes freed, as the baseline's are
                store.db.execute_sql("PRAGMA wal_checkpoint")
                return time.perf_counter() - start

        def base(home: Path = base_home) -> float:
            raw = _raw_connection(home / "db.sqlite")
            try:
                raw.execute("SELECT count(*) FROM run").fetchone()  # the schema read, as ours has done
                start = time.perf_counter()
                for run_id, folder in zip(ids, folders, strict=True):
                    raw.execute("BEGIN IMMEDIATE")
                    deleted = raw.execute("DELETE FROM metric WHERE run_id = ?", (run_id,)).rowcount
                    raw.execute("DELETE FROM run WHERE id = ?", (run_id,))
                    raw.execute("COMMIT")
                    shutil.rmtree(home / folder)
                    assert deleted == RUN_METRICS
                raw.execute("PRAGMA wal_checkpoint")
                return time.perf_counter() - start
            finally:
                raw.close()

        order = [(ours, ours_s), (base, base_s)]
        for fn, samples in order if repeat % 2 == 0 else reversed(order):
            samples.append(fn())
        shutil.rmtree(ours_home)
        shutil.rmtree(base_home)
    return figure(count, ours_s, base_s, "runs/s")


LIST_RUNS = 10_000


def _raw_connection(path: Path) -> sqlite3.Connection:
    raw = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=wal", "synchronous=normal", "foreign_keys=on", "busy_timeout=5000"):
        raw.execute(f"PRAGMA {pragma}")
    return raw


def bench_list(workdir: Path) -> dict[str, Any]:
    """``runs.list(session)`` of a session's runs vs a raw fetch of the same columns."""
    from dashai_store import models, open_store, runs

    count, repeats = (1_000, 5) if _quick() else (LIST_RUNS, 7)
    home = workdir / "list"
    with open_store(home) as store:
        first = runs.get(new_run(store))
        columns = [field.column_name for field in models.Run._meta.sorted_fields]
        names = ", ".join(f'"{column}"' for column in columns)
        raw = _raw_connection(home / "db.sqlite")
        try:
            # Copies of one real run (its parameters as the store wrote them), ids aside.
            source = [column for column in columns if column != "id"]
            copied = ", ".join(f'"{column}"' for column in source)
            raw.execute("BEGIN IMMEDIATE")
            for _ in range(count - 1):
                raw.execute(f"INSERT INTO run ({copied}) SELECT {copied} FROM run WHERE id = ?", (first.id,))
            raw.execute("COMMIT")
            sql = f"SELECT {names} FROM run WHERE model_session_id = ? ORDER BY id"
            session = first.model_session_id

            def ours() -> int:
                return len(runs.list(session))

            def base() -> int:
                return len(raw.execute(sql, (session,)).fetchall())

            assert ours() == base() == count  # also warms both connections' caches
            ours_s, base_s = alternate(ours, base, repeats)
        finally:
            raw.close()
    return figure(count, ours_s, base_s, "runs/s")


FIGURES: dict[str, Callable[[Path], dict[str, Any]]] = {
    "runs.delete": bench_delete,
    "runs.list": bench_list,
}


if __name__ == "__main__":  # standalone: run.py's table for this module's figures
    import run

    sys.exit(run.main([arg for name in FIGURES for arg in ("--only", name)]))
