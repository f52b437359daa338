"""The store against MLflow's SQLAlchemy tracking store, both in one process, same rows.

* ``mlflow.log_batch`` — 100,000 points (5,000 with ``DASHAI_BENCH_QUICK=1``) committed
  1,000 at a time on both sides: ``metrics.log_many(run, chunk)`` per chunk against
  ``SqlAlchemyStore.log_batch(run_id, metrics=chunk)`` per chunk (MLflow's per-call
  limit). Target: ours >= 20x (ratio >= 20).
* ``mlflow.get_metric_history`` — ``metrics.history(run, name=..., split=...)`` (a list of
  ``MetricPoint``) against ``SqlAlchemyStore.get_metric_history(run_id, key)`` (a list of
  MLflow ``Metric``) of the same series (1/8 of the points). No target; reported.

Both sides run in the same interpreter of the peers' venv (``peers.py``: MLflow is never
a dependency of the library), alternating every repeat, both on SQLite in WAL mode with
``synchronous=NORMAL`` (MLflow's engine is given the store's pragmas); ``peers_side.py``
says exactly what each side does. ``value`` and ``baseline`` are median rates; ``ratio``
is the median of the per-repeat ratios (higher is better). Without MLflow (no network
on first use) both figures are ``{"skipped": "mlflow: not installed: <reason>"}``.

Run standalone: ``python benchmarks/bench_mlflow.py``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers


def bench_log_batch(workdir: Path) -> dict[str, Any]:
    return peers.figure("mlflow", "mlflow.log_batch", workdir)


def bench_get_metric_history(workdir: Path) -> dict[str, Any]:
    return peers.figure("mlflow", "mlflow.get_metric_history", workdir)


FIGURES: dict[str, Callable[[Path], dict[str, Any]]] = {
    "mlflow.log_batch": bench_log_batch,
    "mlflow.get_metric_history": bench_get_metric_history,
}


if __name__ == "__main__":  # standalone: run.py's table for this module's figures
    import run

    sys.exit(run.main([arg for name in FIGURES for arg in ("--only", name)]))
