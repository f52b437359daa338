"""Model sessions as DashAI's front end drives them: split payloads with the keys it sends
(as a dict or as JSON text) and moving a session to another dataset; both backends."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import Any

import pyarrow as pa
import pytest
from helpers import assert_refused, plant_dataset

from dashai_store import datasets, errors, model_sessions
from dashai_store.database import Store, run_in_transaction

# The two shapes DashAI's fixtures send (the form's, and the splitter registry's).
FORM_SPLITS = {
    "train": 0.6,
    "test": 0.2,
    "validation": 0.2,
    "is_random": True,
    "has_changed": True,
    "seed": 42,
    "shuffle": True,
    "stratify": False,
}
SPLITTER_SPLITS = {
    "splitter_name": "HoldoutSplitter",
    "splitType": "random",
    "train_size": 0.7,
    "test_size": 0.2,
    "validation_size": 0.1,
    "random_state": 42,
    "shuffle": True,
    "stratify": False,
}
KFOLD_SPLITS = {"splitter_name": "KFoldSplitter", "n_splits": 3, "shuffle": False, "random_state": None}


@pytest.fixture
def dataset_id(store: Store) -> int:
    return datasets.create("iris", pa.table({"a": [1.0, 2.0], "b": [3, 4], "label": [0, 1]})).id


def make(dataset_id: int, splits: Any, name: str = "s") -> Any:
    return model_sessions.create(dataset_id, name, "TabularClassificationTask", ["a", "b"], ["label"], splits)


@pytest.mark.parametrize(
    "splits", [FORM_SPLITS, SPLITTER_SPLITS, KFOLD_SPLITS], ids=["form", "splitter", "kfold"]
)
@pytest.mark.parametrize("as_text", [False, True], ids=["dict", "json-text"])
def test_split_payloads_are_kept_as_sent(store: Store, dataset_id: int, splits: Any, as_text: bool) -> None:
    created = make(dataset_id, json.dumps(splits) if as_text else splits)
    assert created.splits == splits  # every key kept; JSON text decoded, stored once
    assert model_sessions.get(created.id).splits == splits
    raw = store.db.execute_sql(f"SELECT splits FROM model_session WHERE id = {created.id}").fetchone()[0]
    assert json.loads(raw) == splits  # one level of JSON in the column, not a JSON string
    other = {**FORM_SPLITS, "has_changed": False, "splitter_name": "HoldoutSplitter"}
    updated = model_sessions.update(created.id, splits=json.dumps(other) if as_text else other)
    assert updated.splits == other


@pytest.mark.parametrize(
    ("case", "splits"),
    [
        ("ratios sum to 1.2", {**FORM_SPLITS, "train": 0.8}),
        ("sizes sum to 0.9", {**SPLITTER_SPLITS, "train_size": 0.6}),
        ("size above 1", {"splitter_name": "H", "train_size": 1.5}),
        ("size a str", {"splitter_name": "H", "test_size": "0.2", "train_size": 0.8}),
        ("has_changed a str", {**FORM_SPLITS, "has_changed": "yes"}),
        ("random_state a float", {**SPLITTER_SPLITS, "random_state": 4.2}),
        ("neither ratios nor splitter", {"seed": 1, "shuffle": True}),
        ("JSON text not an object", "[0.6, 0.4]"),
        ("not JSON text", "{'train': 1.0}"),
        ("an extra key not JSON", {**FORM_SPLITS, "splitter": {1, 2}}),
    ],
)
def test_bad_split_payloads_are_refused(store: Store, dataset_id: int, case: str, splits: Any) -> None:
    assert_refused(store, f"create: {case}", partial(make, dataset_id, splits), errors.ValidationError)
    session = make(dataset_id, FORM_SPLITS, name="ok")
    assert_refused(
        store,
        f"update: {case}",
        partial(model_sessions.update, session.id, splits=splits),
        errors.ValidationError,
    )
    model_sessions.delete(session.id)


def test_a_session_moves_to_another_dataset_with_its_columns_rechecked(store: Store, dataset_id: int) -> None:
    session = make(dataset_id, FORM_SPLITS)
    wider = datasets.create("iris v2", pa.table({"a": [1.0], "b": [2], "label": [0], "extra": [1]})).id
    narrower = datasets.create("no b", pa.table({"a": [1.0], "label": [0]})).id
    empty = run_in_transaction(lambda: plant_dataset("pending"))  # no data yet
    moved = model_sessions.update(session.id, dataset_id=wider)
    assert moved.dataset_id == wider and model_sessions.list(wider) == [moved]
    assert model_sessions.list(dataset_id) == []
    cases: list[tuple[str, Callable[[], Any], type[errors.StoreError]]] = [
        (
            "a dataset without column b",
            partial(model_sessions.update, session.id, dataset_id=narrower),
            errors.ValidationError,
        ),
        ("an unknown dataset", partial(model_sessions.update, session.id, dataset_id=999), errors.NotFound),
        ("a bool id", partial(model_sessions.update, session.id, dataset_id=True), errors.ValidationError),
        (
            "a dataset without data",
            partial(model_sessions.update, session.id, dataset_id=empty),
            errors.ValidationError,
        ),
    ]
    for case, call, error in cases:
        assert_refused(store, case, call, error)
    # Moving and changing the columns at once is checked as a whole.
    both = model_sessions.update(session.id, dataset_id=narrower, input_columns=["a"])
    assert (both.dataset_id, both.input_columns) == (narrower, ["a"])
