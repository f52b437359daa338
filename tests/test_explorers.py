"""Explorers of a notebook: rows, lifecycle and result files, on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import pytest
from helpers import file_tree, row_counts
from test_notebooks import drop_column, make_dataset, source_table

from dashai_store import errors, explorers, notebooks
from dashai_store.database import Store
from dashai_store.enums import RunStatus


@pytest.fixture
def nb_id(store: Store) -> int:
    return notebooks.create(make_dataset("source", source_table()), name="nb").id


def result_files(home: Path) -> set[str]:
    root = home / "explorers"
    return (
        {p.relative_to(home).as_posix() for p in root.rglob("*") if p.is_file()} if root.exists() else set()
    )


def test_create_at_the_current_step(store: Store, nb_id: int) -> None:
    first = explorers.create(nb_id, "histogram", ["x", "junk"], {"bins": 10}, name="hist")
    assert (first.position, first.status, first.exploration_path) == (0, RunStatus.NOT_STARTED, None)
    assert (first.columns, first.parameters, first.name, first.notebook_id) == (
        ["x", "junk"],
        {"bins": 10},
        "hist",
        nb_id,
    )
    step = notebooks.add_converter(nb_id, "DropColumn", {"column": "junk"})
    notebooks.apply(step.id, drop_column)
    second = explorers.create(nb_id, "scatter", ("x", "id"), None)
    assert (second.position, second.columns, second.parameters, second.name) == (1, ["x", "id"], {}, None)
    assert explorers.list(nb_id) == [first, second]
    assert explorers.get(second.id) == second


def test_create_refusals_write_nothing(store: Store, nb_id: int) -> None:
    notebooks.apply(notebooks.add_converter(nb_id, "DropColumn", {"column": "junk"}).id, drop_column)
    counts, tree = row_counts(store.db), file_tree(store.home)
    with pytest.raises(errors.ValidationError, match="'junk'"):
        explorers.create(nb_id, "histogram", ["x", "junk"], {})  # dropped at step 1
    for args, error in (
        ((nb_id, "", ["x"], {}), errors.ValidationError),
        ((nb_id, "histogram", "x", {}), errors.ValidationError),
        ((nb_id, "histogram", [1], {}), errors.ValidationError),
        ((nb_id, "histogram", ["x"], {"f": {1, 2}}), errors.ValidationError),
        ((nb_id, "histogram", ["x"], {}, 7), errors.ValidationError),
        (("1", "histogram", ["x"], {}), errors.ValidationError),
        ((999, "histogram", ["x"], {}), errors.NotFound),
    ):
        with pytest.raises(error):
            explorers.create(*args)
    assert (row_counts(store.db), file_tree(store.home)) == (counts, tree)


def test_lifecycle(store: Store, nb_id: int) -> None:
    e = explorers.create(nb_id, "stats", ["x"], {})
    with pytest.raises(errors.InvalidTransition, match=f"explorer {e.id} is NOT_STARTED"):
        explorers.start(e.id)
    delivered = explorers.deliver(e.id, job_id="huey-9")
    assert (delivered.status, delivered.huey_id) == (RunStatus.DELIVERED, "huey-9")
    started = explorers.start(e.id)
    assert started.start_time is not None
    finished = explorers.finish(e.id)
    assert finished.status is RunStatus.FINISHED and finished.end_time is not None
    with pytest.raises(errors.InvalidTransition):
        explorers.fail(e.id, "too late")
    assert explorers.reset(e.id).status is RunStatus.NOT_STARTED
    explorers.deliver(e.id)
    failed = explorers.fail(e.id, "column x is empty")
    assert (failed.status, failed.error) == (RunStatus.ERROR, "column x is empty")
    with pytest.raises(errors.NotFound, match="explorer 999"):
        explorers.deliver(999)
    with pytest.raises(errors.ValidationError):
        explorers.deliver(e.id, job_id=5)  # type: ignore[arg-type]


def test_results_of_every_kind_round_trip_atomically(store: Store, nb_id: int) -> None:
    e = explorers.create(nb_id, "histogram", ["x"], {})
    with pytest.raises(errors.NotFound, match="no result"):
        explorers.load_result(e.id)

    figure = go.Figure(go.Histogram(x=[1, 2, 2, 3]), layout={"title": {"text": "x"}})
    saved = explorers.save_result(e.id, figure)
    assert saved.exploration_path == store.home / "explorers" / str(e.id) / "result.json"
    loaded = explorers.load_result(e.id, as_figure=True)
    assert isinstance(loaded, go.Figure) and loaded == figure
    assert explorers.load_result(e.id)["layout"]["title"]["text"] == "x"

    value = {"mean": 1.5, "missing": math.nan, "max": math.inf, "counts": [1, 2]}
    explorers.save_result(e.id, value)
    back = explorers.load_result(e.id)
    assert math.isnan(back.pop("missing")) and back == {"mean": 1.5, "max": math.inf, "counts": [1, 2]}
    assert result_files(store.home) == {f"explorers/{e.id}/result.json"}

    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    binary = explorers.save_result(e.id, png)
    assert binary.exploration_path == store.home / "explorers" / str(e.id) / "result.bin"
    assert explorers.load_result(e.id) == png
    assert result_files(store.home) == {f"explorers/{e.id}/result.bin"}  # the JSON one went
    with pytest.raises(errors.ValidationError):
        explorers.load_result(e.id, as_figure=True)

    explorers.save_result(e.id, "plain text is a JSON string")
    assert explorers.load_result(e.id) == "plain text is a JSON string"
    assert result_files(store.home) == {f"explorers/{e.id}/result.json"}


@pytest.mark.parametrize("bad", [None, object(), {"f": {1, 2}}, [b"bytes inside json"]])
def test_an_unstorable_result_writes_nothing(store: Store, nb_id: int, bad: Any) -> None:
    e = explorers.create(nb_id, "stats", ["x"], {})
    explorers.save_result(e.id, [1, 2, 3])
    counts, tree = row_counts(store.db), file_tree(store.home)
    with pytest.raises(errors.ValidationError):
        explorers.save_result(e.id, bad)
    assert (row_counts(store.db), file_tree(store.home)) == (counts, tree)
    assert explorers.load_result(e.id) == [1, 2, 3]
    with pytest.raises(errors.NotFound):
        explorers.save_result(999, [1])
    assert (row_counts(store.db), file_tree(store.home)) == (counts, tree)


def test_clear_result(store: Store, nb_id: int) -> None:
    e = explorers.create(nb_id, "stats", ["x"], {})
    explorers.deliver(e.id, job_id="j")
    explorers.start(e.id)
    explorers.save_result(e.id, {"n": 6})
    with pytest.raises(errors.InvalidTransition, match="STARTED"):
        explorers.clear_result(e.id)  # a running job keeps its result
    assert explorers.load_result(e.id) == {"n": 6}
    explorers.finish(e.id)
    cleared = explorers.clear_result(e.id)
    assert (cleared.status, cleared.exploration_path, cleared.huey_id, cleared.end_time) == (
        RunStatus.NOT_STARTED,
        None,
        None,
        None,
    )
    assert result_files(store.home) == set()
    with pytest.raises(errors.NotFound):
        explorers.load_result(e.id)
    assert explorers.clear_result(e.id).status is RunStatus.NOT_STARTED  # idempotent


def test_list_and_delete(store: Store, nb_id: int) -> None:
    other = notebooks.create(notebooks.get(nb_id).dataset_id)
    a = explorers.create(nb_id, "stats", ["x"], {})
    b = explorers.create(nb_id, "box", ["x"], {})
    c = explorers.create(other.id, "box", ["x"], {})
    explorers.save_result(a.id, b"bytes")
    explorers.save_result(b.id, [1])
    assert [e.id for e in explorers.list(nb_id)] == [a.id, b.id]
    assert [e.id for e in explorers.list(other.id)] == [c.id]
    explorers.delete(a.id)
    assert [e.id for e in explorers.list(nb_id)] == [b.id]
    assert result_files(store.home) == {f"explorers/{b.id}/result.json"}
    with pytest.raises(errors.NotFound):
        explorers.get(a.id)
    with pytest.raises(errors.NotFound):
        explorers.delete(a.id)
    with pytest.raises(errors.NotFound, match="notebook 999"):
        explorers.list(999)
