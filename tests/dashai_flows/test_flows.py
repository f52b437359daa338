"""DashAI's flows end to end: this process is the API, a real subprocess is the worker.

Both open the same home (and, on PostgreSQL, the same schema); the API enqueues jobs on
a JSON-lines queue, the worker runs them, and the API side asserts what the front end
would see at each step, polling as DashAI's front end and websocket loop do.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dashai_store import errors, model_sessions, predictions, runs
from dashai_store.database import Store
from dashai_store.explainers import Kind

from . import api
from .queue import STOP, JobQueue
from .worker import EPOCHS, PNG

TESTS = Path(__file__).resolve().parents[1]
TIMEOUT = 30.0
CSV = "x,junk,label\n" + "".join(f"{i}.0,j{i},{'a' if i % 3 else 'b'}\n" for i in range(10))


class Worker:
    """The worker subprocess; :meth:`wait_for` polls the API side until a condition holds."""

    def __init__(self, home: Path, queue: JobQueue, url: str | None) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
        args = [sys.executable, "-m", "dashai_flows.worker", str(home), str(queue.path)]
        self.queue = queue
        self.proc = subprocess.Popen(
            [*args, *([url] if url else [])], cwd=TESTS, env=env, stderr=subprocess.PIPE, text=True
        )

    def wait_for(self, what: str, probe: Callable[[], Any]) -> Any:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            value = probe()
            if value:
                return value
            if self.proc.poll() is not None:
                pytest.fail(f"the worker exited ({self.proc.returncode}) waiting for {what}: {self.stderr()}")
            time.sleep(0.02)
        pytest.fail(f"timed out waiting for {what}")

    def stop(self) -> str:
        self.queue.enqueue(STOP)
        try:
            self.proc.wait(timeout=TIMEOUT)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        return self.stderr()

    def stderr(self) -> str:
        assert self.proc.stderr is not None
        return self.proc.stderr.read() if self.proc.poll() is not None else ""


@pytest.fixture
def worker(store: Store, database_url: str | None, tmp_path: Path) -> Iterator[Worker]:
    running = Worker(store.home, JobQueue(tmp_path / "queue.jsonl"), database_url)
    try:
        yield running
    finally:
        if running.proc.poll() is None:
            running.stop()


def ended(status: str) -> bool:
    return status in ("FINISHED", "ERROR")


def job_ended(table: str, row_id: int) -> Callable[[], bool]:
    return lambda: ended(api.job_status(table, row_id))


def test_dashai_flows_between_an_api_and_a_worker_process(
    store: Store, worker: Worker, tmp_path: Path
) -> None:
    q, home = worker.queue, store.home
    huey: dict[str, tuple[str, int]] = {}  # job id -> (table, row id), for find_entity_by_huey_id

    # -- upload a dataset: the DatasetJob reads a file outside the home -----------------------
    upload = tmp_path / "uploads" / "iris.csv"
    upload.parent.mkdir()
    upload.write_text(CSV)
    posted = api.upload_dataset(q, "iris", upload)
    assert posted["status"] == "DELIVERED" and posted["file_path"] is None
    ds = worker.wait_for("the dataset job", lambda: ended(api.get_dataset(posted["id"])["status"]))
    dataset = api.get_dataset(posted["id"])
    assert ds and dataset["status"] == "FINISHED" and dataset["huey_id"] == posted["huey_id"]
    assert api.dataset_sample(dataset["id"])["x"] == [float(i) for i in range(10)]
    assert upload.read_text() == CSV, "the upload is read, not moved"
    huey[dataset["huey_id"]] = ("dataset", dataset["id"])

    # -- model session (splits as the front end stringifies them), run, ModelJob ------------
    splits = json.dumps(
        {"train": 0.6, "validation": 0.2, "test": 0.2, "has_changed": True, "splitter_name": "HoldOut"}
    )
    session = api.create_model_session(
        {
            "dataset_id": dataset["id"],
            "name": "s1",
            "task_name": "TabularClassificationTask",
            "input_columns": ["x"],
            "output_columns": ["label"],
            "splits": splits,
            "train_metrics": ["accuracy"],
        }
    )
    assert session["splits"]["has_changed"] is True and session["splits"]["splitter_name"] == "HoldOut"
    run = api.create_run(
        {"model_session_id": session["id"], "name": "svm", "model_name": "SVC", "parameters": {"C": 1}}
    )
    assert run["status"] == "NOT_STARTED"
    assert api.enqueue_model_job(q, run["id"])["huey_id"] is None, "the worker writes it at start"

    # -- the live-metrics loop: one tick per interval until the run ends --------------------
    live = api.LiveMetrics(run["id"])
    ticks: list[dict[str, Any]] = []
    while True:
        ticks.append(live.tick())
        if ticks[-1]["run_status"] in ("FINISHED", "ERROR") or len(ticks) > TIMEOUT / 0.03:
            break
        time.sleep(0.03)
    ticks.append(live.tick())  # points committed just before FINISHED are read on the next tick
    assert ticks[-1]["run_status"] == "FINISHED"

    def sizes(tick: dict[str, Any]) -> dict[tuple[str, str, str], int]:
        return {
            (s, lv, n): len(v)
            for s, by in tick["metrics"].items()
            for lv, ns in by.items()
            for n, v in ns.items()
        }

    for before, after in itertools.pairwise(ticks):
        assert all(after_n >= sizes(before).get(key, 0) for key, after_n in sizes(after).items())
        assert set(sizes(before)) <= set(sizes(after)), "a series never disappears"
    assert len({tuple(sorted(sizes(t).items())) for t in ticks}) >= 2, "the chart grew while the job ran"
    final = ticks[-1]["metrics"]
    assert [p["step"] for p in final["TRAIN"]["STEP"]["loss"]] == list(range(EPOCHS))
    assert [p["value"] for p in final["TRAIN"]["EPOCH"]["accuracy"]] == [0.5, 0.6, 0.7, 0.8]
    assert len(final["VALIDATION"]["EPOCH"]["accuracy"]) == EPOCHS
    assert final["TRAIN"]["LAST"]["accuracy"] == [
        {**final["TRAIN"]["LAST"]["accuracy"][0], "step": 3, "value": 0.8}
    ]
    assert [p["value"] for p in final["TEST"]["LAST"]["accuracy"]] == [0.8]
    assert set(final["TRAIN"]["EPOCH"]["accuracy"][0]) == {"step", "value", "timestamp"}

    # -- the runs page: LAST metrics, one per name (upserted, not appended) -------------------
    page = api.runs_page(session["id"])
    assert [(r["id"], r["status"]) for r in page] == [(run["id"], "FINISHED")]
    assert page[0]["last_metrics"] == {"TRAIN": {"accuracy": 0.8}, "TEST": {"accuracy": 0.8}}
    assert page[0]["huey_id"].startswith("huey-") and page[0]["plot_history_path"] is not None
    assert len(page[0]["split_indexes"]["train_indexes"]) == 6, "written by the job after splitting"
    huey[page[0]["huey_id"]] = ("run", run["id"])

    # -- prediction ------------------------------------------------------------------------
    prediction = api.predict(q, run["id"], dataset["id"])
    worker.wait_for("the prediction", lambda: ended(api.job_status("prediction", prediction["id"])))
    predicted = api.prediction_results(prediction["id"])
    assert predicted["status"] == "FINISHED" and predicted["results"] == {"prediction": ["a"] * 10}
    huey[predicted["huey_id"]] = ("prediction", prediction["id"])

    # -- notebook: converters (one fails, the one queued behind it still runs), explorer ------
    nb = api.create_notebook(dataset["id"], "cleaning")
    steps = [
        api.add_converter(q, nb["id"], "DropColumn", {"column": "junk"}),
        api.add_converter(q, nb["id"], "Explode", {"column": "x"}),
        api.add_converter(q, nb["id"], "FilterMin", {"column": "x", "min": 3.0}),
    ]
    worker.wait_for(
        "the converters", lambda: all(ended(c["status"]) for c in api.notebook_state(nb["id"])["converters"])
    )
    state = api.notebook_state(nb["id"])
    assert [c["status"] for c in state["converters"]] == ["FINISHED", "ERROR", "FINISHED"]
    assert "cannot convert column 'x'" in state["converters"][1]["error"]
    assert state["current_position"] == 3 and state["data"]["x"] == [float(i) for i in range(3, 10)]
    assert list(state["data"]) == ["x", "label"]
    huey.update({s["huey_id"]: ("converter", s["id"]) for s in steps})

    columns = [{"id": 0, "columnName": "x"}, {"id": 1, "columnName": "label"}]
    explorer = api.create_explorer(
        q, nb["id"], {"exploration_type": "Table", "columns": columns, "name": "look"}
    )
    worker.wait_for("the explorer", lambda: ended(api.job_status("explorer", explorer["id"])))
    explored = api.explorer_result(explorer["id"])
    assert explored["status"] == "FINISHED" and explored["columns"] == columns, (
        "columns kept as DashAI sent them"
    )
    assert explored["result"]["layout"]["title"]["text"] == "x, label"
    assert explored["result"]["data"][0]["cells"]["values"][0] == [float(i) for i in range(3, 10)]
    huey[explored["huey_id"]] = ("explorer", explorer["id"])

    undone = api.undo(nb["id"])
    assert undone["current_position"] == 2
    state = api.notebook_state(nb["id"])
    assert state["data"]["x"] == [float(i) for i in range(10)], "back to the data before the filter"
    assert [c["status"] for c in state["converters"]] == ["FINISHED", "ERROR"]
    # The undone step and the explorer made on its data go with it: their jobs are not found.
    gone = [huey.pop(steps[2]["huey_id"]), huey.pop(explored["huey_id"])]
    assert gone == [("converter", steps[2]["id"]), ("explorer", explorer["id"])]
    assert api.find_entity_by_huey_id(steps[2]["huey_id"]) is None
    assert api.find_entity_by_huey_id(explored["huey_id"]) is None
    saved = api.save_as_dataset(nb["id"], "iris-clean")
    assert saved["status"] == "FINISHED" and list(api.dataset_sample(saved["id"])) == ["x", "label"]
    lineage = saved["lineage"]
    assert (lineage["source_dataset_id"], lineage["notebook_id"], lineage["position"]) == (
        dataset["id"],
        nb["id"],
        2,
    )
    assert [step["converter"] for step in lineage["steps"]] == ["DropColumn"], (
        "the failed step is not lineage"
    )

    # -- generative: parameter updates, the history diff, a process with an image ------------
    gen = api.create_generative_session(
        {
            "name": "cats",
            "task_name": "TextToImage",
            "model_name": "sd",
            "parameters": {"steps": 4, "seed": 1},
        }
    )
    api.update_generative_parameters(gen["id"], {"steps": 8})
    api.update_generative_parameters(gen["id"], {"steps": 8})  # no change: no snapshot
    last = api.update_generative_parameters(gen["id"], {"seed": 2, "guidance": 7.5})
    diff = api.parameter_history_diff(gen["id"])
    assert [d["changes"] for d in diff] == [
        {"steps": {"old": 4, "new": 8}},
        {"seed": {"old": 1, "new": 2}, "guidance": {"old": None, "new": 7.5}},
    ]
    process = api.generate(q, gen["id"], "a cat")
    assert process["parameter_history_id"] == last["id"], "the process records the current snapshot"
    worker.wait_for("the image", lambda: ended(api.job_status("generative_process", process["id"])))
    outputs = api.process_outputs(process["id"])
    assert [o["data_type"] for o in outputs] == ["image"]
    assert api.image(outputs[0]["file_name"]) == PNG
    huey[process["huey_id"]] = ("generative_process", process["id"])

    # -- plugin sync: DashAI's add_plugin_to_db, run twice -----------------------------------
    first = api.add_plugin_to_db(
        {"name": "dashai-svm", "author": "a", "version": "1.0", "tags": ["Model", "Package"]}
    )
    again = api.add_plugin_to_db({"name": "dashai-svm", "author": "a", "version": "1.1", "tags": ["Model"]})
    assert again["id"] == first["id"] and again["latest_version"] == "1.1"
    # DashAI only ever adds tags; the store replaces them, so a tag the index dropped goes.
    assert sorted(first["tags"]) == ["Model", "Package"] and again["tags"] == ["Model"]

    # -- explainers: global and local, both reading the run's split indexes ------------------
    made: list[tuple[Kind, dict[str, Any]]] = [
        (
            "global",
            api.create_explainer(
                q, "global", {"run_id": run["id"], "name": "g", "explainer_name": "KernelShap"}
            ),
        ),
        (
            "local",
            api.create_explainer(
                q,
                "local",
                {
                    "run_id": run["id"],
                    "dataset_id": dataset["id"],
                    "name": "l",
                    "explainer_name": "Lime",
                    "scope": {"instances": [0, 1]},
                },
            ),
        ),
    ]
    for kind, record in made:
        worker.wait_for(f"the {kind} explainer", job_ended(f"{kind}_explainer", record["id"]))
        result = api.explainer_result(kind, record["id"])
        assert result["status"] == "FINISHED" and result["explanation"] == {"kind": kind, "rows_explained": 4}
        assert result["plot"]["data"][0]["type"] == "bar"
        huey[result["huey_id"]] = (f"{kind}_explainer", record["id"])

    # -- every job is found by its queue id ------------------------------------------------
    for job_id, (table, row_id) in huey.items():
        found = api.find_entity_by_huey_id(job_id)
        assert found is not None and (found["entity_type"], found["entity_id"]) == (table, row_id), job_id
    assert api.find_entity_by_huey_id("huey-never") is None

    # -- delete the dataset: everything on it goes, files after COMMIT ----------------------
    owned = [home / str(p) for p in (dataset["file_path"], page[0]["run_path"], predicted["results_path"])]
    assert all(p.exists() for p in owned)
    api.delete_dataset(dataset["id"])
    assert not any(p.exists() for p in owned)
    for gone_page in (lambda: api.runs_page(session["id"]), lambda: model_sessions.get(session["id"])):
        with pytest.raises(errors.NotFound):  # the front end's 404
            gone_page()
    assert runs.list() == [] and predictions.list() == [], "foreign keys cascade (DashAI left orphans)"
    assert api.find_entity_by_huey_id(page[0]["huey_id"]) is None
    assert api.dataset_sample(saved["id"])["x"] == [float(i) for i in range(10)], "the saved copy stays"
    # DashAI reused ids (no AUTOINCREMENT); the store never does.
    assert api.upload_dataset(q, "iris-again", upload)["id"] > saved["id"]

    assert "Traceback" not in worker.stop()
    assert worker.proc.returncode == 0
