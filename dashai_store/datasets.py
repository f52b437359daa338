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

A dataset's data never changes once attached (notebooks share the file instead of
copying it); :func:`load_table` hands out a memory-mapped table, not a copy.

Names are any non-blank text up to :data:`MAX_NAME_LENGTH` characters (no NUL; see
:func:`dashai_store.rows.check_name`); they are unique and never become path components,
so ``"../x"`` or ``"数据 🌸"`` are fine.
"""

from __future__ import annotations

import builtins
import os
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from . import errors, files, lifecycle, models
from .cascade import delete_rows
from .clock import utcnow
from .database import current, reads, writes
from .enums import RunStatus, coerce
from .records import DatasetRecord, to_record
from .rows import MAX_NAME_LENGTH, Jobs, check_id, check_json, could_exist, fetch, insert_unique, not_found
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
    "schema",
    "start",
]


# Suffix (lower case) -> reader. Arrow IPC files come in two formats; the reader tells
# them apart by the file format's magic bytes, whatever the suffix says.
_ARROW_SUFFIXES = (".arrow", ".arrows", ".ipc", ".feather")
_CSV_SUFFIXES = (".csv",)
_PARQUET_SUFFIXES = (".parquet", ".pq")
_SUFFIXES = _ARROW_SUFFIXES + _CSV_SUFFIXES + _PARQUET_SUFFIXES
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


def _check_table(table: pa.Table, name: str) -> pa.Table:
    if table.num_columns == 0:
        raise errors.ValidationError(f"the table for dataset {name!r} has no columns")
    seen: set[str] = set()
    for column in table.column_names:
        if column in seen:  # columns are addressed by name everywhere downstream
            raise errors.ValidationError(f"the table for dataset {name!r} has two columns named {column!r}")
        seen.add(column)
    return table


def _read_source(source: str | os.PathLike[str], name: str) -> pa.Table:
    """Read an Arrow, CSV or Parquet file that lies inside the store home."""
    import pyarrow as pa

    text = os.fspath(source)
    if not isinstance(text, str):
        raise errors.ValidationError(f"the path for dataset {name!r} must be text, got {text!r}")
    # Inside the home only: the app's API passes paths it was sent, and a path must not
    # turn into a way to read any file the process can see. Relative paths are home-relative.
    path = files.resolve(text)
    suffix = PurePath(text).suffix.lower()
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
        if suffix in _CSV_SUFFIXES:
            import pyarrow.csv

            return pyarrow.csv.read_csv(str(path))
        if suffix in _PARQUET_SUFFIXES:
            import pyarrow.parquet

            return pyarrow.parquet.read_table(str(path), memory_map=True)
        with path.open("rb") as handle:
            is_file_format = handle.read(len(_ARROW_MAGIC)) == _ARROW_MAGIC
        source_map = pa.memory_map(str(path), "r")
        if is_file_format:
            return pa.ipc.open_file(source_map).read_all()
        return pa.ipc.open_stream(source_map).read_all()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise errors.ValidationError(
            f"cannot read {path} as {suffix[1:]} data for dataset {name!r}: {exc}"
        ) from exc


def _as_table(data: object, name: str) -> pa.Table:
    import pyarrow as pa

    if isinstance(data, pa.Table):
        table = data
    elif isinstance(data, (str, os.PathLike)):
        table = _read_source(data, name)
    else:
        raise errors.ValidationError(
            f"data for dataset {name!r} must be a pyarrow.Table or the path of an Arrow, CSV or "
            f"Parquet file, got {type(data).__name__}"
        )
    return _check_table(table, name)


# -- rows and records ------------------------------------------------------------------------------


def _record(row: Any) -> DatasetRecord:
    return to_record(DatasetRecord, row, file_path=files.to_absolute(row.file_path))


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

    ``data`` is a ``pyarrow.Table`` or the path of a file inside the store home (relative
    paths are relative to the home), read by its suffix: ``.arrow``/``.arrows``/``.ipc``/
    ``.feather`` (Arrow IPC, file or stream format), ``.csv``, ``.parquet``/``.pq``.
    ``lineage`` is a JSON-serializable dict recording where the data came from.

    Raises ValidationError (bad name, type, suffix or unreadable file; a table without
    columns or with two columns of one name), UnsafePath (a path outside the home),
    NotFound (a missing file) or AlreadyExists (a taken name); nothing is written then.
    Works inside another write transaction (it joins it); if that transaction rolls
    back, the file written here is removed too.
    """
    check_name(name)
    lineage = _check_lineage(lineage, name)
    # Before parsing a possibly large file, so that a taken name fails fast; the parsing
    # itself happens outside the write transaction (unless the caller is already in one).
    _precheck_name(name)
    table = _as_table(data, name)
    return _create(name, table, lineage)


@writes
def _create(name: str, table: pa.Table, lineage: dict[str, Any] | None) -> DatasetRecord:
    row_id = _insert_row(name, lineage)
    # The id is new (ids are never reused once committed), so the whole folder is ours to
    # discard if this transaction does not commit.
    files.discard_on_rollback(files.layout.dataset_folder(row_id))
    relative = _data_path(row_id)
    files.write_arrow(relative, table)
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
            "a dataset's data never changes"
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

    ``data`` is read as by :func:`create`. The status is unchanged (call :func:`finish`
    next). Raises NotFound (unknown id), AlreadyExists (the dataset already has data),
    InvalidTransition (the dataset is FINISHED or ERROR), or :func:`create`'s errors for
    bad data; nothing is written then.
    """
    check_id(dataset_id, "dataset")
    name = _precheck_attach(dataset_id)
    table = _as_table(data, name)
    return _attach(dataset_id, table)


@writes
def _attach(dataset_id: int, table: pa.Table) -> DatasetRecord:
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
    files.write_arrow(relative, table)
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
    check_id(dataset_id, "dataset")
    return _record(fetch(models.Dataset, dataset_id))


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
def list(status: RunStatus | str | None = None) -> builtins.list[DatasetRecord]:
    """Every dataset ordered by id, or only those with ``status`` (a RunStatus or its name)."""
    query = models.Dataset.select().order_by(models.Dataset.id)
    if status is not None:
        query = query.where(models.Dataset.status == coerce(RunStatus, status))
    return [_record(row) for row in query.iterator()]


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
