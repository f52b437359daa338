"""The figures against other tools (MLflow, Optuna), both sides paired in ONE process.

    <peers venv>/bin/python benchmarks/peers_side.py mlflow.log_batch --workdir DIR

Runs inside the benchmark's peers' venv (``peers.py`` makes it: the store's dependencies
plus MLflow and Optuna), with this checkout's ``dashai_store`` first on ``sys.path``, so
the store's side and the peer's side run in the same interpreter, alternating every
repeat (``pairs.alternate``), on the same disk. Prints the figure's ``{"value",
"baseline", "ratio", "unit", "note"}`` as JSON on stdout's last line; ``ratio`` is the
median of the per-repeat ratios of the peer's time over ours (higher is better).
``DASHAI_BENCH_QUICK=1`` shrinks the sizes.

Durability is the same on both sides: the store runs SQLite in WAL mode with
``synchronous=NORMAL``; the peers' SQLAlchemy engines get the same two pragmas on every
connection they open (a ``connect`` event, checked before measuring), so neither side
pays for an fsync the other skips.

* ``mlflow.log_batch`` — N points (100,000; 5,000 quick) committed 1,000 at a time on
  both sides: ``metrics.log_many(run, chunk)`` per chunk against MLflow's
  ``SqlAlchemyStore.log_batch(run_id, metrics=chunk)`` per chunk (MLflow's per-call
  limit). A point becomes an MLflow ``Metric`` keyed ``<split>_<name>`` (MLflow has no
  split or level) with the point's step and value and one timestamp per repeat; the
  ``Metric`` objects and our tuples are built before the clock starts.
* ``mlflow.get_metric_history`` — ``metrics.history(run, name=, split=)`` (a list of
  ``MetricPoint``) against ``SqlAlchemyStore.get_metric_history(run_id, key)`` (a list
  of MLflow ``Metric``) of the same series (N / 8 points), after one warm-up each.
* ``optuna.report`` — N points (2,000; 200 quick), one per call and one transaction each:
  ``metrics.log(run, "loss", value, split="VALIDATION", level="EPOCH", step=step)``
  against Optuna's ``trial.report(value, step)`` on an ``RDBStorage`` over SQLite (a new
  trial from ``study.ask()`` per repeat, made before the clock starts).
"""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# The suite's helpers, and this checkout's store (not installed in the peers' venv) first.
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_metrics import _points, _quick, _store, new_run
from pairs import alternate

ROOT = Path(__file__).resolve().parent.parent

COMMIT = 1_000  # points per commit on both sides (MLflow's MAX_METRICS_PER_BATCH)
PRAGMAS = (("journal_mode", "wal"), ("synchronous", "normal"))
HISTORY = ("loss", "TRAIN")  # the series get_metric_history reads


def same_durability(engine: Any) -> None:
    """Give a SQLAlchemy engine's SQLite connections the store's journal and sync modes."""
    from sqlalchemy import event  # type: ignore[import-not-found]

    def configure(connection: sqlite3.Connection, _record: Any) -> None:
        for pragma, value in PRAGMAS:
            connection.execute(f"PRAGMA {pragma}={value}")

    event.listen(engine, "connect", configure)
    engine.dispose()  # connections opened before the listener are dropped
    with engine.connect() as connection:
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        sync = connection.exec_driver_sql("PRAGMA synchronous").scalar()
    if (str(mode).lower(), int(sync)) != ("wal", 1):
        raise SystemExit(f"the peer's SQLite runs journal_mode={mode}, synchronous={sync}: not WAL/NORMAL")


def _result(amount: int, ours_s: list[float], base_s: list[float], unit: str, note: str) -> dict[str, Any]:
    ratios = [base / ours for ours, base in zip(ours_s, base_s, strict=True)]
    return {
        "value": amount / statistics.median(ours_s),
        "baseline": amount / statistics.median(base_s),
        "ratio": statistics.median(ratios),
        "unit": unit,
        "note": note,
    }


def _mlflow_store(workdir: Path) -> tuple[Any, str, str]:
    """MLflow's SQLite tracking store at the store's durability, an experiment id, a label."""
    import mlflow  # type: ignore[import-not-found]
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore  # type: ignore[import-not-found]

    store = SqlAlchemyStore(
        f"sqlite:///{(workdir / 'mlflow.db').as_posix()}", (workdir / "artifacts").as_uri()
    )
    same_durability(store.engine)
    experiment = store.create_experiment("dashai-bench")
    return store, str(experiment), f"mlflow {mlflow.__version__}"


def _mlflow_run(store: Any, experiment: str, stamp: int) -> str:
    run = store.create_run(experiment_id=experiment, user_id="bench", start_time=stamp, tags=[], run_name="r")
    return str(run.info.run_id)


def _mlflow_metrics(points: list[tuple[str, str, str, int, float]], stamp: int) -> list[Any]:
    from mlflow.entities import Metric  # type: ignore[import-not-found]

    return [
        Metric(f"{split}_{name}".lower(), float(value), stamp, int(step))
        for name, split, _l, step, value in points
    ]


def mlflow_log_batch(workdir: Path) -> dict[str, Any]:
    from dashai_store import metrics

    count, repeats = (5_000, 2) if _quick() else (100_000, 5)
    points = _points(count)
    chunks = [points[i : i + COMMIT] for i in range(0, count, COMMIT)]
    peer, experiment, version = _mlflow_store(workdir)
    stamp = int(time.time() * 1000)
    batches = [_mlflow_metrics(chunk, stamp) for chunk in chunks]
    with _store(workdir, "log-batch") as (store, _raw):
        metrics.log_many(new_run(store), points[:COMMIT])  # warm-up: statements prepared
        peer.log_batch(_mlflow_run(peer, experiment, stamp), metrics=batches[0], params=[], tags=[])
        ours_runs = iter([new_run(store) for _ in range(repeats)])
        base_runs = iter([_mlflow_run(peer, experiment, stamp) for _ in range(repeats)])

        def ours() -> None:
            run_id, log_many = next(ours_runs), metrics.log_many
            for chunk in chunks:
                log_many(run_id, chunk)

        def base() -> None:
            run_id, log_batch = next(base_runs), peer.log_batch
            for batch in batches:
                log_batch(run_id, metrics=batch, params=[], tags=[])

        ours_s, base_s = alternate(ours, base, repeats)
    return _result(
        count, ours_s, base_s, "rows/s", f"{version}, {count:,} points, {len(chunks)} commits per side"
    )


def mlflow_get_metric_history(workdir: Path) -> dict[str, Any]:
    from dashai_store import metrics

    count = 5_000 if _quick() else 100_000
    name, split = HISTORY
    points = _points(count)
    peer, experiment, version = _mlflow_store(workdir)
    stamp = int(time.time() * 1000)
    peer_run = _mlflow_run(peer, experiment, stamp)
    for i in range(0, count, COMMIT):
        peer.log_batch(peer_run, metrics=_mlflow_metrics(points[i : i + COMMIT], stamp), params=[], tags=[])
    key = f"{split}_{name}".lower()
    with _store(workdir, "get-history") as (store, _raw):
        run_id = new_run(store)
        metrics.log_many(run_id, points)
        expected = len(metrics.history(run_id, name=name, split=split))  # warm-up
        if len(peer.get_metric_history(peer_run, key)) != expected:
            raise SystemExit(f"MLflow's history of {key} does not hold our {expected} points")
        ours_s, base_s = alternate(
            lambda: metrics.history(run_id, name=name, split=split),
            lambda: peer.get_metric_history(peer_run, key),
            3 if _quick() else 7,
        )
    return _result(expected, ours_s, base_s, "points/s", f"{version}, one series of {expected:,} points")


def optuna_report(workdir: Path) -> dict[str, Any]:
    import optuna  # type: ignore[import-not-found]

    from dashai_store import metrics

    count, repeats = (200, 3) if _quick() else (2_000, 5)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(f"sqlite:///{(workdir / 'optuna.db').as_posix()}")
    same_durability(storage.engine)
    study = optuna.create_study(study_name="dashai-bench", storage=storage)
    with _store(workdir, "report") as (store, _raw):
        warm = study.ask()
        warm.report(0.5, 0)
        metrics.log(new_run(store), "loss", 0.5, split="VALIDATION", level="EPOCH", step=0)
        runs = iter([new_run(store) for _ in range(repeats)])
        trials = iter([study.ask() for _ in range(repeats)])

        def ours() -> None:
            run_id, log = next(runs), metrics.log
            for step in range(count):
                log(run_id, "loss", 1.0 / (step + 1), split="VALIDATION", level="EPOCH", step=step)

        def base() -> None:
            report = next(trials).report
            for step in range(count):
                report(1.0 / (step + 1), step)

        ours_s, base_s = alternate(ours, base, repeats)
        if len(study.trials[-1].intermediate_values) != count:
            raise SystemExit("Optuna's trial does not hold every reported value")
    return _result(
        count, ours_s, base_s, "points/s", f"optuna {optuna.__version__}, {count:,} points per side"
    )


FIGURES: dict[str, Callable[[Path], dict[str, Any]]] = {
    "mlflow.log_batch": mlflow_log_batch,
    "mlflow.get_metric_history": mlflow_get_metric_history,
    "optuna.report": optuna_report,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("figure", choices=list(FIGURES))
    parser.add_argument("--workdir", required=True, type=Path)
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # alembic's and MLflow's INFO lines on table creation
    import dashai_store

    if not Path(dashai_store.__file__).resolve().is_relative_to(ROOT):
        raise SystemExit(f"dashai_store was imported from {dashai_store.__file__}, not from {ROOT}")
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(json.dumps(FIGURES[args.figure](args.workdir)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
