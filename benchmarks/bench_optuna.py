"""The store's per-point logging against Optuna's ``trial.report``, in one process.

* ``optuna.report`` — 2,000 points (200 with ``DASHAI_BENCH_QUICK=1``), one call and one
  committed transaction each: ``metrics.log(run, "loss", value, split="VALIDATION",
  level="EPOCH", step=step)`` against ``trial.report(value, step)`` of a trial of a study
  on Optuna's ``RDBStorage`` over SQLite. Target: ours >= 10x (ratio >= 10).

Same durability on both sides: the store's SQLite runs WAL with ``synchronous=NORMAL``, and
Optuna's engine is given the same two pragmas on every connection (checked before the
clock starts). Both sides run in the same interpreter of the peers' venv (``peers.py``:
Optuna is never a dependency of the library), alternating every repeat; see
``peers_side.py``. ``value`` and ``baseline`` are median rates (points/s); ``ratio`` is
the median of the per-repeat ratios (higher is better). Without Optuna (no network on
first use) the figure is ``{"skipped": "optuna: not installed: <reason>"}``.

Run standalone: ``python benchmarks/bench_optuna.py``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers


def bench_report(workdir: Path) -> dict[str, Any]:
    return peers.figure("optuna", "optuna.report", workdir)


FIGURES: dict[str, Callable[[Path], dict[str, Any]]] = {
    "optuna.report": bench_report,
}


if __name__ == "__main__":  # standalone: run.py's table for this module's figures
    import run

    sys.exit(run.main([arg for name in FIGURES for arg in ("--only", name)]))
