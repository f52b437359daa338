"""What DashAI pays at every start: wall time of fresh interpreters, ours against Peewee's import.

* ``startup.migrate`` — ``python scripts/migrate.py --home H`` on a store that is already
  up to date (the app's startup step when nothing changed) against ``python -c "import
  peewee"`` (the least any Peewee-based store can cost). Target: within 2.5x (ratio >= 0.4).
* ``startup.import`` — ``python -c "from dashai_store import open_store, datasets,
  model_sessions, runs, metrics, notebooks"`` (the app's import line) against ``python -c
  "import peewee"``. Target: within 1.5x (ratio >= 0.67).

Each command runs as a subprocess of the interpreter running the benchmark
(``sys.executable``) with the environment's ``PYTHONPATH`` unchanged, REPEATS times after
one warm-up (the files in the page cache, the bytecode compiled), the two sides
alternating. Bytecode is written for both sides, under a cache folder of the run's own
(``PYTHONPYCACHEPREFIX``), even where the environment says ``PYTHONDONTWRITEBYTECODE``:
an installed wheel is byte-compiled by pip, as Peewee's own install is, so a run that
compiled our sources at every start (an editable install without bytecode) measured the
compiler, not what a user's start costs. ``value`` and ``baseline`` are median wall times
in seconds (process start to exit, interpreter start-up included on both sides);
``ratio`` is ``baseline / value`` (higher is better, 1.0 = as fast).

Run standalone: ``python benchmarks/bench_startup.py``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPEATS = 7
ROOT = Path(__file__).resolve().parent.parent
MIGRATE = ROOT / "scripts" / "migrate.py"
PEEWEE = (sys.executable, "-c", "import peewee")
#: The line DashAI's code imports the store with (every module it names is loaded).
APP_IMPORT = "from dashai_store import open_store, datasets, model_sessions, runs, metrics, notebooks"


def _quick() -> bool:
    return os.environ.get("DASHAI_BENCH_QUICK") == "1"


def _environment(workdir: Path) -> dict[str, str]:
    """Both sides' environment: bytecode written and read under the run's own cache folder."""
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(workdir / "pycache")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _wall(command: Sequence[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env=env)
    return time.perf_counter() - start


def _compare(ours: Sequence[str], base: Sequence[str], workdir: Path) -> dict[str, Any]:
    repeats = 3 if _quick() else REPEATS
    env = _environment(workdir)
    _wall(ours, env)
    _wall(base, env)  # warm-up: compiles both sides' bytecode into the cache folder
    ours_s: list[float] = []
    base_s: list[float] = []
    for repeat in range(repeats):
        order = [(ours, ours_s), (base, base_s)]
        for command, samples in order if repeat % 2 == 0 else reversed(order):
            samples.append(_wall(command, env))
    value, baseline = statistics.median(ours_s), statistics.median(base_s)
    return {"value": value, "baseline": baseline, "ratio": baseline / value, "unit": "s"}


def bench_migrate(workdir: Path) -> dict[str, Any]:
    home = workdir / "home"
    command = (sys.executable, str(MIGRATE), "--home", str(home))
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)  # now up to date
    return _compare(command, PEEWEE, workdir)


def bench_import(workdir: Path) -> dict[str, Any]:
    return _compare((sys.executable, "-c", APP_IMPORT), PEEWEE, workdir)


FIGURES: dict[str, Callable[[Path], dict[str, Any]]] = {
    "startup.migrate": bench_migrate,
    "startup.import": bench_import,
}


if __name__ == "__main__":  # standalone: run.py's table for this module's figures
    import run

    sys.exit(run.main([arg for name in FIGURES for arg in ("--only", name)]))
