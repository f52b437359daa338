"""runs: create, read, lifecycle, reset, model and plot files, delete; on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import peewee
import pytest
from helpers import file_tree, plant_dataset, plant_session, row_counts

from dashai_store import errors, files, metrics, models, runs
from dashai_store.clock import utcnow
from dashai_store.database import Store
from dashai_store.enums import RunStatus

FIGURE = {"data": [{"type": "scatter", "x": [1, 2, 3], "y": [3, 1, 2]}], "layout": {"title": {"text": "t"}}}


def make_session(name: str = "s") -> int:
    """A model session in a fresh dataset (made through the models: datasets.py is another area's)."""
    return plant_session(plant_dataset(f"ds-{name}"), name)


@pytest.fixture
def session_id(store: Store) -> int:
    return make_session()


def snapshot(store: Store) -> tuple[dict[str, int], dict[str, bytes]]:
    return row_counts(store.db), file_tree(store.home)


class Model:
    """A picklable stand-in for a trained model."""

    def __init__(self, weights: list[float]) -> None:
        self.weights = weights

    def predict(self, x: float) -> float:
        return sum(w * x for w in self.weights)


def finished_run_with_everything(session_id: int) -> int:
    run = runs.create(session_id, "full", "SVC", {"C": 1.0})
    runs.deliver(run.id, job_id="job-1")
    runs.start(run.id)
    metrics.log_many(run.id, [("loss", "TRAIN", "STEP", s, 1 / (s + 1)) for s in range(10)])
    runs.save_model(run.id, Model([1.0, 2.0]))
    for kind in runs.PLOT_KINDS:
        runs.save_plot(run.id, kind, FIGURE)
    runs.finish(run.id)
    return run.id


# -- create / get / list ------------------------------------------------------------------------


def test_create_and_get(store: Store, session_id: int) -> None:
    run = runs.create(
        session_id,
        "svm-1",
        "SVC",
        {"C": 1.0, "kernel": "rbf", "tol": math.inf},
        optimizer_name="OptunaOptimizer",
        optimizer_parameters={"n_trials": 5},
        goal_metric="Accuracy",
        split_indexes={"train": [0, 1], "test": [2]},
        description="first try",
    )
    assert run.status is RunStatus.NOT_STARTED
    assert run.model_session_id == session_id
    assert (run.name, run.model_name, run.goal_metric, run.description) == (
        "svm-1",
        "SVC",
        "Accuracy",
        "first try",
    )
    assert run.parameters == {"C": 1.0, "kernel": "rbf", "tol": math.inf}
    assert run.optimizer_name == "OptunaOptimizer" and run.optimizer_parameters == {"n_trials": 5}
    assert run.split_indexes == {"train": [0, 1], "test": [2]}
    assert run.artifacts is None and run.run_path is None and run.plot_history_path is None
    assert run.delivery_time is None and run.huey_id is None and run.error is None
    assert runs.get(run.id) == run
    minimal = runs.create(session_id, "svm-2", "SVC", {})
    assert minimal.optimizer_name == "" and minimal.optimizer_parameters == {} and minimal.goal_metric == ""
    assert minimal.split_indexes is None and minimal.description is None


def test_list_by_session_and_status(store: Store, session_id: int) -> None:
    other_session = make_session("other")
    a = runs.create(session_id, "a", "SVC", {})
    b = runs.create(session_id, "b", "SVC", {})
    c = runs.create(other_session, "c", "SVC", {})
    runs.deliver(b.id)
    assert [r.id for r in runs.list()] == [a.id, b.id, c.id]
    assert [r.id for r in runs.list(session_id)] == [a.id, b.id]
    assert [r.id for r in runs.list(model_session_id=other_session)] == [c.id]
    assert [r.id for r in runs.list(status="DELIVERED")] == [b.id]
    assert [r.id for r in runs.list(session_id, status=RunStatus.NOT_STARTED)] == [a.id]
    assert runs.list(other_session, status=RunStatus.FINISHED) == []


BAD_CREATES: list[tuple[str, dict[str, Any], type[errors.StoreError]]] = [
    ("unknown session", {"model_session_id": 9999}, errors.NotFound),
    ("session id str", {"model_session_id": "1"}, errors.ValidationError),
    ("empty name", {"name": "  "}, errors.ValidationError),
    ("name not str", {"name": None}, errors.ValidationError),
    ("empty model name", {"model_name": ""}, errors.ValidationError),
    ("parameters list", {"parameters": [1, 2]}, errors.ValidationError),
    ("parameters not JSON", {"parameters": {"f": object()}}, errors.ValidationError),
    ("optimizer name int", {"optimizer_name": 3}, errors.ValidationError),
    ("optimizer parameters str", {"optimizer_parameters": "x"}, errors.ValidationError),
    ("goal metric None", {"goal_metric": None}, errors.ValidationError),
    ("split indexes not JSON", {"split_indexes": {1, 2}}, errors.ValidationError),
    ("description int", {"description": 5}, errors.ValidationError),
]


def test_create_refuses_bad_input_and_writes_nothing(store: Store, session_id: int) -> None:
    before = snapshot(store)
    for case, change, error in BAD_CREATES:
        arguments: dict[str, Any] = {
            "model_session_id": session_id,
            "name": "r",
            "model_name": "SVC",
            "parameters": {},
        }
        arguments.update(change)
        with pytest.raises(error):
            runs.create(**arguments)
            pytest.fail(case)
        assert snapshot(store) == before, case


def test_reads_refuse_unknown_and_bad_ids(store: Store, session_id: int) -> None:
    with pytest.raises(errors.NotFound, match="run 4242 does not exist"):
        runs.get(4242)
    with pytest.raises(errors.ValidationError):
        runs.get("1")  # type: ignore[arg-type]
    with pytest.raises(errors.NotFound, match="model session 4242"):
        runs.list(4242)
    with pytest.raises(errors.ValidationError):
        runs.list(status="DONE")
    with pytest.raises(errors.ValidationError):
        runs.list(model_session_id=1.0)  # type: ignore[arg-type]


# -- lifecycle -------------------------------------------------------------------------------------


def test_lifecycle_sets_times_job_id_and_error(store: Store, session_id: int) -> None:
    run = runs.create(session_id, "r", "SVC", {})
    delivered = runs.deliver(run.id, job_id="huey-7")
    assert delivered.status is RunStatus.DELIVERED and delivered.huey_id == "huey-7"
    assert delivered.delivery_time is not None and delivered.start_time is None
    started = runs.start(run.id)
    assert started.status is RunStatus.STARTED and started.start_time is not None
    finished = runs.finish(run.id)
    assert finished.status is RunStatus.FINISHED and finished.end_time is not None
    assert finished.delivery_time <= finished.start_time <= finished.end_time  # type: ignore[operator]
    failing = runs.create(session_id, "f", "SVC", {})
    runs.deliver(failing.id)
    failed = runs.fail(failing.id, "out of memory")
    assert (
        failed.status is RunStatus.ERROR and failed.error == "out of memory" and failed.end_time is not None
    )


def test_invalid_transitions_are_refused_and_write_nothing(store: Store, session_id: int) -> None:
    run = runs.create(session_id, "r", "SVC", {})
    before = snapshot(store)
    for move in (runs.start, runs.finish, lambda rid: runs.fail(rid, "x")):
        with pytest.raises(errors.InvalidTransition, match=f"run {run.id} is NOT_STARTED"):
            move(run.id)
    assert snapshot(store) == before
    runs.deliver(run.id)
    with pytest.raises(errors.InvalidTransition):
        runs.deliver(run.id)
    with pytest.raises(errors.NotFound):
        runs.start(777)
    with pytest.raises(errors.ValidationError):
        runs.deliver(run.id, job_id=5)  # type: ignore[arg-type]
    with pytest.raises(errors.ValidationError):
        runs.fail(run.id, None)  # type: ignore[arg-type]
    assert runs.get(run.id).status is RunStatus.DELIVERED


# -- update_parameters (reset) --------------------------------------------------------------------------


def test_update_parameters_resets_the_run(store: Store, session_id: int) -> None:
    run_id = finished_run_with_everything(session_id)
    run = runs.get(run_id)
    assert run.run_path is not None and (run.run_path / "model.joblib").is_file()
    owned = [run.run_path / "model.joblib", *(run.run_path / "plots" / f"{k}.json" for k in runs.PLOT_KINDS)]
    assert all(p.is_file() for p in owned)
    reset = runs.update_parameters(run_id, {"C": 10.0}, optimizer_parameters={"n_trials": 1})
    assert reset.status is RunStatus.NOT_STARTED
    assert reset.parameters == {"C": 10.0} and reset.optimizer_parameters == {"n_trials": 1}
    assert (reset.delivery_time, reset.start_time, reset.end_time, reset.huey_id, reset.error) == (None,) * 5
    assert reset.artifacts is None and reset.run_path is None
    assert all(getattr(reset, f"plot_{k}_path") is None for k in runs.PLOT_KINDS)
    assert metrics.history(run_id) == []
    assert not any(p.exists() for p in owned)
    assert not (store.home / "runs" / str(run_id)).exists()
    assert files.pending_deletions() == []
    with pytest.raises(errors.NotFound, match="no saved model"):
        runs.load_model(run_id)
    with pytest.raises(errors.NotFound, match="no history plot"):
        runs.load_plot(run_id, "history")
    # optimizer_parameters is kept when not given; the run can go again.
    again = runs.update_parameters(run_id, {"C": 3.0})
    assert again.optimizer_parameters == {"n_trials": 1}
    runs.deliver(run_id)


def test_update_parameters_refused_while_running_changes_nothing(store: Store, session_id: int) -> None:
    run_id = finished_run_with_everything(session_id)
    rerun = runs.create(session_id, "running", "SVC", {"C": 1.0})
    runs.deliver(rerun.id)
    runs.save_model(rerun.id, Model([3.0]))
    metrics.log(rerun.id, "loss", 1.0, split="TRAIN", level="STEP", step=0)
    before = snapshot(store)
    with pytest.raises(errors.InvalidTransition, match="DELIVERED"):
        runs.update_parameters(rerun.id, {"C": 2.0})
    runs.start(rerun.id)
    before = snapshot(store)
    with pytest.raises(errors.InvalidTransition, match="STARTED"):
        runs.update_parameters(rerun.id, {"C": 2.0})
    assert snapshot(store) == before
    assert runs.get(rerun.id).parameters == {"C": 1.0}
    for bad in ([1], {"x": object()}):
        with pytest.raises(errors.ValidationError):
            runs.update_parameters(run_id, bad)  # type: ignore[arg-type]
    with pytest.raises(errors.NotFound):
        runs.update_parameters(9999, {})
    assert snapshot(store) == before


# -- model -------------------------------------------------------------------------------------------


def test_save_and_load_model(store: Store, session_id: int) -> None:
    run = runs.create(session_id, "r", "SVC", {})
    saved = runs.save_model(run.id, Model([0.5, 0.25]))
    path = store.home / "runs" / str(run.id) / "model.joblib"
    assert path.is_file()
    assert saved.run_path == store.home / "runs" / str(run.id)
    assert saved.artifacts == {
        "model": {"path": f"runs/{run.id}/model.joblib", "sha256": files.sha256_file(path)}
    }
    loaded = runs.load_model(run.id)
    assert isinstance(loaded, Model) and loaded.predict(2.0) == 1.5
    # Saving again replaces the model and its checksum.
    runs.save_model(run.id, Model([1.0]))
    assert runs.load_model(run.id).weights == [1.0]
    assert runs.get(run.id).artifacts["model"]["sha256"] == files.sha256_file(path)  # type: ignore[index]


def test_a_model_altered_on_disk_is_refused(store: Store, session_id: int, tmp_path: Path) -> None:
    run = runs.create(session_id, "r", "SVC", {})
    runs.save_model(run.id, Model([1.0]))
    path = store.home / "runs" / str(run.id) / "model.joblib"
    marker = tmp_path / "unpickled"
    # A file that WOULD run code if unpickled: it must be refused before that happens.
    import joblib

    class Evil:
        def __reduce__(self) -> tuple[Any, ...]:
            return (Path.touch, (marker,))

    joblib.dump(Evil(), path)
    with pytest.raises(errors.FileIntegrityError, match="changed on disk"):
        runs.load_model(run.id)
    assert not marker.exists()
    path.write_bytes(path.read_bytes()[:-1])  # truncated
    with pytest.raises(errors.FileIntegrityError):
        runs.load_model(run.id)
    path.unlink()
    with pytest.raises(errors.NotFound):
        runs.load_model(run.id)


def test_save_model_refusals_write_nothing(store: Store, session_id: int) -> None:
    run = runs.create(session_id, "r", "SVC", {})
    runs.save_model(run.id, Model([1.0]))
    before = snapshot(store)
    with pytest.raises(errors.NotFound, match="run 9999"):
        runs.save_model(9999, Model([1.0]))
    with pytest.raises(errors.ValidationError, match="cannot be saved"):
        runs.save_model(run.id, lambda x: x)  # lambdas cannot be pickled
    with pytest.raises(errors.ValidationError):
        runs.save_model("x", Model([1.0]))  # type: ignore[arg-type]
    assert snapshot(store) == before
    assert runs.load_model(run.id).weights == [1.0]
    empty = runs.create(session_id, "empty", "SVC", {})
    with pytest.raises(errors.NotFound, match="no saved model"):
        runs.load_model(empty.id)


# -- plots -------------------------------------------------------------------------------------------


def test_save_and_load_plots(store: Store, session_id: int) -> None:
    run = runs.create(session_id, "r", "SVC", {})
    for kind in runs.PLOT_KINDS:
        record = runs.save_plot(run.id, kind, FIGURE)
        path = store.home / "runs" / str(run.id) / "plots" / f"{kind}.json"
        assert getattr(record, f"plot_{kind}_path") == path and path.is_file()
    assert runs.load_plot(run.id, "slice", as_figure=False) == FIGURE
    import json

    runs.save_plot(run.id, "contour", json.dumps({"data": [], "layout": {"title": {"text": "c"}}}))
    assert runs.load_plot(run.id, "contour", as_figure=False)["layout"]["title"]["text"] == "c"
    figure = runs.load_plot(run.id, "history")
    assert type(figure).__name__ == "Figure"
    assert list(figure.data[0].y) == [3, 1, 2]
    # A real plotly figure object can be saved too.
    runs.save_plot(run.id, "importance", figure)
    assert runs.load_plot(run.id, "importance", as_figure=False)["data"][0]["y"] == [3, 1, 2]


def test_plot_refusals_write_nothing(store: Store, session_id: int) -> None:
    run = runs.create(session_id, "r", "SVC", {})
    before = snapshot(store)
    for kind, figure, error in [
        ("pie", FIGURE, errors.ValidationError),
        (None, FIGURE, errors.ValidationError),
        ("history", "{not json", errors.ValidationError),
        ("history", "[1, 2]", errors.ValidationError),
        ("history", 42, errors.ValidationError),
    ]:
        with pytest.raises(error):
            runs.save_plot(run.id, kind, figure)  # type: ignore[arg-type]
    with pytest.raises(errors.NotFound):
        runs.save_plot(9999, "history", FIGURE)
    assert snapshot(store) == before
    with pytest.raises(errors.NotFound, match="no slice plot"):
        runs.load_plot(run.id, "slice")
    with pytest.raises(errors.ValidationError):
        runs.load_plot(run.id, "pie")


# -- delete --------------------------------------------------------------------------------------------


def test_delete_removes_rows_and_files(store: Store, session_id: int) -> None:
    run_id = finished_run_with_everything(session_id)
    keep = runs.create(session_id, "keep", "SVC", {})
    runs.save_model(keep.id, Model([1.0]))
    metrics.log(keep.id, "loss", 1.0, split="TRAIN", level="STEP", step=0)
    now = utcnow()
    models.Prediction.create(run=run_id, created=now, last_modified=now)
    folder = store.home / "runs" / str(run_id)
    assert folder.is_dir()
    runs.delete(run_id)
    assert not folder.exists()
    with pytest.raises(errors.NotFound):
        runs.get(run_id)
    counts = row_counts(store.db)
    assert counts["run"] == 1 and counts["metric"] == 1 and counts["prediction"] == 0
    # Finished: the record lingers, queued, until the next deletion or the close drops it.
    assert files.pending_deletions() == []
    assert runs.load_model(keep.id).weights == [1.0]
    before = snapshot(store)
    with pytest.raises(errors.NotFound, match=f"run {run_id} does not exist"):
        runs.delete(run_id)
    with pytest.raises(errors.ValidationError):
        runs.delete(None)  # type: ignore[arg-type]
    assert snapshot(store) == before


def test_list_reads_rows_below_the_orm_exactly_as_get_does(store: Store, session_id: int) -> None:
    # runs.list converts the driver's tuples itself (no Peewee model per row): every
    # column must read as the model-based runs.get reads it, hand-edited values included.
    clean_session = make_session("clean")
    clean = [runs.create(clean_session, f"c{i}", "Model", {"lr": i / 10}).id for i in range(3)]
    runs.deliver(clean[1])
    assert runs.list(clean_session) == [runs.get(run_id) for run_id in clean]
    ids = [runs.create(session_id, f"r{i}", "Model", {"lr": i / 10}).id for i in range(4)]
    edits: list[tuple[str, str, int]] = [
        ("parameters", '{"lr": 0.1', ids[1]),  # invalid JSON
        ("description", "plain", ids[3]),
    ]
    if isinstance(store.db, peewee.SqliteDatabase):  # PostgreSQL's timestamp columns refuse text
        edits += [
            ("created", "2024-01-02T03:04:05", ids[2]),  # not the shape the store writes
            ("last_modified", "2024-01-02 03:04:05.25", ids[2]),  # two fraction digits
            ("created", "2024-01-02", ids[3]),
            ("last_modified", "yesterday", ids[3]),
        ]
    param = store.db.param
    for column, value, run_id in edits:
        store.db.execute_sql(f'UPDATE run SET "{column}" = {param} WHERE id = {param}', (value, run_id))
    assert runs.list(session_id) == [runs.get(run_id) for run_id in ids]
    assert [r.id for r in runs.list(session_id, limit=2, offset=1)] == ids[1:3]
