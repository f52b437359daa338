"""Explorers: plots and statistics computed on a notebook's data at one of its steps.

An explorer records what to look at (``exploration_type``, ``columns``, ``parameters``)
and the notebook step it looked at (its ``position``: the notebook's current step when it
was created). Reverting the notebook below that step removes it. Its result is one file,
named by the explorer's id and written atomically:

    explorers/<explorer_id>/result.json   a Plotly figure (object, dict or JSON) or any JSON value
    explorers/<explorer_id>/result.bin    bytes (an image, a serialized object)

    >>> e = explorers.create(nb.id, "histogram", ["age"], {"bins": 20})   # doctest: +SKIP
    >>> explorers.deliver(e.id, job_id="huey-7"); explorers.start(e.id)    # doctest: +SKIP
    >>> explorers.save_result(e.id, figure); explorers.finish(e.id)        # doctest: +SKIP
    >>> explorers.load_result(e.id, as_figure=True)                        # doctest: +SKIP
"""

from __future__ import annotations

import builtins
import json
from typing import Any

from . import cascade, errors, files, models, notebooks, paging
from .clock import utcnow
from .database import reads, writes
from .enums import RunStatus
from .lifecycle import move
from .records import ExplorerRecord, to_record
from .rows import Jobs, Reader, check_id, check_json, check_name, check_text, fetch, require

JSON_RESULT = "result.json"
BINARY_RESULT = "result.bin"


def explorer_record(row: Any) -> ExplorerRecord:
    return to_record(ExplorerRecord, row, exploration_path=files.to_absolute(row.exploration_path))


_jobs = Jobs(models.Explorer, explorer_record, "explorer")
_reader: Reader[ExplorerRecord] = Reader(models.Explorer, ExplorerRecord, paths=("exploration_path",))


ColumnSpec = str | dict[str, Any]
"""A column an explorer looks at: its name, or DashAI's ``{"id": ..., "columnName": name}``."""


def _check_columns(columns: object) -> builtins.list[ColumnSpec]:
    """The columns as they will be stored (DashAI's shape kept), or ValidationError."""
    if isinstance(columns, (str, bytes)) or not isinstance(columns, (builtins.list, tuple)):
        raise errors.ValidationError(
            f"explorer columns must be a list of column names or {{id, columnName}} objects, got {columns!r}"
        )
    checked: builtins.list[ColumnSpec] = []
    for column in columns:
        if isinstance(column, dict):
            if not isinstance(column.get("columnName"), str):
                raise errors.ValidationError(
                    f"an explorer column object must have a str 'columnName', got {column!r}"
                )
            checked.append(check_json(column, "an explorer column object", mapping=True))
        elif isinstance(column, str):
            checked.append(column)
        else:
            raise errors.ValidationError(
                f"explorer columns must be names or {{id, columnName}} objects, got {column!r}"
            )
    return checked


def column_names(columns: builtins.list[ColumnSpec] | tuple[ColumnSpec, ...]) -> builtins.list[str]:
    """The column names of an explorer's ``columns``, whichever shape they were given in.

    >>> explorers.column_names([{"id": 0, "columnName": "age"}, "fare"])   # doctest: +SKIP
    ['age', 'fare']
    """
    return [c if isinstance(c, str) else str(c["columnName"]) for c in columns]


def _refuse_missing(notebook: Any, step_path: str, columns: builtins.list[ColumnSpec], step: int) -> None:
    available = set(files.read_arrow_schema(step_path).names)  # the footer only
    missing = [column for column in column_names(columns) if column not in available]
    if missing:
        raise errors.ValidationError(
            f"notebook {notebook.id} has no column {', '.join(map(repr, missing))} at step "
            f"{step} (columns: {', '.join(sorted(available))})"
        )


# -- rows --------------------------------------------------------------------------------------


@writes
def create(
    notebook_id: int,
    exploration_type: str,
    columns: builtins.list[ColumnSpec] | tuple[ColumnSpec, ...],
    parameters: dict[str, Any] | None = None,
    name: str | None = None,
) -> ExplorerRecord:
    """A NOT_STARTED explorer of notebook ``notebook_id`` at its current step.

    ``columns`` are names or DashAI's ``{"id": ..., "columnName": ...}`` objects, stored
    and returned as given (:func:`column_names` reads the names of either). Every column
    must exist in the notebook's current data (ValidationError naming the missing ones
    otherwise).

    >>> explorers.create(nb.id, "ScatterPlot", [{"id": 0, "columnName": "x"}])  # doctest: +SKIP
    """
    check_id(notebook_id, "notebook")
    check_text(exploration_type, "exploration type", required=True)
    column_list = _check_columns(columns)
    params = check_json(
        {} if parameters is None else parameters, f"parameters of explorer {exploration_type!r}", mapping=True
    )
    if name is not None:
        check_name(name, "explorer name")
    notebook = fetch(models.Notebook, notebook_id, lock=True)
    _refuse_missing(notebook, notebook.file_path, column_list, notebook.current_position)
    now = utcnow()
    row = models.Explorer.create(
        notebook=notebook_id,
        name=name,
        exploration_type=exploration_type,
        columns=column_list,
        parameters=params,
        position=notebook.current_position,
        status=RunStatus.NOT_STARTED.name,
        created=now,
        last_modified=now,
    )
    return explorer_record(row)


@reads
def get(explorer_id: int) -> ExplorerRecord:
    return _reader.get(check_id(explorer_id, "explorer"))


@reads
def list(
    notebook_id: int | None = None, *, limit: int | None = None, offset: int = 0
) -> builtins.list[ExplorerRecord]:
    """The explorers of notebook ``notebook_id`` by step then creation order, or (None)
    every explorer of every notebook by id: one query, whatever their number.

    ``limit`` and ``offset`` give one page (DashAI's ``skip`` and ``limit``; see
    :mod:`dashai_store.paging`). NotFound for an unknown notebook.

    >>> explorers.list(limit=20, offset=40)                              # doctest: +SKIP
    """
    explorer = models.Explorer
    if notebook_id is None:
        query = explorer.select().order_by(explorer.id)
    else:
        check_id(notebook_id, "notebook")
        require(models.Notebook, notebook_id, "notebook")
        query = (
            explorer.select().where(explorer.notebook == notebook_id).order_by(explorer.position, explorer.id)
        )
    return _reader.all(paging.page(query, limit, offset))


@writes
def update(
    explorer_id: int,
    *,
    name: str | None = None,
    exploration_type: str | None = None,
    columns: builtins.list[ColumnSpec] | tuple[ColumnSpec, ...] | None = None,
    parameters: dict[str, Any] | None = None,
) -> ExplorerRecord:
    """Change what the explorer looks at (DashAI's explorer update); None leaves a field as it is.

    A new name alone keeps the result. A change of ``exploration_type``, ``columns`` or
    ``parameters`` makes the result stale: it is dropped (the file goes after COMMIT) and
    the explorer is back to NOT_STARTED, ready for a new job; that is refused
    (InvalidTransition) while its job is DELIVERED or STARTED. Columns are checked
    against the notebook's data at the explorer's step. A call that changes nothing
    writes nothing.

    >>> explorers.update(e.id, columns=[{"id": 1, "columnName": "y"}])   # doctest: +SKIP
    """
    check_id(explorer_id, "explorer")
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = check_name(name, "explorer name")
    if exploration_type is not None:
        changes["exploration_type"] = check_text(exploration_type, "exploration type", required=True)
    if columns is not None:
        changes["columns"] = _check_columns(columns)
    if parameters is not None:
        changes["parameters"] = check_json(parameters, "explorer parameters", mapping=True)
    row: Any = fetch(models.Explorer, explorer_id, lock=True)
    changes = {key: value for key, value in changes.items() if getattr(row, key) != value}
    if not changes:
        return explorer_record(row)
    if "columns" in changes:
        notebook = fetch(models.Notebook, row.notebook_id)
        step_path = notebooks.step_path(notebook, row.position)
        _refuse_missing(notebook, step_path, changes["columns"], row.position)
    if set(changes) - {"name"}:
        if row.status in (RunStatus.DELIVERED.name, RunStatus.STARTED.name):
            raise errors.InvalidTransition(
                f"explorer {explorer_id} is {row.status}; its definition cannot change while its job runs"
            )
        move(models.Explorer, explorer_id, RunStatus.NOT_STARTED, extra={"exploration_path": None})
        files.delete_after_commit(row.exploration_path)
    models.Explorer.update(last_modified=utcnow(), **changes).where(
        models.Explorer.id == explorer_id
    ).execute()
    return explorer_record(fetch(models.Explorer, explorer_id))


@writes
def delete(explorer_id: int) -> None:
    """Delete the explorer and its result file (after COMMIT)."""
    check_id(explorer_id, "explorer")
    fetch(models.Explorer, explorer_id, lock=True)
    cascade.delete_rows(models.Explorer, [explorer_id])


# -- lifecycle -----------------------------------------------------------------------------------


def deliver(explorer_id: int, job_id: str | None = None) -> ExplorerRecord:
    return _jobs.deliver(explorer_id, job_id)


def start(explorer_id: int) -> ExplorerRecord:
    return _jobs.start(explorer_id)


def finish(explorer_id: int) -> ExplorerRecord:
    return _jobs.finish(explorer_id)


def fail(explorer_id: int, error: str) -> ExplorerRecord:
    return _jobs.fail(explorer_id, error)


def reset(explorer_id: int) -> ExplorerRecord:
    """Back to NOT_STARTED, keeping the result (see :func:`clear_result` to drop it too)."""
    return _jobs.reset(explorer_id)


# -- the result ----------------------------------------------------------------------------------


def _encode(result: object) -> tuple[str, bytes]:
    """(file name, content) for a result; ValidationError before anything is written."""
    if isinstance(result, (bytes, bytearray, memoryview)):
        return BINARY_RESULT, bytes(result)
    if result is None:
        raise errors.ValidationError("an explorer result cannot be None; use clear_result() to drop one")
    if not isinstance(result, (dict, builtins.list, str, int, float, bool)) and callable(
        getattr(result, "to_json", None)
    ):
        return JSON_RESULT, files.figure_json(result).encode()  # a Plotly figure object
    try:
        text = json.dumps(result, ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise errors.ValidationError(
            f"an explorer result must be a Plotly figure, a JSON value or bytes; "
            f"{type(result).__name__} is none of these: {exc}"
        ) from exc
    return JSON_RESULT, text.encode()


def save_result(explorer_id: int, result: object) -> ExplorerRecord:
    """Store the explorer's result, replacing any previous one, atomically.

    ``result`` is a Plotly figure (object or dict), any other JSON value (NaN and
    infinities kept), or bytes. Saving does not move the lifecycle: the job calls
    :func:`finish` itself.
    """
    check_id(explorer_id, "explorer")
    file_name, content = _encode(result)
    return _save(explorer_id, file_name, content)


@writes
def _save(explorer_id: int, file_name: str, content: bytes) -> ExplorerRecord:
    # The file is written under the row lock, so a concurrent delete of the explorer
    # either happens first (NotFound, nothing written) or after (and removes the file).
    row = fetch(models.Explorer, explorer_id, lock=True)
    # Staged: a new result never overwrites the committed one before COMMIT; the previous
    # file (another extension) goes once this commits.
    path, _ = files.save_staged(
        files.layout.explorer_result(explorer_id, file_name),
        lambda target: files.write_bytes(target, content),
        committed=row.exploration_path,
        repoint=files.repoint_column(models.Explorer, explorer_id, "exploration_path"),
    )
    models.Explorer.update(exploration_path=path, last_modified=utcnow()).where(
        models.Explorer.id == explorer_id
    ).execute()
    return explorer_record(fetch(models.Explorer, explorer_id))


@reads
def load_result(explorer_id: int, *, as_figure: bool = False) -> Any:
    """The stored result: bytes for a binary result, else the JSON value.

    With ``as_figure=True`` a JSON result is returned as a ``plotly.graph_objects.Figure``.
    NotFound if the explorer has no result.
    """
    check_id(explorer_id, "explorer")
    row = fetch(models.Explorer, explorer_id)
    if not row.exploration_path:
        raise errors.NotFound(f"explorer {explorer_id} has no result")
    path = str(row.exploration_path)
    if path.endswith(BINARY_RESULT):
        if as_figure:
            raise errors.ValidationError(f"explorer {explorer_id}'s result is bytes, not a figure")
        return files.read_bytes(path)
    return files.read_figure(path) if as_figure else files.read_json(path)


@writes
def clear_result(explorer_id: int) -> ExplorerRecord:
    """Drop the result and take the explorer back to NOT_STARTED (refused while it runs)."""
    check_id(explorer_id, "explorer")
    row = fetch(models.Explorer, explorer_id, lock=True)
    moved = move(models.Explorer, explorer_id, RunStatus.NOT_STARTED, extra={"exploration_path": None})
    files.delete_after_commit(row.exploration_path, within=files.layout.explorer_folder(explorer_id))
    return explorer_record(moved)
