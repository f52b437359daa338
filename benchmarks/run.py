"""Measure the store's hot paths against baselines in the same run, on the same machine.

    python benchmarks/run.py                 # a readable table
    python benchmarks/run.py --json          # one JSON object: name -> {value, baseline, ratio, unit}
    python benchmarks/run.py --quick         # smaller sizes (a smoke run; ratios are noisier)
    python benchmarks/run.py --only metrics.log_many --only datasets.load_table

Each benchmark module defines ``FIGURES: dict[str, Callable[[Path], dict]]``: a figure's
name (what it measures, e.g. ``metrics.log_many``) -> a function that gets an empty work
folder and returns ``{"value", "baseline", "ratio", "unit"}``, where ``value`` and
``baseline`` are in ``unit`` and ``ratio`` is our speed relative to the baseline's
(higher is better, 1.0 = as fast). Memory figures (``*.memory``, unit "MB peak RSS")
report peaks, where lower is better, and keep the ratio's orientation: baseline peak over
ours. The functions repeat their measurement and report medians, alternating our side
and the baseline's. A figure may add a ``"note"`` (printed
under the table), or return only ``{"skipped": reason}`` when it cannot run here (the
MLflow and Optuna figures without them): that is reported, and is neither a failure nor a miss.
Modules are imported statically below; a new one is added to ``MODULES``. ``--quick`` is
passed to them as the environment variable ``DASHAI_BENCH_QUICK=1``.

``TARGETS`` holds the minimum ratios the store promises (on SQLite; ``STRICT`` ones must
be exceeded, not just met); a figure below its target is marked in the table. A full run
exits 1 if any figure missed its target or failed; a ``--quick`` run (small sizes, noisy
ratios) reports misses without failing and exits 1 only if a figure failed to run.

``--json`` prints ``{name: {"value", "baseline", "ratio", "unit", "target", "met"}}``
(``target`` and ``met`` are null for a figure without a target; ``"note"`` when the
figure gave one); a skipped figure is ``{"skipped": reason, "target", "met": null}``, a
failed one ``{"failed": last line of its traceback, "target", "met": false}``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

# `python benchmarks/run.py` puts this folder on sys.path already; this also covers
# `python -m benchmarks.run` and imports from elsewhere.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_bundles
import bench_datasets
import bench_logger
import bench_memory
import bench_metrics
import bench_mlflow
import bench_notebooks
import bench_optuna
import bench_runs
import bench_startup
import bench_testing

MODULES = (
    bench_metrics,
    bench_logger,
    bench_datasets,
    bench_notebooks,
    bench_runs,
    bench_testing,
    bench_startup,
    bench_mlflow,
    bench_optuna,
    bench_memory,
    bench_bundles,
)

# The promises of issues 7 and 17, as minimum ratios (ratio = our speed over the
# baseline's, or the baseline's peak memory over ours): "within 2x" is 0.5, "within
# 2.5x" 0.4, "within 1.5x" 0.67. Figures without an entry (mlflow.get_metric_history)
# are reported only.
TARGETS: dict[str, float] = {
    "metrics.log_many": 0.9,  # vs raw multi-row INSERTs of 500 rows a statement
    "metrics.log_many.enums": 0.8,  # enum members and numpy floats vs the plain-tuple path
    "metrics.log": 0.5,  # vs raw one-row-per-transaction insert
    "metrics.history_table": 0.7,  # vs raw tuple fetch
    "metrics.since": 0.7,  # pages of 1,000 vs raw pages
    "metrics.latest": 0.3,  # latest() on a 1M-point run vs a raw index seek of the same rows
    "runs.list": 0.5,  # 10k runs of one session vs raw tuple fetch of the same columns
    "runs.delete": 0.6,  # vs raw DELETE
    "datasets.load_table": 0.8,  # load and full scan vs pyarrow mmap + the same scan
    "notebooks.create": 0.5,  # 1,000,000 rows within 2x of 10 rows
    "notebooks.revert": 0.5,
    "testing.fresh_store": 1.0,  # strictly cheaper than migrating from scratch (STRICT)
    "startup.migrate": 0.4,  # scripts/migrate.py up to date vs `python -c "import peewee"`
    "startup.import": 0.67,  # the app's import line vs `import peewee`
    "mlflow.log_batch": 20.0,  # log_many vs MLflow's log_batch, 1,000 points a commit, one process
    "optuna.report": 10.0,  # metrics.log vs Optuna's trial.report, both WAL + synchronous=NORMAL
    "metrics.logger": 0.6,  # issue 18: logger.log per point + final flush vs log_many
    "metrics.logger.concurrent": 0.8,  # issue 18: achieved vs offered rate, two producers
    # Memory: ratio = the baseline's peak RSS over ours (each side in a fresh process).
    "datasets.import_csv.memory": 0.8,  # 1 GB CSV vs pyarrow's streaming CSV -> Arrow file
    "datasets.import_parquet.memory": 0.8,  # 250 MB Parquet vs streaming iter_batches -> Arrow
    "metrics.history_table.memory": 0.8,  # 5M points vs a raw batched fetch into Arrow
}
STRICT = frozenset({"testing.fresh_store"})

Figure = Callable[[Path], dict[str, Any]]


def all_figures() -> dict[str, Figure]:
    figures: dict[str, Figure] = {}
    for module in MODULES:
        for name, figure in module.FIGURES.items():
            if name in figures:
                raise SystemExit(f"figure {name!r} is defined twice ({module.__name__})")
            figures[name] = figure
    return figures


def run(names: list[str]) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    figures = all_figures()
    results: dict[str, dict[str, Any]] = {}
    failures: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="dashai-bench-") as tmp:
        for name in names:
            workdir = Path(tmp) / name.replace("/", "_")
            workdir.mkdir()
            print(f"... {name}", file=sys.stderr, flush=True)
            start = time.perf_counter()
            try:
                result = figures[name](workdir)
            except Exception:  # one broken figure must not hide the others
                failures[name] = traceback.format_exc()
                print(failures[name], file=sys.stderr)
                continue
            if "skipped" in result:
                results[name] = {"skipped": str(result["skipped"])}
                print(f"    skipped: {result['skipped']}", file=sys.stderr, flush=True)
                continue
            results[name] = {key: result[key] for key in ("value", "baseline", "ratio", "unit")}
            if "note" in result:
                results[name]["note"] = str(result["note"])
            print(f"    {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    return results, failures


def _number(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def met(name: str, ratio: float) -> bool | None:
    """Whether ``ratio`` meets the figure's target (None: the figure has none)."""
    target = TARGETS.get(name)
    if target is None:
        return None
    return ratio > target if name in STRICT else ratio >= target


def _target_text(name: str) -> str:
    target = TARGETS.get(name)
    if target is None:
        return ""
    return f"{'>' if name in STRICT else '>='} {target:g}"


def table(results: dict[str, dict[str, Any]], failures: dict[str, str]) -> str:
    lines = [f"{'figure':32} {'ours':>14} {'baseline':>14}  {'unit':12} {'ratio':>7}  target"]
    notes = []
    for name, result in results.items():
        if "skipped" in result:
            lines.append(f"{name:32} SKIPPED: {result['skipped']}")
            continue
        verdict = _target_text(name)
        if verdict:
            verdict += " ok" if met(name, result["ratio"]) else " MISSED"
        lines.append(
            f"{name:32} {_number(result['value']):>14} {_number(result['baseline']):>14}  {result['unit']:12}"
            f" {result['ratio']:>7.2f}  {verdict}"
        )
        if "note" in result:
            notes.append(f"  {name}: {result['note']}")
    lines.extend(f"{name:32} FAILED (traceback above)" for name in failures)
    return "\n".join(lines + notes)


def as_json(results: dict[str, dict[str, Any]], failures: dict[str, str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, result in results.items():
        verdict = None if "ratio" not in result else met(name, result["ratio"])
        out[name] = {**result, "target": TARGETS.get(name), "met": verdict}
    for name, trace in failures.items():
        out[name] = {"failed": trace.strip().splitlines()[-1], "target": TARGETS.get(name), "met": False}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--quick", action="store_true", help="smaller sizes; misses reported, not enforced")
    parser.add_argument("--only", action="append", metavar="NAME", help="run only this figure (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the figures and exit")
    args = parser.parse_args(argv)
    figures = all_figures()
    if args.list:
        print("\n".join(figures))
        return 0
    names = args.only or list(figures)
    unknown = [name for name in names if name not in figures]
    if unknown:
        parser.error(f"unknown figure(s) {', '.join(unknown)}; known: {', '.join(figures)}")
    if args.quick:
        os.environ["DASHAI_BENCH_QUICK"] = "1"
    results, failures = run(names)
    if args.json:
        print(json.dumps(as_json(results, failures), indent=2))
    else:
        print(table(results, failures))
    missed = [name for name, result in results.items() if met(name, result.get("ratio", math.inf)) is False]
    if args.quick:  # a smoke run: its sizes are too small for its ratios to decide anything
        if missed and not args.json:
            print(f"quick run: {len(missed)} target(s) missed, not enforced: {', '.join(missed)}")
        return 1 if failures else 0
    return 1 if failures or missed else 0


if __name__ == "__main__":
    sys.exit(main())
