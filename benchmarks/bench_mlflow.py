"""The store against MLflow's SQLAlchemy tracking store, same machine, same rows.

* ``mlflow.log_batch`` — ``metrics.log_many(run, points)`` against MLflow's
  ``SqlAlchemyStore.log_batch`` of the same N points (N = 100,000; 5,000 with
  ``DASHAI_BENCH_QUICK=1``), in batches of 1,000 (MLflow's per-call limit). Target: ours
  >= 20x (ratio >= 20).
* ``mlflow.get_metric_history`` — ``metrics.history(run, name=..., split=...)`` (a list of
  ``MetricPoint``) against ``SqlAlchemyStore.get_metric_history(run_id, key)`` (a list of
  MLflow ``Metric``) for the same series (N / 8 points). No target; reported.

MLflow is never a dependency of the library: it lives only in this benchmark's own venv,
``benchmarks/.mlflow-venv/`` (override with ``DASHAI_BENCH_MLFLOW_VENV``), created on first
use with ``python -m venv`` and ``pip install mlflow-skinny sqlalchemy alembic`` (what the
SQLAlchemy store needs; full ``mlflow`` is tried only if that does not import) and kept
for later runs. ``DASHAI_BENCH_MLFLOW_INSTALL=0`` forbids creating it. MLflow's side runs
there as a subprocess (``mlflow_side.py``, which reads the points from a JSON file written
here and prints its timings as JSON); ours is measured in this process on a store with
the same rows. See ``mlflow_side.py`` for how the rows map to MLflow metrics.

If MLflow cannot be installed or run, both figures come back as ``{"skipped": "mlflow: not
installed: <reason>"}`` and the rest of the suite runs on.

``value`` and ``baseline`` are medians (rows/s); ``ratio`` is ``value / baseline``. The two
sides run in different processes, one after the other, so there are no per-repeat pairs.

Run standalone: ``python benchmarks/bench_mlflow.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_metrics import _points, _store, new_run

HERE = Path(__file__).resolve().parent
SIDE = HERE / "mlflow_side.py"
REQUIREMENTS = (("mlflow-skinny", "sqlalchemy", "alembic"), ("mlflow",))
MARKER = "dashai-bench-ready"  # written once the venv imports MLflow's SQLAlchemy store
PROBE = "from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore"
HISTORY = ("loss", "TRAIN")  # the series get_metric_history reads


class NotInstalled(Exception):
    pass


def _quick() -> bool:
    return os.environ.get("DASHAI_BENCH_QUICK") == "1"


def _sizes() -> tuple[int, int, int]:
    """(points, MLflow log_batch repeats, our log_many repeats)."""
    return (5_000, 2, 3) if _quick() else (100_000, 3, 5)


def venv_dir() -> Path:
    return Path(os.environ.get("DASHAI_BENCH_MLFLOW_VENV") or HERE / ".mlflow-venv")


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _tail(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip() and "WARNING: Location" not in line]
    return lines[-1].strip() if lines else "no output"


def mlflow_python() -> Path:
    """The MLflow venv's interpreter, creating the venv on first use; NotInstalled if impossible."""
    venv = venv_dir()
    python = _venv_python(venv)
    if (venv / MARKER).exists() and python.exists():
        return python
    if os.environ.get("DASHAI_BENCH_MLFLOW_INSTALL") == "0":
        raise NotInstalled(f"no ready venv at {venv} and DASHAI_BENCH_MLFLOW_INSTALL=0")
    print(f"    creating {venv} (once) ...", file=sys.stderr, flush=True)
    shutil.rmtree(venv, ignore_errors=True)
    made = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True)
    if made.returncode:
        raise NotInstalled(f"python -m venv failed: {_tail(made.stderr)}")
    reasons = []
    for packages in REQUIREMENTS:
        pip = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--retries", "1", "--timeout", "30", *packages],
            capture_output=True,
            text=True,
        )
        if pip.returncode:
            reasons.append(f"pip install {' '.join(packages)}: {_tail(pip.stderr)}")
            continue
        probe = subprocess.run([str(python), "-c", PROBE], capture_output=True, text=True)
        if probe.returncode == 0:
            (venv / MARKER).write_text(" ".join(packages) + "\n")
            return python
        reasons.append(f"{' '.join(packages)} installed but {PROBE!r} failed: {_tail(probe.stderr)}")
    shutil.rmtree(venv, ignore_errors=True)  # a later run (with network) tries again
    raise NotInstalled("; ".join(reasons))


# MLflow's measurements, made once per process and size: both figures come from one run.
_SIDE: dict[int, dict[str, Any] | str] = {}


def mlflow_side(workdir: Path) -> dict[str, Any]:
    count, repeats, _ = _sizes()
    if count not in _SIDE:
        try:
            python = mlflow_python()
            points_file = workdir / "mlflow-points.json"
            points_file.write_text(json.dumps(_points(count)))
            name, split = HISTORY
            side = subprocess.run(
                [
                    str(python),
                    str(SIDE),
                    "--points",
                    str(points_file),
                    "--workdir",
                    str(workdir / "mlflow"),
                    "--repeats",
                    str(repeats),
                    "--history-key",
                    f"{split}_{name}".lower(),
                ],
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHONNOUSERSITE": "1"},
                timeout=1800,
            )
            if side.returncode:
                raise NotInstalled(f"mlflow_side.py exited {side.returncode}: {_tail(side.stderr)}")
            _SIDE[count] = json.loads(side.stdout.strip().splitlines()[-1])
        except NotInstalled as exc:
            _SIDE[count] = f"mlflow: not installed: {exc}"
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            _SIDE[count] = f"mlflow: not installed: {type(exc).__name__}: {exc}"
    result = _SIDE[count]
    if isinstance(result, str):
        raise NotInstalled(result)
    return result


def bench_log_batch(workdir: Path) -> dict[str, Any]:
    from dashai_store import metrics

    try:
        side = mlflow_side(workdir)
    except NotInstalled as exc:
        return {"skipped": str(exc)}
    count, _, repeats = _sizes()
    points = _points(count)
    ours_s: list[float] = []
    with _store(workdir, "log-batch") as (store, _raw):
        metrics.log_many(new_run(store), points[:1000])  # warm-up: statements prepared, pages cached
        for _ in range(repeats):
            run_id = new_run(store)
            start = time.perf_counter()
            metrics.log_many(run_id, points)
            ours_s.append(time.perf_counter() - start)
    value = count / statistics.median(ours_s)
    baseline = side["rows"] / statistics.median(side["log_batch_s"])
    return {
        "value": value,
        "baseline": baseline,
        "ratio": value / baseline,
        "unit": "rows/s",
        "note": (
            f"mlflow {side['mlflow']}, sqlalchemy {side['sqlalchemy']},"
            f" {side['rows']:,} rows in {side['log_batch_calls']} log_batch calls"
        ),
    }


def bench_get_metric_history(workdir: Path) -> dict[str, Any]:
    from dashai_store import metrics

    try:
        side = mlflow_side(workdir)
    except NotInstalled as exc:
        return {"skipped": str(exc)}
    count, _, _ = _sizes()
    name, split = HISTORY
    ours_s: list[float] = []
    with _store(workdir, "get-history") as (store, _raw):
        run_id = new_run(store)
        metrics.log_many(run_id, _points(count))
        points = metrics.history(run_id, name=name, split=split)  # warm-up
        if len(points) != side["history_points"]:
            raise AssertionError(f"ours read {len(points)} points, MLflow {side['history_points']}")
        for _ in range(len(side["history_s"])):
            start = time.perf_counter()
            points = metrics.history(run_id, name=name, split=split)
            ours_s.append(time.perf_counter() - start)
            del points
    amount = side["history_points"]
    value = amount / statistics.median(ours_s)
    baseline = amount / statistics.median(side["history_s"])
    return {"value": value, "baseline": baseline, "ratio": value / baseline, "unit": "points/s"}


FIGURES: dict[str, Callable[[Path], dict[str, Any]]] = {
    "mlflow.log_batch": bench_log_batch,
    "mlflow.get_metric_history": bench_get_metric_history,
}


if __name__ == "__main__":  # standalone: run.py's table for this module's figures
    import run

    sys.exit(run.main([arg for name in FIGURES for arg in ("--only", name)]))
