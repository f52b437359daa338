"""Dataset loading against a raw ``pyarrow`` memory-mapped read of the same file, in one run.

``datasets.load_table`` — ``datasets.load_table(id)`` (row lookup, path check, memory-mapped
Arrow IPC read) of a 1,000,000-row x 10-column dataset of mixed types (int64, int32,
float64, float32, bool, string, dictionary-encoded string, timestamp, date, list<int32>),
against ``pyarrow.ipc.open_file(pyarrow.memory_map(path)).read_all()`` of the same file,
each load followed by the same full scan (``pyarrow.compute.min_max`` over every column,
lists flattened, dictionaries by their indices): a memory-mapped load alone reads no data.
Both are timed over a batch of loads per repeat;
the two sides alternate which goes first; rates are medians over the repeats and ``ratio``
is the median of the per-repeat ratios of the baseline's time over ours (higher is
better, 1.0 = as fast).

The dataset is made with ``datasets.create``; if that area is not available, the Arrow
file is written with ``files.write_arrow`` and its row inserted through the models.
With ``DASHAI_BENCH_QUICK=1`` (``run.py --quick``) the table has 100,000 rows.

Run standalone: ``python benchmarks/bench_datasets.py``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pairs import alternate, figure

if TYPE_CHECKING:
    import pyarrow as pa


def _quick() -> bool:
    return os.environ.get("DASHAI_BENCH_QUICK") == "1"


def mixed_table(rows: int) -> pa.Table:
    """``rows`` rows x 10 columns of mixed types, built in Arrow (no Python loop per row)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = pa.array(range(rows), type=pa.int64())
    words = pa.array(["setosa", "versicolor", "virginica", "unknown"])
    codes = pc.bit_wise_and(ids, 3)
    return pa.table(
        {
            "id": ids,
            "age": pc.cast(pc.bit_wise_and(ids, 127), pa.int32()),
            "x": pc.multiply(pc.cast(ids, pa.float64()), 0.25),
            "y": pc.cast(pc.divide(pc.cast(ids, pa.float64()), 7.0), pa.float32()),
            "flag": pc.equal(codes, 1),
            "label": pc.take(words, codes),
            "species": pc.take(words, codes).dictionary_encode(),
            "seen": pc.cast(pc.multiply(ids, 1_000_000), pa.timestamp("us")),
            "day": pc.cast(pc.cast(pc.bit_wise_and(ids, 4095), pa.int32()), pa.date32()),
            "pair": pa.ListArray.from_arrays(
                pa.array(range(0, 2 * rows + 1, 2), type=pa.int32()),
                pc.cast(pc.bit_wise_and(pa.array(range(2 * rows), type=pa.int64()), 255), pa.int32()),
            ),
        }
    )


def _make_dataset(table: pa.Table) -> tuple[int, Path]:
    """A FINISHED dataset holding ``table``: its id and its file's absolute path."""
    from dashai_store import files

    try:
        from dashai_store import datasets
    except ImportError:  # the datasets area is another module; fall back to the core
        datasets = None  # type: ignore[assignment]
    if datasets is not None:
        record = datasets.create("bench-load", table)
        assert record.file_path is not None
        return record.id, record.file_path
    from dashai_store import models
    from dashai_store.clock import utcnow
    from dashai_store.enums import RunStatus

    now = utcnow()
    row = models.Dataset.create(
        name="bench-load", status=RunStatus.FINISHED.name, created=now, last_modified=now
    )
    relative = files.layout.dataset_file(row.id)
    files.write_arrow(relative, table)
    models.Dataset.update(file_path=relative).where(models.Dataset.id == row.id).execute()
    return int(row.id), files.resolve(relative)


def full_scan(table: pa.Table) -> list[Any]:
    """Read every value of every column once (pyarrow.compute's min_max, in C++).

    A memory-mapped load alone touches no data: only a scan shows what a caller pays,
    e.g. for pages the load left unmapped or a conversion it made.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    found = []
    for column in table.columns:
        if pa.types.is_list(column.type):
            column = pc.list_flatten(column)
        elif pa.types.is_dictionary(column.type):
            column = pa.chunked_array([chunk.indices for chunk in column.chunks])
        found.append(pc.min_max(column))
    return found


def bench_load_table(workdir: Path) -> dict[str, Any]:
    import pyarrow as pa

    from dashai_store import datasets, open_store

    rows = 100_000 if _quick() else 1_000_000
    loads, repeats = (5, 5) if _quick() else (5, 7)
    home = Path(tempfile.mkdtemp(prefix="load-table-", dir=workdir))
    with open_store(home):
        dataset_id, path = _make_dataset(mixed_table(rows))

        def ours() -> None:
            for _ in range(loads):
                table = datasets.load_table(dataset_id)
                full_scan(table)
            assert table.num_rows == rows

        def base() -> None:
            for _ in range(loads):
                table = pa.ipc.open_file(pa.memory_map(str(path), "r")).read_all()
                full_scan(table)
            assert table.num_rows == rows

        ours()
        base()  # warm-up: the file in the page cache, the connection open
        ours_s, base_s = alternate(ours, base, repeats)
    return figure(loads, ours_s, base_s, "loads/s")


FIGURES: dict[str, Callable[[Path], dict[str, Any]]] = {
    "datasets.load_table": bench_load_table,
}


if __name__ == "__main__":  # standalone: run.py's table for this module's figures
    import run

    sys.exit(run.main([arg for name in FIGURES for arg in ("--only", name)]))
