"""Peak memory of the store's big reads and imports against plain streaming ``pyarrow`` code.

Each side of each repeat runs in a fresh interpreter (``memory_side.py``, started with
``sys.executable``) that does its work once and reports its own peak RSS (``VmHWM`` of
``/proc/self/status``: ``getrusage``'s ``ru_maxrss`` would include this runner's peak,
inherited through fork and exec), so a peak holds that side's work, the interpreter
and that side's imports (ours imports ``dashai_store``, the baseline only ``pyarrow`` and
``sqlite3``), and nothing of the other side. ``value`` and ``baseline`` are median peaks
in MB (lower is better for both); ``ratio`` is the median of the per-repeat ratios of the
baseline's peak over ours, so higher is better as everywhere in the suite (1.0 = the same
peak, 0.8 = ours 25% higher). The sides alternate which runs first.

* ``datasets.import_csv.memory`` — ``datasets.create(name, "<file>.csv")`` on a fresh store
  (the file streamed into the store's Arrow file) against
  ``pyarrow.csv.open_csv(file)`` written batch by batch with ``pyarrow.ipc.new_file``, for
  a generated CSV of about 1 GB (10 columns: integers, floats, booleans, text, timestamps,
  dates).
* ``datasets.import_parquet.memory`` — the same for a generated Parquet file of about
  250 MB (the same columns, several row groups), the baseline being
  ``pyarrow.parquet.ParquetFile(file).iter_batches()`` into the same writer.
* ``metrics.history_table.memory`` — ``metrics.history_table(run)`` of a run of 5,000,000
  points (opened with ``open_store``) against the same SQL on a raw ``sqlite3`` connection,
  ``fetchmany(1000)`` each turned into a finished Arrow record batch (struct array from
  the tuples, timestamps parsed) and the batches made one ``pyarrow.Table``.

The inputs are generated in the work folder (never committed) before the clock starts;
with ``DASHAI_BENCH_QUICK=1`` they are a few MB (CSV and Parquet of 4 and 2 MB or a little
more, 50,000 points).
Linux only (``/proc/self/status``): elsewhere the figures are skipped, with the reason.

Run standalone: ``python benchmarks/bench_memory.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

if TYPE_CHECKING:
    import pyarrow as pa

SIDE = Path(__file__).resolve().parent / "memory_side.py"
UNIT = "MB peak RSS"
ROWS_PER_CHUNK = 500_000
REPEATS = 3  # peaks barely move between runs; each repeat is two fresh processes


def _quick() -> bool:
    return os.environ.get("DASHAI_BENCH_QUICK") == "1"


def flat_table(start: int, rows: int) -> pa.Table:
    """Rows ``start .. start+rows`` of a 10-column table of the types a CSV can hold."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = pa.array(range(start, start + rows), type=pa.int64())
    words = pa.array(["setosa", "versicolor", "virginica", "unknown"])
    codes = pc.bit_wise_and(ids, 3)
    scrambled = pc.cast(pc.bit_wise_and(pc.multiply(ids, 2_654_435_761), 0xFFFFFF), pa.float64())
    return pa.table(
        {
            "id": ids,
            "age": pc.cast(pc.bit_wise_and(ids, 127), pa.int32()),
            "x": pc.divide(scrambled, 7.0),
            "y": pc.cast(pc.divide(pc.cast(ids, pa.float64()), 3.0), pa.float32()),
            "z": pc.sqrt(scrambled),
            "flag": pc.equal(codes, 1),
            "label": pc.take(words, codes),
            "note": pc.binary_join_element_wise(
                pc.take(words, pc.bit_wise_and(pc.shift_right(ids, 2), 3)), pc.cast(ids, pa.string()), "-"
            ),
            "seen": pc.cast(pc.multiply(ids, 1_000_000), pa.timestamp("us")),
            "day": pc.cast(pc.cast(pc.bit_wise_and(ids, 4095), pa.int32()), pa.date32()),
        }
    )


def write_csv(path: Path, size: int) -> int:
    """A CSV of at least ``size`` bytes, written chunk by chunk; returns its rows."""
    import pyarrow.csv

    return _write_chunks(path, size, lambda schema: pyarrow.csv.CSVWriter(str(path), schema))


def write_parquet(path: Path, size: int) -> int:
    """A Parquet file of at least ``size`` bytes (one row group per chunk); returns its rows."""
    import pyarrow.parquet

    return _write_chunks(path, size, lambda schema: pyarrow.parquet.ParquetWriter(str(path), schema))


def _write_chunks(path: Path, size: int, open_writer: Callable[[Any], Any]) -> int:
    """Chunks of :func:`flat_table` through ``open_writer(schema)`` until ``path`` holds
    ``size`` bytes (flat memory, whatever the size); returns the rows written."""
    rows = 0
    chunk = 20_000 if size < 50 * 2**20 else ROWS_PER_CHUNK
    writer = None
    try:
        while writer is None or path.stat().st_size < size:
            table = flat_table(rows, chunk)
            if writer is None:
                writer = open_writer(table.schema)
            writer.write_table(table)
            rows += chunk
    finally:
        if writer is not None:
            writer.close()
    return rows


def side(*args: str) -> dict[str, Any]:
    """Run one side in a fresh interpreter; its ``{"peak_mb", "rows"}``."""
    done = subprocess.run(
        [sys.executable, str(SIDE), *args], capture_output=True, text=True, timeout=900, check=False
    )
    if done.returncode:
        raise RuntimeError(
            f"memory_side.py {args[0]} exited {done.returncode}: {done.stderr.strip()[-2000:]}"
        )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def paired(
    ours: Callable[[int], dict[str, Any]], base: Callable[[int], dict[str, Any]], rows: int
) -> tuple[list[float], list[float]]:
    """Peaks (MB) of each side over the repeats; which side goes first alternates."""
    ours_mb: list[float] = []
    base_mb: list[float] = []
    for repeat in range(REPEATS):
        order = [(ours, ours_mb), (base, base_mb)]
        for fn, peaks in order if repeat % 2 == 0 else reversed(order):
            result = fn(repeat)
            if result["rows"] != rows:
                raise AssertionError(f"a side read {result['rows']} rows, expected {rows}")
            peaks.append(float(result["peak_mb"]))
    return ours_mb, base_mb


def _figure(ours_mb: list[float], base_mb: list[float], note: str) -> dict[str, Any]:
    ratios = [base / ours for ours, base in zip(ours_mb, base_mb, strict=True)]
    return {
        "value": statistics.median(ours_mb),
        "baseline": statistics.median(base_mb),
        "ratio": statistics.median(ratios),
        "unit": UNIT,
        "note": note,
    }


def _unsupported() -> str | None:
    if not Path("/proc/self/status").is_file():
        return "peak RSS is read from /proc/self/status (VmHWM): Linux only"
    return None


def _bench_import(workdir: Path, suffix: str, size: int) -> dict[str, Any]:
    reason = _unsupported()
    if reason:
        return {"skipped": reason}
    source = workdir / f"input{suffix}"
    rows = (write_csv if suffix == ".csv" else write_parquet)(source, size)
    megabytes = source.stat().st_size / 2**20

    def ours(repeat: int) -> dict[str, Any]:
        home = workdir / f"home-{repeat}"
        try:
            return side("import-ours", "--source", str(source), "--home", str(home))
        finally:
            shutil.rmtree(home, ignore_errors=True)  # a second copy of the data

    def base(repeat: int) -> dict[str, Any]:
        target = workdir / f"base-{repeat}.arrow"
        try:
            return side("import-base", "--source", str(source), "--target", str(target))
        finally:
            target.unlink(missing_ok=True)

    ours_mb, base_mb = paired(ours, base, rows)
    return _figure(ours_mb, base_mb, f"{megabytes:,.0f} MB {suffix[1:]} of {rows:,} rows x 10 columns")


def bench_import_csv(workdir: Path) -> dict[str, Any]:
    return _bench_import(workdir, ".csv", 4 * 2**20 if _quick() else 2**30)


def bench_import_parquet(workdir: Path) -> dict[str, Any]:
    return _bench_import(workdir, ".parquet", 2 * 2**20 if _quick() else 250 * 2**20)


def bench_history_table(workdir: Path) -> dict[str, Any]:
    reason = _unsupported()
    if reason:
        return {"skipped": reason}
    from bench_metrics import POINT_COLUMNS, _points, _store, new_run

    from dashai_store import metrics

    count = 50_000 if _quick() else 5_000_000
    with _store(workdir, "history-memory") as (store, _raw):
        home = store.home
        run_id = new_run(store)
        chunk = _points(100_000)
        for start in range(0, count, len(chunk)):
            metrics.log_many(
                run_id, [(n, s, lv, st + start, v) for n, s, lv, st, v in chunk[: count - start]]
            )
        sql = f"SELECT {POINT_COLUMNS} FROM metric WHERE run_id = ?{store.dialect.history_order}"

    def ours(_repeat: int) -> dict[str, Any]:
        return side("history-ours", "--home", str(home), "--run-id", str(run_id))

    def base(_repeat: int) -> dict[str, Any]:
        return side(
            "history-base",
            "--database",
            str(home / "db.sqlite"),
            "--sql",
            sql,
            "--run-id",
            str(run_id),
            "--fetch-rows",
            str(metrics.FETCH_ROWS),
        )

    ours_mb, base_mb = paired(ours, base, count)
    return _figure(ours_mb, base_mb, f"{count:,} points of one run")


FIGURES: dict[str, Callable[[Path], dict[str, Any]]] = {
    "datasets.import_csv.memory": bench_import_csv,
    "datasets.import_parquet.memory": bench_import_parquet,
    "metrics.history_table.memory": bench_history_table,
}


if __name__ == "__main__":  # standalone: run.py's table for this module's figures
    import run

    sys.exit(run.main([arg for name in FIGURES for arg in ("--only", name)]))
