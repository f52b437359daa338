"""DashAI's jobs, run by a separate worker process on the API's home and database.

``python -m dashai_flows.worker HOME QUEUE [DATABASE_URL]`` (with ``tests/`` on the path)
opens the store and runs every queued job. A job that raises marks its row ERROR, as
DashAI's job wrappers do, and the worker goes on with the next one.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from dashai_store import (
    datasets,
    explainers,
    explorers,
    generative,
    jobs,
    metrics,
    model_sessions,
    notebooks,
    open_store,
    predictions,
    runs,
)

from .queue import JobQueue

EPOCHS = 4
#: The live-metrics poller must see the run grow; each epoch takes this long.
EPOCH_SECONDS = 0.15


def drop_column(table: pa.Table, params: dict[str, Any]) -> pa.Table:
    return table.drop_columns([params["column"]])


def explode(table: pa.Table, params: dict[str, Any]) -> pa.Table:
    raise ValueError(f"cannot convert column {params['column']!r}")


def filter_min(table: pa.Table, params: dict[str, Any]) -> pa.Table:
    return table.filter(pc.greater_equal(table[params["column"]], params["min"]))


CONVERTERS: dict[str, Callable[[pa.Table, dict[str, Any]], pa.Table]] = {
    "DropColumn": drop_column,
    "Explode": explode,
    "FilterMin": filter_min,
}

#: A 1x1 PNG, what the generative job "draws".
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0000003010100c9fe92ef0000000049454e44ae426082"
)


def dataset_job(job: dict[str, Any]) -> None:
    """DatasetJob: reads the upload (a file outside the home) into the pending dataset."""
    datasets.start(job["id"])
    try:
        datasets.attach_data(job["id"], job["path"])
    except Exception as exc:
        datasets.fail(job["id"], str(exc))
        raise
    datasets.finish(job["id"])


def model_job(job: dict[str, Any]) -> None:
    """ModelJob: job id at start, split indexes, STEP+EPOCH per epoch, LAST upserts, model, plots."""
    run_id = job["id"]
    run = runs.start(run_id, job_id=job["huey_id"])
    session = model_sessions.get(run.model_session_id)
    rows = datasets.load_table(session.dataset_id).num_rows
    cut = max(1, rows * 3 // 5)
    splits = {"train_indexes": list(range(cut)), "test_indexes": list(range(cut, rows)), "val_indexes": []}
    runs.set_split_indexes(run_id, json.dumps(splits))  # DashAI sends json.dumps(...)
    for epoch in range(EPOCHS):
        acc = round(0.5 + 0.1 * epoch, 3)
        metrics.log_many(
            run_id,
            [
                ("loss", "TRAIN", "STEP", epoch, 1.0 / (epoch + 1)),
                ("accuracy", "TRAIN", "EPOCH", epoch, acc),
                ("accuracy", "VALIDATION", "EPOCH", epoch, acc - 0.05),
            ],
        )
        metrics.log(run_id, "accuracy", acc, split="TRAIN", level="LAST", step=epoch)
        time.sleep(EPOCH_SECONDS)
    metrics.log(run_id, "accuracy", 0.8, split="TEST", level="LAST", step=0)
    runs.save_model(run_id, {"kind": "majority", "label": "a"})
    runs.save_plot(run_id, "history", {"data": [{"type": "scatter", "y": [0.5, 0.8]}], "layout": {}})
    runs.finish(run_id)


def predict_job(job: dict[str, Any]) -> None:
    """PredictJob: writes its job id, predicts every row of the dataset with the run's model."""
    jobs.set_job_id("prediction", job["id"], job["huey_id"])
    record = predictions.start(job["id"])
    model = runs.load_model(record.run_id)
    assert record.dataset_id is not None
    rows = datasets.load_table(record.dataset_id).num_rows
    predictions.save_results(job["id"], pa.table({"prediction": [model["label"]] * rows}))
    predictions.finish(job["id"])


def converter_job(job: dict[str, Any]) -> None:
    """ConverterJob: applies one step (a failing converter leaves its step ERROR)."""
    step = notebooks.get_converter(job["id"])
    notebooks.apply(job["id"], CONVERTERS[step.converter])


def explorer_job(job: dict[str, Any]) -> None:
    """ExplorerJob: a describe-like figure over the explorer's columns."""
    jobs.set_job_id("explorer", job["id"], job["huey_id"])
    explorer = explorers.start(job["id"])
    table = notebooks.load_table(explorer.notebook_id)
    names = explorers.column_names(explorer.columns)
    figure = {"data": [{"type": "table", "cells": {"values": [table[n].to_pylist() for n in names]}}]}
    explorers.save_result(job["id"], {**figure, "layout": {"title": {"text": ", ".join(names)}}})
    explorers.finish(job["id"])


def explainer_job(job: dict[str, Any]) -> None:
    """ExplainerJob: reads the run's split indexes; global or local explanation and plot."""
    kind = job["kind"]
    record = explainers.start(kind, job["id"], job_id=job["huey_id"])
    split = runs.get(record.run_id).split_indexes
    explanation = {"kind": kind, "rows_explained": len(split["test_indexes"])}
    explainers.save_explanation(kind, job["id"], explanation)
    explainers.save_plot(kind, job["id"], {"data": [{"type": "bar", "y": [1, 2]}], "layout": {}})
    explainers.finish(kind, job["id"])


def generative_job(job: dict[str, Any]) -> None:
    """GenerativeJob: an image output payload for the process."""
    generative.start(job["id"])
    generative.add_outputs(job["id"], [("image", PNG)])
    generative.finish(job["id"])


JOBS: dict[str, Callable[[dict[str, Any]], None]] = {
    "dataset": dataset_job,
    "model": model_job,
    "predict": predict_job,
    "converter": converter_job,
    "explorer": explorer_job,
    "explainer": explainer_job,
    "generative": generative_job,
}


def main(argv: list[str]) -> int:
    home, queue = Path(argv[0]), JobQueue(Path(argv[1]))
    url = argv[2] if len(argv) > 2 else None
    with open_store(home, database=url):
        for job in queue.consume():
            try:
                JOBS[job["job"]](job)
            except Exception:  # DashAI logs the failure and takes the next job
                traceback.print_exc()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
