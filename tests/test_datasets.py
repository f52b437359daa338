"""Datasets: create (table or file), the job flow, reads, rename, load_table, delete with its cascade."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv
import pyarrow.feather
import pyarrow.parquet
import pytest
from helpers import assert_refused, file_tree, plant_run, row_counts

from dashai_store import datasets, errors, files, model_sessions, models, predictions
from dashai_store.clock import utcnow
from dashai_store.database import Store, run_in_transaction
from dashai_store.enums import RunStatus


def sample() -> pa.Table:
    return pa.table({"x": [1, 2, 3], "y": ["a", "b", "c"], "z": [0.5, math.inf, -1.25]})


def write_source(home: Path, name: str, table: pa.Table | None = None) -> Path:
    """A source file under ``<home>/uploads`` in the format its suffix names."""
    table = sample() if table is None else table
    path = home / "uploads" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        pyarrow.csv.write_csv(table, path)
    elif suffix in (".parquet", ".pq"):
        pyarrow.parquet.write_table(table, path)
    elif suffix == ".feather":
        pyarrow.feather.write_feather(table, path)
    elif name.startswith("stream"):
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
    else:
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
    return path


def stored_file_path(store: Store, dataset_id: int) -> str | None:
    row = store.db.execute_sql(f"SELECT file_path FROM dataset WHERE id = {int(dataset_id)}").fetchone()
    return None if row is None else row[0]


# -- create -------------------------------------------------------------------------------------------


def test_create_from_a_table_writes_its_file_and_finishes(store: Store) -> None:
    before = utcnow()
    ds = datasets.create("iris", sample())
    assert ds.name == "iris"
    assert ds.status is RunStatus.FINISHED
    assert ds.file_path == store.home / "datasets" / str(ds.id) / "data.arrow"
    assert ds.file_path.is_file()
    assert stored_file_path(store, ds.id) == f"datasets/{ds.id}/data.arrow"  # relative in the row
    assert ds.lineage is None and ds.error is None
    assert ds.delivery_time is not None and ds.start_time is not None and ds.end_time is not None
    assert before <= ds.delivery_time <= ds.start_time <= ds.end_time
    assert before <= ds.created <= ds.last_modified
    assert datasets.load_table(ds.id).equals(sample())
    assert set(file_tree(store.home)) == {f"datasets/{ds.id}/data.arrow"}


SOURCE_FILES = [
    "data.csv",
    "DATA.CSV",
    "data.parquet",
    "data.pq",
    "data.arrow",
    "stream.arrow",
    "stream.arrows",
    "data.ipc",
    "data.feather",
]


def test_create_from_a_file_inside_the_home(store: Store) -> None:
    for filename in SOURCE_FILES:
        source = write_source(store.home, filename)
        by_absolute = datasets.create(f"absolute {filename}", source)
        by_relative = datasets.create(f"relative {filename}", f"uploads/{filename}")
        for ds in (by_absolute, by_relative):
            assert ds.status is RunStatus.FINISHED, filename
            assert datasets.load_table(ds.id).equals(sample()), filename
        assert source.is_file()  # the source is read, never moved


def test_create_keeps_the_lineage(store: Store) -> None:
    lineage = {"notebook_id": 4, "steps": [{"converter": "Drop", "parameters": {"column": "y"}}]}
    ds = datasets.create("derived", sample(), lineage=lineage)
    assert ds.lineage == lineage
    assert datasets.get(ds.id).lineage == lineage
    pending = datasets.create_pending("pending", lineage={"source": "upload"})
    assert datasets.get(pending.id).lineage == {"source": "upload"}


def test_names_are_free_text_and_never_paths(store: Store) -> None:
    names = ["../../etc/passwd", "数据 🌸", "a/b\\c", "C:\\x", ".", "x" * 255, "  padded  ", "\ttab"]
    ids = [datasets.create(name, sample()).id for name in names]
    assert [datasets.get_by_name(name).id for name in names] == ids
    assert set(file_tree(store.home)) == {f"datasets/{i}/data.arrow" for i in ids}


def test_ids_are_not_reused_so_a_new_dataset_never_meets_old_files(store: Store) -> None:
    first = datasets.create("one", sample())
    datasets.delete(first.id)
    second = datasets.create("two", pa.table({"w": [7]}))
    assert second.id > first.id
    assert datasets.load_table(second.id).column_names == ["w"]


# -- bad input writes nothing --------------------------------------------------------------------------


def _outside(home: Path) -> Path:
    path = home.parent / "outside.csv"
    pyarrow.csv.write_csv(sample(), path)
    return path


def _garbage(home: Path, name: str, content: bytes) -> Path:
    path = home / "uploads" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def _dir(home: Path) -> Path:
    path = home / "uploads" / "folder.csv"
    path.mkdir(parents=True)
    return path


a = pa.array([1, 2])
BAD_CREATE: list[tuple[str, Any, Callable[[Path], Any], type[errors.StoreError]]] = [
    ("empty name", "", lambda h: sample(), errors.ValidationError),
    ("blank name", "   ", lambda h: sample(), errors.ValidationError),
    ("long name", "x" * 256, lambda h: sample(), errors.ValidationError),
    ("NUL in name", "a\x00b", lambda h: sample(), errors.ValidationError),
    ("lone surrogate", "bad\udcff", lambda h: sample(), errors.ValidationError),
    ("int name", 12, lambda h: sample(), errors.ValidationError),
    ("None name", None, lambda h: sample(), errors.ValidationError),
    ("duplicate name", "taken", lambda h: sample(), errors.AlreadyExists),
    ("dict data", "n", lambda h: {"x": [1, 2]}, errors.ValidationError),
    ("list data", "n", lambda h: [[1, 2], [3, 4]], errors.ValidationError),
    ("None data", "n", lambda h: None, errors.ValidationError),
    ("bytes path", "n", lambda h: b"uploads/data.csv", errors.ValidationError),
    ("record batch", "n", lambda h: pa.record_batch({"x": [1]}), errors.ValidationError),
    ("no columns", "n", lambda h: pa.table({}), errors.ValidationError),
    (
        "duplicate columns",
        "n",
        lambda h: pa.Table.from_arrays([a, a], names=["x", "x"]),
        errors.ValidationError,
    ),
    ("relative path escaping", "n", lambda h: (_outside(h), "../outside.csv")[1], errors.UnsafePath),
    ("missing file", "n", lambda h: h / "uploads" / "missing.csv", errors.NotFound),
    ("unknown suffix", "n", lambda h: _garbage(h, "data.txt", b"x,y\n1,2\n"), errors.ValidationError),
    ("no suffix", "n", lambda h: _garbage(h, "data", b"x,y\n1,2\n"), errors.ValidationError),
    ("empty csv", "n", lambda h: _garbage(h, "empty.csv", b""), errors.ValidationError),
    ("ragged csv", "n", lambda h: _garbage(h, "ragged.csv", b"x,y\n1,2,3\n"), errors.ValidationError),
    (
        "corrupt parquet",
        "n",
        lambda h: _garbage(h, "bad.parquet", b"PAR1 not really"),
        errors.ValidationError,
    ),
    (
        "corrupt arrow",
        "n",
        lambda h: _garbage(h, "bad.arrow", b"ARROW1\x00\x00garbage"),
        errors.ValidationError,
    ),
    ("a folder", "n", _dir, errors.ValidationError),
]


def test_bad_create_raises_its_typed_error_and_writes_nothing(store: Store) -> None:
    datasets.create("taken", sample())
    for case, name, make_data, error in BAD_CREATE:
        data = make_data(store.home)
        assert_refused(store, case, partial(datasets.create, name, data), error)
        if error is errors.ValidationError and case.endswith("name"):
            assert_refused(store, case, partial(datasets.create_pending, name), error)
    assert [d.name for d in datasets.list()] == ["taken"]


def test_bad_lineage_is_refused_and_writes_nothing(store: Store) -> None:
    for lineage in ([1, 2], "notebook 3", {"x": object()}, {"bad": "\udcff"}, {"nested": {1, 2}}):
        case = f"lineage {lineage!r}"
        create = partial(datasets.create, "n", sample(), lineage=lineage)
        assert_refused(store, case, create, errors.ValidationError)
        assert_refused(
            store, case, partial(datasets.create_pending, "n", lineage=lineage), errors.ValidationError
        )


def test_duplicate_name_message_names_the_name(store: Store) -> None:
    first = datasets.create("iris", sample())
    with pytest.raises(errors.AlreadyExists, match=f"'iris' already exists \\(dataset {first.id}\\)"):
        datasets.create("iris", sample())
    with pytest.raises(errors.AlreadyExists, match="'iris'"):
        datasets.create_pending("iris")


def test_names_are_case_sensitive(store: Store) -> None:
    datasets.create("Iris", sample())
    datasets.create("iris", sample())
    assert [d.name for d in datasets.list()] == ["Iris", "iris"]


def test_no_store_open_is_a_typed_error() -> None:
    with pytest.raises(errors.StoreNotOpen):
        datasets.create("n", sample())
    with pytest.raises(errors.StoreNotOpen):
        datasets.list()


# -- create inside another transaction -------------------------------------------------------------------


def test_create_joins_an_outer_transaction(store: Store) -> None:
    def two() -> list[int]:
        return [datasets.create("a", sample()).id, datasets.create("b", sample()).id]

    ids = run_in_transaction(two)
    assert [d.id for d in datasets.list()] == ids
    assert all(datasets.load_table(i).equals(sample()) for i in ids)


def test_an_outer_rollback_removes_the_row_and_the_file(store: Store) -> None:
    counts, tree = row_counts(store.db), file_tree(store.home)
    seen: list[Path] = []

    def create_then_fail() -> None:
        ds = datasets.create("a", sample())
        assert ds.file_path is not None and ds.file_path.is_file()
        seen.append(ds.file_path)
        raise RuntimeError("the caller fails after create returned")

    with pytest.raises(RuntimeError):
        run_in_transaction(create_then_fail)
    assert row_counts(store.db) == counts
    assert file_tree(store.home) == tree
    assert not seen[0].parent.exists()


def test_a_caught_failure_in_a_savepoint_discards_only_its_own_file(store: Store) -> None:
    def outer() -> int:
        kept = datasets.create("kept", sample()).id

        def inner() -> None:
            datasets.create("dropped", sample())
            raise RuntimeError("inner step fails")

        with pytest.raises(RuntimeError):
            run_in_transaction(inner)
        return kept

    kept = run_in_transaction(outer)
    assert [d.name for d in datasets.list()] == ["kept"]
    assert set(file_tree(store.home)) == {f"datasets/{kept}/data.arrow"}


def test_a_delete_rolled_back_in_a_savepoint_keeps_the_files(store: Store) -> None:
    ds = datasets.create("iris", sample())
    tree = file_tree(store.home)

    def outer() -> None:
        def inner() -> None:
            datasets.delete(ds.id)
            raise RuntimeError("changed my mind")

        with pytest.raises(RuntimeError):
            run_in_transaction(inner)

    run_in_transaction(outer)  # the outer transaction commits
    assert datasets.get(ds.id).name == "iris"
    assert file_tree(store.home) == tree
    assert files.pending_deletions() == []


# -- the job flow ------------------------------------------------------------------------------------------


def test_job_flow_pending_attach_finish(store: Store) -> None:
    ds = datasets.create_pending("upload")
    assert ds.status is RunStatus.NOT_STARTED and ds.file_path is None
    assert file_tree(store.home) == {}
    assert datasets.deliver(ds.id, "job-1").huey_id == "job-1"
    assert datasets.start(ds.id).status is RunStatus.STARTED
    attached = datasets.attach_data(ds.id, write_source(store.home, "data.csv"))
    assert attached.status is RunStatus.STARTED
    assert attached.file_path == store.home / "datasets" / str(ds.id) / "data.arrow"
    finished = datasets.finish(ds.id)
    assert finished.status is RunStatus.FINISHED and finished.end_time is not None
    assert datasets.load_table(ds.id).equals(sample())


def test_attach_data_on_a_not_started_dataset(store: Store) -> None:
    ds = datasets.create_pending("upload")
    datasets.attach_data(ds.id, sample())
    assert datasets.get(ds.id).status is RunStatus.NOT_STARTED
    assert datasets.load_table(ds.id).equals(sample())


def test_a_pending_dataset_has_no_table(store: Store) -> None:
    ds = datasets.create_pending("upload")
    with pytest.raises(errors.NotFound, match=f"dataset {ds.id} .* has no data"):
        datasets.load_table(ds.id)
    with pytest.raises(errors.NotFound, match="has no data"):
        datasets.schema(ds.id)


def test_fail_records_the_error(store: Store) -> None:
    ds = datasets.create_pending("upload")
    datasets.deliver(ds.id)
    failed = datasets.fail(ds.id, "bad CSV on line 3")
    assert failed.status is RunStatus.ERROR and failed.error == "bad CSV on line 3"
    assert failed.end_time is not None
    assert datasets.list(status="ERROR") == [failed]


def _pending(store: Store) -> int:
    return datasets.create_pending("p").id


def _started(store: Store) -> int:
    ds = datasets.create_pending("s")
    datasets.deliver(ds.id)
    return datasets.start(ds.id).id


def _with_data(store: Store) -> int:
    ds_id = _started(store)
    datasets.attach_data(ds_id, sample())
    return ds_id


def _failed(store: Store) -> int:
    ds_id = _started(store)
    return datasets.fail(ds_id, "boom").id


def _finished(store: Store) -> int:
    return datasets.create("f", sample()).id


BAD_JOB: list[tuple[str, Callable[[Store], int], Callable[[int], Any], type[errors.StoreError]]] = [
    ("start before deliver", _pending, datasets.start, errors.InvalidTransition),
    ("finish before start", _pending, datasets.finish, errors.InvalidTransition),
    ("finish without data", _started, datasets.finish, errors.InvalidTransition),
    ("fail a not started one", _pending, lambda i: datasets.fail(i, "x"), errors.InvalidTransition),
    ("deliver twice", _started, datasets.deliver, errors.InvalidTransition),
    ("fail a finished one", _finished, lambda i: datasets.fail(i, "x"), errors.InvalidTransition),
    ("deliver a finished one", _finished, datasets.deliver, errors.InvalidTransition),
    ("attach twice", _with_data, lambda i: datasets.attach_data(i, sample()), errors.AlreadyExists),
    (
        "attach to a finished one",
        _finished,
        lambda i: datasets.attach_data(i, sample()),
        errors.AlreadyExists,
    ),
    (
        "attach to a failed one",
        _failed,
        lambda i: datasets.attach_data(i, sample()),
        errors.InvalidTransition,
    ),
    ("attach a dict", _started, lambda i: datasets.attach_data(i, {"x": [1]}), errors.ValidationError),
    ("attach a missing file", _started, lambda i: datasets.attach_data(i, "uploads/no.csv"), errors.NotFound),
    ("attach escaping the home", _started, lambda i: datasets.attach_data(i, "../x.csv"), errors.UnsafePath),
    ("attach to unknown id", _started, lambda i: datasets.attach_data(i + 100, sample()), errors.NotFound),
    ("deliver unknown id", _pending, lambda i: datasets.deliver(i + 100), errors.NotFound),
    ("start unknown id", _pending, lambda i: datasets.start(i + 100), errors.NotFound),
    ("finish unknown id", _pending, lambda i: datasets.finish(i + 100), errors.NotFound),
    ("fail unknown id", _pending, lambda i: datasets.fail(i + 100, "x"), errors.NotFound),
    ("job id not a str", _pending, lambda i: datasets.deliver(i, 5), errors.ValidationError),
    ("error not a str", _started, lambda i: datasets.fail(i, None), errors.ValidationError),
    ("id a str", _pending, lambda i: datasets.start(str(i)), errors.ValidationError),
    ("id a bool", _pending, lambda i: datasets.deliver(True), errors.ValidationError),
]


def test_bad_job_moves_raise_their_typed_error_and_write_nothing(store: Store) -> None:
    for number, (case, setup, call, error) in enumerate(BAD_JOB):
        dataset_id = setup(store)
        datasets.rename(dataset_id, f"case {number}")  # the setups reuse names
        record = datasets.get(dataset_id)
        assert_refused(store, case, partial(call, dataset_id), error)
        assert datasets.get(dataset_id) == record, case


def test_the_transition_message_names_the_row_and_status(store: Store) -> None:
    ds = datasets.create_pending("p")
    with pytest.raises(errors.InvalidTransition, match=f"dataset {ds.id} is NOT_STARTED"):
        datasets.start(ds.id)


# -- reads, rename ----------------------------------------------------------------------------------------


def test_get_get_by_name_and_list(store: Store) -> None:
    a = datasets.create("a", sample())
    b = datasets.create_pending("b")
    c = datasets.create("c", sample())
    assert datasets.get(b.id) == b
    assert datasets.get_by_name("c") == c
    assert datasets.list() == [a, b, c]
    assert datasets.list(status=RunStatus.FINISHED) == [a, c]
    assert datasets.list(status="NOT_STARTED") == [b]
    assert datasets.list(status="STARTED") == []


def test_bad_reads_and_renames_are_typed_and_write_nothing(store: Store) -> None:
    first = datasets.create("first", sample()).id
    datasets.create("taken", sample())
    cases: list[tuple[str, Callable[[], Any], type[errors.StoreError]]] = [
        ("get unknown", lambda: datasets.get(999), errors.NotFound),
        ("get 0", lambda: datasets.get(0), errors.NotFound),
        ("get negative", lambda: datasets.get(-1), errors.NotFound),
        ("get huge", lambda: datasets.get(2**70), errors.NotFound),
        ("get a str id", lambda: datasets.get("1"), errors.ValidationError),
        ("get a float id", lambda: datasets.get(1.0), errors.ValidationError),
        ("get_by_name unknown", lambda: datasets.get_by_name("nope"), errors.NotFound),
        ("get_by_name an int", lambda: datasets.get_by_name(1), errors.ValidationError),
        ("list unknown status", lambda: datasets.list(status="DONE"), errors.ValidationError),
        ("list status an int", lambda: datasets.list(status=3), errors.ValidationError),
        ("load_table unknown", lambda: datasets.load_table(999), errors.NotFound),
        ("schema unknown", lambda: datasets.schema(999), errors.NotFound),
        ("delete unknown", lambda: datasets.delete(999), errors.NotFound),
        ("delete a str id", lambda: datasets.delete("1"), errors.ValidationError),
        ("rename unknown", lambda: datasets.rename(999, "x"), errors.NotFound),
        ("rename to empty", lambda: datasets.rename(first, ""), errors.ValidationError),
        ("rename too long", lambda: datasets.rename(first, "b" * 256), errors.ValidationError),
        ("rename to None", lambda: datasets.rename(first, None), errors.ValidationError),
        ("rename to a taken name", lambda: datasets.rename(first, "taken"), errors.AlreadyExists),
    ]
    for case, call, error in cases:
        assert_refused(store, case, call, error)
    assert [d.name for d in datasets.list()] == ["first", "taken"]


def test_rename(store: Store) -> None:
    ds = datasets.create("old", sample())
    other = datasets.create("other", sample())
    renamed = datasets.rename(ds.id, "new ✓")
    assert renamed.name == "new ✓" and renamed.last_modified >= ds.last_modified
    assert renamed.file_path == ds.file_path  # names are not paths: nothing moves
    assert datasets.get_by_name("new ✓").id == ds.id
    with pytest.raises(errors.NotFound):
        datasets.get_by_name("old")
    assert datasets.rename(ds.id, "new ✓") == renamed  # same name: nothing to do
    with pytest.raises(errors.AlreadyExists, match="'other'"):
        datasets.rename(ds.id, "other")
    datasets.rename(other.id, "old")  # the old name is free again
    assert [d.name for d in datasets.list()] == ["new ✓", "old"]


def test_schema_reads_the_columns(store: Store) -> None:
    ds = datasets.create("iris", sample())
    schema = datasets.schema(ds.id)
    assert schema.names == ["x", "y", "z"]
    assert schema.field("x").type == pa.int64()


# -- load_table is memory-mapped -----------------------------------------------------------------------------


def test_load_table_is_memory_mapped_not_copied(store: Store) -> None:
    rows = 1_000_000
    table = pa.table({"i": pa.array(range(rows), pa.int64()), "f": pa.array([0.5] * rows, pa.float64())})
    ds = datasets.create("big", table)
    assert ds.file_path is not None
    del table

    # The probe can see a copy: an ordinary (non-mapped) read allocates the table's size.
    start = pa.total_allocated_bytes()
    with pa.OSFile(str(ds.file_path), "rb") as source:
        copied = pa.ipc.open_file(source).read_all()
    assert pa.total_allocated_bytes() - start >= copied.nbytes
    del copied

    start = pa.total_allocated_bytes()
    loaded = datasets.load_table(ds.id)
    grown = pa.total_allocated_bytes() - start
    assert loaded.num_rows == rows and loaded.nbytes >= 16 * rows
    assert grown < 1_000_000, f"load_table allocated {grown} bytes for a {loaded.nbytes}-byte table"
    assert loaded.column("i")[rows - 1].as_py() == rows - 1


# -- delete with its whole cascade ---------------------------------------------------------------------------


def _trained_run(session_id: int, name: str) -> int:
    """A run with metrics, a checksummed model file and all four plots, as runs.py would leave it."""
    run_id = plant_run(session_id, name, parameters={"C": 1.0})
    model_path = files.layout.run_model(run_id)
    sha = files.dump_joblib(model_path, {"weights": [1.0, 2.0], "run": run_id})
    plots = {}
    for kind in ("history", "slice", "contour", "importance"):
        plots[f"plot_{kind}_path"] = files.layout.run_plot(run_id, kind)
        files.write_figure(plots[f"plot_{kind}_path"], {"data": [{"y": [1, 2]}], "layout": {"title": kind}})
    models.Run.update(
        run_path=files.layout.run_folder(run_id),
        artifacts={"model": {"path": model_path, "sha256": sha}},
        **plots,
    ).where(models.Run.id == run_id).execute()
    now = utcnow()
    models.Metric.insert_many(
        [
            {
                "run": run_id,
                "name": "Accuracy",
                "value": v,
                "split": "TRAIN",
                "level": "STEP",
                "step": i,
                "timestamp": now,
            }
            for i, v in enumerate([0.5, 0.7, math.nan])
        ]
    ).execute()
    return run_id


def _prediction(run_id: int, dataset_id: int | None) -> int:
    p = predictions.create(run_id, dataset_id)
    predictions.save_results(p.id, pa.table({"y_pred": [0, 1, 0]}))
    return p.id


def _notebook_graph(dataset_id: int, file_path: str) -> None:
    """A notebook on the dataset with a converter snapshot and an explorer result."""
    now = utcnow()
    nb = models.Notebook.insert(
        dataset=dataset_id, name="nb", file_path=file_path, created=now, last_modified=now
    ).execute()
    snapshot = files.layout.notebook_snapshot(nb, 1)
    files.write_arrow(snapshot, pa.table({"x": [1]}))
    models.Converter.insert(
        notebook=nb,
        converter="Drop",
        parameters={},
        position=1,
        snapshot_path=snapshot,
        created=now,
        last_modified=now,
    ).execute()
    ex = models.Explorer.insert(
        notebook=nb,
        exploration_type="Histogram",
        columns=["x"],
        parameters={},
        created=now,
        last_modified=now,
    ).execute()
    result = files.layout.explorer_result(ex, "result.json")
    files.write_bytes(result, b'{"bins": [1, 2]}')
    models.Explorer.update(exploration_path=result).where(models.Explorer.id == ex).execute()


def _explainers(run_id: int, dataset_id: int) -> None:
    now = utcnow()
    g = models.GlobalExplainer.insert(
        run=run_id, name="g", explainer_name="Perm", parameters={}, created=now
    ).execute()
    g_path = files.layout.explainer_explanation("global", g)
    files.dump_joblib(g_path, {"importance": [0.1]})
    models.GlobalExplainer.update(explanation_path=g_path).where(models.GlobalExplainer.id == g).execute()
    loc = models.LocalExplainer.insert(
        run=run_id,
        dataset=dataset_id,
        name="l",
        explainer_name="Shap",
        parameters={},
        fit_parameters={},
        scope={"rows": [0]},
        created=now,
    ).execute()
    l_path = files.layout.explainer_plot("local", loc)
    files.write_bytes(l_path, b"[]")
    models.LocalExplainer.update(plots_path=l_path).where(models.LocalExplainer.id == loc).execute()


def _graph(name: str, other_dataset: int | None = None) -> tuple[int, int]:
    """A dataset with two sessions, trained runs, predictions, a notebook and explainers."""
    ds = datasets.create(name, sample())
    run_ids = []
    for s in range(2):
        session = model_sessions.create(
            ds.id,
            f"{name} session {s}",
            "TabularClassificationTask",
            ["x", "z"],
            ["y"],
            {"train": 0.6, "validation": 0.2, "test": 0.2},
        )
        run_ids += [_trained_run(session.id, f"{name} run {s}.{r}") for r in range(2)]
    _prediction(run_ids[0], ds.id)
    _prediction(run_ids[1], None)
    if other_dataset is not None:
        _prediction(run_ids[2], other_dataset)  # goes with the run, though its dataset stays
    _notebook_graph(ds.id, f"datasets/{ds.id}/data.arrow")
    _explainers(run_ids[3], ds.id)
    return ds.id, run_ids[0]


def test_delete_removes_every_row_and_every_file_of_the_cascade(store: Store) -> None:
    kept_id, kept_run = _graph("kept")
    kept_counts, kept_tree = row_counts(store.db), file_tree(store.home)
    doomed_id, _ = _graph("doomed", other_dataset=kept_id)
    _prediction(kept_run, doomed_id)  # a kept run's prediction on the doomed dataset goes too
    _explainers(kept_run, doomed_id)  # the local explainer goes (its dataset), the global one stays
    counts = row_counts(store.db)
    assert all(
        counts[t] > kept_counts[t]
        for t in (
            "model_session",
            "run",
            "metric",
            "prediction",
            "notebook",
            "converter",
            "explorer",
            "local_explainer",
        )
    )
    doomed_files = set(file_tree(store.home)) - set(kept_tree)
    assert {p.split("/")[0] for p in doomed_files} == {
        "datasets",
        "runs",
        "predictions",
        "notebooks",
        "explorers",
        "explainers",
    }

    datasets.delete(doomed_id)

    after = row_counts(store.db)
    expected = dict(kept_counts)
    expected["global_explainer"] += 1  # the one on the kept run stays
    # The deletion's records linger, finished and queued, until the next deletion or the close.
    expected["dashai_pending_deletion"] = len(files.tx._queued(store))
    assert after == expected
    tree = file_tree(store.home)
    global_extra = set(tree) - set(kept_tree)
    assert len(global_extra) == 1 and global_extra.pop().startswith("explainers/global/")
    assert {k: v for k, v in tree.items() if k in kept_tree} == kept_tree
    assert files.pending_deletions() == []
    assert not (store.home / "datasets" / str(doomed_id)).exists()
    with pytest.raises(errors.NotFound):
        datasets.get(doomed_id)
    assert datasets.load_table(kept_id).equals(sample())
    assert [s.dataset_id for s in model_sessions.list()] == [kept_id, kept_id]


def test_lineage_keeps_nan_and_infinities_on_every_backend(store: Store) -> None:
    # Converter parameters recorded as lineage can be NaN or infinite (a threshold of inf);
    # the JSON columns keep them, as the metric values do, rather than refusing the dataset.
    lineage = {"threshold": math.inf, "fill": math.nan, "bounds": [-math.inf, 0.5]}
    ds = datasets.create("with-specials", pa.table({"x": [1.0]}), lineage=lineage)

    stored = datasets.get(ds.id).lineage
    assert stored is not None
    assert stored["threshold"] == math.inf
    assert math.isnan(stored["fill"])
    assert stored["bounds"] == [-math.inf, 0.5]


# Losing the race for a pending dataset: the data is staged outside any transaction, so
# between the pre-check and the claim another worker can attach its own data (or the user
# delete the dataset). The claim then fails with the documented error, the staged file is
# removed, and the winner's data is untouched. The other worker is a real process on the
# same home; it acts right after our data is staged.
RIVAL = """
import sys
import pyarrow as pa
from dashai_store import open_store, datasets
with open_store(sys.argv[1]):
    if sys.argv[3] == "attach":
        datasets.attach_data(int(sys.argv[2]), pa.table({"winner": [1, 2, 3]}))
    else:
        datasets.delete(int(sys.argv[2]))
"""


@pytest.mark.parametrize(("rival", "error"), [("attach", errors.AlreadyExists), ("delete", errors.NotFound)])
def test_attach_data_losing_the_race_raises_and_leaves_the_winner(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch, rival: str, error: type[errors.StoreError]
) -> None:
    import subprocess
    import sys

    pending = datasets.create_pending("contested")
    real_stage = datasets._stage

    def stage_then_lose(data: object, name: str) -> str:
        staged = real_stage(data, name)
        subprocess.run(
            [sys.executable, "-c", RIVAL, str(sqlite_store.home), str(pending.id), rival],
            check=True,
            timeout=60,
        )
        return staged

    monkeypatch.setattr(datasets, "_stage", stage_then_lose)
    with pytest.raises(error):
        datasets.attach_data(pending.id, sample())

    incoming = [p.name for p in (sqlite_store.home / "datasets").iterdir() if p.name.startswith("incoming")]
    assert incoming == []
    if rival == "attach":
        assert datasets.load_table(pending.id).column_names == ["winner"]
    else:
        assert models.Dataset.get_or_none(models.Dataset.id == pending.id) is None
