"""Runs: one training of a model in a model session, with its model file and plots.

    >>> from dashai_store import runs                                           # doctest: +SKIP
    >>> run = runs.create(session.id, "svm-1", "SVC", {"C": 1.0})              # doctest: +SKIP
    >>> runs.deliver(run.id, job_id="job-42"); runs.start(run.id)              # doctest: +SKIP
    >>> runs.save_model(run.id, fitted_model)                                   # doctest: +SKIP
    >>> runs.save_plot(run.id, "history", figure)                               # doctest: +SKIP
    >>> runs.finish(run.id).status                                              # doctest: +SKIP
    <RunStatus.FINISHED: 3>
    >>> runs.load_model(run.id)  # refused if the file was changed on disk  # doctest: +SKIP

Files (see :mod:`dashai_store.files.layout`): ``runs/<id>/model.joblib`` (its sha256 is recorded in
``artifacts["model"]`` and checked before anything is unpickled) and
``runs/<id>/plots/<kind>.json`` for the kinds in :data:`PLOT_KINDS`. ``run_path`` is
``runs/<id>`` once the run has a file. :func:`update_parameters` is DashAI's reset: the
run goes back to NOT_STARTED and loses its metrics, model and plots.

Status moves go through :mod:`dashai_store.lifecycle` (NOT_STARTED -> DELIVERED ->
STARTED -> FINISHED | ERROR); any other move raises InvalidTransition.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

from . import artifacts, errors, files, models
from .cascade import delete_rows
from .clock import utcnow
from .database import in_transaction, reads, writes
from .enums import RunStatus, coerce
from .lifecycle import NOT_STARTED, move
from .records import RunRecord, to_record
from .rows import Jobs, check_id, check_json, check_name, check_text, fetch, require

__all__ = [
    "PLOT_KINDS",
    "create",
    "delete",
    "deliver",
    "fail",
    "finish",
    "get",
    "list",
    "load_model",
    "load_plot",
    "save_model",
    "save_plot",
    "start",
    "update_parameters",
]

#: The figures a run can store, each in its own ``plot_<kind>_path`` column.
PLOT_KINDS: tuple[str, ...] = ("history", "slice", "contour", "importance")

_PLOT_COLUMNS = tuple(f"plot_{kind}_path" for kind in PLOT_KINDS)


# -- records and validation ------------------------------------------------------------------


def _record(row: Any) -> RunRecord:
    to_absolute = files.to_absolute
    return to_record(
        RunRecord,
        row,
        run_path=to_absolute(row.run_path),
        plot_history_path=to_absolute(row.plot_history_path),
        plot_slice_path=to_absolute(row.plot_slice_path),
        plot_contour_path=to_absolute(row.plot_contour_path),
        plot_importance_path=to_absolute(row.plot_importance_path),
    )


def _check_kind(kind: object) -> str:
    if not isinstance(kind, str) or kind not in PLOT_KINDS:
        raise errors.ValidationError(f"{kind!r} is not a plot kind; expected one of {', '.join(PLOT_KINDS)}")
    return kind


# -- create, read ------------------------------------------------------------------------------


@writes
def create(
    model_session_id: int,
    name: str,
    model_name: str,
    parameters: Mapping[str, Any],
    *,
    optimizer_name: str = "",
    optimizer_parameters: Mapping[str, Any] | None = None,
    goal_metric: str = "",
    split_indexes: Any = None,
    description: str | None = None,
) -> RunRecord:
    """A new NOT_STARTED run in a model session.

    ``parameters`` and ``optimizer_parameters`` are JSON-serializable dicts;
    ``split_indexes`` any JSON value (DashAI stores the row indexes of each split).
    Raises NotFound for an unknown session and ValidationError for a bad argument.
    """
    check_id(model_session_id, "model session")
    check_name(name, "a run name")
    check_name(model_name, "a model name")
    params = check_json(parameters, "parameters", mapping=True)
    check_text(optimizer_name, "an optimizer name")
    opt_params = check_json(
        {} if optimizer_parameters is None else optimizer_parameters, "optimizer_parameters", mapping=True
    )
    check_text(goal_metric, "goal_metric")
    check_json(split_indexes, "split_indexes", mapping=False)
    check_text(description, "a description", optional=True)
    require(models.ModelSession, model_session_id, "model session")
    now = utcnow()
    row = models.Run.create(
        model_session=model_session_id,
        name=name,
        description=description,
        model_name=model_name,
        parameters=params,
        split_indexes=split_indexes,
        optimizer_name=optimizer_name,
        optimizer_parameters=opt_params,
        goal_metric=goal_metric,
        status=RunStatus.NOT_STARTED.name,
        created=now,
        last_modified=now,
    )
    return _record(fetch(models.Run, row.id))


@reads
def get(run_id: int) -> RunRecord:
    """The run ``run_id``; NotFound if there is none."""
    return _record(fetch(models.Run, check_id(run_id, "run")))


@reads
def list(
    model_session_id: int | None = None, status: RunStatus | str | None = None
) -> builtins.list[RunRecord]:
    """Runs, oldest first; optionally of one model session and/or in one status.

    An unknown model session is NotFound (not an empty list), a bad status ValidationError.
    """
    query = models.Run.select().order_by(models.Run.id)
    if model_session_id is not None:
        check_id(model_session_id, "model session")
        require(models.ModelSession, model_session_id, "model session")
        query = query.where(models.Run.model_session == model_session_id)
    if status is not None:
        query = query.where(models.Run.status == coerce(RunStatus, status))
    return [_record(row) for row in query]


# -- lifecycle ---------------------------------------------------------------------------------

_jobs: Jobs[RunRecord] = Jobs(models.Run, _record, "run")


def deliver(run_id: int, job_id: str | None = None) -> RunRecord:
    """NOT_STARTED -> DELIVERED, recording the job queue's id and the delivery time."""
    return _jobs.deliver(run_id, job_id)


def start(run_id: int) -> RunRecord:
    """DELIVERED -> STARTED, recording the start time."""
    return _jobs.start(run_id)


def finish(run_id: int) -> RunRecord:
    """STARTED -> FINISHED, recording the end time."""
    return _jobs.finish(run_id)


def fail(run_id: int, error: str) -> RunRecord:
    """DELIVERED or STARTED -> ERROR, recording the end time and the error message."""
    return _jobs.fail(run_id, error)


@writes
def update_parameters(
    run_id: int, parameters: Mapping[str, Any], *, optimizer_parameters: Mapping[str, Any] | None = None
) -> RunRecord:
    """New parameters, and DashAI's reset: the run starts over.

    The run goes back to NOT_STARTED (times, job id and error cleared); its metrics are
    deleted; its model and plots are removed (files deleted once this commits) and
    ``artifacts``, ``run_path`` and the ``plot_*_path`` columns cleared.
    ``optimizer_parameters`` is replaced only when given. A DELIVERED or STARTED run is
    refused with InvalidTransition (its job is using it); nothing changes then.
    """
    check_id(run_id, "run")
    changes: dict[str, Any] = {"parameters": check_json(parameters, "parameters", mapping=True)}
    if optimizer_parameters is not None:
        changes["optimizer_parameters"] = check_json(
            optimizer_parameters, "optimizer_parameters", mapping=True
        )
    changes.update(artifacts=None, run_path=None, **dict.fromkeys(_PLOT_COLUMNS))
    old = fetch(models.Run, run_id)
    row = move(models.Run, run_id, NOT_STARTED, extra=changes)
    models.Metric.delete().where(models.Metric.run == run_id).execute()
    # The whole run folder goes (model and plots), plus any recorded path outside it.
    files.delete_after_commit(
        files.layout.run_folder(run_id),
        old.run_path,
        *(getattr(old, column) for column in _PLOT_COLUMNS),
        *_artifact_paths(old.artifacts),
        within=files.layout.run_folder(run_id),  # never a path the row claims elsewhere
    )
    return _record(row)


def _artifact_paths(entries: Any) -> builtins.list[str]:
    if not isinstance(entries, dict):
        return []
    return [
        value["path"]
        for value in entries.values()
        if isinstance(value, dict) and isinstance(value.get("path"), str)
    ]


# -- model ---------------------------------------------------------------------------------------


def save_model(run_id: int, obj: Any) -> RunRecord:
    """Store a trained model as ``runs/<id>/model.joblib`` and record its sha256.

    Replaces an earlier model of the run. An object joblib cannot pickle is a
    ValidationError and leaves no file.

    A replacement never overwrites the committed model before the row stops referring to
    it (a crash in between would leave the row's checksum naming bytes that are gone): the
    new model is written under a new name and committed there, then, in a second
    transaction, linked over ``model.joblib`` and the row repointed. A crash at any moment
    leaves the row naming a file whose checksum matches. Inside an outer transaction the
    second step runs once that transaction commits (:func:`artifacts.save_joblib`).
    """
    record = _save_model(run_id, obj)
    return record if in_transaction() else get(run_id)


@writes
def _save_model(run_id: int, obj: Any) -> RunRecord:
    check_id(run_id, "run")
    artifacts.save_joblib(
        models.Run,
        run_id,
        obj,
        final=files.layout.run_model(run_id),
        artifact="model",
        what=f"run {run_id}: the model ({type(obj).__name__})",
        changes={"run_path": files.layout.run_folder(run_id), "last_modified": utcnow()},
    )
    return _record(fetch(models.Run, run_id))


@reads
def load_model(run_id: int) -> Any:
    """The run's model, unpickled only if the file's sha256 matches the one recorded.

    NotFound if the run has no model (or its file is gone); FileIntegrityError if the
    file was changed on disk (it is then not unpickled).
    """
    check_id(run_id, "run")
    row = fetch(models.Run, run_id)
    model = (row.artifacts or {}).get("model")
    if not isinstance(model, dict) or not isinstance(model.get("path"), str):
        raise errors.NotFound(f"run {run_id} has no saved model")
    return files.load_joblib(model["path"], model.get("sha256"))


# -- plots ----------------------------------------------------------------------------------------


@writes
def save_plot(run_id: int, kind: str, figure: Any) -> RunRecord:
    """Store a Plotly figure (a figure, its dict or its JSON text) as the run's ``kind`` plot.

    ``kind`` is one of :data:`PLOT_KINDS`; the file is ``runs/<id>/plots/<kind>.json`` and
    ``plot_<kind>_path`` points at it. A bad kind or figure is a ValidationError (no file).
    A plot saved again is written under a staged name and promoted after COMMIT
    (:func:`files.save_staged`), so a rollback or crash keeps the committed figure.
    """
    check_id(run_id, "run")
    _check_kind(kind)
    files.figure_json(figure)  # validate before touching the disk
    column = f"plot_{kind}_path"
    row = fetch(models.Run, run_id, lock=True)
    # Staged: a re-saved plot never overwrites the committed one before COMMIT.
    relative, _ = files.save_staged(
        files.layout.run_plot(run_id, kind),
        lambda target: files.write_figure(target, figure),
        committed=getattr(row, column),
        repoint=files.repoint_column(models.Run, run_id, column),
    )
    columns = {column: relative, "run_path": files.layout.run_folder(run_id)}
    models.Run.update(**columns, last_modified=utcnow()).where(models.Run.id == run_id).execute()
    return _record(fetch(models.Run, run_id))


@reads
def load_plot(run_id: int, kind: str, as_figure: bool = True) -> Any:
    """The run's ``kind`` plot: a ``plotly.graph_objects.Figure``, or its JSON dict with
    ``as_figure=False`` (which does not import plotly). NotFound if it was never saved."""
    check_id(run_id, "run")
    _check_kind(kind)
    path = getattr(fetch(models.Run, run_id), f"plot_{kind}_path")
    if not path:
        raise errors.NotFound(f"run {run_id} has no {kind} plot")
    return files.read_figure(path, as_figure=as_figure)


# -- delete ----------------------------------------------------------------------------------------


@writes
def delete(run_id: int) -> None:
    """Delete the run, its metrics, predictions and explainers (the database cascade) and,
    once that commits, ``runs/<id>/`` and every file of every row removed."""
    check_id(run_id, "run")
    fetch(models.Run, run_id)
    delete_rows(models.Run, [run_id])
