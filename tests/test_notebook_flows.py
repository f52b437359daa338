"""DashAI's notebook, explorer and generative flows the store serves.

Notebook rename; a converter queued behind a failed one (DashAI applies it to the
current data); explorer update with DashAI's ``[{id, columnName}]`` columns; listings
in one query with pagination; generative images found by their file name.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pyarrow as pa
import pytest
from helpers import assert_refused, file_tree, plant_run, plant_session
from test_generative import make_png
from test_notebooks import REGISTRY, STEP1, drop_column, explode, filter_min, make_dataset, source_table

from dashai_store import datasets, errors, explorers, generative, notebooks, predictions
from dashai_store.database import Store
from dashai_store.enums import RunStatus


@pytest.fixture
def nb_id(store: Store) -> int:
    return notebooks.create(make_dataset("source", source_table()), name="nb").id


def count_queries(store: Store, call: Any) -> int:
    """How many SQL statements ``call`` sends (peewee's execute_sql is the one door)."""
    db = store.db
    real = db.execute_sql
    sent: list[str] = []

    def counting(sql: str, *args: Any, **kwargs: Any) -> Any:
        sent.append(sql)
        return real(sql, *args, **kwargs)

    db.execute_sql = counting  # type: ignore[method-assign]
    try:
        call()
    finally:
        db.execute_sql = real  # type: ignore[method-assign]
    return len([sql for sql in sent if sql.lstrip().upper().startswith("SELECT")])


# -- notebook rename ------------------------------------------------------------------------------------


def test_rename_a_notebook(store: Store, nb_id: int) -> None:
    before = notebooks.get(nb_id)
    renamed = notebooks.rename(nb_id, "cleaning v2")
    assert renamed.name == "cleaning v2" and renamed.last_modified >= before.last_modified
    assert notebooks.get(nb_id).name == "cleaning v2"
    # names are not unique (DashAI's notebooks are not)
    other = notebooks.create(before.dataset_id, name="other")
    assert notebooks.rename(other.id, "cleaning v2").name == "cleaning v2"
    # the same name again writes nothing
    assert notebooks.rename(nb_id, "cleaning v2") == notebooks.get(nb_id)


def test_bad_renames_are_typed_and_change_nothing(store: Store, nb_id: int) -> None:
    for case, call, error in [
        ("blank", partial(notebooks.rename, nb_id, "  "), errors.ValidationError),
        ("None", partial(notebooks.rename, nb_id, None), errors.ValidationError),
        ("NUL", partial(notebooks.rename, nb_id, "a\x00"), errors.ValidationError),
        ("unknown", partial(notebooks.rename, 999, "x"), errors.NotFound),
        ("str id", partial(notebooks.rename, "1", "x"), errors.ValidationError),
    ]:
        assert_refused(store, case, call, error)


# -- a converter queued behind a failed one ---------------------------------------------------------------


def test_a_step_queued_behind_a_failed_one_runs_on_the_current_data(store: Store, nb_id: int) -> None:
    """DashAI: the user adds a converter that fails, then another; the second is applied."""
    first = notebooks.add_converter(nb_id, "DropColumn", {"column": "junk"})
    assert notebooks.apply(first.id, drop_column).status is RunStatus.FINISHED
    failed = notebooks.add_converter(nb_id, "Explode", {"column": "x"})
    queued = notebooks.add_converter(nb_id, "FilterMin", {"column": "x", "min": 2.0})
    assert notebooks.apply(failed.id, explode).status is RunStatus.ERROR

    done = notebooks.apply(queued.id, filter_min)
    assert done.status is RunStatus.FINISHED
    expected = pa.table(STEP1).filter(pa.compute.greater_equal(pa.table(STEP1)["x"], 2.0))
    assert notebooks.load_table(nb_id).equals(expected)
    assert notebooks.get(nb_id).current_position == 3
    statuses = [c.status for c in notebooks.converters(nb_id)]
    assert statuses == [RunStatus.FINISHED, RunStatus.ERROR, RunStatus.FINISHED], (
        "the failed step stays ERROR"
    )
    # The failed step changed nothing: its step's data is the step before it.
    assert notebooks.load_table(nb_id, step=2).equals(notebooks.load_table(nb_id, step=1))
    # Once passed over it cannot be retried out of order.
    with pytest.raises(errors.InvalidTransition, match="revert the notebook to step 1"):
        notebooks.apply(failed.id, drop_column)

    # revert still works: to the failed step (the data before it), then back to the source
    at_failed = notebooks.revert(nb_id, 2)
    assert at_failed.current_position == 2
    assert notebooks.load_table(nb_id).equals(pa.table(STEP1))
    assert [c.status for c in notebooks.converters(nb_id)] == [RunStatus.FINISHED, RunStatus.ERROR]
    notebooks.revert(nb_id, 1)
    retried = notebooks.add_converter(nb_id, "FilterMin", {"column": "x", "min": 2.0})
    assert notebooks.apply(retried.id, filter_min).status is RunStatus.FINISHED
    assert notebooks.revert(nb_id, 0).file_path == datasets.get(notebooks.get(nb_id).dataset_id).file_path
    assert notebooks.load_table(nb_id).equals(source_table())


def test_a_pending_step_still_blocks_the_steps_behind_it(store: Store, nb_id: int) -> None:
    waiting = notebooks.add_converter(nb_id, "DropColumn", {"column": "junk"})
    behind = notebooks.add_converter(nb_id, "FilterMin", {"column": "x", "min": 2.0})
    before = file_tree(store.home)
    with pytest.raises(errors.InvalidTransition, match=f"converter {waiting.id}"):
        notebooks.apply(behind.id, filter_min)
    assert file_tree(store.home) == before
    notebooks.deliver(waiting.id, "job-1")
    with pytest.raises(errors.InvalidTransition, match="DELIVERED"):
        notebooks.apply(behind.id, filter_min)


def test_run_pending_then_a_step_behind_the_failure(store: Store, nb_id: int) -> None:
    notebooks.add_converter(nb_id, "Explode", {"column": "x"})
    behind = notebooks.add_converter(nb_id, "DropColumn", {"column": "junk"})
    ran = notebooks.run_pending(nb_id, REGISTRY)
    assert [r.status for r in ran] == [RunStatus.ERROR]
    assert notebooks.apply(behind.id, drop_column).status is RunStatus.FINISHED
    assert notebooks.load_table(nb_id).column_names == list(STEP1)


# -- explorers: update, DashAI's column shape, listings -----------------------------------------------------

DASHAI_COLUMNS = [{"id": 0, "columnName": "x"}, {"id": 2, "columnName": "label"}]


def test_explorer_columns_keep_dashai_shape(store: Store, nb_id: int) -> None:
    explorer = explorers.create(nb_id, "ScatterPlot", DASHAI_COLUMNS, {"opacity": 0.5}, name="scatter")
    assert explorer.columns == DASHAI_COLUMNS
    assert explorers.get(explorer.id).columns == DASHAI_COLUMNS
    assert explorers.column_names(explorer.columns) == ["x", "label"]
    mixed = explorers.create(nb_id, "Describe", ["x", {"id": 1, "columnName": "label"}])
    assert explorers.column_names(mixed.columns) == ["x", "label"]


def test_explorer_update_the_dashai_way(store: Store, nb_id: int) -> None:
    """DashAI's PATCH /explorers/{id}: name, parameters and [{id, columnName}] columns."""
    explorer = explorers.create(nb_id, "Histogram", [{"id": 0, "columnName": "x"}], {"bins": 10})
    explorers.deliver(explorer.id, "job-1")
    explorers.start(explorer.id)
    explorers.save_result(explorer.id, {"data": [], "layout": {}})
    explorers.finish(explorer.id)

    renamed = explorers.update(explorer.id, name="ages")
    assert renamed.name == "ages" and renamed.status is RunStatus.FINISHED, "a name keeps the result"
    assert renamed.exploration_path is not None

    changed = explorers.update(explorer.id, columns=DASHAI_COLUMNS, parameters={"bins": 20})
    assert changed.columns == DASHAI_COLUMNS and changed.parameters == {"bins": 20}
    assert changed.status is RunStatus.NOT_STARTED and changed.exploration_path is None, "the result is stale"
    assert changed.huey_id is None and changed.end_time is None
    files_left = [p for p in (store.home / "explorers").rglob("*") if p.is_file()]
    assert files_left == []
    # the job runs again
    explorers.deliver(explorer.id, "job-2")
    explorers.start(explorer.id)
    assert explorers.update(explorer.id, name="while running").name == "while running"
    assert_refused(
        store,
        "definition change while running",
        partial(explorers.update, explorer.id, parameters={"bins": 3}),
        errors.InvalidTransition,
    )


def test_explorer_update_checks_columns_at_the_explorer_step(store: Store, nb_id: int) -> None:
    explorer = explorers.create(nb_id, "Describe", ["junk"])  # step 0 has junk
    step = notebooks.add_converter(nb_id, "DropColumn", {"column": "junk"})
    notebooks.apply(step.id, drop_column)
    # Still valid: the explorer looks at step 0, which has the column.
    assert explorers.update(explorer.id, columns=[{"id": 3, "columnName": "junk"}]).columns == [
        {"id": 3, "columnName": "junk"}
    ]
    later = explorers.create(nb_id, "Describe", ["x"])
    assert_refused(
        store,
        "column gone at step 1",
        partial(explorers.update, later.id, columns=["junk"]),
        errors.ValidationError,
    )


def test_bad_explorer_updates_are_typed_and_change_nothing(store: Store, nb_id: int) -> None:
    explorer = explorers.create(nb_id, "Describe", ["x"])
    for case, kwargs, error in [
        ("missing column", {"columns": [{"id": 9, "columnName": "nope"}]}, errors.ValidationError),
        ("object without columnName", {"columns": [{"id": 1}]}, errors.ValidationError),
        ("columnName not text", {"columns": [{"columnName": 3}]}, errors.ValidationError),
        ("columns a str", {"columns": "x"}, errors.ValidationError),
        ("column an int", {"columns": [1]}, errors.ValidationError),
        ("parameters a list", {"parameters": [1]}, errors.ValidationError),
        ("blank type", {"exploration_type": " "}, errors.ValidationError),
        ("blank name", {"name": ""}, errors.ValidationError),
    ]:
        assert_refused(store, case, partial(explorers.update, explorer.id, **kwargs), error)
    assert_refused(store, "unknown", partial(explorers.update, 999, name="x"), errors.NotFound)
    # nothing to change writes nothing
    assert explorers.update(explorer.id, columns=["x"]) == explorers.get(explorer.id)


def test_every_explorer_in_one_query_with_pages(store: Store, nb_id: int) -> None:
    other = notebooks.create(notebooks.get(nb_id).dataset_id, name="other").id
    made = [explorers.create(nb, "Describe", ["x"]).id for nb in (nb_id, other, nb_id, other, nb_id)]
    assert [e.id for e in explorers.list()] == sorted(made)
    assert [e.id for e in explorers.list(limit=2)] == sorted(made)[:2]
    assert [e.id for e in explorers.list(limit=2, offset=2)] == sorted(made)[2:4]
    assert [e.id for e in explorers.list(offset=4)] == sorted(made)[4:]
    assert [e.id for e in explorers.list(nb_id, limit=1, offset=1)] == [made[2]]
    assert explorers.list(limit=0) == []
    assert count_queries(store, explorers.list) == 1, "one query however many explorers"


def test_pages_of_datasets_notebooks_and_predictions(store: Store) -> None:
    ids = [datasets.create(f"d{i}", pa.table({"x": [1.0], "y": ["a"]})).id for i in range(5)]
    assert [d.id for d in datasets.list(limit=2, offset=1)] == ids[1:3]
    assert [d.id for d in datasets.list(RunStatus.FINISHED, offset=3)] == ids[3:]
    nbs = [notebooks.create(ids[0]).id for _ in range(3)]
    assert [n.id for n in notebooks.list(limit=2)] == nbs[:2]
    assert [n.id for n in notebooks.list(ids[0], offset=2)] == nbs[2:]
    run_id = plant_run(plant_session(ids[0]))
    made = [predictions.create(run_id, ids[0]).id for _ in range(4)]
    assert [p.id for p in predictions.list(run_id, limit=3, offset=1)] == made[1:4]
    assert count_queries(store, lambda: datasets.list(limit=3)) == 1


@pytest.mark.parametrize(
    ("limit", "offset"), [(-1, 0), (True, 0), ("2", 0), (None, -1), (None, 1.5), (None, None)]
)
def test_bad_pages_are_typed(store: Store, limit: Any, offset: Any) -> None:
    for listing in (datasets.list, notebooks.list, predictions.list, explorers.list):
        assert_refused(
            store,
            f"{listing.__module__} {limit!r} {offset!r}",
            partial(listing, limit=limit, offset=offset),
            errors.ValidationError,
        )


# -- generative images by file name ---------------------------------------------------------------------


def test_a_generative_image_is_found_by_its_file_name(store: Store) -> None:
    """DashAI's GET /generative-process/image/{filename}: the bare name of the payload's file."""
    session = generative.create_session("art", "TextToImage", "sd-turbo", {"steps": 4})
    process = generative.create_process(session.id, [("str", "a cat")])
    png = make_png()
    generative.deliver(process.id)
    generative.start(process.id)
    [image] = generative.add_outputs(process.id, [("image", png)])
    assert image.file_path is not None
    found = generative.payload_by_file_name(image.file_path.name)
    assert (found.id, found.value, found.file_path) == (image.id, png, image.file_path)
    assert found.data_type.value == "image" and not found.is_input
    # another session's image is found too, by its own name
    other = generative.create_session("art2", "TextToImage", "sd-turbo", {})
    other_process = generative.create_process(other.id, [("image", make_png(5, 5))])
    [payload] = generative.payloads(other_process.id)
    assert payload.file_path is not None
    assert generative.payload_by_file_name(payload.file_path.name).id == payload.id


def test_bad_image_names_are_typed(store: Store) -> None:
    session = generative.create_session("art", "TextToImage", "sd-turbo", {})
    process = generative.create_process(session.id, [("image", make_png())])
    [payload] = generative.payloads(process.id)
    assert payload.file_path is not None
    name = payload.file_path.name
    for case, value, error in [
        ("unknown", "0" * 32 + ".png", errors.NotFound),
        ("upper case", name.upper(), errors.NotFound),
        ("a prefix of a name", name[:-4], errors.NotFound),
        ("a wildcard", "%.png", errors.NotFound),
        ("a folder", f"{process.id}/{name}", errors.UnsafePath),
        ("a parent", "..", errors.UnsafePath),
        ("backslash", f"x\\{name}", errors.UnsafePath),
        ("blank", "", errors.ValidationError),
        ("bytes", name.encode(), errors.ValidationError),
        ("a text payload", "a cat", errors.NotFound),
    ]:
        assert_refused(store, case, partial(generative.payload_by_file_name, value), error)
