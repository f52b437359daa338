"""Deleting rows together with every file of every row the database cascade removes.

The database's ON DELETE CASCADE removes the child rows; this module knows which files
those rows own, so a facade ``delete`` can schedule them (``files.delete_after_commit``)
in the same transaction. It is the one place that maps rows to the files they own:

* ``OWNED_FOLDERS`` — the folder each row owns by the layout (``files.layout``, named by its id);
* ``FILE_COLUMNS`` — path columns naming the row's files (for ``check``, ``gc`` and
  ``backup``). ``notebook.file_path`` is not one: at position 0 it is the source
  dataset's own file, shared, never the notebook's to delete.

Deleting follows the layout, never a path a row claims (:func:`owned_paths`): a row's
files are its layout folder (or a notebook step's snapshot file); a recorded path
elsewhere — hand-edited, or another row's file — is reported and left alone.

``maintenance.check`` uses :func:`referenced_paths` to find files that no row owns;
:func:`finish_pending_deletions` uses it to keep a deleted path a row refers to again.
"""

from __future__ import annotations

import functools
import logging
import operator
from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from peewee import SQL, ForeignKeyField

from . import models
from .files import delete_after_commit, layout, tx
from .files.tx import still_referenced
from .statements import execute_cached

log = logging.getLogger("dashai_store.files")

OWNED_FOLDERS: dict[type[models.BaseModel], Callable[[Any], str]] = {
    models.Dataset: lambda row: layout.dataset_folder(row.id),
    models.Run: lambda row: layout.run_folder(row.id),
    models.Prediction: lambda row: layout.prediction_folder(row.id),
    models.Notebook: lambda row: layout.notebook_folder(row.id),
    models.Explorer: lambda row: layout.explorer_folder(row.id),
    models.GlobalExplainer: lambda row: layout.explainer_folder("global", row.id),
    models.LocalExplainer: lambda row: layout.explainer_folder("local", row.id),
    models.GenerativeSession: lambda row: layout.generative_session_folder(row.id),
    models.GenerativeProcess: lambda row: layout.generative_process_folder(row.session_id, row.id),
}

FILE_COLUMNS: dict[type[models.BaseModel], tuple[str, ...]] = {
    models.Dataset: ("file_path",),
    models.Run: (
        "run_path",
        "plot_history_path",
        "plot_slice_path",
        "plot_contour_path",
        "plot_importance_path",
    ),
    models.Prediction: ("results_path",),
    models.Converter: ("snapshot_path",),
    models.Explorer: ("exploration_path",),
    models.GlobalExplainer: ("explanation_path", "plot_path"),
    models.LocalExplainer: ("explanation_path", "plots_path"),
}

FILE_DATA_TYPES = ("image", "bytes")  # process_data rows whose ``data`` is a file path


def _children(model: type[models.BaseModel]) -> Iterator[tuple[type[models.BaseModel], ForeignKeyField]]:
    for fk in model._meta.backrefs:
        yield fk.model, fk


def _may_own_files(model: type[models.BaseModel]) -> bool:
    """Whether deleting rows of ``model`` can remove files (its own or its cascade's).

    A leaf that owns none (metric: a million rows per run) need not have its ids read.
    """
    if model in OWNED_FOLDERS or model in FILE_COLUMNS or model is models.ProcessData:
        return True
    return any(fk.on_delete == "CASCADE" and _may_own_files(child) for child, fk in _children(model))


def descendants(model: type[models.BaseModel], ids: Iterable[int]) -> dict[type[models.BaseModel], set[int]]:
    """Every row (by model) that deleting ``ids`` of ``model`` removes, the roots included."""
    found: dict[type[models.BaseModel], set[int]] = {}
    frontier: list[tuple[type[models.BaseModel], set[int]]] = [(model, set(ids))]
    while frontier:
        current_model, current_ids = frontier.pop()
        new_ids = current_ids - found.get(current_model, set())
        if not new_ids:
            continue
        found.setdefault(current_model, set()).update(new_ids)
        for child, child_ids in _child_ids(current_model, sorted(new_ids)).items():
            frontier.append((child, child_ids))
    return found


def _file_children(model: type[models.BaseModel]) -> list[tuple[type[models.BaseModel], ForeignKeyField]]:
    """The children a delete of ``model`` cascades to that may own files (by the schema)."""
    return [
        (child, fk) for child, fk in _children(model) if fk.on_delete == "CASCADE" and _may_own_files(child)
    ]


def _child_ids(model: type[models.BaseModel], ids: list[int]) -> dict[type[models.BaseModel], set[int]]:
    """The ids of the file-owning rows that cascade from rows ``ids`` of ``model``: one
    query (a UNION ALL over the child tables), not one per child table."""
    children = _file_children(model)
    if not children:
        return {}

    def build(chunk: list[int]) -> Any:
        parts = [
            child.select(SQL(str(index)), child.id).where(fk.in_(chunk))
            for index, (child, fk) in enumerate(children)
        ]
        return functools.reduce(operator.add, parts)  # UNION ALL

    found: dict[type[models.BaseModel], set[int]] = {}
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start : chunk_start + 500]
        key = ("children", model, len(chunk))
        for index, child_id in _execute(key, functools.partial(build, chunk), chunk * len(children)):
            found.setdefault(children[index][0], set()).add(child_id)
    return found


def _own_places(model: type[models.BaseModel], row: Any, sessions: dict[int, int]) -> tuple[str, ...]:
    """Where the layout puts row's files: its folder, or (a converter) its snapshot file."""
    folder = OWNED_FOLDERS.get(model)
    if folder is not None:
        return (folder(row),)
    if model is models.Converter:
        return (layout.notebook_snapshot(row.notebook_id, row.id),)
    if model is models.ProcessData and row.process_id in sessions:
        return (layout.generative_process_folder(sessions[row.process_id], row.process_id),)
    return ()


def _claimed(model: type[models.BaseModel], row: Any) -> Iterator[tuple[str, str]]:
    """(column, path) of every file path the row records."""
    for column in FILE_COLUMNS.get(model, ()):
        value = getattr(row, column)
        if value:
            yield column, value
    if model is models.ProcessData and row.data_type in FILE_DATA_TYPES and row.data:
        yield "data", row.data


def owned_paths(model: type[models.BaseModel], ids: Iterable[int]) -> list[str]:
    """Home-relative files and folders that rows ``ids`` of ``model`` own, by the layout only.

    A row owns its layout folder (``datasets/<id>``), or, a notebook step, its snapshot
    ``notebooks/<notebook>/<id>.arrow``; a path the row records elsewhere — a
    ``file_path`` hand-edited to another dataset's file — is never its to delete: it is
    left alone and reported on the ``dashai_store.files`` logger.
    """
    id_list = sorted(set(ids))
    if not id_list:
        return []
    paths: list[str] = []
    if model not in OWNED_FOLDERS and model not in FILE_COLUMNS and model is not models.ProcessData:
        return paths
    for chunk_start in range(0, len(id_list), 500):
        chunk = id_list[chunk_start : chunk_start + 500]
        rows = _place_rows(model, chunk)
        sessions: dict[int, int] = {}
        if model is models.ProcessData:
            gp = models.GenerativeProcess
            process_ids = sorted({row.process_id for row in rows})
            query: Any = gp.select(gp.id, gp.session).where(gp.id.in_(process_ids)).tuples()
            sessions = {int(pair[0]): int(pair[1]) for pair in query}
        for row in rows:
            places = _own_places(model, row, sessions)
            paths.extend(places)
            for column, claimed in _claimed(model, row):
                if not any(layout.within(claimed, place) for place in places):
                    log.warning(
                        "%s %s: %s %r is not in the row's own layout place %s; not deleting it",
                        model._meta.table_name,
                        row.id,
                        column,
                        claimed,
                        ", ".join(places) or "(none)",
                    )
    return paths


# The columns owned_paths reads of a row, by model: its id, the parent ids its layout place
# is named by, and the path columns it records.
_PLACE_COLUMNS: dict[type[models.BaseModel], tuple[str, ...]] = {
    models.Converter: ("notebook",),
    models.GenerativeProcess: ("session",),
    models.ProcessData: ("process", "data_type", "data"),
}


def _place_rows(model: type[models.BaseModel], ids: list[int]) -> list[Any]:
    """Rows ``ids`` of ``model`` with the columns :func:`owned_paths` reads, as named tuples
    (fields named by column: ``notebook_id``), values read as the model's fields read them."""
    names = ("id", *_PLACE_COLUMNS.get(model, ()), *FILE_COLUMNS.get(model, ()))
    fields = [model._meta.fields[name] for name in names]
    row_type = _row_types.get(model)
    if row_type is None:
        row_type = _row_types[model] = namedtuple(
            f"{model.__name__}Places", [field.column_name for field in fields]
        )
    found = _execute(("places", model, len(ids)), lambda: model.select(*fields).where(model.id.in_(ids)), ids)
    readers = [field.python_value for field in fields]
    return [row_type(*(read(value) for read, value in zip(readers, row, strict=True))) for row in found]


_row_types: dict[type[models.BaseModel], Any] = {}


def delete_rows(model: type[models.BaseModel], ids: Iterable[int]) -> int:
    """Delete rows ``ids`` of ``model``, their cascade, and (after COMMIT) all their files.

    Must run inside a write transaction. Returns how many root rows were deleted.
    """
    id_list = sorted(set(ids))
    if not id_list:
        return 0
    doomed = descendants(model, id_list)
    paths: list[str] = []
    for doomed_model, doomed_ids in doomed.items():
        paths.extend(owned_paths(doomed_model, doomed_ids))
    deleted = 0
    for chunk_start in range(0, len(id_list), 500):
        chunk = id_list[chunk_start : chunk_start + 500]
        statement = functools.partial(_delete_statement, model, chunk)
        deleted += _execute(("delete", model, len(chunk)), statement, chunk).rowcount
    delete_after_commit(*paths, rows_deleted=True)  # ids are never reused: see files.tx
    tx.free_if_disk_full(*paths)
    return deleted


def _delete_statement(model: type[models.BaseModel], ids: list[int]) -> Any:
    return model.delete().where(model.id.in_(ids))


def _execute(key: tuple[Any, ...], build: Callable[[], Any], params: list[Any]) -> Any:
    """``statements.execute_cached`` on the models' database (the current store's)."""
    return execute_cached(models.BaseModel._meta.database, key, build, params)


def _first_column(query: Any, db: Any = None) -> Iterator[Any]:
    for row in query.tuples().iterator(db):
        yield row[0]


def referenced_paths(db: Any = None) -> set[str]:
    """Every home-relative file path some row refers to (for maintenance.check and gc).

    ``db`` reads another database than the open store's (maintenance.backup reads its
    snapshot this way, without rebinding the models other threads are using).
    """
    paths: set[str] = set()
    for model, columns in FILE_COLUMNS.items():
        for column in columns:
            field = getattr(model, column)
            paths.update(_first_column(model.select(field).where(field.is_null(False)), db))
    paths.update(_first_column(models.Notebook.select(models.Notebook.file_path), db))
    source = models.Notebook.source_path  # the dataset version a notebook started from
    paths.update(_first_column(models.Notebook.select(source).where(source.is_null(False)), db))
    pd = models.ProcessData
    paths.update(_first_column(pd.select(pd.data).where(pd.data_type.in_(FILE_DATA_TYPES)), db))
    for model in (models.Run, models.GlobalExplainer, models.LocalExplainer):
        query = model.select(model.artifacts).where(model.artifacts.is_null(False))
        for artifacts in _first_column(query, db):
            paths.update(_artifact_paths(artifacts))  # tuples() already decoded the JSON
    return paths


def _artifact_paths(artifacts: Any) -> Iterator[str]:
    """``artifacts`` JSON holds {"<name>": {"path": ..., "sha256": ...}, ...}."""
    if isinstance(artifacts, dict):
        for value in artifacts.values():
            if isinstance(value, dict) and isinstance(value.get("path"), str):
                yield value["path"]


def finish_pending_deletions() -> int:
    """Carry out the file deletions a crash interrupted (``open_store`` calls this).

    Returns how many were recorded; a path some row refers to again is kept.
    """
    return tx.finish_pending_deletions(referenced_paths)


__all__ = [
    "FILE_COLUMNS",
    "OWNED_FOLDERS",
    "delete_rows",
    "descendants",
    "finish_pending_deletions",
    "owned_paths",
    "referenced_paths",
    "still_referenced",
]
