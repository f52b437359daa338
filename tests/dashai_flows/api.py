"""DashAI's endpoint handlers as functions: plain JSON-like dicts in, DashAI's shapes out.

Each handler does what the endpoint does to the database (the store's facade calls) and
enqueues the job where the endpoint does; the worker process runs it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from dashai_store import (
    datasets,
    explainers,
    explorers,
    generative,
    jobs,
    metrics,
    model_sessions,
    notebooks,
    plugins,
    predictions,
    runs,
)
from dashai_store.explainers import Kind

from .queue import JobQueue

Json = dict[str, Any]
SUMMARY_LEVELS = ("LAST", "LAST_OUTER")


def plain(value: Any) -> Any:
    """What FastAPI's encoder sends: enums by name, datetimes ISO, paths as text."""
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {k: plain(getattr(value, k)) for k in value.__dataclass_fields__}
    return value


def as_json(value: Any) -> Json:
    """A record (or dict) as the JSON object an endpoint answers."""
    answer: Json = plain(value)
    return answer


# -- datasets ----------------------------------------------------------------------------------


def upload_dataset(queue: JobQueue, name: str, upload: Path) -> Json:
    """POST /dataset: a pending row, then the DatasetJob reads the uploaded file."""
    pending = datasets.create_pending(name)
    huey_id = queue.new_id()
    delivered = datasets.deliver(pending.id, huey_id)
    queue.enqueue("dataset", pending.id, huey_id, path=str(upload))
    return as_json(delivered)


def get_dataset(dataset_id: int) -> Json:
    return as_json(datasets.get(dataset_id))


def dataset_sample(dataset_id: int) -> Json:
    """GET /dataset/{id}/sample: the columns and their values."""
    return as_json(datasets.load_table(dataset_id).to_pydict())


def delete_dataset(dataset_id: int) -> None:
    datasets.delete(dataset_id)


# -- model sessions, runs, live metrics ---------------------------------------------------------


def create_model_session(body: Json) -> Json:
    """POST /model-session: ``splits`` arrives as JSON text (the front end stringifies it)."""
    return as_json(
        model_sessions.create(
            body["dataset_id"],
            body["name"],
            body["task_name"],
            body["input_columns"],
            body["output_columns"],
            body["splits"],
            train_metrics=body.get("train_metrics"),
            validation_metrics=body.get("validation_metrics"),
            test_metrics=body.get("test_metrics"),
        )
    )


def create_run(body: Json) -> Json:
    """POST /run."""
    run = runs.create(
        body["model_session_id"],
        body["name"],
        body["model_name"],
        body["parameters"],
        optimizer_name=body.get("optimizer_name", ""),
        goal_metric=body.get("goal_metric", ""),
    )
    return as_json(run)


def enqueue_model_job(queue: JobQueue, run_id: int) -> Json:
    """POST /job (ModelJob): delivered without the job id; the worker writes it at start.

    The answer is the run as delivered: read after the enqueue, it would race the worker
    (which may already have started it and written its job id).
    """
    delivered = runs.deliver(run_id)
    queue.enqueue("model", run_id)
    return as_json(delivered)


class LiveMetrics:
    """DashAI's websocket loop for one run: per tick, the new points and the run's status.

    The payload is ``{"metrics": {split: {level: {name: [{step, value, timestamp}]}}},
    "run_status": ...}``; a cursor from :func:`metrics.since` gives each point once.
    """

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self.cursor = 0
        self.payload: Json = {}

    def tick(self) -> Json:
        points, self.cursor = metrics.since(self.run_id, self.cursor)
        for p in points:
            if p.level.name not in SUMMARY_LEVELS:
                self._put(p).append(self._entry(p))
        # A LAST upsert rewrites its row in place (same id), so a ``since`` cursor never
        # sees the new value: the summary levels are re-read whole on every tick.
        for level in SUMMARY_LEVELS:
            for p in metrics.history(self.run_id, level=level):
                self._put(p)[:] = [self._entry(p)]
        return {"metrics": plain(self.payload), "run_status": runs.get(self.run_id).status.name}

    def _put(self, p: Any) -> list[Json]:
        series: list[Json] = self.payload.setdefault(p.split.name, {}).setdefault(p.level.name, {})
        return series.setdefault(p.name, [])  # type: ignore[attr-defined,no-any-return]

    @staticmethod
    def _entry(p: Any) -> Json:
        return {"step": p.step, "value": p.value, "timestamp": p.timestamp.isoformat()}


def runs_page(model_session_id: int) -> list[Json]:
    """GET /run?model_session_id=...: each run with its LAST metrics."""
    return [
        {**plain(item.run), "last_metrics": item.last_metrics}
        for item in runs.list_with_metrics(model_session_id)
    ]


# -- predictions ----------------------------------------------------------------------------


def predict(queue: JobQueue, run_id: int, dataset_id: int) -> Json:
    """POST /predict: a prediction row and its PredictJob (which writes its own job id)."""
    prediction = predictions.create(run_id, dataset_id)
    predictions.deliver(prediction.id)
    queue.enqueue("predict", prediction.id)
    return as_json(prediction)


def prediction_results(prediction_id: int) -> Json:
    return {
        **plain(predictions.get(prediction_id)),
        "results": predictions.load_results(prediction_id).to_pydict(),
    }


# -- notebooks, converters, explorers -------------------------------------------------------


def create_notebook(dataset_id: int, name: str) -> Json:
    return as_json(notebooks.create(dataset_id, name=name))


def add_converter(queue: JobQueue, notebook_id: int, converter: str, parameters: Json) -> Json:
    """POST /notebook/{id}/converter: appended and queued at once."""
    step = notebooks.add_converter(notebook_id, converter, parameters)
    huey_id = queue.new_id()
    delivered = notebooks.deliver(step.id, huey_id)
    queue.enqueue("converter", step.id, huey_id)
    return as_json(delivered)


def notebook_state(notebook_id: int) -> Json:
    """GET /notebook/{id}: the notebook, its steps and its current data."""
    return {
        **plain(notebooks.get(notebook_id)),
        "converters": plain(notebooks.converters(notebook_id)),
        "data": notebooks.load_table(notebook_id).to_pydict(),
    }


def create_explorer(queue: JobQueue, notebook_id: int, body: Json) -> Json:
    explorer = explorers.create(
        notebook_id, body["exploration_type"], body["columns"], body.get("parameters"), name=body.get("name")
    )
    explorers.deliver(explorer.id)
    queue.enqueue("explorer", explorer.id)
    return as_json(explorer)


def explorer_result(explorer_id: int) -> Json:
    return {**plain(explorers.get(explorer_id)), "result": explorers.load_result(explorer_id)}


def undo(notebook_id: int) -> Json:
    return as_json(notebooks.undo(notebook_id))


def save_as_dataset(notebook_id: int, name: str) -> Json:
    return as_json(notebooks.save_as_dataset(notebook_id, name))


# -- generative -----------------------------------------------------------------------------


def create_generative_session(body: Json) -> Json:
    return as_json(
        generative.create_session(body["name"], body["task_name"], body["model_name"], body["parameters"])
    )


def update_generative_parameters(session_id: int, changes: Json) -> Json:
    return as_json(generative.update_parameters(session_id, changes))


def parameter_history_diff(session_id: int) -> list[Json]:
    """DashAI's history endpoint: each snapshot against the one before it, changed keys only."""
    history = generative.parameter_history(session_id)
    diffs: list[Json] = []
    for before, after in itertools.pairwise(history):
        changed = {
            key: {"old": before.parameters.get(key), "new": value}
            for key, value in after.parameters.items()
            if before.parameters.get(key) != value
        }
        diffs.append({"id": after.id, "modified_at": after.modified_at.isoformat(), "changes": changed})
    return diffs


def generate(queue: JobQueue, session_id: int, prompt: str) -> Json:
    process = generative.create_process(session_id, [("str", prompt)])
    huey_id = queue.new_id()
    delivered = generative.deliver(process.id, huey_id)
    queue.enqueue("generative", process.id, huey_id)
    return as_json(delivered)


def process_outputs(process_id: int) -> list[Json]:
    """GET /generative-process/{id}: outputs; images by their bare file name."""
    return [
        {"data_type": p.data_type.name, "file_name": p.file_path.name if p.file_path else None}
        for p in generative.payloads(process_id, is_input=False)
    ]


def image(file_name: str) -> bytes:
    """GET /generative-process/image/{file_name}."""
    value = generative.payload_by_file_name(file_name).value
    assert isinstance(value, bytes)
    return value


# -- plugins, explainers, jobs --------------------------------------------------------------


def add_plugin_to_db(plugin: Json) -> Json:
    """DashAI's plugin sync: upsert one plugin from the index, tags as given."""
    record = plugins.register(
        plugin["name"],
        author=plugin["author"],
        version=plugin["version"],
        summary=plugin.get("summary", ""),
        tags=plugin.get("tags", ()),
    )
    return as_json(record)


def create_explainer(queue: JobQueue, kind: Kind, body: Json) -> Json:
    """POST /explainer/global or /explainer/local, then its ExplainerJob."""
    if kind == "global":
        record: Any = explainers.create_global(body["run_id"], body["name"], body["explainer_name"], {})
    else:
        record = explainers.create_local(
            body["run_id"], body["dataset_id"], body["name"], body["explainer_name"], {}, {}, body["scope"]
        )
    explainers.deliver(kind, record.id)
    queue.enqueue("explainer", record.id, kind=kind)
    return as_json(record)


def explainer_result(kind: Kind, explainer_id: int) -> Json:
    return {
        **plain(explainers.get(kind, explainer_id)),
        "explanation": explainers.load_explanation(kind, explainer_id),
        "plot": explainers.load_plot(kind, explainer_id, as_figure=False),
    }


def find_entity_by_huey_id(huey_id: str) -> Json | None:
    found = jobs.find(huey_id)
    return None if found is None else as_json(found)


_GETTERS: dict[str, Callable[[int], Any]] = {
    "prediction": predictions.get,
    "explorer": explorers.get,
    "generative_process": generative.get_process,
    "global_explainer": lambda i: explainers.get("global", i),
    "local_explainer": lambda i: explainers.get("local", i),
}


def job_status(table: str, row_id: int) -> str:
    """The status the front end polls for a queued job's row."""
    return str(_GETTERS[table](row_id).status.name)
