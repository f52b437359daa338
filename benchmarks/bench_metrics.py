"""Metric logging and reading against raw ``sqlite3`` doing the same work, in one run.

Every figure opens a fresh SQLite store in ``workdir`` and a raw ``sqlite3`` connection to
the same database file with the store's settings (WAL, ``synchronous=NORMAL``,
``foreign_keys=ON``), so both sides write to the same table, the same indexes and the
same disk. Each repeat logs to new runs (one for the store, one for the baseline), the two
sides alternate which goes first. Rates are medians over the repeats; ``ratio`` is the
median of the per-repeat ratios (the two sides of a repeat run back to back).

* ``metrics.log_many`` — one ``metrics.log_many(run, points)`` call with N points given
  as (name, split, level, step, value) tuples, against the fastest plain ``sqlite3``
  insert of the same rows: multi-row ``INSERT ... VALUES`` statements of 500 rows (flat
  parameter lists built from ready rows), inside one ``BEGIN IMMEDIATE ... COMMIT``.
* ``metrics.log_many.enums`` — the same call given ``SplitEnum``/``LevelEnum`` members and
  ``numpy.float64`` values (what a training loop hands over) against the same points as
  plain tuples of names and floats (the fast path). Skipped without numpy.
* ``metrics.latest`` — ``metrics.latest(run)`` called repeatedly on a run of 1,000,000
  points (8 of them LAST) against the same query on the raw connection: the summary
  index's seek, so the figure is the facade's overhead and would fall with any plan that
  grows with the run.
* ``metrics.log`` — N ``metrics.log(...)`` calls (one point, one transaction each)
  against a raw ``BEGIN IMMEDIATE; INSERT; COMMIT`` per point.
* ``metrics.history_table`` — ``metrics.history_table(run)`` (a ``pyarrow.Table``) against
  ``cursor.execute(same SQL).fetchall()`` of the same rows (a list of tuples).
* ``metrics.since`` — a live chart's polling: ``metrics.since(run, cursor, limit=PAGE)``
  from cursor 0 until the run's N points are all read, against the same pages fetched raw
  (``SELECT ... WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?``, a list of tuples per
  page, the cursor being the page's last id). Ours also builds ``MetricPoint`` records
  (enums, parsed timestamps) from the tuples, which the baseline does not.

``ratio`` is our speed over the baseline's (higher is better, 1.0 = as fast). With
``DASHAI_BENCH_QUICK=1`` (``run.py --quick``) the sizes are smaller.

Run standalone: ``python benchmarks/bench_metrics.py``.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pairs import figure

NAMES = ("loss", "accuracy", "f1", "precision")
SPLITS = ("TRAIN", "VALIDATION")


#: The columns of a metric point as stored (the raw side reads split and level as text).
POINT_COLUMNS = 'id, name, split, level, step, value, "timestamp"'


def _quick() -> bool:
    return os.environ.get("DASHAI_BENCH_QUICK") == "1"


def _points(count: int) -> list[tuple[str, str, str, int, float]]:
    """``count`` points over a few names and splits, as a training loop would log them."""
    per_series = max(1, count // (len(NAMES) * len(SPLITS)))
    return [
        (name, split, "STEP", step, 1.0 / (step + 1))
        for step in range(per_series)
        for name in NAMES
        for split in SPLITS
    ][:count]


@contextmanager
def _store(workdir: Path, label: str) -> Iterator[tuple[Any, sqlite3.Connection]]:
    """A fresh store and a raw connection to its database file, configured the same way."""
    from dashai_store import open_store

    home = Path(tempfile.mkdtemp(prefix=f"{label}-", dir=workdir))
    store = open_store(home)
    raw = sqlite3.connect(home / "db.sqlite", isolation_level=None)
    for pragma in ("journal_mode=wal", "synchronous=normal", "foreign_keys=on", "busy_timeout=5000"):
        raw.execute(f"PRAGMA {pragma}")
    try:
        yield store, raw
    finally:
        raw.close()
        store.close()


# One model session per store, keyed by the store's home: id(store) would be reused by a
# later store once an earlier one is freed, and hand it a session its database lacks.
_SESSION: dict[Path, int] = {}


def new_run(store: Any) -> int:
    """A fresh run in the store's one benchmark session (made on first use)."""
    from dashai_store import models, runs
    from dashai_store.clock import utcnow

    session = _SESSION.get(store.home)
    if session is None:
        now = utcnow()
        dataset = models.Dataset.create(name=f"bench-{id(store)}", created=now, last_modified=now)
        session = models.ModelSession.create(
            dataset=dataset,
            name=f"bench-{id(store)}",
            task_name="TabularClassificationTask",
            input_columns=["x"],
            output_columns=["y"],
            splits={"train": 1.0},
            created=now,
            last_modified=now,
        ).id
        _SESSION[store.home] = session
    return runs.create(session, "bench", "Model", {}).id


_RAW_INSERT = (
    'INSERT INTO metric (run_id, name, value, split, level, step, "timestamp") VALUES (?, ?, ?, ?, ?, ?, ?)'
)


MULTI_ROWS = 500
_MULTI_INSERT = (
    'INSERT INTO metric (run_id, name, value, split, level, step, "timestamp") VALUES '
    + ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * MULTI_ROWS)
)


def _multi_row_insert(raw: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    """The fastest plain ``sqlite3`` insert: statements of MULTI_ROWS rows, flat parameters."""
    execute = raw.execute
    full = len(rows) - len(rows) % MULTI_ROWS
    for start in range(0, full, MULTI_ROWS):
        execute(_MULTI_INSERT, [value for row in rows[start : start + MULTI_ROWS] for value in row])
    if full < len(rows):
        rest = rows[full:]
        sql = _RAW_INSERT.split(" VALUES ")[0] + " VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(rest))
        execute(sql, [value for row in rest for value in row])


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def bench_log_many(workdir: Path) -> dict[str, Any]:
    from dashai_store import metrics
    from dashai_store.clock import utcnow

    count, repeats = (20_000, 3) if _quick() else (200_000, 7)
    points = _points(count)
    ours_s: list[float] = []
    base_s: list[float] = []
    with _store(workdir, "log-many") as (store, raw):
        for repeat in range(repeats):
            ours_run, base_run = new_run(store), new_run(store)
            stamp = utcnow().isoformat(" ")
            rows = [(base_run, n, v, s, lv, st, stamp) for n, s, lv, st, v in points]

            def ours(run_id: int = ours_run) -> None:
                metrics.log_many(run_id, points)

            def base(rows: list[tuple[Any, ...]] = rows) -> None:
                raw.execute("BEGIN IMMEDIATE")
                _multi_row_insert(raw, rows)
                raw.execute("COMMIT")

            order = [(ours, ours_s), (base, base_s)]
            for fn, samples in order if repeat % 2 == 0 else reversed(order):
                samples.append(_timed(fn)[0])
    return figure(count, ours_s, base_s, "rows/s")


def bench_log(workdir: Path) -> dict[str, Any]:
    from dashai_store import metrics
    from dashai_store.clock import utcnow

    count, repeats = (300, 3) if _quick() else (2_000, 7)
    ours_s: list[float] = []
    base_s: list[float] = []
    with _store(workdir, "log") as (store, raw):
        for repeat in range(repeats):
            ours_run, base_run = new_run(store), new_run(store)

            def ours(run_id: int = ours_run) -> None:
                log = metrics.log
                for step in range(count):
                    log(run_id, "loss", 1.0 / (step + 1), split="TRAIN", level="STEP", step=step)

            def base(run_id: int = base_run) -> None:
                execute = raw.execute
                for step in range(count):
                    row = (run_id, "loss", 1.0 / (step + 1), "TRAIN", "STEP", step, utcnow().isoformat(" "))
                    execute("BEGIN IMMEDIATE")
                    execute(_RAW_INSERT, row)
                    execute("COMMIT")

            order = [(ours, ours_s), (base, base_s)]
            for fn, samples in order if repeat % 2 == 0 else reversed(order):
                samples.append(_timed(fn)[0])
    return figure(count, ours_s, base_s, "points/s")


def bench_history_table(workdir: Path) -> dict[str, Any]:
    from dashai_store import metrics

    count, repeats = (20_000, 5) if _quick() else (200_000, 7)
    ours_s: list[float] = []
    base_s: list[float] = []
    with _store(workdir, "history") as (store, raw):
        run_id = new_run(store)
        metrics.log_many(run_id, _points(count))
        sql = f"SELECT {POINT_COLUMNS} FROM metric WHERE run_id = ?{store.dialect.history_order}"

        def ours() -> Any:
            return metrics.history_table(run_id)

        def base() -> Any:
            return raw.execute(sql, (run_id,)).fetchall()

        assert ours().num_rows == len(base()) == count  # also warms both connections' caches
        for repeat in range(repeats):
            order = [(ours, ours_s), (base, base_s)]
            for fn, samples in order if repeat % 2 == 0 else reversed(order):
                elapsed, result = _timed(fn)
                samples.append(elapsed)
                del result  # freed outside the timed region, for both sides
    return figure(count, ours_s, base_s, "rows/s")


def bench_log_many_enums(workdir: Path) -> dict[str, Any]:
    """``log_many`` given enum members and numpy floats vs the same points as plain tuples."""
    try:
        import numpy as np
    except ImportError:
        return {"skipped": "numpy is not installed"}
    from dashai_store import metrics
    from dashai_store.enums import LevelEnum, SplitEnum

    count, repeats = (20_000, 3) if _quick() else (200_000, 7)
    plain = _points(count)
    given = [(n, SplitEnum[s], LevelEnum[lv], st, np.float64(v)) for n, s, lv, st, v in plain]
    ours_s: list[float] = []
    base_s: list[float] = []
    with _store(workdir, "log-many-enums") as (store, _raw):
        for repeat in range(repeats):
            ours_run, base_run = new_run(store), new_run(store)

            def ours(run_id: int = ours_run) -> None:
                metrics.log_many(run_id, given)

            def base(run_id: int = base_run) -> None:
                metrics.log_many(run_id, plain)

            order = [(ours, ours_s), (base, base_s)]
            for fn, samples in order if repeat % 2 == 0 else reversed(order):
                samples.append(_timed(fn)[0])
    return figure(count, ours_s, base_s, "rows/s")


def bench_latest(workdir: Path) -> dict[str, Any]:
    """``latest(run)`` on a run of N points (a few LAST ones) vs the same rows read raw."""
    from dashai_store import metrics

    count, calls, repeats = (100_000, 200, 5) if _quick() else (1_000_000, 2_000, 7)
    with _store(workdir, "latest") as (store, raw):
        run_id = new_run(store)
        chunk = _points(100_000)
        for start in range(0, count, len(chunk)):
            metrics.log_many(
                run_id, [(n, s, lv, st + start, v) for n, s, lv, st, v in chunk[: count - start]]
            )
        metrics.log_many(run_id, [(n, s, "LAST", 0, 0.5) for n in NAMES for s in SPLITS])
        sql = metrics._latest_sql("?")  # the query ours runs (the index seek it makes possible)

        def ours() -> None:
            latest = metrics.latest
            for _ in range(calls):
                latest(run_id)

        def base() -> None:
            execute = raw.execute
            for _ in range(calls):
                execute(sql, (run_id,)).fetchall()

        assert len(raw.execute(sql, (run_id,)).fetchall()) == len(NAMES) * len(SPLITS)
        assert sum(map(len, metrics.latest(run_id).values())) == len(NAMES) * len(SPLITS)
        ours_s: list[float] = []
        base_s: list[float] = []
        for repeat in range(repeats):
            order = [(ours, ours_s), (base, base_s)]
            for fn, samples in order if repeat % 2 == 0 else reversed(order):
                samples.append(_timed(fn)[0])
    return figure(calls, ours_s, base_s, "calls/s")


SINCE_PAGE = 1_000


def bench_since(workdir: Path) -> dict[str, Any]:
    from dashai_store import metrics

    # Each page's query currently walks all of the run's index entries (see the module
    # note), so a pass costs O(N^2 / PAGE): N stays at 100,000 to keep the suite short.
    count, repeats = (20_000, 5) if _quick() else (100_000, 3)
    ours_s: list[float] = []
    base_s: list[float] = []
    with _store(workdir, "since") as (store, raw):
        run_id = new_run(store)
        metrics.log_many(run_id, _points(count))
        sql = f"SELECT {POINT_COLUMNS} FROM metric WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?"

        def ours() -> int:
            since = metrics.since
            seen, cursor = 0, 0
            while True:
                points, cursor = since(run_id, cursor, limit=SINCE_PAGE)
                if not points:
                    return seen
                seen += len(points)

        def base() -> int:
            execute = raw.execute
            seen, cursor = 0, 0
            while True:
                rows = execute(sql, (run_id, cursor, SINCE_PAGE)).fetchall()
                if not rows:
                    return seen
                seen += len(rows)
                cursor = rows[-1][0]

        assert ours() == base() == count  # also warms both connections' caches
        for repeat in range(repeats):
            order = [(ours, ours_s), (base, base_s)]
            for fn, samples in order if repeat % 2 == 0 else reversed(order):
                samples.append(_timed(fn)[0])
    return figure(count, ours_s, base_s, "rows/s")


FIGURES: dict[str, Callable[[Path], dict[str, Any]]] = {
    "metrics.log_many": bench_log_many,
    "metrics.log_many.enums": bench_log_many_enums,
    "metrics.latest": bench_latest,
    "metrics.log": bench_log,
    "metrics.history_table": bench_history_table,
    "metrics.since": bench_since,
}


if __name__ == "__main__":  # standalone: run.py's table for this module's figures
    import run

    sys.exit(run.main([arg for name in FIGURES for arg in ("--only", name)]))
