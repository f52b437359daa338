"""Export and import of a ``.dashai`` bundle against copying the same files with ``shutil``.

The piece is a run with its dataset (an Arrow file of incompressible bytes, 64 MB) and
100,000 metric points (with ``DASHAI_BENCH_QUICK=1``: 8 MB and 10,000 points).

``bundles.export`` — ``bundles.export_bundle(out, runs=[run])`` (rows read in one
snapshot, written as JSON lines, every file streamed into the zip and hashed) against
``shutil.copytree`` of the same row folders;
``bundles.import`` — ``bundles.import_bundle(out)`` into another store (every member
verified, files staged, all rows inserted in one transaction with new ids) against
``shutil.copytree`` of the same files again.

Values are MB/s of the files carried (``note``: rows/s of the rows carried, ours only);
the two sides alternate which goes first; rates are medians over the repeats and
``ratio`` is the median of the per-repeat ratios of the baseline's time over ours (higher
is better, 1.0 = as fast as a plain copy, which moves no rows and checks nothing).

Run standalone: ``python benchmarks/bench_bundles.py``.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pairs import alternate, figure

MB = 1024 * 1024


def _quick() -> bool:
    return os.environ.get("DASHAI_BENCH_QUICK") == "1"


def _sizes() -> tuple[int, int, int]:
    """(MB of data, metric points, repeats)."""
    return (8, 10_000, 5) if _quick() else (64, 100_000, 5)


def _make_piece(home: Path, workdir: Path) -> tuple[int, list[str]]:
    """A run with its dataset and metrics in the store at ``home``: the run's id and the
    row folders (home-relative) holding its files."""
    import pyarrow as pa

    from dashai_store import datasets, metrics, model_sessions, open_store, runs

    megabytes, points, _ = _sizes()
    source = workdir / "data.arrow"
    schema = pa.schema([("blob", pa.binary()), ("x", pa.float64())])
    with pa.OSFile(str(source), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
        for i in range(megabytes):
            writer.write_batch(
                pa.record_batch([pa.array([os.urandom(MB)]), pa.array([float(i)])], schema=schema)
            )
    with open_store(home):
        ds = datasets.create("bench-bundle", source)
        splits = {"train": 0.6, "validation": 0.2, "test": 0.2}
        session = model_sessions.create(
            ds.id, "bench-bundle", "TabularClassificationTask", ["x"], ["blob"], splits
        )
        run = runs.create(session.id, "bench", "SVC", {"C": 1.0})
        runs.save_model(run.id, {"weights": list(range(1000))})
        metrics.log_many(run.id, (("loss", "TRAIN", "STEP", step, 1 / (step + 1)) for step in range(points)))
    source.unlink()
    return run.id, [f"datasets/{ds.id}", f"runs/{run.id}"]


def _copy_folders(home: Path, folders: list[str], target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    for folder in folders:
        shutil.copytree(home / folder, target / folder)


def _figure(ours_s: list[float], base_s: list[float], megabytes: float, rows: int) -> dict[str, Any]:
    rows_per_s = rows / statistics.median(ours_s)
    note = f"{rows_per_s:,.0f} rows/s ({rows:,} rows, {megabytes:.1f} MB of files)"
    return {**figure(megabytes, ours_s, base_s, "MB/s"), "note": note}


def _setup(workdir: Path) -> tuple[Path, int, list[str]]:
    home = Path(tempfile.mkdtemp(prefix="source-", dir=workdir))
    run_id, folders = _make_piece(home, workdir)
    return home, run_id, folders


def bench_export(workdir: Path) -> dict[str, Any]:
    from dashai_store import bundles, open_store

    home, run_id, folders = _setup(workdir)
    out = workdir / "piece.dashai"
    copy = workdir / "copy"
    record: list[Any] = []

    def ours() -> None:
        record[:] = [bundles.export_bundle(out, runs=[run_id])]

    def base() -> None:
        _copy_folders(home, folders, copy)

    with open_store(home):
        ours()
        base()  # warm-up: files in the page cache, the connection open
        ours_s, base_s = alternate(ours, base, _sizes()[2])
    exported = record[0]
    return _figure(ours_s, base_s, exported.file_bytes / MB, sum(exported.rows.values()))


def bench_import(workdir: Path) -> dict[str, Any]:
    from dashai_store import bundles, open_store

    home, run_id, folders = _setup(workdir)
    out = workdir / "piece.dashai"
    with open_store(home):
        exported = bundles.export_bundle(out, runs=[run_id])
    dest = Path(tempfile.mkdtemp(prefix="dest-", dir=workdir))
    copy = workdir / "copy"

    def ours() -> None:
        bundles.import_bundle(out)  # a new copy each time (names suffixed)

    def base() -> None:
        _copy_folders(home, folders, copy)

    with open_store(dest):
        ours()
        base()  # warm-up
        ours_s, base_s = alternate(ours, base, _sizes()[2])
    return _figure(ours_s, base_s, exported.file_bytes / MB, sum(exported.rows.values()))


FIGURES: dict[str, Callable[[Path], dict[str, Any]]] = {
    "bundles.export": bench_export,
    "bundles.import": bench_import,
}


if __name__ == "__main__":  # standalone: run.py's table for this module's figures
    import run

    sys.exit(run.main([arg for name in FIGURES for arg in ("--only", name)]))
