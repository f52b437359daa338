"""Model sessions: validated create, get, list by dataset, update, delete with runs and their files."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from helpers import assert_refused, file_tree, plant_run, row_counts

from dashai_store import datasets, errors, files, model_sessions, models
from dashai_store.clock import utcnow
from dashai_store.database import Store

SPLITS = {"train": 0.6, "validation": 0.2, "test": 0.2}


def sample() -> pa.Table:
    return pa.table({"a": [1.0, 2.0], "b": [3, 4], "c": ["x", "y"], "label": [0, 1]})


def make(dataset_id: int, name: str = "s", **overrides: Any) -> Any:
    arguments: dict[str, Any] = {
        "dataset_id": dataset_id,
        "name": name,
        "task_name": "TabularClassificationTask",
        "input_columns": ["a", "b"],
        "output_columns": ["label"],
        "splits": SPLITS,
    }
    arguments.update(overrides)
    return model_sessions.create(**arguments)


def make_run(session_id: int, name: str = "run") -> int:
    """A run row with a model file and a plot under runs/<id>/ (runs.py belongs to another area)."""
    now = utcnow()
    run_id = plant_run(session_id, name, created=now, last_modified=now)
    model = files.layout.run_model(run_id)
    sha = files.dump_joblib(model, [1, 2, 3])
    plot = files.layout.run_plot(run_id, "history")
    files.write_figure(plot, {"data": [], "layout": {}})
    models.Run.update(
        run_path=files.layout.run_folder(run_id),
        plot_history_path=plot,
        artifacts={"model": {"path": model, "sha256": sha}},
    ).where(models.Run.id == run_id).execute()
    models.Metric.insert(
        run=run_id, name="Accuracy", value=0.9, split="TEST", level="LAST", step=0, timestamp=now
    ).execute()
    return run_id


@pytest.fixture
def dataset_id(store: Store) -> int:
    return datasets.create("iris", sample()).id


# -- create, get, list ------------------------------------------------------------------------------------


def test_create_and_get(store: Store, dataset_id: int) -> None:
    before = utcnow()
    s = make(
        dataset_id,
        "svm on iris",
        splits={"train": 0.7, "validation": 0.2, "test": 0.1, "seed": 42, "shuffle": True, "stratify": False},
        train_metrics=["Accuracy"],
        validation_metrics=("Accuracy", "F1"),
        test_metrics=[],
    )
    assert s.dataset_id == dataset_id and s.name == "svm on iris"
    assert s.task_name == "TabularClassificationTask"
    assert s.input_columns == ["a", "b"] and s.output_columns == ["label"]
    assert s.train_metrics == ["Accuracy"] and s.validation_metrics == ["Accuracy", "F1"]
    assert s.test_metrics == []
    assert s.splits == {
        "train": 0.7,
        "validation": 0.2,
        "test": 0.1,
        "seed": 42,
        "shuffle": True,
        "stratify": False,
    }
    assert before <= s.created <= s.last_modified
    assert model_sessions.get(s.id) == s
    plain = make(dataset_id, "plain")
    assert plain.train_metrics is None and plain.validation_metrics is None and plain.test_metrics is None
    assert set(file_tree(store.home)) == {f"datasets/{dataset_id}/data.arrow"}  # a session owns no file


def test_ratios_that_sum_to_one_within_rounding_are_accepted(store: Store, dataset_id: int) -> None:
    cases = [
        {"train": 0.7, "validation": 0.2, "test": 0.1},  # 0.9999999999999999 with a naive sum
        {"train": 1 / 3, "validation": 1 / 3, "test": 1 / 3},
        {"train": 1, "test": 0},
        {"train": 1.0},
        {"train": 0.8, "test": 0.2 + 5e-10},
    ]
    for number, splits in enumerate(cases):
        assert make(dataset_id, f"s{number}", splits=splits).splits == {
            k: float(v) for k, v in splits.items()
        }


def test_list_all_and_by_dataset(store: Store, dataset_id: int) -> None:
    other = datasets.create("other", sample()).id
    s1 = make(dataset_id, "one")
    s2 = make(other, "two")
    s3 = make(dataset_id, "three")
    assert model_sessions.list() == [s1, s2, s3]
    assert model_sessions.list(dataset_id) == [s1, s3]
    assert model_sessions.list(dataset_id=other) == [s2]
    empty = datasets.create("empty", sample()).id
    assert model_sessions.list(empty) == []


# -- bad input -----------------------------------------------------------------------------------------------


BAD_CREATE: list[tuple[str, dict[str, Any], type[errors.StoreError]]] = [
    ("unknown dataset", {"dataset_id": 999}, errors.NotFound),
    ("dataset id a str", {"dataset_id": "1"}, errors.ValidationError),
    ("dataset id None", {"dataset_id": None}, errors.ValidationError),
    ("duplicate name", {"name": "taken"}, errors.AlreadyExists),
    ("empty name", {"name": ""}, errors.ValidationError),
    ("name too long", {"name": "n" * 256}, errors.ValidationError),
    ("name with NUL", {"name": "a\x00"}, errors.ValidationError),
    ("name an int", {"name": 7}, errors.ValidationError),
    ("empty task", {"task_name": " "}, errors.ValidationError),
    ("task an int", {"task_name": 3}, errors.ValidationError),
    ("inputs a str", {"input_columns": "a"}, errors.ValidationError),
    ("inputs empty", {"input_columns": []}, errors.ValidationError),
    ("inputs None", {"input_columns": None}, errors.ValidationError),
    ("inputs hold an int", {"input_columns": ["a", 1]}, errors.ValidationError),
    ("inputs a dict", {"input_columns": {"a": 1}}, errors.ValidationError),
    ("input column twice", {"input_columns": ["a", "a"]}, errors.ValidationError),
    ("unknown input column", {"input_columns": ["a", "nope"]}, errors.ValidationError),
    ("unknown output column", {"output_columns": ["Label"]}, errors.ValidationError),
    ("outputs empty", {"output_columns": []}, errors.ValidationError),
    ("overlapping columns", {"input_columns": ["a", "label"]}, errors.ValidationError),
    ("negative ratio", {"splits": {"train": 1.1, "validation": -0.1}}, errors.ValidationError),
    (
        "negative ratio summing to 1",
        {"splits": {"train": 0.6, "validation": 0.5, "test": -0.1}},
        errors.ValidationError,
    ),
    ("ratio above 1", {"splits": {"train": 1.5}}, errors.ValidationError),
    ("ratios summing to 0.8", {"splits": {"train": 0.6, "test": 0.2}}, errors.ValidationError),
    (
        "ratios summing to 1.2",
        {"splits": {"train": 0.6, "validation": 0.3, "test": 0.3}},
        errors.ValidationError,
    ),
    ("ratios off by 1e-6", {"splits": {"train": 0.6, "test": 0.400001}}, errors.ValidationError),
    ("NaN ratio", {"splits": {"train": math.nan, "test": 1.0}}, errors.ValidationError),
    ("inf ratio", {"splits": {"train": math.inf}}, errors.ValidationError),
    ("ratio a str", {"splits": {"train": "0.8", "test": 0.2}}, errors.ValidationError),
    ("ratio a bool", {"splits": {"train": True}}, errors.ValidationError),
    ("ratio None", {"splits": {"train": None, "test": 1.0}}, errors.ValidationError),
    ("no ratio", {"splits": {"seed": 1}}, errors.ValidationError),
    ("empty splits", {"splits": {}}, errors.ValidationError),
    ("splits a list", {"splits": [0.6, 0.2, 0.2]}, errors.ValidationError),
    ("splits a str", {"splits": "60/20/20"}, errors.ValidationError),
    ("unknown split key", {"splits": {"train": 0.8, "tests": 0.2}}, errors.ValidationError),
    ("upper-case split key", {"splits": {"TRAIN": 1.0}}, errors.ValidationError),
    ("seed a str", {"splits": {"train": 1.0, "seed": "42"}}, errors.ValidationError),
    ("seed a float", {"splits": {"train": 1.0, "seed": 4.2}}, errors.ValidationError),
    ("shuffle a str", {"splits": {"train": 1.0, "shuffle": "yes"}}, errors.ValidationError),
    ("metrics a str", {"train_metrics": "Accuracy"}, errors.ValidationError),
    ("metrics hold an int", {"validation_metrics": ["F1", 2]}, errors.ValidationError),
    ("metric twice", {"test_metrics": ["F1", "F1"]}, errors.ValidationError),
    ("metrics a dict", {"test_metrics": {"F1": True}}, errors.ValidationError),
]


def test_bad_create_raises_its_typed_error_and_writes_nothing(store: Store, dataset_id: int) -> None:
    make(dataset_id, "taken")
    for case, overrides, error in BAD_CREATE:
        assert_refused(
            store, case, partial(make, **({"dataset_id": dataset_id, "name": "fresh"} | overrides)), error
        )
    assert [s.name for s in model_sessions.list()] == ["taken"]


def test_a_dataset_without_data_is_refused(store: Store) -> None:
    pending = datasets.create_pending("upload").id
    assert_refused(store, "pending dataset", partial(make, pending), errors.ValidationError)


def test_messages_name_the_value_at_fault(store: Store, dataset_id: int) -> None:
    with pytest.raises(errors.ValidationError, match=r"'nope'.*columns are 'a', 'b', 'c', 'label'"):
        make(dataset_id, input_columns=["nope"])
    with pytest.raises(errors.ValidationError, match=r"'label'.*both input and output"):
        make(dataset_id, input_columns=["label"])
    with pytest.raises(errors.ValidationError, match=r"sum to 0.8"):
        make(dataset_id, splits={"train": 0.6, "test": 0.2})
    with pytest.raises(errors.ValidationError, match=r"'test' .* got -0.1"):
        make(dataset_id, splits={"train": 0.6, "validation": 0.5, "test": -0.1})
    with pytest.raises(errors.NotFound, match="dataset 999 does not exist"):
        make(999)


def test_columns_are_checked_against_the_schema_without_reading_the_data(store: Store) -> None:
    ds = datasets.create("big", sample())
    assert ds.file_path is not None
    # Destroy everything between the schema message and the footer: the record batches.
    raw = bytearray(ds.file_path.read_bytes())
    schema_end = 8 + 8 + int.from_bytes(raw[12:16], "little")
    footer_length = int.from_bytes(raw[-10:-6], "little")
    footer_start = len(raw) - 10 - footer_length
    assert schema_end < footer_start
    raw[schema_end:footer_start] = b"\xff" * (footer_start - schema_end)
    ds.file_path.write_bytes(bytes(raw))
    with pytest.raises(errors.FileIntegrityError):  # a full read would fail
        datasets.load_table(ds.id)
    assert make(ds.id).input_columns == ["a", "b"]


# -- update ----------------------------------------------------------------------------------------------


def test_update(store: Store, dataset_id: int) -> None:
    s = make(dataset_id, "first")
    updated = model_sessions.update(
        s.id,
        name="renamed",
        task_name="RegressionTask",
        input_columns=["c"],
        output_columns=["a", "b"],
        splits={"train": 0.5, "test": 0.5, "is_random": False},
        train_metrics=["RMSE"],
        validation_metrics=None,
        test_metrics=["RMSE", "MAE"],
    )
    assert updated.name == "renamed" and updated.task_name == "RegressionTask"
    assert updated.input_columns == ["c"] and updated.output_columns == ["a", "b"]
    assert updated.splits == {"train": 0.5, "test": 0.5, "is_random": False}
    assert updated.train_metrics == ["RMSE"] and updated.test_metrics == ["RMSE", "MAE"]
    assert updated.last_modified >= s.last_modified and updated.created == s.created
    assert model_sessions.get(s.id) == updated
    # swapping inputs and outputs in one call is checked as a whole
    swapped = model_sessions.update(s.id, input_columns=["a", "b"], output_columns=["c"])
    assert swapped.input_columns == ["a", "b"] and swapped.output_columns == ["c"]
    assert model_sessions.update(s.id) == swapped  # nothing to change
    assert model_sessions.update(s.id, name="renamed") == swapped  # nothing differs


def test_bad_update_raises_its_typed_error_and_writes_nothing(store: Store, dataset_id: int) -> None:
    s = make(dataset_id, "s")
    make(dataset_id, "taken")
    cases: list[tuple[str, Callable[[], Any], type[errors.StoreError]]] = [
        ("unknown session", partial(model_sessions.update, 999, name="x"), errors.NotFound),
        ("session id a str", partial(model_sessions.update, str(s.id), name="x"), errors.ValidationError),
        ("unknown field", partial(model_sessions.update, s.id, colour="red"), errors.ValidationError),
        ("unknown dataset", partial(model_sessions.update, s.id, dataset_id=999), errors.NotFound),
        ("dataset id a str", partial(model_sessions.update, s.id, dataset_id="1"), errors.ValidationError),
        ("taken name", partial(model_sessions.update, s.id, name="taken"), errors.AlreadyExists),
        ("empty name", partial(model_sessions.update, s.id, name=""), errors.ValidationError),
        ("task None", partial(model_sessions.update, s.id, task_name=None), errors.ValidationError),
        (
            "overlap with current outputs",
            partial(model_sessions.update, s.id, input_columns=["label"]),
            errors.ValidationError,
        ),
        (
            "unknown column",
            partial(model_sessions.update, s.id, output_columns=["zz"]),
            errors.ValidationError,
        ),
        ("empty outputs", partial(model_sessions.update, s.id, output_columns=[]), errors.ValidationError),
        (
            "NaN ratio",
            partial(model_sessions.update, s.id, splits={"train": math.nan}),
            errors.ValidationError,
        ),
        (
            "ratios not summing to 1",
            partial(model_sessions.update, s.id, splits={"train": 0.5}),
            errors.ValidationError,
        ),
        ("ratio a str", partial(model_sessions.update, s.id, splits={"train": "1"}), errors.ValidationError),
        ("metrics a str", partial(model_sessions.update, s.id, test_metrics="F1"), errors.ValidationError),
        (
            "a valid change next to a bad one",
            partial(model_sessions.update, s.id, name="ok", splits={"x": 1}),
            errors.ValidationError,
        ),
    ]
    for case, call, error in cases:
        assert_refused(store, case, call, error)
    assert model_sessions.get(s.id) == s


# -- delete ------------------------------------------------------------------------------------------------


def test_delete_removes_runs_metrics_and_their_files(store: Store, dataset_id: int) -> None:
    kept = make(dataset_id, "kept")
    kept_run = make_run(kept.id, "kept run")
    counts, tree = row_counts(store.db), file_tree(store.home)
    doomed = make(dataset_id, "doomed")
    run_ids = [make_run(doomed.id, f"run {i}") for i in range(3)]
    assert all((store.home / "runs" / str(r) / "model.joblib").is_file() for r in run_ids)

    model_sessions.delete(doomed.id)

    # The runs' records linger, finished and queued, until the next deletion or the close.
    assert files.tx._queued(store) == {f"runs/{r}" for r in run_ids}
    assert row_counts(store.db) == {**counts, "dashai_pending_deletion": len(run_ids)}
    assert file_tree(store.home) == tree
    assert not any((store.home / "runs" / str(r)).exists() for r in run_ids)
    assert files.pending_deletions() == []
    assert model_sessions.list() == [kept]
    assert (store.home / "runs" / str(kept_run) / "model.joblib").is_file()
    assert_refused(store, "delete twice", partial(model_sessions.delete, doomed.id), errors.NotFound)
    assert_refused(store, "delete a str id", partial(model_sessions.delete, "1"), errors.ValidationError)


def test_list_and_get_refuse_bad_ids(store: Store, dataset_id: int) -> None:
    make(dataset_id)
    cases: list[tuple[str, Callable[[], Any], type[errors.StoreError]]] = [
        ("get unknown", partial(model_sessions.get, 999), errors.NotFound),
        ("get a float", partial(model_sessions.get, 1.0), errors.ValidationError),
        ("list an unknown dataset", partial(model_sessions.list, 999), errors.NotFound),
        ("list a str dataset id", partial(model_sessions.list, "1"), errors.ValidationError),
    ]
    for case, call, error in cases:
        assert_refused(store, case, call, error)


def test_deleting_the_dataset_deletes_its_sessions(store: Store, dataset_id: int, home: Path) -> None:
    s = make(dataset_id)
    run_id = make_run(s.id)
    datasets.delete(dataset_id)
    assert model_sessions.list() == []
    assert not (home / "runs" / str(run_id)).exists()
    assert file_tree(home) == {}
