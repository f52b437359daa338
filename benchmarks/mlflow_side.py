"""MLflow's half of the ``mlflow.*`` figures; runs inside the benchmark's own MLflow venv.

    <venv>/bin/python benchmarks/mlflow_side.py --points points.json --workdir DIR --repeats 3

Imports only the standard library and MLflow (never dashai_store: MLflow is not installed
where the store is, and the store is not installed here). ``points.json`` holds the rows
the store's side logs: ``[[name, split, level, step, value], ...]``. Each becomes an MLflow
``Metric`` with key ``<split>_<name>`` in lower case (MLflow has no split or level; its
metric rows are keyed by (key, timestamp, step, value), so the split goes into the key or
the TRAIN and VALIDATION points of one step would collide), the point's step and value,
and one timestamp for the whole batch (as the store's ``log_many`` stamps one).

Measured on ``SqlAlchemyStore("sqlite:///DIR/mlflow.db", ...)`` with MLflow's own SQLite
settings (not tuned):

* ``log_batch_s``: per repeat, a new run, then ``store.log_batch(run_id, metrics=chunk,
  params=[], tags=[])`` for consecutive chunks of at most 1,000 metrics (MLflow refuses
  larger batches); the ``Metric`` objects are built before the clock starts.
* ``history_s``: ``store.get_metric_history(run_id, key)`` of the first run's ``key``
  (after one warm-up call), ``--history-repeats`` times.

Prints one JSON object on stdout (MLflow's own logging goes to stderr).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

MAX_BATCH = 1000  # mlflow.utils.validation.MAX_METRICS_PER_BATCH


def mlflow_key(name: str, split: str) -> str:
    return f"{split}_{name}".lower()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", required=True, type=Path)
    parser.add_argument("--workdir", required=True, type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--history-key", required=True)
    parser.add_argument("--history-repeats", type=int, default=7)
    args = parser.parse_args(argv)

    logging.disable(logging.WARNING)  # alembic's and MLflow's INFO lines on table creation
    # Installed only in the benchmark's MLflow venv, not where the store is type-checked.
    import mlflow  # type: ignore[import-not-found]
    import sqlalchemy  # type: ignore[import-not-found]
    from mlflow.entities import Metric  # type: ignore[import-not-found]
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore  # type: ignore[import-not-found]

    points = json.loads(args.points.read_text())
    args.workdir.mkdir(parents=True, exist_ok=True)
    store = SqlAlchemyStore(
        f"sqlite:///{(args.workdir / 'mlflow.db').as_posix()}", (args.workdir / "artifacts").as_uri()
    )
    experiment_id = store.create_experiment("dashai-bench")
    stamp = int(time.time() * 1000)
    metrics = [
        Metric(mlflow_key(name, split), float(value), stamp, int(step))
        for name, split, _level, step, value in points
    ]
    chunks = [metrics[i : i + MAX_BATCH] for i in range(0, len(metrics), MAX_BATCH)]

    run_ids: list[str] = []
    log_batch_s: list[float] = []
    for repeat in range(args.repeats):
        run = store.create_run(
            experiment_id=experiment_id, user_id="bench", start_time=stamp, tags=[], run_name=f"r{repeat}"
        )
        run_id = run.info.run_id
        run_ids.append(run_id)
        start = time.perf_counter()
        for chunk in chunks:
            store.log_batch(run_id, metrics=chunk, params=[], tags=[])
        log_batch_s.append(time.perf_counter() - start)

    expected = sum(1 for m in metrics if m.key == args.history_key)
    history: Any = store.get_metric_history(run_ids[0], args.history_key)  # warm-up
    if len(history) != expected:
        raise SystemExit(f"get_metric_history returned {len(history)} points, expected {expected}")
    history_s: list[float] = []
    for _ in range(args.history_repeats):
        start = time.perf_counter()
        history = store.get_metric_history(run_ids[0], args.history_key)
        history_s.append(time.perf_counter() - start)
        del history

    json.dump(
        {
            "mlflow": mlflow.__version__,
            "sqlalchemy": sqlalchemy.__version__,
            "rows": len(metrics),
            "log_batch_calls": len(chunks),
            "log_batch_s": log_batch_s,
            "history_points": expected,
            "history_s": history_s,
        },
        sys.stdout,
    )
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
