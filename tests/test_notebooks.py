"""Notebooks: reversible converter pipelines over real Arrow files, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from helpers import file_tree, row_counts, settle_files

from dashai_store import datasets, errors, explorers, files, models, notebooks
from dashai_store.database import Store
from dashai_store.enums import RunStatus

# -- data and converters ---------------------------------------------------------------------------

SOURCE = {
    "id": [1, 2, 3, 4, 5, 6],
    "x": [0.5, 1.0, 1.5, 2.0, 2.5, 3.0],
    "label": ["a", "b", "a", "b", "a", "b"],
    "junk": [9, 9, 9, 9, 9, 9],
}


def source_table() -> pa.Table:
    return pa.table(SOURCE)


def make_dataset(name: str, table: pa.Table) -> int:
    """A FINISHED dataset holding ``table``."""
    return datasets.create(name, table).id


def delete_dataset(dataset_id: int) -> None:
    datasets.delete(dataset_id)


def dataset_file(dataset_id: int) -> Path:
    path = datasets.get(dataset_id).file_path
    assert path is not None
    return path


def dataset_table(dataset_id: int) -> pa.Table:
    return datasets.load_table(dataset_id)


def drop_column(table: pa.Table, params: dict[str, Any]) -> pa.Table:
    return table.drop_columns([params["column"]])


def scale(table: pa.Table, params: dict[str, Any]) -> pa.Table:
    column = params["column"]
    index = table.schema.get_field_index(column)
    return table.set_column(index, column, pc.multiply(table[column], params["factor"]))


def filter_min(table: pa.Table, params: dict[str, Any]) -> pa.Table:
    return table.filter(pc.greater_equal(table[params["column"]], params["min"]))


def explode(table: pa.Table, params: dict[str, Any]) -> pa.Table:
    raise ValueError(f"cannot convert column {params['column']!r}")


REGISTRY = {"DropColumn": drop_column, "Scale": scale, "FilterMin": filter_min, "Explode": explode}

STEP1 = {k: v for k, v in SOURCE.items() if k != "junk"}
STEP2 = {**STEP1, "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]}
STEP3 = {k: v[3:] for k, v in STEP2.items()}  # x >= 4.0


def snapshots_on_disk(home: Path) -> set[str]:
    root = home / "notebooks"
    return (
        {p.relative_to(home).as_posix() for p in root.rglob("*") if p.is_file()} if root.exists() else set()
    )


def assert_bounded(store: Store) -> None:
    """Every file under notebooks/ is some step's snapshot, and every snapshot exists."""
    referenced = {
        path
        for (path,) in models.Converter.select(models.Converter.snapshot_path)
        .where(models.Converter.snapshot_path.is_null(False))
        .tuples()
    }
    assert snapshots_on_disk(store.home) == referenced
    for (path,) in models.Notebook.select(models.Notebook.file_path).tuples():
        assert (store.home / path).is_file()


def pipeline(store: Store) -> tuple[int, int, list[int]]:
    """A notebook on the source data with DropColumn, Scale and FilterMin added (not run)."""
    dataset_id = make_dataset("source", source_table())
    nb = notebooks.create(dataset_id, name="cleaning")
    steps = [
        notebooks.add_converter(nb.id, "DropColumn", {"column": "junk"}).id,
        notebooks.add_converter(nb.id, "Scale", {"column": "x", "factor": 2.0}).id,
        notebooks.add_converter(nb.id, "FilterMin", {"column": "x", "min": 4.0}).id,
    ]
    return dataset_id, nb.id, steps


# -- creation ------------------------------------------------------------------------------------------


def test_create_shares_the_source_file(store: Store) -> None:
    dataset_id = make_dataset("iris", source_table())
    before = file_tree(store.home)
    nb = notebooks.create(dataset_id, name="nb", description="first look")
    assert nb.file_path == dataset_file(dataset_id)
    assert (nb.current_position, nb.dataset_id, nb.name, nb.description) == (
        0,
        dataset_id,
        "nb",
        "first look",
    )
    assert file_tree(store.home) == before  # no copy of the data
    assert notebooks.load_table(nb.id).to_pydict() == SOURCE
    assert notebooks.load_table(nb.id, step=0).to_pydict() == SOURCE
    assert notebooks.get(nb.id) == nb
    assert [n.id for n in notebooks.list()] == [nb.id]
    assert [n.id for n in notebooks.list(dataset_id)] == [nb.id]
    assert notebooks.converters(nb.id) == []
    assert_bounded(store)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ((999,), errors.NotFound),
        (("1",), errors.ValidationError),
        ((True,), errors.ValidationError),
        ((None, "name"), errors.ValidationError),
        ((-1, ""), errors.ValidationError),
    ],
)
def test_create_refusals_write_nothing(store: Store, args: tuple[Any, ...], error: type[Exception]) -> None:
    make_dataset("iris", source_table())
    counts, tree = row_counts(store.db), file_tree(store.home)
    with pytest.raises(error):
        notebooks.create(*args)
    assert row_counts(store.db) == counts
    assert file_tree(store.home) == tree


def test_create_refuses_a_dataset_without_data(store: Store) -> None:
    from dashai_store.clock import utcnow
    from dashai_store.database import run_in_transaction

    now = utcnow()
    pending = run_in_transaction(
        lambda: models.Dataset.create(name="pending", status="DELIVERED", created=now, last_modified=now)
    )
    with pytest.raises(errors.InvalidTransition, match=f"dataset {pending.id}"):
        notebooks.create(pending.id)


# -- the pipeline ----------------------------------------------------------------------------------------


def test_three_step_pipeline_gives_the_expected_table_at_every_step(store: Store) -> None:
    _, nb_id, steps = pipeline(store)
    assert [(c.position, c.status) for c in notebooks.converters(nb_id)] == [
        (1, RunStatus.NOT_STARTED),
        (2, RunStatus.NOT_STARTED),
        (3, RunStatus.NOT_STARTED),
    ]
    delivered = notebooks.deliver(steps[0], job_id="huey-1")
    assert (delivered.status, delivered.huey_id) == (RunStatus.DELIVERED, "huey-1")
    assert delivered.delivery_time is not None

    for position, (step_id, fn, expected) in enumerate(
        zip(steps, (drop_column, scale, filter_min), (STEP1, STEP2, STEP3), strict=True), start=1
    ):
        record = notebooks.apply(step_id, fn)
        assert record.status is RunStatus.FINISHED, record.error
        assert record.start_time is not None and record.end_time is not None
        assert record.start_time <= record.end_time
        assert record.snapshot_path == store.home / "notebooks" / str(nb_id) / f"{step_id}.arrow"
        nb = notebooks.get(nb_id)
        assert (nb.current_position, nb.file_path) == (position, record.snapshot_path)
        assert notebooks.load_table(nb_id).to_pydict() == expected
        assert_bounded(store)

    for step, expected in enumerate((SOURCE, STEP1, STEP2, STEP3)):
        assert notebooks.load_table(nb_id, step=step).to_pydict() == expected
    pipeline_records = notebooks.converters(nb_id)
    assert [c.converter for c in pipeline_records] == ["DropColumn", "Scale", "FilterMin"]
    assert [c.parameters for c in pipeline_records][1] == {"column": "x", "factor": 2.0}
    assert all(c.status is RunStatus.FINISHED for c in pipeline_records)
    assert pipeline_records[0].huey_id == "huey-1"
    with pytest.raises(errors.ValidationError, match="step 4"):
        notebooks.load_table(nb_id, step=4)


def test_revert_to_step_one_then_a_new_step_two(store: Store) -> None:
    _, nb_id, steps = pipeline(store)
    notebooks.run_pending(nb_id, REGISTRY)
    old_snapshots = [notebooks.get_converter(s).snapshot_path for s in steps]

    nb = notebooks.revert(nb_id, 1)
    assert (nb.current_position, nb.file_path) == (1, old_snapshots[0])
    assert [c.id for c in notebooks.converters(nb_id)] == [steps[0]]
    assert old_snapshots[0] is not None and old_snapshots[0].is_file()
    assert not any(p is not None and p.exists() for p in old_snapshots[1:])
    assert notebooks.load_table(nb_id).to_pydict() == STEP1
    assert_bounded(store)

    new = notebooks.add_converter(nb_id, "FilterMin", {"column": "x", "min": 2.0})
    assert new.position == 2 and new.id not in steps
    assert notebooks.apply(new.id, filter_min).status is RunStatus.FINISHED
    assert notebooks.load_table(nb_id).to_pydict() == {k: v[3:] for k, v in STEP1.items()}
    assert [c.converter for c in notebooks.converters(nb_id)] == ["DropColumn", "FilterMin"]
    assert_bounded(store)


def test_undo_works_repeatedly_down_to_the_source(store: Store) -> None:
    dataset_id, nb_id, _ = pipeline(store)
    notebooks.run_pending(nb_id, REGISTRY)
    source_path = models.Dataset.get_by_id(dataset_id).file_path
    for position, expected in ((2, STEP2), (1, STEP1), (0, SOURCE)):
        nb = notebooks.undo(nb_id)
        assert nb.current_position == position
        assert notebooks.load_table(nb_id).to_pydict() == expected
        assert len(notebooks.converters(nb_id)) == position
        assert_bounded(store)
    assert notebooks.get(nb_id).file_path == store.home / source_path
    assert snapshots_on_disk(store.home) == set()
    counts, tree = row_counts(store.db), file_tree(store.home)
    with pytest.raises(errors.InvalidTransition, match="step 0"):
        notebooks.undo(nb_id)
    assert (row_counts(store.db), file_tree(store.home)) == (counts, tree)
    # the source data is intact and the notebook still works from it
    step = notebooks.add_converter(nb_id, "Scale", {"column": "x", "factor": 10.0})
    notebooks.apply(step.id, scale)
    assert notebooks.load_table(nb_id)["x"].to_pylist() == [5.0, 10.0, 15.0, 20.0, 25.0, 30.0]
    assert notebooks.load_table(nb_id, step=0).to_pydict() == SOURCE


def test_revert_drops_pending_steps_too_and_validates_the_step(store: Store) -> None:
    _, nb_id, steps = pipeline(store)
    notebooks.apply(steps[0], drop_column)
    counts, tree = row_counts(store.db), file_tree(store.home)
    for bad, error in (
        (2, errors.ValidationError),
        (-1, errors.ValidationError),
        (True, errors.ValidationError),
    ):
        with pytest.raises(error):
            notebooks.revert(nb_id, bad)
    with pytest.raises(errors.NotFound):
        notebooks.revert(999, 0)
    assert (row_counts(store.db), file_tree(store.home)) == (counts, tree)
    notebooks.revert(nb_id, 1)  # the current step: only the pending steps go
    assert [c.id for c in notebooks.converters(nb_id)] == [steps[0]]
    assert notebooks.load_table(nb_id).to_pydict() == STEP1
    assert_bounded(store)


# -- failures and order ------------------------------------------------------------------------------------


def _state(store: Store, nb_id: int) -> tuple[Any, ...]:
    return notebooks.get(nb_id), file_tree(store.home), notebooks.load_table(nb_id).to_pydict()


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (explode, "ValueError: cannot convert column 'x'"),
        (lambda table, params: table.to_pydict(), "returned dict, not a pyarrow.Table"),
        (lambda table, params: None, "returned NoneType, not a pyarrow.Table"),
        (lambda table, params: table.to_batches()[0], "returned RecordBatch, not a pyarrow.Table"),
    ],
)
def test_failing_converter_leaves_the_data_byte_identical(store: Store, fn: Any, message: str) -> None:
    _, nb_id, steps = pipeline(store)
    notebooks.apply(steps[0], drop_column)
    before = _state(store, nb_id)
    record = notebooks.apply(steps[1], fn)
    assert record.status is RunStatus.ERROR
    assert record.error is not None and message in record.error
    assert record.end_time is not None and record.snapshot_path is None
    assert _state(store, nb_id) == before  # same record (step, file, even last_modified), same bytes
    assert_bounded(store)
    # the failed step may be retried (test_a_step_queued_behind_a_failed_one_runs... for the rest)
    retried = notebooks.apply(steps[1], scale)
    assert (retried.status, retried.error) == (RunStatus.FINISHED, None)
    assert notebooks.load_table(nb_id).to_pydict() == STEP2


def test_out_of_order_apply_is_refused_and_writes_nothing(store: Store) -> None:
    _, nb_id, steps = pipeline(store)
    counts, tree = row_counts(store.db), file_tree(store.home)
    calls: list[int] = []

    def spy(table: pa.Table, params: dict[str, Any]) -> pa.Table:
        calls.append(1)
        return table

    with pytest.raises(errors.InvalidTransition, match=f"step 1 \\(converter {steps[0]} 'DropColumn'\\)"):
        notebooks.apply(steps[2], spy)
    with pytest.raises(errors.InvalidTransition, match="step 1"):
        notebooks.apply(steps[1], spy)
    assert calls == []
    assert (row_counts(store.db), file_tree(store.home)) == (counts, tree)
    assert all(c.status is RunStatus.NOT_STARTED for c in notebooks.converters(nb_id))

    notebooks.apply(steps[0], drop_column)
    with pytest.raises(errors.InvalidTransition, match="already FINISHED"):
        notebooks.apply(steps[0], drop_column)
    with pytest.raises(errors.NotFound, match="converter 999"):
        notebooks.apply(999, drop_column)
    with pytest.raises(errors.ValidationError, match="not callable"):
        notebooks.apply(steps[1], "scale")  # type: ignore[arg-type]
    assert notebooks.get(nb_id).current_position == 1
    assert_bounded(store)


def test_run_pending_stops_at_the_first_error(store: Store) -> None:
    _, nb_id, steps = pipeline(store)
    bad = notebooks.add_converter(nb_id, "Explode", {"column": "x"})
    after = notebooks.add_converter(nb_id, "Scale", {"column": "x", "factor": 3.0})
    records = notebooks.run_pending(nb_id, REGISTRY)
    assert [r.id for r in records] == [*steps, bad.id]
    assert [r.status for r in records] == [RunStatus.FINISHED] * 3 + [RunStatus.ERROR]
    assert notebooks.get_converter(after.id).status is RunStatus.NOT_STARTED
    assert notebooks.get(nb_id).current_position == 3
    assert notebooks.load_table(nb_id).to_pydict() == STEP3
    assert_bounded(store)

    # an unknown converter name is that step's error
    notebooks.revert(nb_id, 3)
    unknown = notebooks.add_converter(nb_id, "Impute", {})
    records = notebooks.run_pending(nb_id, REGISTRY)
    assert [(r.id, r.status) for r in records] == [(unknown.id, RunStatus.ERROR)]
    assert records[0].error is not None and "'Impute'" in records[0].error
    # with the function registered, the retry goes through
    records = notebooks.run_pending(nb_id, {"Impute": lambda t, p: t})
    assert [(r.id, r.status) for r in records] == [(unknown.id, RunStatus.FINISHED)]
    assert notebooks.run_pending(nb_id, REGISTRY) == []
    with pytest.raises(errors.ValidationError):
        notebooks.run_pending(nb_id, [drop_column])  # type: ignore[arg-type]


def test_add_converter_validation_writes_nothing(store: Store) -> None:
    _, nb_id, _ = pipeline(store)
    counts, tree = row_counts(store.db), file_tree(store.home)
    for args, error in (
        ((nb_id, ""), errors.ValidationError),
        ((nb_id, 3), errors.ValidationError),
        ((nb_id, "Scale", {"f": object()}), errors.ValidationError),
        ((nb_id, "Scale", [1, 2]), errors.ValidationError),
        ((nb_id, "Scale", {1: 2}), errors.ValidationError),
        ((999, "Scale"), errors.NotFound),
    ):
        with pytest.raises(error):
            notebooks.add_converter(*args)
    assert (row_counts(store.db), file_tree(store.home)) == (counts, tree)


# -- explorers and reverting ----------------------------------------------------------------------------


def test_revert_removes_exactly_the_later_steps_files_and_explorers(store: Store) -> None:
    _, nb_id, steps = pipeline(store)
    at: dict[int, int] = {0: explorers.create(nb_id, "table", ["junk"], {}).id}
    for position, step in enumerate(steps, start=1):
        notebooks.apply(step, REGISTRY[notebooks.get_converter(step).converter])
        at[position] = explorers.create(nb_id, "histogram", ["x"], {"bins": 4}).id
        explorers.save_result(at[position], {"data": [{"type": "histogram", "x": [position]}]})
    assert [e.position for e in explorers.list(nb_id)] == [0, 1, 2, 3]
    result_files = {p: explorers.get(e).exploration_path for p, e in at.items() if p > 0}
    snapshots = {c.position: c.snapshot_path for c in notebooks.converters(nb_id)}

    notebooks.revert(nb_id, 1)
    assert [e.id for e in explorers.list(nb_id)] == [at[0], at[1]]
    assert [c.id for c in notebooks.converters(nb_id)] == [steps[0]]
    for position in (2, 3):
        assert not result_files[position].exists()  # type: ignore[union-attr]
        assert not (store.home / "explorers" / str(at[position])).exists()
        assert not snapshots[position].exists()  # type: ignore[union-attr]
    assert result_files[1].is_file() and snapshots[1].is_file()  # type: ignore[union-attr]
    assert explorers.load_result(at[1]) == {"data": [{"type": "histogram", "x": [1]}]}
    assert_bounded(store)


def test_revert_while_a_step_runs_discards_its_output(store: Store) -> None:
    _, nb_id, steps = pipeline(store)
    notebooks.apply(steps[0], drop_column)

    def reverting(table: pa.Table, params: dict[str, Any]) -> pa.Table:
        notebooks.revert(nb_id, 0)  # another process's revert, while this step runs
        return scale(table, params)

    with pytest.raises(errors.NotFound, match="was removed"):
        notebooks.apply(steps[1], reverting)
    assert notebooks.get(nb_id).current_position == 0
    assert notebooks.converters(nb_id) == []
    settle_files(store.home)  # the step's input was still mapped when the revert deleted it
    assert snapshots_on_disk(store.home) == set()
    assert_bounded(store)


def test_deleting_the_notebook_while_a_step_runs_leaves_no_files(store: Store) -> None:
    _, nb_id, steps = pipeline(store)

    def deleting(table: pa.Table, params: dict[str, Any]) -> pa.Table:
        notebooks.delete(nb_id)
        return table

    with pytest.raises(errors.NotFound, match="was deleted"):
        notebooks.apply(steps[0], deleting)
    assert not (store.home / "notebooks").exists() or not any((store.home / "notebooks").iterdir())
    assert_bounded(store)


def test_apply_holds_no_write_lock_while_the_converter_runs(sqlite_store: Store) -> None:
    _, _, steps = pipeline(sqlite_store)
    seen: list[str] = []

    def probe(table: pa.Table, params: dict[str, Any]) -> pa.Table:
        other = sqlite3.connect(sqlite_store.home / "db.sqlite", timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")  # fails with "database is locked" if apply holds it
            seen.append(other.execute("SELECT status FROM converter WHERE id = ?", (steps[0],)).fetchone()[0])
            other.rollback()
        finally:
            other.close()
        return drop_column(table, params)

    assert notebooks.apply(steps[0], probe).status is RunStatus.FINISHED
    assert seen == ["STARTED"]  # committed before fn ran


# -- saving and deleting ------------------------------------------------------------------------------------


def test_save_as_dataset_then_delete_notebook_then_delete_source(store: Store) -> None:
    dataset_id, nb_id, steps = pipeline(store)
    notebooks.run_pending(nb_id, REGISTRY)
    notebooks.undo(nb_id)  # lineage lists the steps up to the current one only
    saved = notebooks.save_as_dataset(nb_id, "scaled")
    assert saved.name == "scaled" and saved.status is RunStatus.FINISHED
    assert dataset_table(saved.id).equals(notebooks.load_table(nb_id))
    assert saved.lineage == {
        "source_dataset_id": dataset_id,
        "source_dataset_name": "source",
        "notebook_id": nb_id,
        "notebook_name": "cleaning",
        "position": 2,
        "steps": [
            {
                "position": 1,
                "converter_id": steps[0],
                "converter": "DropColumn",
                "parameters": {"column": "junk"},
            },
            {
                "position": 2,
                "converter_id": steps[1],
                "converter": "Scale",
                "parameters": {"column": "x", "factor": 2.0},
            },
        ],
    }
    assert saved.file_path is not None and not saved.file_path.is_relative_to(store.home / "notebooks")
    assert_bounded(store)

    # the notebook keeps working
    step = notebooks.add_converter(nb_id, "FilterMin", {"column": "x", "min": 5.0})
    notebooks.apply(step.id, filter_min)
    assert notebooks.load_table(nb_id)["x"].to_pylist() == [5.0, 6.0]
    assert dataset_table(saved.id).to_pydict() == STEP2
    with pytest.raises(errors.AlreadyExists):
        notebooks.save_as_dataset(nb_id, "scaled")

    # deleting the notebook leaves both datasets and their files intact
    source_file = dataset_file(dataset_id)
    source_bytes = source_file.read_bytes()
    explorers.save_result(explorers.create(nb_id, "stats", ["x"], {}).id, [1, 2])
    notebooks.delete(nb_id)
    assert not (store.home / "notebooks" / str(nb_id)).exists()
    assert not (store.home / "explorers").exists() or not any((store.home / "explorers").iterdir())
    assert source_file.read_bytes() == source_bytes
    assert dataset_table(saved.id).to_pydict() == STEP2
    assert models.Converter.select().count() == 0 and models.Explorer.select().count() == 0
    with pytest.raises(errors.NotFound):
        notebooks.get(nb_id)
    assert_bounded(store)

    # deleting the source dataset removes its notebooks and their files
    other = notebooks.create(dataset_id)
    notebooks.run_pending(other.id, {})  # nothing pending: a no-op
    notebooks.apply(notebooks.add_converter(other.id, "DropColumn", {"column": "junk"}).id, drop_column)
    ex = explorers.create(other.id, "stats", ["x"], {})
    explorers.save_result(ex.id, b"\x89PNG")
    delete_dataset(dataset_id)
    with pytest.raises(errors.NotFound):
        notebooks.get(other.id)
    assert not (store.home / "notebooks" / str(other.id)).exists()
    assert not (store.home / "explorers" / str(ex.id)).exists()
    assert dataset_table(saved.id).to_pydict() == STEP2
    assert_bounded(store)


def test_save_as_dataset_at_step_zero_and_refusals(store: Store) -> None:
    dataset_id, nb_id, _ = pipeline(store)
    counts = row_counts(store.db)
    for name, error in (
        (None, errors.ValidationError),
        ("", errors.ValidationError),
        ("source", errors.AlreadyExists),
    ):
        with pytest.raises(error):
            notebooks.save_as_dataset(nb_id, name)  # type: ignore[arg-type]
    assert row_counts(store.db) == counts
    copy = notebooks.save_as_dataset(nb_id, "copy")
    assert copy.lineage is not None and copy.lineage["steps"] == [] and copy.lineage["position"] == 0
    assert dataset_table(copy.id).to_pydict() == SOURCE
    assert copy.file_path != dataset_file(dataset_id)


def test_delete_refusals(store: Store) -> None:
    with pytest.raises(errors.NotFound, match="notebook 42"):
        notebooks.delete(42)
    with pytest.raises(errors.ValidationError):
        notebooks.delete("1")  # type: ignore[arg-type]


def test_a_crashed_steps_leftover_snapshot_goes_with_the_step(store: Store) -> None:
    _, nb_id, steps = pipeline(store)
    # a process died after writing step 1's snapshot, before committing it
    files.write_arrow(notebooks.snapshot_path(nb_id, steps[0]), source_table())
    notebooks.revert(nb_id, 0)
    assert snapshots_on_disk(store.home) == set()


def test_a_running_step_cannot_be_applied_twice(store: Store) -> None:
    _, nb_id, steps = pipeline(store)
    refused: list[str] = []

    def second_caller(table: pa.Table, params: dict[str, Any]) -> pa.Table:
        try:
            notebooks.apply(steps[0], drop_column)  # another worker picking up the same job
        except errors.InvalidTransition as exc:
            refused.append(str(exc))
        return drop_column(table, params)

    assert notebooks.apply(steps[0], second_caller).status is RunStatus.FINISHED
    assert len(refused) == 1 and "already STARTED" in refused[0]
    assert notebooks.load_table(nb_id).to_pydict() == STEP1
    assert_bounded(store)


def test_concurrent_writers_append_steps_without_gaps_or_clashes(store: Store) -> None:
    import threading

    _, nb_id, _ = pipeline(store)
    failures: list[BaseException] = []

    def add_many(worker: int) -> None:
        try:
            for i in range(15):
                notebooks.add_converter(nb_id, "Scale", {"worker": worker, "i": i})
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=add_many, args=(w,)) for w in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert [c.position for c in notebooks.converters(nb_id)] == list(range(1, 49))
