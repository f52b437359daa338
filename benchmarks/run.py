"""Measure the store's hot paths against baselines in the same run, on the same machine.

    python benchmarks/run.py                 # a readable table
    python benchmarks/run.py --json          # one JSON object: name -> {value, baseline, ratio, unit}
    python benchmarks/run.py --quick         # smaller sizes (a smoke run; ratios are noisier)
    python benchmarks/run.py --only metrics.log_many --only datasets.load_table

Each benchmark module defines ``FIGURES: dict[str, Callable[[Path], dict]]``: a figure's
name (what it measures, e.g. ``metrics.log_many``) -> a function that gets an empty work
folder and returns ``{"value", "baseline", "ratio", "unit"}``, where ``value`` and
``baseline`` are in ``unit`` and ``ratio`` is our speed relative to the baseline's
(higher is better, 1.0 = as fast). The functions repeat their measurement and report
medians, alternating our side and the baseline's. Modules are imported statically below;
a new one is added to ``MODULES``. ``--quick`` is passed to them as the environment
variable ``DASHAI_BENCH_QUICK=1``.

``TARGETS`` holds the minimum ratios the store promises (on SQLite); a figure below its
target is marked in the table, and the exit status is 1 if any figure missed its target
or failed.
"""

from __future__ import annotations

import argparse
import json
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

import bench_datasets
import bench_metrics
import bench_notebooks
import bench_testing

MODULES = (bench_metrics, bench_datasets, bench_notebooks, bench_testing)

TARGETS: dict[str, float] = {
    "metrics.log_many": 0.8,
    "metrics.log": 0.5,
    "metrics.history_table": 0.7,
    "datasets.load_table": 0.8,
}

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
            results[name] = {key: result[key] for key in ("value", "baseline", "ratio", "unit")}
            print(f"    {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    return results, failures


def _number(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def table(results: dict[str, dict[str, Any]], failures: dict[str, str]) -> str:
    lines = [f"{'figure':26} {'ours':>14} {'baseline':>14}  {'unit':10} {'ratio':>6}  target"]
    for name, result in results.items():
        target = TARGETS.get(name)
        verdict = ""
        if target is not None:
            verdict = f">= {target:.1f} " + ("ok" if result["ratio"] >= target else "MISSED")
        lines.append(
            f"{name:26} {_number(result['value']):>14} {_number(result['baseline']):>14}  {result['unit']:10}"
            f" {result['ratio']:>6.2f}  {verdict}"
        )
    lines.extend(f"{name:26} FAILED (traceback above)" for name in failures)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
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
        print(json.dumps(results, indent=2))
    else:
        print(table(results, failures))
    missed = [name for name, result in results.items() if result["ratio"] < TARGETS.get(name, 0.0)]
    return 1 if failures or missed else 0


if __name__ == "__main__":
    sys.exit(main())
