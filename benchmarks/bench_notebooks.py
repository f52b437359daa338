"""Notebook creation and revert are constant time: 10 rows vs 1,000,000 rows.

Each figure opens a store in ``workdir`` (SQLite), builds a 10-row and a 1,000,000-row
source dataset, and times the operation on each (median of several repeats, after one
warm-up). ``ratio`` is ``t_10 / t_1M``: about 1 means the time does not depend on the
data's size (target >= 0.5).

Run standalone: ``python benchmarks/bench_notebooks.py`` prints both figures.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

SMALL, LARGE = 10, 1_000_000
REPEATS = 15


def _table(rows: int) -> pa.Table:
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = pa.array(range(rows), type=pa.int64())
    return pa.table(
        {
            "id": ids,
            "x": pc.multiply(pc.cast(ids, pa.float64()), 0.5),
            "label": pc.cast(pc.bit_wise_and(ids, 7), pa.string()),
            "junk": pc.bit_wise_and(ids, 3),
        }
    )


def _dataset(name: str, rows: int) -> int:
    from dashai_store import datasets

    return datasets.create(name, _table(rows)).id


def _scale(table: pa.Table, params: dict[str, Any]) -> pa.Table:
    import pyarrow.compute as pc

    index = table.schema.get_field_index("x")
    return table.set_column(index, "x", pc.multiply(table["x"], params["factor"]))


def _median(samples: list[float]) -> float:
    return statistics.median(samples)


def _figure(t_small: float, t_large: float) -> dict[str, Any]:
    return {"value": t_large, "baseline": t_small, "ratio": t_small / t_large, "unit": "s"}


def bench_create(workdir: Path) -> dict[str, Any]:
    """Median time of ``notebooks.create`` on a 10-row and on a 1,000,000-row dataset."""
    from dashai_store import notebooks, open_store

    with open_store(workdir / "bench-notebooks-create"):
        times: dict[int, float] = {}
        for rows in (SMALL, LARGE):
            dataset_id = _dataset(f"create-{rows}", rows)
            notebooks.create(dataset_id)  # warm-up
            samples = []
            for _ in range(REPEATS):
                start = time.perf_counter()
                notebooks.create(dataset_id)
                samples.append(time.perf_counter() - start)
            times[rows] = _median(samples)
    return _figure(times[SMALL], times[LARGE])


def bench_revert(workdir: Path) -> dict[str, Any]:
    """Median time of ``notebooks.revert`` from step 1 (a scaled copy) back to the source data.

    The timed call is what the caller waits for: the database work (constant: a few rows)
    and moving the step's snapshot into the home's trash (a rename; a background thread
    frees its bytes). The two sizes alternate, the order flipping each repeat, so both
    share the machine's state of the moment; before each timed call the trash is drained
    (``files.wait_for_trash``), so neither size pays for the other's freeing. Applying the
    step again before each repeat is not timed.
    """
    from dashai_store import files, notebooks, open_store

    with open_store(workdir / "bench-notebooks-revert") as store:
        ids = {rows: notebooks.create(_dataset(f"revert-{rows}", rows)).id for rows in (SMALL, LARGE)}
        samples: dict[int, list[float]] = {SMALL: [], LARGE: []}
        for attempt in range(REPEATS + 1):  # the first is a warm-up
            for rows in (SMALL, LARGE) if attempt % 2 == 0 else (LARGE, SMALL):
                step = notebooks.add_converter(ids[rows], "Scale", {"factor": 2.0})
                notebooks.apply(step.id, _scale)
                files.wait_for_trash(store.home)
                start = time.perf_counter()
                notebooks.revert(ids[rows], 0)
                elapsed = time.perf_counter() - start
                if attempt:
                    samples[rows].append(elapsed)
        files.wait_for_trash(store.home)
    return _figure(_median(samples[SMALL]), _median(samples[LARGE]))


FIGURES: dict[str, Callable[[Path], dict[str, Any]]] = {
    "notebooks.create": bench_create,
    "notebooks.revert": bench_revert,
}


if __name__ == "__main__":  # standalone: run.py's table for this module's figures
    import run

    sys.exit(run.main([arg for name in FIGURES for arg in ("--only", name)]))
