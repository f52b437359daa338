"""Notebooks: a dataset's working copy, transformed by a reversible pipeline of converters.

A notebook starts on its source dataset's own immutable Arrow file (shared, never copied,
so creating one costs the same for 10 rows or 10 million). Each converter step the user
adds is applied by a caller-given function ``fn(table, parameters) -> table``; its output
is written as an immutable snapshot, ``notebooks/<notebook_id>/<converter_id>.arrow``, and
the notebook's current state moves to it. Going back (:func:`revert`, :func:`undo`) only
moves that pointer and drops the later steps, their snapshots and the explorers made on
them, so it is constant time too. :func:`save_as_dataset` turns the current state into a
new dataset that records where it came from.

    >>> nb = notebooks.create(ds.id, name="cleaning")                         # doctest: +SKIP
    >>> step = notebooks.add_converter(nb.id, "DropColumn", {"column": "junk"})  # doctest: +SKIP
    >>> notebooks.apply(step.id, lambda t, p: t.drop_columns([p["column"]]))  # doctest: +SKIP
    >>> notebooks.load_table(nb.id).column_names                             # doctest: +SKIP
    >>> notebooks.undo(nb.id)                                                 # doctest: +SKIP

A step that fails ends in ERROR and changes nothing; the steps queued behind it still
run, on the current data (as DashAI applies them), and the failed step stays ERROR.

Invariants kept by every function here: the steps at positions ``1..current_position``
are FINISHED, each with its snapshot, or ERROR, without one; the steps after it are not
FINISHED and have none; ``notebook.file_path`` is the snapshot of the last FINISHED step
up to the current one (or, if there is none, ``notebook.source_path``: the dataset
version the notebook started from). No snapshot file outlives the step that refers to it.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import cascade, errors, files, models, paging
from .clock import utcnow
from .database import reads, run_in_transaction, writes
from .enums import RunStatus
from .lifecycle import ERROR, FINISHED, NOT_STARTED, STARTED, move, walk
from .records import ConverterRecord, DatasetRecord, NotebookRecord, to_record
from .rows import Jobs, Reader, check_id, check_json, check_name, check_text, fetch

if TYPE_CHECKING:
    import pyarrow as pa

ConverterFn = Callable[["pa.Table", dict[str, Any]], object]
"""A converter: takes the current table and the step's parameters, returns the new table."""


# -- records and validation ------------------------------------------------------------------


def notebook_record(row: Any) -> NotebookRecord:
    return to_record(NotebookRecord, row, file_path=files.home() / row.file_path)


def converter_record(row: Any) -> ConverterRecord:
    return to_record(ConverterRecord, row, snapshot_path=files.to_absolute(row.snapshot_path))


_notebooks: Reader[NotebookRecord] = Reader(models.Notebook, NotebookRecord, paths=("file_path",))
_converters: Reader[ConverterRecord] = Reader(models.Converter, ConverterRecord, paths=("snapshot_path",))


_jobs = Jobs(models.Converter, converter_record, "converter")


def _label(row: Any) -> str:
    return f"converter {row.id} (step {row.position} {row.converter!r} of notebook {row.notebook_id})"


def step_path(notebook: Any, step: int) -> str:
    """The Arrow file of the data after ``step`` (0 = the dataset version it started from).

    ``notebook`` is its row, read inside the caller's transaction (explorers use this too).

    A step that ended in ERROR changed nothing: the data after it is that of the last
    FINISHED step before it.
    """
    row = (
        models.Converter.select(models.Converter.snapshot_path)
        .where(
            (models.Converter.notebook == notebook.id)
            & (models.Converter.position <= step)
            & (models.Converter.status == FINISHED.name)
        )
        .order_by(models.Converter.position.desc())
        .first()
    )
    if row is not None:
        if not row.snapshot_path:
            raise errors.NotFound(f"step {step} of notebook {notebook.id} has no snapshot")
        return str(row.snapshot_path)
    if notebook.source_path:
        return str(notebook.source_path)
    # A row written before step 0003 recorded its version: the dataset's file.
    dataset = models.Dataset.get_or_none(models.Dataset.id == notebook.dataset_id)
    if dataset is None or not dataset.file_path:
        raise errors.NotFound(f"notebook {notebook.id}'s source dataset {notebook.dataset_id} has no data")
    return str(dataset.file_path)


def _check_step(notebook: Any, step: object, what: str) -> int:
    if isinstance(step, bool) or not isinstance(step, int):
        raise errors.ValidationError(f"{what} must be an int step number, got {type(step).__name__} {step!r}")
    if not 0 <= step <= notebook.current_position:
        raise errors.ValidationError(
            f"notebook {notebook.id} is at step {notebook.current_position}; {what} {step} is not one of "
            f"its finished steps (0..{notebook.current_position}, 0 being the source data)"
        )
    return step


def _touch(notebook_id: int, **changes: Any) -> None:
    models.Notebook.update(last_modified=utcnow(), **changes).where(
        models.Notebook.id == notebook_id
    ).execute()


def snapshot_path(notebook_id: int, converter_id: int) -> str:
    """Where step ``converter_id``'s output lives (named by ids, never by user names)."""
    return files.layout.notebook_snapshot(notebook_id, converter_id)


# -- notebooks ----------------------------------------------------------------------------------


@writes
def create(dataset_id: int, name: str | None = None, description: str | None = None) -> NotebookRecord:
    """A new notebook at step 0 on dataset ``dataset_id``, in constant time.

    The first state is the dataset's own immutable Arrow file, shared rather than copied;
    the notebook never writes it, and keeps that version (its step 0) when the dataset is
    edited later (``datasets.rename_column``, ``datasets.replace_data``). The dataset must
    be FINISHED (have its data).
    """
    check_id(dataset_id, "dataset")
    if name is not None:
        check_name(name, "notebook name")
    check_text(description, "notebook description", optional=True)
    dataset = fetch(models.Dataset, dataset_id)
    if dataset.status != FINISHED.name or not dataset.file_path:
        raise errors.InvalidTransition(
            f"dataset {dataset_id} ({dataset.name!r}) is {dataset.status} and has no data yet; "
            "a notebook needs a FINISHED dataset"
        )
    now = utcnow()
    row = models.Notebook.create(
        dataset=dataset_id,
        name=name,
        description=description,
        file_path=dataset.file_path,
        source_path=dataset.file_path,
        current_position=0,
        created=now,
        last_modified=now,
    )
    return notebook_record(row)


@reads
def get(notebook_id: int) -> NotebookRecord:
    return _notebooks.get(check_id(notebook_id, "notebook"))


@writes
def rename(notebook_id: int, name: str) -> NotebookRecord:
    """Give the notebook a new name (names need not be unique; DashAI's notebook rename).

    A name equal to the current one writes nothing. Raises ValidationError (a blank or
    malformed name) or NotFound; nothing changes then.

    >>> notebooks.rename(nb.id, "cleaning v2").name                      # doctest: +SKIP
    'cleaning v2'
    """
    check_id(notebook_id, "notebook")
    check_name(name, "notebook name")
    row = fetch(models.Notebook, notebook_id, lock=True)
    if row.name != name:
        _touch(notebook_id, name=name)
        row = fetch(models.Notebook, notebook_id)
    return notebook_record(row)


@reads
def list(
    dataset_id: int | None = None, *, limit: int | None = None, offset: int = 0
) -> builtins.list[NotebookRecord]:
    """Every notebook (of dataset ``dataset_id`` if given), oldest first.

    ``limit`` and ``offset`` give one page (see :mod:`dashai_store.paging`).

    >>> notebooks.list(ds.id, limit=20)                                  # doctest: +SKIP
    """
    query = models.Notebook.select().order_by(models.Notebook.id)
    if dataset_id is not None:
        check_id(dataset_id, "dataset")
        query = query.where(models.Notebook.dataset == dataset_id)
    return _notebooks.all(paging.page(query, limit, offset))


@writes
def delete(notebook_id: int) -> None:
    """Delete the notebook, its steps, snapshots and explorers (with their results).

    The source dataset and its file are never touched, nor datasets saved from it.
    """
    from . import datasets

    check_id(notebook_id, "notebook")
    row: Any = fetch(models.Notebook, notebook_id, lock=True)
    cascade.delete_rows(models.Notebook, [notebook_id])
    # The dataset version it started from may have been kept for it alone.
    datasets.drop_version_if_unused(row.dataset_id, row.source_path)


# -- the pipeline ---------------------------------------------------------------------------------


@writes
def add_converter(
    notebook_id: int, converter: str, parameters: dict[str, Any] | None = None
) -> ConverterRecord:
    """Append step ``converter`` (its name in the app's registry) at the next position, NOT_STARTED."""
    check_id(notebook_id, "notebook")
    check_name(converter, "converter name")
    params = check_json(
        {} if parameters is None else parameters, f"parameters of converter {converter!r}", mapping=True
    )
    notebook = fetch(models.Notebook, notebook_id, lock=True)
    last = (
        models.Converter.select(models.Converter.position)
        .where(models.Converter.notebook == notebook_id)
        .order_by(models.Converter.position.desc())
        .limit(1)
        .scalar()
    )
    now = utcnow()
    row = models.Converter.create(
        notebook=notebook_id,
        converter=converter,
        parameters=params,
        position=max(last or 0, notebook.current_position) + 1,
        status=NOT_STARTED.name,
        created=now,
        last_modified=now,
    )
    _touch(notebook_id)
    return converter_record(row)


def deliver(converter_id: int, job_id: str | None = None) -> ConverterRecord:
    """Mark step ``converter_id`` DELIVERED to the job queue under ``job_id``."""
    return _jobs.deliver(converter_id, job_id)


def fail(converter_id: int, error: str) -> ConverterRecord:
    """Mark a DELIVERED or STARTED step ERROR (e.g. its worker could not load the converter)."""
    return _jobs.fail(converter_id, error)


@reads
def get_converter(converter_id: int) -> ConverterRecord:
    return _converters.get(check_id(converter_id, "converter"))


@reads
def converters(notebook_id: int) -> builtins.list[ConverterRecord]:
    """The pipeline of notebook ``notebook_id`` in position order, with statuses and timings."""
    check_id(notebook_id, "notebook")
    fetch(models.Notebook, notebook_id)
    query = (
        models.Converter.select()
        .where(models.Converter.notebook == notebook_id)
        .order_by(models.Converter.position)
    )
    return _converters.all(query)


@reads
def load_table(notebook_id: int, step: int | None = None) -> pa.Table:
    """The current data (or finished step ``step``'s; 0 = the source data), memory-mapped."""
    check_id(notebook_id, "notebook")
    notebook = fetch(models.Notebook, notebook_id)
    if step is None:
        return files.read_arrow(notebook.file_path)
    return files.read_arrow(step_path(notebook, _check_step(notebook, step, "step")))


@dataclass(frozen=True)
class _Started:
    notebook_id: int
    position: int
    converter: str
    parameters: dict[str, Any]
    input_path: str
    base_position: int  # the notebook's step when this one started


# Statuses of an earlier step that keep a later one from running (ERROR does not).
_IN_THE_WAY = (NOT_STARTED.name, RunStatus.DELIVERED.name, STARTED.name)


@writes
def _start(converter_id: int) -> _Started:
    """Check the order and mark the step STARTED (the first of apply's two transactions)."""
    step: Any = fetch(models.Converter, converter_id)
    notebook = fetch(models.Notebook, step.notebook_id, lock=True)
    row: Any = fetch(models.Converter, converter_id)  # again under the lock: a revert may have removed it
    label = _label(row)
    status = RunStatus[row.status]
    if status is FINISHED:
        raise errors.InvalidTransition(
            f"{label} is already FINISHED; revert the notebook to step {row.position - 1} to change it"
        )
    if status is STARTED:
        raise errors.InvalidTransition(f"{label} is already STARTED by another job")
    if row.position <= notebook.current_position:
        raise errors.InvalidTransition(
            f"{label} is {status.name} behind the notebook's current step {notebook.current_position}; "
            f"revert the notebook to step {row.position - 1} to run it again"
        )
    # A step that ended in ERROR changed nothing, so the steps queued behind it run on the
    # current data (as DashAI does); a step still waiting or running is in the way.
    blocker = (
        models.Converter.select()
        .where(
            (models.Converter.notebook == notebook.id)
            & (models.Converter.id != row.id)
            & (models.Converter.status.in_(_IN_THE_WAY))
            & ((models.Converter.position < row.position) | (models.Converter.status == STARTED.name))
        )
        .order_by(models.Converter.position)
        .first()
    )
    if blocker is not None:
        raise errors.InvalidTransition(
            f"{label} cannot run before step {blocker.position} (converter {blocker.id} "
            f"{blocker.converter!r}) has FINISHED; it is {blocker.status}"
        )
    walk(models.Converter, converter_id, STARTED, current=status)  # from ERROR: a retry
    return _Started(
        notebook.id,
        row.position,
        row.converter,
        row.parameters,
        notebook.file_path,
        notebook.current_position,
    )


@writes
def _finish(converter_id: int, started: _Started, snapshot: str) -> ConverterRecord:
    """Mark the step FINISHED and move the notebook to its snapshot, if both still stand."""
    try:
        notebook = fetch(models.Notebook, started.notebook_id, lock=True)
    except errors.NotFound:
        raise errors.NotFound(
            f"notebook {started.notebook_id} was deleted while converter {converter_id} ran; "
            "its output was discarded"
        ) from None
    row = models.Converter.get_or_none(models.Converter.id == converter_id)
    if row is None:
        raise errors.NotFound(
            f"converter {converter_id} was removed (notebook {started.notebook_id} was reverted) "
            "while it ran; its output was discarded"
        )
    if row.status != STARTED.name or notebook.current_position != started.base_position:
        raise errors.InvalidTransition(
            f"{_label(row)} became {row.status} while it ran (notebook at step "
            f"{notebook.current_position}); its output was discarded"
        )
    finished = move(models.Converter, converter_id, FINISHED, extra={"snapshot_path": snapshot})
    _touch(started.notebook_id, file_path=snapshot, current_position=started.position)
    return converter_record(finished)


@writes
def _mark_error(converter_id: int, message: str) -> ConverterRecord:
    row = fetch(models.Converter, converter_id)
    # A step that never got to run (e.g. its converter is unknown) is walked there.
    failed = walk(models.Converter, converter_id, ERROR, current=RunStatus[row.status], error=message)
    return converter_record(failed)


def _fail_quietly(converter_id: int, message: str) -> None:
    """Record the error on the way out of a failure that is being re-raised anyway."""
    try:
        _mark_error(converter_id, message)
    except errors.StoreError:
        pass


def _discard(snapshot: str, notebook_id: int) -> None:
    """Remove a snapshot whose step was not committed (and a deleted notebook's folder)."""
    try:

        def run() -> None:
            gone = models.Notebook.get_or_none(models.Notebook.id == notebook_id) is None
            files.delete_after_commit(snapshot, files.layout.notebook_folder(notebook_id) if gone else None)

        run_in_transaction(run)
    except errors.StoreError:
        pass  # the file is owned by no row: maintenance.gc() finds it


def apply(converter_id: int, fn: ConverterFn) -> ConverterRecord:
    """Run step ``converter_id`` with ``fn(table, parameters) -> pyarrow.Table``.

    Every earlier step must have ended (FINISHED, or ERROR: a failed step changed nothing,
    so this one runs on the current data), else InvalidTransition naming the step in the
    way; a step the notebook has already moved past is refused too. It is marked STARTED
    in one short transaction; ``fn`` runs with no lock held (it may be slow, and other
    processes keep writing); its output is written as the step's immutable snapshot;
    then one more transaction marks the step FINISHED and moves the notebook's current
    state to it.

    If ``fn`` raises or returns something that is not a ``pyarrow.Table``, the step is
    ERROR with that message and the returned record says so; the notebook's data and
    current step are unchanged and no file is written. A step in ERROR may be applied
    again (a retry) until the notebook moves past it. A failure of the store itself (disk
    full, database gone) marks the step ERROR and is raised. If the notebook is reverted
    past this step or deleted while ``fn`` runs, the output is discarded and NotFound is
    raised.
    """
    import pyarrow as pa

    check_id(converter_id, "converter")
    if not callable(fn):
        raise errors.ValidationError(f"the function for converter {converter_id} is not callable: {fn!r}")
    started = _start(converter_id)
    try:
        table = files.read_arrow(started.input_path)
    except errors.StoreError as exc:
        _fail_quietly(converter_id, f"cannot read the notebook's data: {exc}")
        raise
    try:
        output = fn(table, dict(started.parameters))
    except Exception as exc:
        return _mark_error(converter_id, f"{type(exc).__name__}: {exc}")
    except BaseException:
        _fail_quietly(converter_id, "interrupted")
        raise
    if not isinstance(output, pa.Table):
        return _mark_error(
            converter_id,
            f"converter {started.converter!r} returned {type(output).__name__}, not a pyarrow.Table",
        )
    snapshot = snapshot_path(started.notebook_id, converter_id)
    try:
        files.write_arrow(snapshot, output)
    except errors.StoreError as exc:
        _fail_quietly(converter_id, f"cannot write the step's snapshot: {exc}")
        raise
    except Exception as exc:  # the table itself cannot be stored (e.g. an unsupported type)
        return _mark_error(
            converter_id, f"the table cannot be stored as Arrow IPC: {type(exc).__name__}: {exc}"
        )
    try:
        return _finish(converter_id, started, snapshot)
    except BaseException:
        _discard(snapshot, started.notebook_id)
        raise


@reads
def _next_step(notebook_id: int) -> Any:
    notebook = fetch(models.Notebook, notebook_id)
    return models.Converter.get_or_none(
        (models.Converter.notebook == notebook_id)
        & (models.Converter.position == notebook.current_position + 1)
    )


def run_pending(notebook_id: int, registry: Mapping[str, ConverterFn]) -> builtins.list[ConverterRecord]:
    """Apply every step after the current one, in order, with ``registry[step.converter]``.

    Stops at the first step that ends in ERROR (a converter name missing from the registry
    is such an error, recorded on that step). Returns the records of the steps it ran, the
    last one the failed step if any.
    """
    check_id(notebook_id, "notebook")
    if not isinstance(registry, Mapping):
        raise errors.ValidationError(
            f"registry must be a mapping of converter names, got {type(registry).__name__}"
        )
    done: builtins.list[ConverterRecord] = []
    while (step := _next_step(notebook_id)) is not None:
        if step.status == STARTED.name:
            raise errors.InvalidTransition(f"{_label(step)} is already STARTED by another job")
        fn = registry.get(step.converter)
        if fn is None or not callable(fn):
            known = ", ".join(sorted(map(str, registry))) or "none"
            record = _mark_error(
                step.id, f"no function is registered for converter {step.converter!r} (known: {known})"
            )
        else:
            record = apply(step.id, fn)
        done.append(record)
        if record.status is not FINISHED:
            break
    return done


# -- going back -----------------------------------------------------------------------------------


@writes
def revert(notebook_id: int, to_step: int) -> NotebookRecord:
    """Go back to finished step ``to_step`` (0 = the source data), in constant time.

    Every step after it (finished or pending), their snapshot files and the explorers made
    at those steps are removed; the files go once the transaction commits. A step that is
    running when it is removed has its output discarded when it ends.
    """
    check_id(notebook_id, "notebook")
    notebook = fetch(models.Notebook, notebook_id, lock=True)
    step = _check_step(notebook, to_step, "to_step")
    path = step_path(notebook, step)
    converter_rows: Any = (
        models.Converter.select(models.Converter.id, models.Converter.snapshot_path)
        .where((models.Converter.notebook == notebook_id) & (models.Converter.position > step))
        .tuples()
    )
    later: builtins.list[tuple[int, str | None]] = [(row[0], row[1]) for row in converter_rows]
    explorer_rows: Any = (
        models.Explorer.select(models.Explorer.id)
        .where((models.Explorer.notebook == notebook_id) & (models.Explorer.position > step))
        .tuples()
    )
    explorer_ids: builtins.list[int] = [row[0] for row in explorer_rows]
    cascade.delete_rows(models.Explorer, explorer_ids)
    cascade.delete_rows(models.Converter, [row_id for row_id, _ in later])
    # A step whose run crashed after writing its snapshot but before committing it has no
    # snapshot_path; its file still goes with it.
    files.delete_after_commit(*(snapshot_path(notebook_id, row_id) for row_id, stored in later if not stored))
    _touch(notebook_id, file_path=path, current_position=step)
    return notebook_record(fetch(models.Notebook, notebook_id))


@writes
def undo(notebook_id: int) -> NotebookRecord:
    """Go back one step (see :func:`revert`); at step 0 there is nothing to undo."""
    check_id(notebook_id, "notebook")
    notebook = fetch(models.Notebook, notebook_id, lock=True)
    if notebook.current_position == 0:
        raise errors.InvalidTransition(
            f"notebook {notebook_id} is at step 0 (its source data); nothing to undo"
        )
    return revert(notebook_id, notebook.current_position - 1)


# -- saving -----------------------------------------------------------------------------------------


def _lineage(notebook: Any) -> dict[str, Any]:
    source = models.Dataset.get_or_none(models.Dataset.id == notebook.dataset_id)
    steps = (
        models.Converter.select()
        .where(
            (models.Converter.notebook == notebook.id)
            & (models.Converter.position <= notebook.current_position)
            & (models.Converter.status == FINISHED.name)
        )
        .order_by(models.Converter.position)
    )
    return {
        "source_dataset_id": notebook.dataset_id,
        "source_dataset_name": source.name if source is not None else None,
        "notebook_id": notebook.id,
        "notebook_name": notebook.name,
        "position": notebook.current_position,
        "steps": [
            {
                "position": row.position,
                "converter_id": row.id,
                "converter": row.converter,
                "parameters": row.parameters,
            }
            for row in steps
        ],
    }


@writes
def save_as_dataset(notebook_id: int, name: str) -> DatasetRecord:
    """A new dataset ``name`` holding the notebook's current data (its own copy).

    Its ``lineage`` records the source dataset (id and name), the notebook and the ordered
    finished steps with their converter names and parameters. The notebook is unchanged
    and keeps working; deleting it later leaves the new dataset intact.
    """
    from . import datasets

    check_id(notebook_id, "notebook")
    check_name(name, "dataset name")
    notebook = fetch(models.Notebook, notebook_id, lock=True)
    table = files.read_arrow(notebook.file_path)
    return datasets.create(name, table, lineage=_lineage(notebook))
