"""Data comes in from anywhere, streamed; valid Arrow input never escapes as a raw pyarrow error.

DashAI's dataset job reads an uploaded temporary file outside the home; the store reads
CSV/Parquet/Arrow/JSON files wherever they lie and writes the dataset into the home,
leaving the user's file alone. CSV and Parquet are streamed batch by batch into the
Arrow writer. Dictionary-encoded columns whose chunks carry different dictionaries (what
``pa.concat_tables`` gives) are stored, not refused with ``ArrowInvalid``.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pyarrow as pa
import pyarrow.csv
import pyarrow.parquet
import pytest
from helpers import assert_refused, plant_run, plant_session

from dashai_store import datasets, errors, files, predictions
from dashai_store.database import Store
from dashai_store.enums import RunStatus


def sample() -> pa.Table:
    return pa.table({"x": [1, 2, 3], "y": ["a", "b", "c"]})


def upload(folder: Path, name: str, table: pa.Table | None = None) -> Path:
    """A file in ``folder`` (outside the home) in the format its suffix names."""
    table = sample() if table is None else table
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    suffix = path.suffix
    if suffix == ".csv":
        pyarrow.csv.write_csv(table, path)
    elif suffix == ".parquet":
        pyarrow.parquet.write_table(table, path, row_group_size=max(1, table.num_rows // 4))
    elif suffix == ".json":
        path.write_text(json.dumps(table.to_pylist()))
    elif suffix == ".jsonl":
        path.write_text("".join(json.dumps(row) + "\n" for row in table.to_pylist()))
    else:
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
    return path


def stored_batches(dataset_id: int) -> int:
    path = datasets.get(dataset_id).file_path
    assert path is not None
    with pa.memory_map(str(path)) as source:
        return int(pa.ipc.open_file(source).num_record_batches)


@pytest.mark.parametrize("name", ["up.csv", "up.parquet", "up.arrow", "up.json", "up.jsonl"])
def test_create_reads_a_file_outside_the_home_and_leaves_it_alone(
    store: Store, tmp_path: Path, name: str
) -> None:
    source = upload(tmp_path / "Downloads", name)
    assert store.home not in source.parents
    before = source.read_bytes()
    ds = datasets.create("upload", source)
    assert ds.status is RunStatus.FINISHED
    assert datasets.load_table(ds.id).to_pylist() == sample().to_pylist()
    assert ds.file_path is not None and store.home in ds.file_path.parents
    assert source.read_bytes() == before, "the user's file is left alone"
    assert not list((store.home / files.layout.DATASETS / files.layout.INCOMING).glob("*")), (
        "no staged copy left"
    )


def test_dataset_job_from_an_uploaded_csv_outside_the_home(store: Store, tmp_path: Path) -> None:
    """DashAI's DatasetJob: create the row, deliver, start, read the upload's temp file, finish."""
    temp = upload(tmp_path / "tmp" / "dashai-upload-x1", "iris.csv")
    pending = datasets.create_pending("iris", lineage={"upload": temp.name})
    datasets.deliver(pending.id, "huey-1")
    datasets.start(pending.id)
    attached = datasets.attach_data(pending.id, temp)
    assert attached.status is RunStatus.STARTED and attached.file_path is not None
    finished = datasets.finish(pending.id)
    assert finished.status is RunStatus.FINISHED
    assert datasets.load_table(pending.id).column_names == ["x", "y"]
    assert temp.is_file()


def never_whole(*args: object, **kwargs: object) -> None:
    raise AssertionError("the whole file was read into one table")


def test_a_large_csv_is_streamed_batch_by_batch(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pyarrow.csv, "read_csv", never_whole)
    rows = 400_000  # several of pyarrow's 1 MB CSV blocks
    big = pa.table({"i": pa.array(range(rows)), "s": pa.array([f"v{i % 97}" for i in range(rows)])})
    ds = datasets.create("big", upload(tmp_path, "big.csv", big))
    assert stored_batches(ds.id) > 1, "written batch by batch, never as one table"
    assert datasets.load_table(ds.id).num_rows == rows


def test_a_parquet_file_is_streamed_batch_by_batch(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pyarrow.parquet, "read_table", never_whole)
    monkeypatch.setattr(pyarrow.parquet.ParquetFile, "read", never_whole)
    big = pa.table({"i": pa.array(range(100_000))})
    ds = datasets.create("pq", upload(tmp_path, "big.parquet", big))
    assert stored_batches(ds.id) > 1
    assert datasets.load_table(ds.id).column("i").to_pylist() == list(range(100_000))


def test_a_csv_whose_late_values_change_a_column_type_still_loads(store: Store, tmp_path: Path) -> None:
    """A streamed CSV infers types from its first block; a later text in a number column
    falls back to reading the whole file, as before."""
    path = tmp_path / "late.csv"
    path.write_text("a,b\n" + "".join(f"{i},{i}.5\n" for i in range(300_000)) + "x,1.0\n")
    ds = datasets.create("late", path)
    loaded = datasets.load_table(ds.id)
    assert loaded.schema.field("a").type == pa.string()
    assert loaded.column("a")[-1].as_py() == "x"


def test_bad_uploads_are_typed_and_write_nothing(store: Store, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "ragged.csv").write_text("x,y\n1,2,3\n")
    (bad / "array.json").write_text("[1, 2, 3]")
    (bad / "junk.json").write_text("{not json")
    (bad / "data.txt").write_text("x\n1\n")
    cases = [
        ("ragged csv", bad / "ragged.csv", errors.ValidationError),
        ("json array of numbers", bad / "array.json", errors.ValidationError),
        ("junk json", bad / "junk.json", errors.ValidationError),
        ("unknown suffix", bad / "data.txt", errors.ValidationError),
        ("missing", bad / "missing.csv", errors.NotFound),
        ("a folder", bad, errors.ValidationError),
        ("NUL in the path", f"{bad}/a\x00.csv", errors.ValidationError),
        ("relative path leaving the home", "../../x.csv", errors.UnsafePath),
    ]
    for case, source, error in cases:
        assert_refused(store, case, partial(datasets.create, "n", source), error)


# -- dictionary columns with a dictionary per chunk ---------------------------------------------------


def split_dictionaries() -> pa.Table:
    """Valid Arrow: one dictionary column, two chunks, each with its own dictionary."""
    first = pa.table({"c": pa.array(["a", "b"]).dictionary_encode(), "n": [1, 2]})
    second = pa.table({"c": pa.array(["z", "a"]).dictionary_encode(), "n": [3, 4]})
    table = pa.concat_tables([first, second])
    assert table.column("c").num_chunks == 2
    return table


def nested_split_dictionaries() -> pa.Table:
    chunks = [
        pa.StructArray.from_arrays([pa.array(values).dictionary_encode()], ["d"]) for values in (["a"], ["q"])
    ]
    return pa.Table.from_arrays([pa.chunked_array(chunks)], ["s"])


def test_create_stores_a_table_with_a_dictionary_per_chunk(store: Store) -> None:
    ds = datasets.create("dict", split_dictionaries())
    loaded = datasets.load_table(ds.id)
    assert loaded.column("c").to_pylist() == ["a", "b", "z", "a"]
    assert pa.types.is_dictionary(loaded.schema.field("c").type), "the encoding is kept"
    nested = datasets.create("nested", nested_split_dictionaries())
    assert datasets.load_table(nested.id).column("s").to_pylist() == [{"d": "a"}, {"d": "q"}]


def test_attach_data_and_replace_data_store_a_dictionary_per_chunk(store: Store) -> None:
    pending = datasets.create_pending("p")
    datasets.attach_data(pending.id, split_dictionaries())
    assert datasets.load_table(pending.id).column("n").to_pylist() == [1, 2, 3, 4]
    ds = datasets.create("d", sample())
    datasets.replace_data(ds.id, split_dictionaries())
    assert datasets.load_table(ds.id).column("c").to_pylist() == ["a", "b", "z", "a"]


def test_an_arrow_stream_file_with_dictionary_replacements_is_read(store: Store, tmp_path: Path) -> None:
    """An Arrow *stream* may replace a dictionary between batches; the store's file may not."""
    table = split_dictionaries()
    path = tmp_path / "replaced.arrows"
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        for batch in table.to_batches():
            writer.write_batch(batch)
    ds = datasets.create("stream", path)
    assert datasets.load_table(ds.id).column("c").to_pylist() == ["a", "b", "z", "a"]


def test_prediction_results_with_a_dictionary_per_chunk(store: Store) -> None:
    ds = datasets.create("d", pa.table({"x": [1.0], "y": ["a"]}))
    run_id = plant_run(plant_session(ds.id))
    prediction = predictions.create(run_id, ds.id)
    predictions.save_results(prediction.id, split_dictionaries())
    assert predictions.load_results(prediction.id).column("c").to_pylist() == ["a", "b", "z", "a"]
