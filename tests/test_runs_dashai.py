"""What DashAI does to runs beyond create/deliver/finish: jobs writing after creation
(split indexes, the job id at start), edits with and without a reset, uploads with plot
files, paged listings and the runs page with LAST metrics; then ModelJob replayed."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from helpers import assert_refused, file_tree, plant_dataset, plant_session

from dashai_store import errors, files, jobs, metrics, runs
from dashai_store.database import Store
from dashai_store.enums import RunStatus

FIGURE = {"data": [{"type": "scatter", "x": [1, 2], "y": [2, 1]}], "layout": {"title": {"text": "h"}}}
SPLITS = {"train_indexes": [0, 1, 2, 3], "test_indexes": [4, 5], "val_indexes": [6]}


@pytest.fixture
def session_id(store: Store) -> int:
    return plant_session(plant_dataset("ds"))


def new_run(session_id: int, name: str = "svm") -> int:
    return runs.create(session_id, name, "SVC", {"C": 1.0}, optimizer_name="Optuna", goal_metric="acc").id


# -- jobs write after creation ----------------------------------------------------------------------


def test_split_indexes_are_written_by_the_job_and_read_back(store: Store, session_id: int) -> None:
    run_id = new_run(session_id)
    runs.deliver(run_id)
    assert runs.set_split_indexes(run_id, SPLITS).split_indexes == SPLITS
    # DashAI's ModelJob sends json.dumps(splits): stored once, not as a JSON string.
    runs.set_split_indexes(run_id, json.dumps({**SPLITS, "test_indexes": [5]}))
    assert runs.get(run_id).split_indexes["test_indexes"] == [5]
    runs.start(run_id)
    runs.set_split_indexes(run_id, SPLITS)  # while STARTED too
    runs.finish(run_id)
    assert runs.get(run_id).split_indexes == SPLITS


def test_create_decodes_split_indexes_given_as_json_text(store: Store, session_id: int) -> None:
    run = runs.create(session_id, "r", "SVC", {}, split_indexes=json.dumps(SPLITS))
    assert run.split_indexes == SPLITS


def test_the_worker_writes_the_job_id_at_start(store: Store, session_id: int) -> None:
    run_id = new_run(session_id)
    assert runs.deliver(run_id).huey_id is None  # the API process does not know it
    started = runs.start(run_id, job_id="huey-abc")
    assert (started.status, started.huey_id) == (RunStatus.STARTED, "huey-abc")
    other = new_run(session_id, "other")
    runs.deliver(other, job_id="huey-given")
    assert runs.start(other).huey_id == "huey-given"  # None keeps the delivered one
    third = new_run(session_id, "third")
    runs.deliver(third)
    assert runs.set_job_id(third, "huey-3").huey_id == "huey-3"  # DashAI: before STARTED
    assert runs.start(third).huey_id == "huey-3"


def test_bad_job_writes_are_refused_and_change_nothing(store: Store, session_id: int) -> None:
    run_id = new_run(session_id)
    finished = new_run(session_id, "finished")
    runs.deliver(finished)
    runs.start(finished)
    runs.finish(finished)
    cases: list[tuple[str, Callable[[], Any], type[errors.StoreError]]] = [
        ("unknown run", partial(runs.set_split_indexes, 999, SPLITS), errors.NotFound),
        ("run id a str", partial(runs.set_split_indexes, "1", SPLITS), errors.ValidationError),
        ("indexes not JSON", partial(runs.set_split_indexes, run_id, {1, 2}), errors.ValidationError),
        ("indexes bad JSON text", partial(runs.set_split_indexes, run_id, "[1,"), errors.ValidationError),
        ("indexes None", partial(runs.set_split_indexes, run_id, None), errors.ValidationError),
        (
            "indexes of a finished run",
            partial(runs.set_split_indexes, finished, SPLITS),
            errors.InvalidTransition,
        ),
        ("job id of a finished run", partial(runs.set_job_id, finished, "h"), errors.InvalidTransition),
        ("job id blank", partial(runs.set_job_id, run_id, " "), errors.ValidationError),
        ("job id an int", partial(runs.set_job_id, run_id, 7), errors.ValidationError),
        ("start job id an int", partial(runs.start, run_id, job_id=7), errors.ValidationError),
        ("start not delivered", partial(runs.start, run_id, job_id="h"), errors.InvalidTransition),
    ]
    for case, call, error in cases:
        assert_refused(store, case, call, error)
    assert runs.get(run_id).huey_id is None and runs.get(run_id).split_indexes is None


# -- edits ------------------------------------------------------------------------------------------------


def started_run_with_results(session_id: int, name: str = "full") -> int:
    run_id = new_run(session_id, name)
    runs.deliver(run_id, job_id="job")
    runs.start(run_id)
    metrics.log(run_id, "acc", 0.9, split="TEST", level="LAST", step=3)
    runs.save_model(run_id, {"w": [1.0]})
    runs.save_plot(run_id, "history", FIGURE)
    runs.finish(run_id)
    return run_id


def test_name_description_and_goal_metric_change_in_place(store: Store, session_id: int) -> None:
    run_id = started_run_with_results(session_id)
    before = runs.get(run_id)
    after = runs.update(run_id, name="svm v2", description="tuned", goal_metric="f1")
    assert (after.name, after.description, after.goal_metric) == ("svm v2", "tuned", "f1")
    assert after.status is RunStatus.FINISHED and after.artifacts == before.artifacts
    assert metrics.latest(run_id) == {"TEST": {"acc": 0.9}}
    assert after.last_modified >= before.last_modified
    assert runs.update(run_id, name="svm v2") == after  # nothing differs: nothing written


@pytest.mark.parametrize(
    "change",
    [{"parameters": {"C": 2.0}}, {"optimizer_name": "HyperOpt"}, {"optimizer_parameters": {"n_trials": 9}}],
)
def test_parameters_and_optimizer_reset_the_run(
    store: Store, session_id: int, change: dict[str, Any]
) -> None:
    run_id = started_run_with_results(session_id)
    folder = store.home / files.layout.run_folder(run_id)
    assert folder.exists()
    after = runs.update(run_id, description="again", **change)
    field, value = next(iter(change.items()))
    assert getattr(after, field) == value and after.description == "again"
    assert after.status is RunStatus.NOT_STARTED and after.artifacts is None and after.huey_id is None
    assert after.plot_history_path is None and after.run_path is None
    assert metrics.history(run_id) == []
    files.wait_for_trash(store.home)
    assert not folder.exists()


def test_an_equal_optimizer_does_not_reset(store: Store, session_id: int) -> None:
    run_id = started_run_with_results(session_id)
    assert runs.update(run_id, optimizer_name="Optuna", parameters={"C": 1.0}).status is RunStatus.FINISHED


def test_reset_without_a_change(store: Store, session_id: int) -> None:
    run_id = started_run_with_results(session_id)
    assert runs.reset(run_id).status is RunStatus.NOT_STARTED
    assert metrics.history(run_id) == [] and runs.get(run_id).parameters == {"C": 1.0}


def test_bad_edits_are_refused_and_change_nothing(store: Store, session_id: int) -> None:
    run_id = new_run(session_id)
    running = new_run(session_id, "running")
    runs.deliver(running)
    cases: list[tuple[str, Callable[[], Any], type[errors.StoreError]]] = [
        ("unknown run", partial(runs.update, 999, name="x"), errors.NotFound),
        ("unknown field", partial(runs.update, run_id, model_name="KNN"), errors.ValidationError),
        ("blank name", partial(runs.update, run_id, name=""), errors.ValidationError),
        ("description an int", partial(runs.update, run_id, description=3), errors.ValidationError),
        ("goal metric None", partial(runs.update, run_id, goal_metric=None), errors.ValidationError),
        ("parameters a list", partial(runs.update, run_id, parameters=[1]), errors.ValidationError),
        ("optimizer name None", partial(runs.update, run_id, optimizer_name=None), errors.ValidationError),
        ("reset while running", partial(runs.update, running, parameters={"C": 3}), errors.InvalidTransition),
        ("plain reset while running", partial(runs.reset, running), errors.InvalidTransition),
        ("reset unknown run", partial(runs.reset, 999), errors.NotFound),
    ]
    for case, call, error in cases:
        assert_refused(store, case, call, error)


# -- upload with plot files ----------------------------------------------------------------------------


def test_create_imports_existing_plot_files_into_the_home(
    store: Store, session_id: int, tmp_path: Path
) -> None:
    source = tmp_path / "outside" / "history.json"
    source.parent.mkdir()
    source.write_text(json.dumps(FIGURE))
    run = runs.create(session_id, "uploaded", "SVC", {}, plots={"history": source, "slice": FIGURE})
    assert run.plot_history_path == store.home / files.layout.run_plot(run.id, "history")
    assert runs.load_plot(run.id, "history", as_figure=False) == FIGURE
    assert runs.load_plot(run.id, "slice", as_figure=False) == FIGURE
    assert run.plot_contour_path is None and run.run_path == store.home / files.layout.run_folder(run.id)
    assert source.read_text() == json.dumps(FIGURE)  # the source is left alone
    runs.delete(run.id)
    files.wait_for_trash(store.home)
    assert source.exists() and not (store.home / files.layout.run_folder(run.id)).exists()


def test_bad_plot_uploads_are_refused_and_leave_no_file(
    store: Store, session_id: int, tmp_path: Path
) -> None:
    not_json = tmp_path / "plot.pickle"
    not_json.write_bytes(b"\x80\x04K\x01.")
    cases: list[tuple[str, Callable[[], Any], type[errors.StoreError]]] = [
        (
            "unknown kind",
            partial(runs.create, session_id, "r", "SVC", {}, plots={"pie": FIGURE}),
            errors.ValidationError,
        ),
        (
            "missing file",
            partial(runs.create, session_id, "r", "SVC", {}, plots={"history": tmp_path / "no.json"}),
            errors.ValidationError,
        ),
        (
            "not figure JSON",
            partial(runs.create, session_id, "r", "SVC", {}, plots={"history": not_json}),
            errors.ValidationError,
        ),
        (
            "plots a list",
            partial(runs.create, session_id, "r", "SVC", {}, plots=[FIGURE]),
            errors.ValidationError,
        ),
        (
            "figure an int",
            partial(runs.create, session_id, "r", "SVC", {}, plots={"slice": 3}),
            errors.ValidationError,
        ),
        (
            "unknown session",
            partial(runs.create, 999, "r", "SVC", {}, plots={"slice": FIGURE}),
            errors.NotFound,
        ),
    ]
    for case, call, error in cases:
        assert_refused(store, case, call, error)


# -- listings ---------------------------------------------------------------------------------------------


def test_pages_of_runs_are_stable_and_complete(store: Store, session_id: int) -> None:
    ids = [new_run(session_id, f"r{i}") for i in range(7)]
    pages = [[r.id for r in runs.list(session_id, limit=3, offset=o)] for o in (0, 3, 6, 9)]
    assert pages == [ids[:3], ids[3:6], ids[6:], []]
    assert [r.id for r in runs.list(offset=5)] == ids[5:]
    assert runs.list(session_id, limit=0) == []  # an empty page, as every paged list gives
    for bad in ({"limit": -1}, {"limit": True}, {"offset": -1}, {"offset": "1"}, {"limit": 2.5}):
        assert_refused(store, f"page {bad}", partial(runs.list, **bad), errors.ValidationError)
        assert_refused(store, f"page {bad}", partial(runs.list_with_metrics, **bad), errors.ValidationError)


def test_runs_page_lists_runs_with_their_last_metrics(store: Store, session_id: int) -> None:
    first, second, bare = new_run(session_id, "a"), new_run(session_id, "b"), new_run(session_id, "c")
    other_session = plant_session(plant_dataset("other"), "other")
    elsewhere = new_run(other_session, "elsewhere")
    metrics.log_many(first, [("acc", "TEST", "LAST", 0, 0.5), ("acc", "TEST", "LAST", 4, 0.75)])
    metrics.log_many(first, [("loss", "TRAIN", "STEP", s, 1.0) for s in range(3)])
    metrics.log(first, "acc", 0.25, split="TEST", level="LAST_OUTER", step=0)
    metrics.log(second, "f1", 0.5, split="VALIDATION", level="LAST", step=1)
    metrics.log(elsewhere, "acc", 1.0, split="TEST", level="LAST", step=0)
    listed = runs.list_with_metrics(session_id)
    assert [(r.run.id, r.last_metrics) for r in listed] == [
        (first, {"TEST": {"acc": 0.75}}),
        (second, {"VALIDATION": {"f1": 0.5}}),
        (bare, {}),
    ]
    assert all(r.last_metrics == metrics.latest(r.run.id) for r in listed)
    assert [r.run.id for r in runs.list_with_metrics(limit=2, offset=2)] == [bare, elsewhere]
    assert runs.list_with_metrics(session_id, status="FINISHED") == []
    assert_refused(store, "unknown session", partial(runs.list_with_metrics, 999), errors.NotFound)


def test_runs_page_costs_two_queries_whatever_the_number_of_runs(store: Store, session_id: int) -> None:
    for i in range(6):
        run_id = new_run(session_id, f"r{i}")
        metrics.log(run_id, "acc", i / 10, split="TEST", level="LAST", step=i)
    statements: list[str] = []
    original = store.db.execute_sql

    def counting(sql: str, *args: Any, **kwargs: Any) -> Any:
        statements.append(sql)
        return original(sql, *args, **kwargs)

    store.db.execute_sql = counting  # type: ignore[method-assign]
    try:
        listed = runs.list_with_metrics(session_id)
    finally:
        del store.db.execute_sql
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(listed) == 6 and len(selects) <= 3, selects  # the session check, runs, metrics


# -- DashAI's ModelJob, replayed ----------------------------------------------------------------------------


def test_model_job_replayed(store: Store, session_id: int) -> None:
    """upload_run in the API process, the worker's ModelJob, then the runs page."""
    run_id = new_run(session_id)
    runs.deliver(run_id)  # API process: set_status_as_delivered
    # Worker: run.huey_id = ...; commit; split; run.split_indexes = json.dumps(...); STARTED.
    runs.set_job_id(run_id, "huey-model-1")
    runs.set_split_indexes(run_id, json.dumps(SPLITS))
    runs.start(run_id)
    found = jobs.find("huey-model-1")
    assert found is not None and (found.entity_type, found.entity_id, found.name) == ("run", run_id, "svm")
    assert found.status is RunStatus.STARTED
    # Training: per-step metrics, then base_model's LAST upserts after every evaluation.
    for epoch in range(3):
        metrics.log_many(
            run_id, [("loss", "TRAIN", "STEP", epoch * 10 + s, 1.0 / (s + 1)) for s in range(10)]
        )
        metrics.log(run_id, "loss", 0.5 / (epoch + 1), split="TRAIN", level="EPOCH", step=epoch)
        for split, value in (("TRAIN", 0.5 + epoch / 8), ("VALIDATION", 0.25 + epoch / 8)):
            metrics.log(run_id, "Accuracy", value, split=split, level="LAST", step=epoch)
    metrics.log_many(run_id, [("Accuracy", "TEST", "LAST", 3, 0.69), ("F1", "TEST", "LAST", 3, 0.6)])
    runs.save_plot(run_id, "history", FIGURE)
    runs.save_plot(run_id, "importance", FIGURE)
    runs.save_model(run_id, {"weights": [1.0, 2.0]})
    runs.finish(run_id)
    # The runs page and the run's page.
    (row,) = runs.list_with_metrics(session_id)
    assert row.run.status is RunStatus.FINISHED and row.run.split_indexes == SPLITS
    assert row.last_metrics == {
        "TEST": {"Accuracy": 0.69, "F1": 0.6},
        "TRAIN": {"Accuracy": 0.75},
        "VALIDATION": {"Accuracy": 0.5},
    }
    assert len(metrics.history(run_id, level="LAST")) == 4  # one per (split, name)
    assert len(metrics.history(run_id, level="STEP")) == 30
    # ExplainerJob later reads the model and the split indexes the job wrote.
    assert runs.load_model(run_id) == {"weights": [1.0, 2.0]}
    assert runs.get(run_id).split_indexes["test_indexes"] == [4, 5]
    assert set(file_tree(store.home)) >= {
        files.layout.run_model(run_id),
        files.layout.run_plot(run_id, "history"),
        files.layout.run_plot(run_id, "importance"),
    }
