"""Deleting a run with a million metrics against raw SQL deleting the same rows, in one run.

``runs.delete`` — ``runs.delete(run_id)`` on a run holding 1,000,000 metric points (100,000
with ``DASHAI_BENCH_QUICK=1``) against ``BEGIN IMMEDIATE; DELETE FROM metric WHERE run_id
= ?; DELETE FROM run WHERE id = ?; COMMIT`` on a raw ``sqlite3`` connection (the store's
pragmas: WAL, ``synchronous=NORMAL``, ``foreign_keys=ON``) to an identical copy of the
same database. The database is built once (``metrics.log_many``), closed, and copied
file by file into two homes per repeat; only the delete is timed (opening the copies is
not). The two sides alternate which goes first. ``value`` and ``baseline`` are median
deleted points per second; ``ratio`` is the median of the per-repeat ratios of the
baseline's time over ours (higher is better, 1.0 = as fast).

Run standalone: ``python benchmarks/bench_runs.py``.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_metrics import _new_run, _points

CHUNK = 100_000  # points per log_many call while building the run (bounds the tuples in memory)


def _quick() -> bool:
    return os.environ.get("DASHAI_BENCH_QUICK") == "1"


def _build(home: Path, count: int) -> int:
    """A store at ``home`` with one run holding ``count`` points; the run's id."""
    from dashai_store import metrics, open_store

    points = _points(CHUNK)
    with open_store(home) as store:
        run_id = _new_run(store)
        _new_run(store)  # a neighbour, so the delete has to pick the run's rows out
        for start in range(0, count, CHUNK):
            # Same names, splits and levels per chunk, steps moved on: the unique index
            # stays satisfied and the rows look like one long training run.
            metrics.log_many(
                run_id,
                [(n, s, lv, st + start, v) for n, s, lv, st, v in points[: count - start]],
            )
        assert metrics.history_table(run_id).num_rows == count
    # Closing the last connection checkpoints the WAL into db.sqlite; a copy of the folder
    # is then the whole database.
    return run_id


def _copy(master: Path, target: Path) -> Path:
    shutil.copytree(master, target)
    return target


def bench_delete(workdir: Path) -> dict[str, Any]:
    from dashai_store import open_store, runs

    count, repeats = (100_000, 3) if _quick() else (1_000_000, 3)
    master = workdir / "master"
    run_id = _build(master, count)
    ours_s: list[float] = []
    base_s: list[float] = []
    for repeat in range(repeats):
        ours_home = _copy(master, workdir / f"ours-{repeat}")
        base_home = _copy(master, workdir / f"base-{repeat}")

        def ours(home: Path = ours_home) -> float:
            with open_store(home):
                start = time.perf_counter()
                runs.delete(run_id)
                return time.perf_counter() - start

        def base(home: Path = base_home) -> float:
            raw = sqlite3.connect(home / "db.sqlite", isolation_level=None)
            try:
                for pragma in ("journal_mode=wal", "synchronous=normal", "foreign_keys=on"):
                    raw.execute(f"PRAGMA {pragma}")
                raw.execute("SELECT count(*) FROM run").fetchone()  # the schema read, as ours has done
                start = time.perf_counter()
                raw.execute("BEGIN IMMEDIATE")
                deleted = raw.execute("DELETE FROM metric WHERE run_id = ?", (run_id,)).rowcount
                raw.execute("DELETE FROM run WHERE id = ?", (run_id,))
                raw.execute("COMMIT")
                elapsed = time.perf_counter() - start
                assert deleted == count
                return elapsed
            finally:
                raw.close()

        order = [(ours, ours_s), (base, base_s)]
        for fn, samples in order if repeat % 2 == 0 else reversed(order):
            samples.append(fn())
        shutil.rmtree(ours_home)
        shutil.rmtree(base_home)
    ratios = [base / ours for ours, base in zip(ours_s, base_s, strict=True)]
    return {
        "value": count / statistics.median(ours_s),
        "baseline": count / statistics.median(base_s),
        "ratio": statistics.median(ratios),
        "unit": "points/s",
    }


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
        first = runs.get(_new_run(store))
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
            ours_s: list[float] = []
            base_s: list[float] = []
            for repeat in range(repeats):
                order = [(ours, ours_s), (base, base_s)]
                for fn, samples in order if repeat % 2 == 0 else reversed(order):
                    start = time.perf_counter()
                    fn()
                    samples.append(time.perf_counter() - start)
        finally:
            raw.close()
    ratios = [base / ours for ours, base in zip(ours_s, base_s, strict=True)]
    return {
        "value": count / statistics.median(ours_s),
        "baseline": count / statistics.median(base_s),
        "ratio": statistics.median(ratios),
        "unit": "runs/s",
    }


FIGURES: dict[str, Callable[[Path], dict[str, Any]]] = {
    "runs.delete": bench_delete,
    "runs.list": bench_list,
}


if __name__ == "__main__":  # standalone: run.py's table for this module's figures
    import run

    sys.exit(run.main([arg for name in FIGURES for arg in ("--only", name)]))
