"""One side of a memory figure, run in a fresh interpreter; prints its peak RSS as JSON.

    python benchmarks/memory_side.py SIDE [options]      # SIDE: see SIDES below

``bench_memory.py`` starts one process per side and repeat, so each peak belongs to that
side's work alone (plus the interpreter and the side's imports): no allocator state, page
or cache left over from the other side or from making the input. The peak is the
process's own high-water mark (``VmHWM``, see :func:`peak_mb`) read after the work,
printed as ``{"peak_mb": ..., "rows": ...}`` on stdout's last line (``rows`` lets the
caller check both sides did the same work).

The baseline sides import only ``pyarrow`` and ``sqlite3``; never ``dashai_store``, whose
import would count against the baseline.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def peak_mb() -> float:
    """This process's peak resident set size so far, in MB (1 MB = 2**20 bytes).

    Read as ``VmHWM`` from ``/proc/self/status`` (Linux), the high-water mark of this
    process's own memory map. Not ``getrusage(RUSAGE_SELF).ru_maxrss``: on Linux a child
    inherits its parent's peak through fork and exec (measured: a child of a 500 MB parent
    reports 513 MB there, 13 MB in VmHWM), which would give both sides the benchmark
    runner's peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**10  # kB
    raise SystemExit("no VmHWM line in /proc/self/status")


def import_ours(source: Path, home: Path) -> Path:
    """``datasets.create`` from the file's path, on a fresh store: what an upload does."""
    from dashai_store import datasets, open_store

    with open_store(home):
        record = datasets.create("upload", source)
        assert record.file_path is not None
        return Path(record.file_path)


def arrow_rows(path: Path) -> int:
    """Rows of an Arrow IPC file, from its batches' lengths (counted after the peak is read)."""
    import pyarrow as pa

    with pa.memory_map(str(path), "r") as source:
        reader = pa.ipc.open_file(source)
        return sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))


def import_base(source: Path, target: Path) -> Path:
    """The plain streaming conversion: the file's batches into an Arrow IPC file writer."""
    import pyarrow as pa

    if source.suffix == ".csv":
        import pyarrow.csv

        reader = pyarrow.csv.open_csv(str(source))
        schema, batches = reader.schema, iter(reader)
    else:
        import pyarrow.parquet

        parquet = pyarrow.parquet.ParquetFile(str(source))
        schema, batches = parquet.schema_arrow, parquet.iter_batches()
    with pa.ipc.new_file(str(target), schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
    return target


def history_ours(home: Path, run_id: int) -> int:
    from dashai_store import metrics, open_store

    with open_store(home):
        table = metrics.history_table(run_id)
        return int(table.num_rows)


#: The history query's columns as the SQLite driver hands them out (timestamps as text).
FETCHED = (
    ("id", "int64"),
    ("name", "string"),
    ("split", "string"),
    ("level", "string"),
    ("step", "int64"),
    ("value", "float64"),
    ("timestamp", "string"),
)


def history_base(database: Path, sql: str, run_id: int, fetch_rows: int) -> int:
    """Raw ``sqlite3`` fetchmany into Arrow: each fetch one finished record batch."""
    import sqlite3

    import pyarrow as pa

    row_type = pa.struct([(name, pa.type_for_alias(alias)) for name, alias in FETCHED])
    stamp_type = pa.timestamp("us")
    connection = sqlite3.connect(database)
    connection.execute("PRAGMA journal_mode=wal")
    cursor = connection.execute(sql, (run_id,))
    batches = []
    while rows := cursor.fetchmany(fetch_rows):
        columns = pa.RecordBatch.from_struct_array(pa.array(rows, row_type)).columns
        columns[6] = columns[6].cast(stamp_type)
        batches.append(pa.RecordBatch.from_arrays(columns, names=[name for name, _ in FETCHED]))
    table = pa.Table.from_batches(batches)
    connection.close()
    return int(table.num_rows)


SIDES = ("import-ours", "import-base", "history-ours", "history-base")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("side", choices=SIDES)
    parser.add_argument("--source", type=Path, help="import-*: the CSV or Parquet file")
    parser.add_argument("--home", type=Path, help="*-ours: the store's home")
    parser.add_argument("--target", type=Path, help="import-base: the Arrow file to write")
    parser.add_argument("--database", type=Path, help="history-base: the store's SQLite file")
    parser.add_argument("--sql", help="history-base: the query history_table runs")
    parser.add_argument("--run-id", type=int, help="history-*: the run to read")
    parser.add_argument("--fetch-rows", type=int, default=1000, help="history-base: rows per fetchmany")
    args = parser.parse_args(argv)
    rows: int | Path
    if args.side == "import-ours":
        rows = import_ours(args.source, args.home)
    elif args.side == "import-base":
        rows = import_base(args.source, args.target)
    elif args.side == "history-ours":
        rows = history_ours(args.home, args.run_id)
    else:
        rows = history_base(args.database, args.sql, args.run_id, args.fetch_rows)
    peak = peak_mb()  # before the written file is opened to count its rows
    print(json.dumps({"peak_mb": peak, "rows": rows if isinstance(rows, int) else arrow_rows(rows)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
