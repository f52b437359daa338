"""Datasets edited in place: every edit writes a new immutable version and switches to it.

DashAI renames a column, re-samples, or replaces a dataset's data in place; the store
keeps files immutable, so notebooks made from the old version keep working and the old
file goes after COMMIT once nothing refers to it.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from helpers import assert_refused, file_tree, plant_session

from dashai_store import cascade, datasets, errors, files, maintenance, models, notebooks
from dashai_store.database import Store, run_in_transaction
from dashai_store.enums import RunStatus


def table() -> pa.Table:
    return pa.table({"x": [1.0, 2.0, 3.0, 4.0], "y": ["a", "b", "a", "b"]})


def current_file(dataset_id: int) -> Path:
    path = datasets.get(dataset_id).file_path
    assert path is not None
    return path


def dataset_files(home: Path, dataset_id: int) -> set[str]:
    folder = home / files.layout.dataset_folder(dataset_id)
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def wait_for_trash(store: Store) -> None:
    files.wait_for_trash(store.home)


# -- rename a column --------------------------------------------------------------------------------


def test_rename_column_writes_a_new_version_and_drops_the_old_one(store: Store) -> None:
    ds = datasets.create("iris", table())
    old = current_file(ds.id)
    old_bytes = old.read_bytes()
    renamed = datasets.rename_column(ds.id, "x", "sepal")
    assert renamed.file_path != old and renamed.file_path is not None
    assert renamed.file_path.name.startswith("data-") and renamed.file_path.parent == old.parent
    assert datasets.load_table(ds.id).column_names == ["sepal", "y"]
    assert datasets.load_table(ds.id).column("sepal").to_pylist() == [1.0, 2.0, 3.0, 4.0]
    assert renamed.status is RunStatus.FINISHED and renamed.last_modified >= ds.last_modified
    wait_for_trash(store)
    assert not old.exists(), "no row refers to the old version: it goes after COMMIT"
    assert dataset_files(store.home, ds.id) == {renamed.file_path.name}
    assert old_bytes  # the old file was never rewritten in place (it was removed whole)
    assert maintenance.check().missing_files == ()


def test_rename_column_while_a_notebook_of_the_old_version_is_open(store: Store) -> None:
    """DashAI: the user renames a dataset column while a notebook made from it is open."""
    ds = datasets.create("titanic", table())
    nb = notebooks.create(ds.id, name="exploring")
    step = notebooks.add_converter(nb.id, "Double", {})
    applied = notebooks.apply(step.id, lambda t, p: t.set_column(0, "x", pc.multiply(t["x"], 2)))
    assert applied.status is RunStatus.FINISHED, applied.error
    old = current_file(ds.id)

    new = datasets.rename_column(ds.id, "x", "age")
    wait_for_trash(store)
    # The dataset moved on; the notebook still reads the version it started from.
    assert datasets.load_table(ds.id).column_names == ["age", "y"]
    assert old.is_file(), "a notebook's step 0 still refers to the old version"
    assert notebooks.load_table(nb.id).column("x").to_pylist() == [2.0, 4.0, 6.0, 8.0]
    assert notebooks.load_table(nb.id, step=0).column_names == ["x", "y"]
    # check and gc know the notebook's version is referenced (it is past step 0)
    assert maintenance.check(grace_s=0).unowned_files == ()
    assert files.relative(old) in cascade.referenced_paths()
    assert maintenance.gc(grace_s=0).removed_files == ()
    reverted = notebooks.revert(nb.id, 0)
    assert reverted.file_path == old
    # A new notebook starts on the new version.
    nb2 = notebooks.create(ds.id, name="after")
    assert nb2.file_path == new.file_path
    # Deleting the last notebook on the old version frees it, after COMMIT.
    notebooks.delete(nb.id)
    wait_for_trash(store)
    assert not old.exists()
    assert new.file_path is not None and new.file_path.is_file()
    assert notebooks.load_table(nb2.id).column_names == ["age", "y"]


def test_rename_column_keeps_dashai_column_types_in_the_metadata(store: Store) -> None:
    types = {"x": {"type": "Float"}, "y": {"type": "Categorical"}}
    metadata = {"dashai_types": json.dumps(types), "other": "not json {"}
    ds = datasets.create("typed", table().replace_schema_metadata(metadata))
    datasets.rename_column(ds.id, "y", "label")
    stored = datasets.schema(ds.id).metadata
    assert json.loads(stored[b"dashai_types"]) == {"x": {"type": "Float"}, "label": {"type": "Categorical"}}
    assert stored[b"other"] == b"not json {"


def test_rename_column_renames_it_in_the_model_sessions_on_the_dataset(store: Store) -> None:
    ds = datasets.create("d", table())
    session_id = plant_session(ds.id, input_columns=["x"], output_columns=["y"])
    datasets.rename_column(ds.id, "y", "label")
    row = models.ModelSession.get_by_id(session_id)
    assert (row.input_columns, row.output_columns) == (["x"], ["label"])


def test_renaming_to_the_same_name_writes_nothing(store: Store) -> None:
    ds = datasets.create("d", table())
    before = file_tree(store.home)
    assert datasets.rename_column(ds.id, "x", "x") == datasets.get(ds.id)
    assert file_tree(store.home) == before


def test_bad_edits_are_typed_and_change_nothing(store: Store) -> None:
    ds = datasets.create("d", table())
    pending = datasets.create_pending("pending")
    session_id = plant_session(ds.id, input_columns=["x"], output_columns=["y"])
    cases: list[tuple[str, object, type[errors.StoreError]]] = [
        ("no such column", partial(datasets.rename_column, ds.id, "nope", "z"), errors.ValidationError),
        ("taken name", partial(datasets.rename_column, ds.id, "x", "y"), errors.ValidationError),
        ("empty name", partial(datasets.rename_column, ds.id, "x", ""), errors.ValidationError),
        ("NUL name", partial(datasets.rename_column, ds.id, "x", "a\x00"), errors.ValidationError),
        ("int name", partial(datasets.rename_column, ds.id, "x", 3), errors.ValidationError),
        ("unknown id", partial(datasets.rename_column, 999, "x", "z"), errors.NotFound),
        ("bool id", partial(datasets.rename_column, True, "x", "z"), errors.ValidationError),
        ("pending", partial(datasets.rename_column, pending.id, "x", "z"), errors.InvalidTransition),
        ("replace pending", partial(datasets.replace_data, pending.id, table()), errors.InvalidTransition),
        ("replace with a dict", partial(datasets.replace_data, ds.id, {"x": [1]}), errors.ValidationError),
        (
            "replace without columns",
            partial(datasets.replace_data, ds.id, pa.table({})),
            errors.ValidationError,
        ),
        (
            "replace dropping a session's column",
            partial(datasets.replace_data, ds.id, pa.table({"x": [1.0]})),
            errors.ValidationError,
        ),
        ("replace unknown id", partial(datasets.replace_data, 999, table()), errors.NotFound),
    ]
    for case, call, error in cases:
        assert callable(call)
        assert_refused(store, case, call, error)
    assert models.ModelSession.get_by_id(session_id).input_columns == ["x"]


# -- re-sample, replace ---------------------------------------------------------------------------------


def test_replace_data_is_a_resample_into_the_existing_dataset(store: Store) -> None:
    """DashAI's DatasetJob re-samples into an existing dataset: the store writes a new version."""
    ds = datasets.create("big", table())
    plant_session(ds.id, input_columns=["x"], output_columns=["y"])
    sample = table().slice(0, 2)
    replaced = datasets.replace_data(ds.id, sample)
    assert datasets.load_table(ds.id).equals(sample)
    assert (replaced.id, replaced.name, replaced.status) == (ds.id, "big", RunStatus.FINISHED)
    # Twice more: each version is a new file, the superseded ones go.
    datasets.replace_data(ds.id, table())
    third = datasets.replace_data(ds.id, sample)
    wait_for_trash(store)
    assert third.file_path is not None
    assert dataset_files(store.home, ds.id) == {third.file_path.name}


def test_replace_data_from_a_file_outside_the_home(store: Store, tmp_path: Path) -> None:
    import pyarrow.parquet

    ds = datasets.create("d", table())
    upload = tmp_path / "upload" / "resampled.parquet"
    upload.parent.mkdir()
    pyarrow.parquet.write_table(table().slice(1, 2), upload)
    before = upload.read_bytes()
    datasets.replace_data(ds.id, upload)
    assert datasets.load_table(ds.id).column("x").to_pylist() == [2.0, 3.0]
    assert upload.read_bytes() == before


def test_an_edit_racing_another_is_refused_and_leaves_no_file(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two edits of one dataset at once: the second to commit finds its base gone."""
    ds = datasets.create("d", table())
    real_write = datasets._write

    def write_then_race(data: object, name: str, target: str) -> None:
        real_write(data, name, target)
        if not raced:
            raced.append(True)
            datasets.rename_column(ds.id, "y", "label")  # commits first

    raced: list[bool] = []
    monkeypatch.setattr(datasets, "_write", write_then_race)
    with pytest.raises(errors.InvalidTransition, match="changed while its new version was written"):
        datasets.replace_data(ds.id, table())
    wait_for_trash(store)
    current = current_file(ds.id)
    assert datasets.load_table(ds.id).column_names == ["x", "label"]
    assert dataset_files(store.home, ds.id) == {current.name}, "the discarded version left no file"


def test_a_switch_retried_after_a_busy_rollback_names_a_whole_file(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write transaction is retried when the database is busy (PostgreSQL: a
    serialization failure at any statement); the retry must not point at a file the
    rolled-back attempt discarded."""
    ds = datasets.create("d", table())
    real = datasets.drop_version_if_unused
    failures = [errors.StoreBusy("simulated: database is busy")]

    def busy_once(dataset_id: int, path: str | None) -> None:
        if failures:
            raise failures.pop()
        real(dataset_id, path)

    monkeypatch.setattr(datasets, "drop_version_if_unused", busy_once)
    edited = datasets.rename_column(ds.id, "x", "z")
    wait_for_trash(store)
    assert failures == [], "the first attempt rolled back"
    assert edited.file_path is not None and edited.file_path.is_file()
    assert datasets.load_table(ds.id).column_names == ["z", "y"]
    assert dataset_files(store.home, ds.id) == {edited.file_path.name}, "the discarded attempt left nothing"


def test_an_edit_inside_a_rolled_back_transaction_leaves_everything_as_it_was(store: Store) -> None:
    ds = datasets.create("d", table())
    before = file_tree(store.home)

    class Rollback(Exception):
        pass

    def edit_then_fail() -> None:
        datasets.rename_column(ds.id, "x", "z")
        raise Rollback

    with pytest.raises(Rollback):
        run_in_transaction(edit_then_fail)
    wait_for_trash(store)
    assert datasets.load_table(ds.id).column_names == ["x", "y"]
    assert file_tree(store.home) == before


def test_deleting_a_dataset_removes_every_version(store: Store) -> None:
    ds = datasets.create("d", table())
    nb = notebooks.create(ds.id)
    datasets.rename_column(ds.id, "x", "z")
    assert len(dataset_files(store.home, ds.id)) == 2  # the notebook keeps the first
    datasets.delete(ds.id)
    wait_for_trash(store)
    assert not (store.home / files.layout.dataset_folder(ds.id)).exists()
    with pytest.raises(errors.NotFound):
        notebooks.get(nb.id)


def test_gc_frees_a_version_no_row_names_and_keeps_a_notebook_version(store: Store) -> None:
    """What a crash between writing a version (or staging an upload) and its COMMIT leaves is
    owned by no row: gc removes it; the version a notebook started from it keeps."""
    ds = datasets.create("d", table())
    nb = notebooks.create(ds.id)
    kept = current_file(ds.id)
    datasets.rename_column(ds.id, "x", "z")
    orphan = files.layout.dataset_version_file(ds.id, "ab" * 16)
    staged = files.layout.dataset_incoming("cd" * 16)
    files.write_arrow(orphan, table())
    files.write_arrow(staged, table())
    report = maintenance.gc(grace_s=0)
    assert {files.relative(p) for p in report.removed_files} == {orphan, staged}
    assert kept.is_file() and current_file(ds.id).is_file()
    assert notebooks.load_table(nb.id).column_names == ["x", "y"]
