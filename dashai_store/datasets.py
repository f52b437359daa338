"""Datasets: named tables stored as one Arrow IPC file each, ``datasets/<id>/data.arrow``.

Two ways in:

* :func:`create` takes a ``pyarrow.Table`` or a path to an Arrow IPC (file or stream
  format), CSV or Parquet file and returns a FINISHED dataset in one call.
* The job flow: :func:`create_pending` makes the row (NOT_STARTED, no data), a worker
  moves it with :func:`deliver` and :func:`start`, calls :func:`attach_data` and then
  :func:`finish` (or :func:`fail`).

    >>> import pyarrow as pa                                              # doctest: +SKIP
    >>> from dashai_store import datasets, open_store                     # doctest: +SKIP
    >>> with open_store(home):                                            # doctest: +SKIP
    ...     ds = datasets.create("iris", pa.table({"x": [1.0], "y": ["a"]}))
    ...     datasets.load_table(ds.id).column_names
    ['x', 'y']

A dataset's file never changes once written (notebooks share it instead of copying it);
:func:`load_table` hands out a memory-mapped table, not a copy. Editing the data
(:func:`rename_column`, :func:`replace_data`) writes a new immutable version and switches
the dataset to it in one transaction; notebooks keep the version they started from.

Names are any non-blank text up to :data:`MAX_NAME_LENGTH` characters (no NUL; see
:func:`dashai_store.rows.check_name`); they are unique and never become path components,
so ``"../x"`` or ``"数据 🌸"`` are fine.
"""

from __future__ import annotations

import builtins
import json
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import errors, files, lifecycle, models, paging
from .cascade import delete_rows
from .clock import utcnow
from .database import current, reads, writes
from .enums import RunStatus, coerce
from .records import DatasetRecord, to_record
from .rows import (
    MAX_NAME_LENGTH,
    Jobs,
    Reader,
    check_id,
    check_json,
    could_exist,
    fetch,
    insert_unique,
    not_found,
)
from .rows import check_name as _check_name

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "MAX_NAME_LENGTH",
    "attach_data",
    "check_name",
    "create",
    "create_pending",
    "delete",
    "deliver",
    "fail",
    "finish",
    "get",
    "get_by_name",
    "list",
    "load_table",
    "rename",
    "rename_column",
    "replace_data",
    "schema",
    "start",
]


# Suffix (lower case) -> reader. Arrow IPC files come in two formats; the reader tells
# them apart by the file format's magic bytes, whatever the suffix says.
_ARROW_SUFFIXES = (".arrow", ".arrows", ".ipc", ".feather")
_CSV_SUFFIXES = (".csv",)
_PARQUET_SUFFIXES = (".parquet", ".pq")
_JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")
_SUFFIXES = _ARROW_SUFFIXES + _CSV_SUFFIXES + _PARQUET_SUFFIXES + _JSON_SUFFIXES
_ARROW_MAGIC = b"ARROW1"

# attach_data() is for a job that has not ended yet.
_ATTACHABLE = (RunStatus.NOT_STARTED.name, RunStatus.DELIVERED.name, RunStatus.STARTED.name)


# -- validation ----------------------------------------------------------------------------------


def check_name(value: object, what: str = "dataset name") -> str:
    """``value`` if it is a valid dataset name, else ValidationError (:func:`.rows.check_name`)."""
    return _check_name(value, what)


def _check_lineage(lineage: object, name: str) -> dict[str, Any] | None:
    """The lineage as it will be stored (a dict with str keys, or None), or ValidationError."""
    checked: dict[str, Any] | None = check_json(
        lineage, f"lineage of dataset {name!r}", mapping=True, optional=True
    )
    return checked


def _source_path(source: str | os.PathLike[str], name: str) -> Path:
    """The file a path names: an absolute path anywhere, a relative one inside the home.

    Data files are read, never executed, so an upload in the user's Downloads is read
    where it lies (and left alone); the inside-the-home rule is for what runs code on load
    (joblib, pickles).
    """
    text = os.fspath(source)
    if not isinstance(text, str):
        raise errors.ValidationError(f"the path for dataset {name!r} must be text, got {text!r}")
    if "\x00" in text:
        raise errors.ValidationError(f"the path for dataset {name!r} contains a NUL byte: {text!r}")
    path = Path(text)
    return path if path.is_absolute() else files.resolve(text)


def _open_source(source: str | os.PathLike[str], name: str) -> tuple[pa.RecordBatchReader, Path, str]:
    """A reader of an Arrow, CSV, Parquet or JSON file's batches, its path and suffix."""
    import pyarrow as pa

    path = _source_path(source, name)
    suffix = path.suffix.lower()
    if suffix not in _SUFFIXES:
        raise errors.ValidationError(
            f"cannot tell the format of {path.name!r} for dataset {name!r}: unknown suffix {suffix!r} "
            f"(expected one of {', '.join(_SUFFIXES)})"
        )
    if not path.exists():
        raise errors.NotFound(f"file {path} does not exist (data for dataset {name!r})")
    if not path.is_file():
        raise errors.ValidationError(f"{path} is not a file (data for dataset {name!r})")
    try:
        return _reader(path, suffix), path, suffix
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _unreadable(path, suffix, name, exc) from exc


def _reader(path: Path, suffix: str) -> pa.RecordBatchReader:
    import pyarrow as pa

    if suffix in _CSV_SUFFIXES:
        import pyarrow.csv

        return pyarrow.csv.open_csv(str(path))
    if suffix in _PARQUET_SUFFIXES:
        import pyarrow.parquet

        parquet = pyarrow.parquet.ParquetFile(str(path), memory_map=True)
        return pa.RecordBatchReader.from_batches(parquet.schema_arrow, parquet.iter_batches())
    if suffix in _JSON_SUFFIXES:
        return _read_json(path).to_reader()
    with path.open("rb") as handle:
        is_file_format = handle.read(len(_ARROW_MAGIC)) == _ARROW_MAGIC
    source_map = pa.memory_map(str(path), "r")
    if not is_file_format:
        return pa.ipc.open_stream(source_map)
    reader = pa.ipc.open_file(source_map)
    batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
    return pa.RecordBatchReader.from_batches(reader.schema, batches)


def _read_json(path: Path) -> pa.Table:
    """Newline-delimited JSON objects, or one JSON array of objects (DashAI's JSON upload)."""
    import pyarrow as pa
    import pyarrow.json

    with path.open("rb") as handle:
        head = handle.read(4096).lstrip()
    if not head.startswith(b"["):
        return pyarrow.json.read_json(str(path))
    records = json.loads(path.read_bytes())
    if not isinstance(records, builtins.list) or not all(isinstance(r, dict) for r in records):
        raise ValueError("a JSON array of data must hold objects (one per row)")
    return pa.Table.from_pylist(records)


def _unreadable(path: Path, suffix: str, name: str, exc: BaseException) -> errors.ValidationError:
    return errors.ValidationError(f"cannot read {path} as {suffix[1:]} data for dataset {name!r}: {exc}")


def _check_schema(schema: pa.Schema, name: str) -> None:
    if len(schema) == 0:
        raise errors.ValidationError(f"the table for dataset {name!r} has no columns")
    seen: set[str] = set()
    for column in schema.names:
        if column in seen:  # columns are addressed by name everywhere downstream
            raise errors.ValidationError(f"the table for dataset {name!r} has two columns named {column!r}")
        seen.add(column)


def _write(data: object, name: str, target: str) -> None:
    """Write ``data`` (a table, or a file streamed batch by batch) to home-relative ``target``.

    Called outside the write transaction that adopts the file: parsing a large upload must
    not hold the database's write lock. The file is whole or absent (atomic write).
    """
    import pyarrow as pa

    if isinstance(data, pa.Table):
        _check_schema(data.schema, name)
        try:
            files.write_arrow(target, data)
        except pa.ArrowException as exc:
            raise errors.ValidationError(f"the table for dataset {name!r} cannot be stored: {exc}") from exc
        return
    if not isinstance(data, (str, os.PathLike)):
        raise errors.ValidationError(
            f"data for dataset {name!r} must be a pyarrow.Table or the path of an Arrow, CSV, "
            f"Parquet or JSON file, got {type(data).__name__}"
        )
    reader, path, suffix = _open_source(data, name)
    _check_schema(reader.schema, name)
    try:
        files.write_arrow(target, reader)
    except (pa.ArrowException, OSError, ValueError) as exc:
        if suffix not in _CSV_SUFFIXES:
            raise _unreadable(path, suffix, name, exc) from exc
        # A streamed CSV's column types are inferred from its first block; a later value
        # that does not fit (text in a column of numbers) needs the whole file's inference.
        import pyarrow.csv

        try:
            table = pyarrow.csv.read_csv(str(path))
            _check_schema(table.schema, name)
            files.write_arrow(target, table)
        except (pa.ArrowException, OSError, ValueError) as again:
            raise _unreadable(path, suffix, name, again) from again


def _stage(data: object, name: str) -> str:
    """``data`` written as ``datasets/incoming-<hex>.arrow``; a transaction adopts it."""
    staged = files.layout.dataset_incoming(uuid.uuid4().hex)
    _write(data, name, staged)
    return staged


def _remove_unowned(relative: str) -> None:
    """Remove a file no committed row names (a staged copy, a version never switched to)."""
    try:
        files.io.remove(files.resolve(relative))
    except (OSError, errors.StoreError):
        pass  # owned by no row: maintenance.gc() removes it after the grace period


# -- rows and records ------------------------------------------------------------------------------


def _record(row: Any) -> DatasetRecord:
    return to_record(DatasetRecord, row, file_path=files.to_absolute(row.file_path))


_records: Reader[DatasetRecord] = Reader(models.Dataset, DatasetRecord, paths=("file_path",))


def _refuse_taken(name: str, *, other_than: int | None = None) -> None:
    row = models.Dataset.select(models.Dataset.id).where(models.Dataset.name == name).get_or_none()
    if row is not None and row.id != other_than:
        raise errors.AlreadyExists(f"a dataset named {name!r} already exists (dataset {row.id})")


@reads
def _precheck_name(name: str) -> None:
    _refuse_taken(name)


def _insert_row(name: str, lineage: dict[str, Any] | None) -> int:
    _refuse_taken(name)  # the readable message; the UNIQUE index still settles a race
    now = utcnow()
    query = models.Dataset.insert(
        name=name, status=RunStatus.NOT_STARTED.name, lineage=lineage, created=now, last_modified=now
    )
    return int(insert_unique(query.execute, f"a dataset named {name!r}"))


def _data_path(dataset_id: int) -> str:
    return files.layout.dataset_file(dataset_id)


# -- create ------------------------------------------------------------------------------------------


def create(
    name: str,
    data: pa.Table | str | os.PathLike[str],
    *,
    lineage: dict[str, Any] | None = None,
) -> DatasetRecord:
    """A new FINISHED dataset ``name`` holding ``data``.

    ``data`` is a ``pyarrow.Table`` or the path of a file, read by its suffix:
    ``.arrow``/``.arrows``/``.ipc``/``.feather`` (Arrow IPC, file or stream format),
    ``.csv``, ``.parquet``/``.pq``, ``.json``/``.jsonl``/``.ndjson`` (JSON objects, one per
    line, or one array of objects). An absolute path may lie anywhere (an upload in a
    temporary folder): the file is read, copied into the home and left as it was. A
    relative path is relative to the home. CSV, Parquet and Arrow files are streamed
    batch by batch, so memory stays flat whatever their size. ``lineage`` is a
    JSON-serializable dict recording where the data came from.

    >>> datasets.create("upload", "/tmp/tmpk2x/iris.csv").status          # doctest: +SKIP
    <RunStatus.FINISHED: 3>

    Raises ValidationError (bad name, type, suffix or unreadable file; a table without
    columns or with two columns of one name), UnsafePath (a relative path leaving the
    home), NotFound (a missing file) or AlreadyExists (a taken name); nothing is written
    then. Works inside another write transaction (it joins it); if that transaction rolls
    back, the file written here is removed too.
    """
    check_name(name)
    lineage = _check_lineage(lineage, name)
    # Before parsing a possibly large file, so that a taken name fails fast; the parsing
    # itself happens outside the write transaction (unless the caller is already in one).
    _precheck_name(name)
    staged = _stage(data, name)
    try:
        return _create(name, staged, lineage)
    finally:
        _remove_unowned(staged)  # the dataset's file is a second name of it (or a copy)


@writes
def _create(name: str, staged: str, lineage: dict[str, Any] | None) -> DatasetRecord:
    row_id = _insert_row(name, lineage)
    # The id is new (ids are never reused once committed), so the whole folder is ours to
    # discard if this transaction does not commit.
    files.discard_on_rollback(files.layout.dataset_folder(row_id))
    relative = _data_path(row_id)
    files.link_atomic(staged, relative)
    finished = lifecycle.walk(
        models.Dataset,
        row_id,
        lifecycle.FINISHED,
        current=lifecycle.NOT_STARTED,
        extra={"file_path": relative},
    )
    return _record(finished)


@writes
def create_pending(name: str, *, lineage: dict[str, Any] | None = None) -> DatasetRecord:
    """A new dataset row without data (NOT_STARTED): the job flow's first step.

    A worker then calls :func:`deliver`, :func:`start`, :func:`attach_data` and
    :func:`finish` (or :func:`fail`).
    """
    check_name(name)
    lineage = _check_lineage(lineage, name)
    return _record(fetch(models.Dataset, _insert_row(name, lineage)))


def _refuse_attach(row: Any) -> None:
    if row.file_path is not None:
        raise errors.AlreadyExists(
            f"dataset {row.id} ({row.name!r}) already has data ({row.file_path}); "
            "replace_data() writes a new version of it"
        )
    if row.status not in _ATTACHABLE:
        raise errors.InvalidTransition(
            f"dataset {row.id} ({row.name!r}) is {row.status}; data can be attached only while it is "
            f"{', '.join(_ATTACHABLE)}"
        )


@reads
def _precheck_attach(dataset_id: int) -> str:
    row = fetch(models.Dataset, dataset_id)
    _refuse_attach(row)
    return str(row.name)


def attach_data(dataset_id: int, data: pa.Table | str | os.PathLike[str]) -> DatasetRecord:
    """Write the data of a pending dataset (one made by :func:`create_pending`).

    ``data`` is read as by :func:`create` (a file anywhere: DashAI's dataset job reads the
    upload's temporary file). The status is unchanged (call :func:`finish`
    next). Raises NotFound (unknown id), AlreadyExists (the dataset already has data),
    InvalidTransition (the dataset is FINISHED or ERROR), or :func:`create`'s errors for
    bad data; nothing is written then.

    >>> datasets.attach_data(pending.id, "/tmp/dashai-upload/iris.csv")   # doctest: +SKIP
    """
    check_id(dataset_id, "dataset")
    name = _precheck_attach(dataset_id)
    staged = _stage(data, name)
    try:
        return _attach(dataset_id, staged)
    finally:
        _remove_unowned(staged)


@writes
def _attach(dataset_id: int, staged: str) -> DatasetRecord:
    relative = _data_path(dataset_id)
    dataset = models.Dataset
    # Claim the row first: of two workers attaching at once only one matches, and the
    # other never touches the file.
    claimed = (
        dataset.update(file_path=relative, last_modified=utcnow())
        .where((dataset.id == dataset_id) & dataset.file_path.is_null() & dataset.status.in_(_ATTACHABLE))
        .execute()
    )
    if not claimed:
        _refuse_attach(fetch(models.Dataset, dataset_id))
        raise errors.InvalidTransition(f"dataset {dataset_id} cannot take data now")  # pragma: no cover
    files.discard_on_rollback(relative)
    files.link_atomic(staged, relative)
    return _record(fetch(models.Dataset, dataset_id))


# -- lifecycle -----------------------------------------------------------------------------------------

_jobs = Jobs(models.Dataset, _record, "dataset")


def deliver(dataset_id: int, job_id: str | None = None) -> DatasetRecord:
    """NOT_STARTED -> DELIVERED; records the job id and the delivery time."""
    return _jobs.deliver(dataset_id, job_id)


def start(dataset_id: int) -> DatasetRecord:
    """DELIVERED -> STARTED; records the start time."""
    return _jobs.start(dataset_id)


@writes
def finish(dataset_id: int) -> DatasetRecord:
    """STARTED -> FINISHED; refused (InvalidTransition) while the dataset has no data."""
    check_id(dataset_id, "dataset")
    row = fetch(models.Dataset, dataset_id, lock=True)
    if row.file_path is None:
        raise errors.InvalidTransition(
            f"dataset {dataset_id} ({row.name!r}) has no data; call attach_data() before finish()"
        )
    return _record(lifecycle.move(models.Dataset, dataset_id, lifecycle.FINISHED))


def fail(dataset_id: int, error: str) -> DatasetRecord:
    """DELIVERED or STARTED -> ERROR; records the end time and the error message."""
    return _jobs.fail(dataset_id, error)


# -- reads -----------------------------------------------------------------------------------------------


@reads
def get(dataset_id: int) -> DatasetRecord:
    """The dataset with this id; NotFound if there is none."""
    return _records.get(check_id(dataset_id, "dataset"))


@reads
def get_by_name(name: str) -> DatasetRecord:
    """The dataset named ``name`` (exact, case-sensitive match); NotFound if there is none."""
    if not isinstance(name, str):
        raise errors.ValidationError(f"a dataset name must be a str, got {type(name).__name__} {name!r}")
    row = models.Dataset.get_or_none(models.Dataset.name == name)
    if row is None:
        raise errors.NotFound(f"no dataset is named {name!r}")
    return _record(row)


@reads
def list(
    status: RunStatus | str | None = None, *, limit: int | None = None, offset: int = 0
) -> builtins.list[DatasetRecord]:
    """Every dataset ordered by id, or only those with ``status`` (a RunStatus or its name).

    ``limit`` and ``offset`` give one page (see :mod:`dashai_store.paging`).

    >>> datasets.list(limit=50, offset=100)                              # doctest: +SKIP
    """
    query = models.Dataset.select().order_by(models.Dataset.id)
    if status is not None:
        query = query.where(models.Dataset.status == coerce(RunStatus, status))
    return _records.all(paging.page(query, limit, offset))


@reads
def load_table(dataset_id: int) -> pa.Table:
    """The dataset's data, memory-mapped from its Arrow file (no copy is made).

    Raises NotFound for an unknown id or a dataset that has no data yet.
    """
    check_id(dataset_id, "dataset")
    # The hot path: a raw cursor instead of a Peewee model instance;
    # building the instance cost more than the memory-mapped read itself.
    if not could_exist(dataset_id):
        raise not_found("dataset", dataset_id)
    db = current().db
    found = db.execute_sql(
        f"SELECT file_path, name, status FROM dataset WHERE id = {db.param}", (dataset_id,)
    ).fetchone()
    if found is None:
        raise not_found("dataset", dataset_id)
    file_path, name, status = found
    if file_path is None:
        raise errors.NotFound(f"dataset {dataset_id} ({name!r}) has no data yet (it is {status})")
    return files.read_arrow(file_path)


@reads
def schema(dataset_id: int) -> pa.Schema:
    """The Arrow schema of the dataset's data, read from the file's footer only.

    Raises NotFound for an unknown id or a dataset that has no data yet.
    """
    check_id(dataset_id, "dataset")
    row = fetch(models.Dataset, dataset_id)
    if row.file_path is None:
        raise errors.NotFound(f"dataset {dataset_id} ({row.name!r}) has no data yet (it is {row.status})")
    return files.read_arrow_schema(row.file_path)


# -- rename, delete ----------------------------------------------------------------------------------------


@writes
def rename(dataset_id: int, new_name: str) -> DatasetRecord:
    """Give the dataset a new (unique) name; AlreadyExists if another dataset has it."""
    check_id(dataset_id, "dataset")
    check_name(new_name)
    row = fetch(models.Dataset, dataset_id, lock=True)
    if row.name == new_name:
        return _record(row)
    _refuse_taken(new_name, other_than=dataset_id)
    query = models.Dataset.update(name=new_name, last_modified=utcnow()).where(
        models.Dataset.id == dataset_id
    )
    insert_unique(query.execute, f"a dataset named {new_name!r}")
    return _record(fetch(models.Dataset, dataset_id))


@writes
def delete(dataset_id: int) -> None:
    """Delete the dataset and everything made from it, with all their files.

    The database cascade removes its model sessions (and their runs, metrics,
    predictions and explainers), predictions and local explainers on it, and notebooks
    (with their converters and explorers); every file of every removed row goes once the
    transaction commits (a crash in between is finished by the next ``open_store``).
    """
    check_id(dataset_id, "dataset")
    # Locking the row first makes a concurrent insert of a child (PostgreSQL) either
    # finish before we list the files to delete, or fail on its foreign key after.
    fetch(models.Dataset, dataset_id, lock=True)
    delete_rows(models.Dataset, [dataset_id])


# -- editing the data in place: immutable versions ---------------------------------------------------


def _check_column(value: object, what: str) -> str:
    if not isinstance(value, str) or not value or "\x00" in value:
        raise errors.ValidationError(f"{what} must be a non-empty str without NUL, got {value!r}")
    return value


@reads
def _precheck_edit(dataset_id: int) -> tuple[str, str]:
    """(the current file, the name) of a dataset whose data may be edited; else a typed error."""
    row = fetch(models.Dataset, dataset_id)
    if row.status != RunStatus.FINISHED.name or row.file_path is None:
        raise errors.InvalidTransition(
            f"dataset {dataset_id} ({row.name!r}) is {row.status}"
            f"{' and has no data' if row.file_path is None else ''}; only a FINISHED dataset's data is edited"
        )
    return str(row.file_path), str(row.name)


def rename_column(dataset_id: int, old: str, new: str) -> DatasetRecord:
    """Rename column ``old`` to ``new`` by writing a new version of the dataset's data.

    The model sessions on the dataset that name ``old`` among their input or output
    columns are updated in the same transaction, so they keep working. The schema's
    metadata is kept, with ``old`` renamed in values that are JSON objects keyed by
    column (DashAI's ``dashai_types``). See
    :func:`replace_data` for what happens to the old version.

    >>> datasets.rename_column(ds.id, "sepal length", "sepal_length")   # doctest: +SKIP

    Raises NotFound (unknown id), InvalidTransition (the dataset is not FINISHED, or its
    data changed while the new version was written), ValidationError (no column ``old``,
    a column ``new`` already, or a bad name); nothing changes then.
    """
    check_id(dataset_id, "dataset")
    _check_column(old, "the column to rename")
    _check_column(new, "the new column name")
    base, name = _precheck_edit(dataset_id)
    columns = files.read_arrow_schema(base).names
    if old not in columns:
        raise errors.ValidationError(
            f"dataset {dataset_id} ({name!r}) has no column {old!r} (columns: {', '.join(columns)})"
        )
    if old == new:
        return get(dataset_id)
    if new in columns:
        raise errors.ValidationError(f"dataset {dataset_id} ({name!r}) already has a column {new!r}")
    table = files.read_arrow(base)
    renamed = table.rename_columns([new if column == old else column for column in columns])
    # rename_columns drops the schema's metadata, where DashAI keeps its column types.
    renamed = renamed.replace_schema_metadata(_renamed_metadata(table.schema.metadata, old, new))
    return _new_version(dataset_id, base, renamed, name, (old, new))


def _renamed_metadata(metadata: dict[bytes, bytes] | None, old: str, new: str) -> dict[bytes, bytes] | None:
    """The schema metadata with ``old`` renamed where a value is a JSON object keyed by columns.

    DashAI records per-column facts (``dashai_types``) as such objects; any other value
    is kept byte for byte.
    """
    if not metadata:
        return metadata
    result: dict[bytes, bytes] = {}
    for key, value in metadata.items():
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and old in parsed and new not in parsed:
            parsed = {new if k == old else k: v for k, v in parsed.items()}
            value = json.dumps(parsed, ensure_ascii=False).encode()
        result[key] = value
    return result


def replace_data(dataset_id: int, data: pa.Table | str | os.PathLike[str]) -> DatasetRecord:
    """Make ``data`` the dataset's data (a re-sample, a replacement) as a new version.

    ``data`` is read as by :func:`create`. Files are immutable: the new data goes to a new
    file, ``datasets/<id>/data-<hex>.arrow``, and one transaction switches the dataset to
    it. Notebooks made from the old version keep it (their step 0); predictions and model
    sessions refer to the dataset, not a file, and read the new version from then on. The
    old file is deleted after COMMIT once no notebook refers to it (else when the last
    one is deleted). Editing joins an outer transaction like :func:`create`.

    >>> datasets.replace_data(ds.id, sampled_table)                      # doctest: +SKIP

    Raises NotFound (unknown id), InvalidTransition (the dataset is not FINISHED, or its
    data changed while the new version was written), ValidationError (bad data, or data
    without a column a model session on the dataset uses); nothing changes then.
    """
    check_id(dataset_id, "dataset")
    base, name = _precheck_edit(dataset_id)
    return _new_version(dataset_id, base, data, name, None)


def _new_version(
    dataset_id: int, base: str, data: object, name: str, renamed: tuple[str, str] | None
) -> DatasetRecord:
    # Written before the transaction (no lock held while a large file is written), under a
    # name of its own, so two concurrent edits never write the same file.
    staged = _stage(data, name)
    try:
        return _switch(dataset_id, base, staged, renamed)
    finally:
        _remove_unowned(staged)  # the version is a second name of it (or a copy)


@writes
def _switch(dataset_id: int, base: str, staged: str, renamed: tuple[str, str] | None) -> DatasetRecord:
    row = fetch(models.Dataset, dataset_id, lock=True)
    if row.file_path != base or row.status != RunStatus.FINISHED.name:
        raise errors.InvalidTransition(
            f"dataset {dataset_id} ({row.name!r}) changed while its new version was written "
            f"(it is {row.status}, data {row.file_path}); the edit was discarded"
        )
    if renamed is None:
        _refuse_missing_session_columns(dataset_id, files.read_arrow_schema(staged).names)
    else:
        _rename_in_sessions(dataset_id, *renamed)
    # Linked in here, not written before: a retried transaction (busy) discards the
    # version of the attempt that rolled back and links the staged file again.
    version = files.layout.dataset_version_file(dataset_id, uuid.uuid4().hex)
    files.discard_on_rollback(version)
    files.link_atomic(staged, version)
    models.Dataset.update(file_path=version, last_modified=utcnow()).where(
        models.Dataset.id == dataset_id
    ).execute()
    drop_version_if_unused(dataset_id, base)
    return _record(fetch(models.Dataset, dataset_id))


def _sessions(dataset_id: int) -> Any:
    session = models.ModelSession
    return session.select(session.id, session.name, session.input_columns, session.output_columns).where(
        session.dataset == dataset_id
    )


def _refuse_missing_session_columns(dataset_id: int, columns: builtins.list[str]) -> None:
    available = set(columns)
    for row in _sessions(dataset_id):
        missing = [c for c in [*row.input_columns, *row.output_columns] if c not in available]
        if missing:
            raise errors.ValidationError(
                f"the new data of dataset {dataset_id} lacks column(s) {', '.join(map(repr, missing))} "
                f"that model session {row.id} ({row.name!r}) uses"
            )


def _rename_in_sessions(dataset_id: int, old: str, new: str) -> None:
    for row in _sessions(dataset_id):
        inputs = [new if c == old else c for c in row.input_columns]
        outputs = [new if c == old else c for c in row.output_columns]
        if inputs != row.input_columns or outputs != row.output_columns:
            models.ModelSession.update(
                input_columns=inputs, output_columns=outputs, last_modified=utcnow()
            ).where(models.ModelSession.id == row.id).execute()


def drop_version_if_unused(dataset_id: int, path: str | None) -> None:
    """Delete ``path``, a version of dataset ``dataset_id``'s data, once nothing refers to it.

    Called inside a write transaction (an edit that switched the dataset away from it, a
    notebook deleted that started from it); the file goes after COMMIT. Only a file of
    the dataset's own folder is ever deleted, and only when neither a dataset nor a
    notebook names it any more.
    """
    if not path or not path.startswith(files.layout.dataset_folder(dataset_id) + "/"):
        return
    notebook = models.Notebook
    used = (
        models.Dataset.select().where(models.Dataset.file_path == path).exists()
        or notebook.select().where((notebook.source_path == path) | (notebook.file_path == path)).exists()
    )
    if not used:
        files.delete_after_commit(path)
