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

DashAI's ModelJob, as the store serves it: the API process delivers; the worker records
its job id and the split indexes it computed, starts, logs metrics, saves the model and
plots, finishes; the runs page lists runs with their LAST metrics::

    >>> runs.deliver(run.id)                                                # doctest: +SKIP
    >>> runs.set_job_id(run.id, "huey-7f3a")                                # doctest: +SKIP
    >>> runs.set_split_indexes(run.id, json.dumps(indexes)); runs.start(run.id)  # doctest: +SKIP
    >>> runs.list_with_metrics(session.id, limit=20)                        # doctest: +SKIP

Edits (:func:`update`): name, description and goal metric in place; parameters and the
optimizer start the run over, as :func:`reset` does.
"""

from __future__ import annotations

import builtins
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import artifacts, errors, files, metrics_logger, models, paging
from .cascade import delete_rows
from .clock import utcnow
from .database import in_transaction, reads, writes
from .enums import LevelEnum, RunStatus, coerce
from .lifecycle import DELIVERED, NOT_STARTED, STARTED, move
from .records import RunRecord, RunWithMetrics, to_record
from .rows import Jobs, Reader, check_id, check_json, check_name, check_text, fetch, not_found, require

__all__ = [
    "PLOT_KINDS",
    "create",
    "delete",
    "deliver",
    "fail",
    "finish",
    "get",
    "list",
    "list_with_metrics",
    "load_model",
    "load_plot",
    "reset",
    "save_model",
    "save_plot",
    "set_job_id",
    "set_split_indexes",
    "start",
    "update",
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
    plots: Mapping[str, Any] | None = None,
) -> RunRecord:
    """A new NOT_STARTED run in a model session.

    ``parameters`` and ``optimizer_parameters`` are JSON-serializable dicts;
    ``split_indexes`` any JSON value (DashAI stores the row indexes of each split; JSON
    text is decoded, see :func:`set_split_indexes`). ``plots`` imports existing figures
    (DashAI's ``upload_run``): kind (one of :data:`PLOT_KINDS`) -> a Plotly figure, its dict
    or JSON text, or the ``pathlib.Path`` of a file holding figure JSON or a pickled figure
    (DashAI's ``plot_*_path`` files, read as data only: a pickle naming any other class is
    refused with ValidationError and nothing of it runs); each is copied
    into ``runs/<id>/plots/<kind>.json`` (the source file is left alone).
    Raises NotFound for an unknown session and ValidationError for a bad argument (an
    unreadable plot file among them); nothing is written then.

    >>> runs.create(s.id, "uploaded", "SVC", {"C": 1.0}, plots={"history": Path("h.json")})
    ... # doctest: +SKIP
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
    split_indexes = _check_split_indexes(split_indexes, optional=True)
    check_text(description, "a description", optional=True)
    figures = _check_plots(plots)
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
    if figures:
        columns: dict[str, Any] = {"run_path": files.layout.run_folder(row.id)}
        for kind, text in figures.items():
            relative = files.layout.run_plot(row.id, kind)
            files.discard_on_rollback(relative)
            files.write_figure(relative, text)
            columns[f"plot_{kind}_path"] = relative
        models.Run.update(**columns).where(models.Run.id == row.id).execute()
    return _record(fetch(models.Run, row.id))


def _check_plots(plots: object) -> dict[str, str]:
    """Kind -> figure JSON text, read and validated before anything is written."""
    if plots is None:
        return {}
    # Here, not at the top: importing pickle and the plot reader is start-up time the app's
    # import line would pay for an upload it rarely makes.
    from .files import plots as plots_io

    if not isinstance(plots, Mapping):
        raise errors.ValidationError(f"plots must be a dict of kind -> figure, got {type(plots).__name__}")
    figures: dict[str, str] = {}
    for kind, figure in plots.items():
        _check_kind(kind)
        if isinstance(figure, Path):
            try:
                figure = figure.read_bytes()
            except OSError as exc:
                raise errors.ValidationError(f"the {kind} plot file {figure} cannot be read: {exc}") from None
        try:
            if isinstance(figure, bytes) and plots_io.looks_pickled(figure):
                # DashAI's upload_run hands over its pickled plot files: read as data only.
                figures[kind] = plots_io.figure_json_from_pickle(figure)
                continue
            figures[kind] = files.figure_json(figure)
        except errors.ValidationError as exc:
            raise errors.ValidationError(f"the {kind} plot: {exc}") from None
        except UnicodeDecodeError:
            raise errors.ValidationError(f"the {kind} plot is not UTF-8 figure JSON") from None
    return figures


def _check_split_indexes(value: object, *, optional: bool) -> Any:
    """Split indexes as stored: any JSON value; JSON text (DashAI's ``json.dumps``) decoded."""
    if value is None:
        if optional:
            return None
        raise errors.ValidationError("split_indexes must be a JSON value, not None")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise errors.ValidationError(f"split_indexes given as text must be JSON: {exc}") from None
    return check_json(value, "split_indexes", mapping=False)


@reads
def get(run_id: int) -> RunRecord:
    """The run ``run_id``; NotFound if there is none."""
    return _reader.get(check_id(run_id, "run"), "run")


@reads
def list(
    model_session_id: int | None = None,
    status: RunStatus | str | None = None,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> builtins.list[RunRecord]:
    """Runs, oldest first (by id); optionally of one model session and/or in one status.

    ``limit`` and ``offset`` page through a long list in that stable order.
    An unknown model session is NotFound (not an empty list), a bad status or page
    ValidationError.

    >>> runs.list(session.id, limit=50, offset=100)                      # doctest: +SKIP
    """
    return _reader.all(_query(model_session_id, status, limit, offset))


# -- reading, below the ORM ---------------------------------------------------------------------

_reader: Reader[RunRecord] = Reader(models.Run, RunRecord, paths=("run_path", *_PLOT_COLUMNS))


def _query(model_session_id: object, status: object, limit: object, offset: object) -> Any:
    cut = paging.check(limit, offset)
    query = models.Run.select().order_by(models.Run.id)
    if model_session_id is not None:
        session_id = check_id(model_session_id, "model session")
        require(models.ModelSession, session_id, "model session")
        query = query.where(models.Run.model_session == session_id)
    if status is not None:
        query = query.where(models.Run.status == coerce(RunStatus, status))
    return paging.page(query, *cut)


@reads
def list_with_metrics(
    model_session_id: int | None = None,
    status: RunStatus | str | None = None,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> builtins.list[RunWithMetrics]:
    """:func:`list`, each run with its LAST metrics (DashAI's runs page), in two queries.

    ``last_metrics`` is ``{split name: {metric name: value}}`` as :func:`metrics.latest
    <dashai_store.metrics.latest>` gives it; a run without LAST metrics has ``{}``.

    >>> [(r.run.name, r.last_metrics) for r in runs.list_with_metrics(session.id)]  # doctest: +SKIP
    [('svm', {'TEST': {'accuracy': 0.93}})]
    """
    found = _reader.all(_query(model_session_id, status, limit, offset))
    by_run: dict[int, dict[str, dict[str, float]]] = {record.id: {} for record in found}
    metric = models.Metric
    # One query for the page: the ids are few (a page), and (run_id, split, level, name)
    # is the summary key's index.
    query = (
        metric.select(metric.run, metric.split, metric.name, metric.value)
        .where(metric.run.in_(builtins.list(by_run)) & (metric.level == LevelEnum.LAST.name))
        .order_by(metric.run, metric.split, metric.name)
        .tuples()
    )
    for run_id, split, name, value in query.iterator() if by_run else ():
        by_run[run_id].setdefault(split, {})[name] = math.nan if value is None else float(value)
    return [RunWithMetrics(run=record, last_metrics=by_run[record.id]) for record in found]


# -- lifecycle ---------------------------------------------------------------------------------

_jobs: Jobs[RunRecord] = Jobs(models.Run, _record, "run")


def deliver(run_id: int, job_id: str | None = None) -> RunRecord:
    """NOT_STARTED -> DELIVERED, recording the job queue's id and the delivery time."""
    return _jobs.deliver(run_id, job_id)


@writes
def start(run_id: int, job_id: str | None = None) -> RunRecord:
    """DELIVERED -> STARTED, recording the start time (and ``job_id``, when the worker
    knows it only now; None keeps the job id given at :func:`deliver`).

    >>> runs.start(run.id, job_id="huey-7f3a")                          # doctest: +SKIP
    """
    checked = check_id(run_id, "run")
    job = check_text(job_id, "job_id", optional=True, row=f"run {checked}")
    return _record(move(models.Run, checked, STARTED, extra=None if job is None else {"huey_id": job}))


#: The statuses in which a run's job may still write its job id and split indexes.
_UNFINISHED = (NOT_STARTED.name, DELIVERED.name, STARTED.name)


def _set_while_unfinished(run_id: int, what: str, changes: dict[str, Any]) -> RunRecord:
    run = models.Run
    updated = (
        run.update(**changes, last_modified=utcnow())
        .where((run.id == run_id) & run.status.in_(_UNFINISHED))
        .execute()
    )
    if not updated:
        row = fetch(models.Run, run_id)
        raise errors.InvalidTransition(
            f"run {run_id} is {row.status}: its {what} can be set only before it finishes (reset it first)"
        )
    return _record(fetch(models.Run, run_id))


@writes
def set_job_id(run_id: int, job_id: str) -> RunRecord:
    """Record the job queue's id of the run's job, as DashAI's worker does when it picks
    the job up (after the API process delivered it). Refused with InvalidTransition once
    the run is FINISHED or ERROR.

    >>> runs.set_job_id(run.id, "huey-7f3a")                            # doctest: +SKIP
    """
    checked = check_id(run_id, "run")
    job = check_text(job_id, "job_id", required=True, row=f"run {checked}")
    return _set_while_unfinished(checked, "job id", {"huey_id": job})


@writes
def set_split_indexes(run_id: int, split_indexes: Any) -> RunRecord:
    """Record the row indexes of each split, computed by the training job after splitting
    (DashAI's ModelJob; its ExplainerJob reads them back from :func:`get`).

    Any JSON value; JSON text (DashAI's ``json.dumps(splits)``) is decoded so it is
    stored once, not twice encoded. Refused with InvalidTransition once the run is FINISHED
    or ERROR (explainers rely on the indexes a finished run was trained with).

    >>> runs.set_split_indexes(run.id, {"train": [0, 1, 2], "test": [3]})  # doctest: +SKIP
    """
    checked = check_id(run_id, "run")
    value = _check_split_indexes(split_indexes, optional=False)
    return _set_while_unfinished(checked, "split indexes", {"split_indexes": value})


def finish(run_id: int) -> RunRecord:
    """STARTED -> FINISHED, recording the end time (after the run's metric loggers flush)."""
    _flush_loggers(run_id)
    return _jobs.finish(run_id)


def fail(run_id: int, error: str) -> RunRecord:
    """DELIVERED or STARTED -> ERROR, recording the end time and the error message (after
    the run's metric loggers flush)."""
    _flush_loggers(run_id)
    return _jobs.fail(run_id, error)


def _flush_loggers(run_id: object) -> None:
    # A bad id is left to the transition to refuse, with its usual message.
    if type(run_id) is int:
        metrics_logger.flush_run(run_id)


#: Fields :func:`update` changes in place, and those whose change starts the run over.
EDITABLE = ("name", "description", "goal_metric")
RESETTING = ("parameters", "optimizer_name", "optimizer_parameters")


@writes
def update(run_id: int, **changes: Any) -> RunRecord:
    """Edit a run as DashAI's run page does.

    ``name``, ``description`` and ``goal_metric`` change in place. ``parameters``,
    ``optimizer_name`` and ``optimizer_parameters`` change what the run would train, so
    a change to any of them also resets the run as :func:`update_parameters` does (back to
    NOT_STARTED; metrics, model and plots gone; refused with InvalidTransition while its
    job runs). Values equal to the stored ones change nothing (no reset). Unknown fields
    and bad values are ValidationError; nothing is written then.

    >>> runs.update(run.id, name="svm (tuned)", goal_metric="f1")           # doctest: +SKIP
    >>> runs.update(run.id, optimizer_name="HyperOpt", optimizer_parameters={"n": 5})
    ... # doctest: +SKIP
    """
    checked_id = check_id(run_id, "run")
    unknown = sorted(set(changes) - {*EDITABLE, *RESETTING})
    if unknown:
        raise errors.ValidationError(
            f"run {checked_id}: cannot update {', '.join(unknown)}; "
            f"updatable fields are {', '.join((*EDITABLE, *RESETTING))}"
        )
    checked: dict[str, Any] = {}
    if "name" in changes:
        checked["name"] = check_name(changes["name"], "a run name")
    if "description" in changes:
        checked["description"] = check_text(changes["description"], "a description", optional=True)
    if "goal_metric" in changes:
        checked["goal_metric"] = check_text(changes["goal_metric"], "goal_metric")
    if "parameters" in changes:
        checked["parameters"] = check_json(changes["parameters"], "parameters", mapping=True)
    if "optimizer_name" in changes:
        checked["optimizer_name"] = check_text(changes["optimizer_name"], "an optimizer name")
    if "optimizer_parameters" in changes:
        checked["optimizer_parameters"] = check_json(
            changes["optimizer_parameters"], "optimizer_parameters", mapping=True
        )
    row = fetch(models.Run, checked_id, lock=True)
    differing = {field: value for field, value in checked.items() if getattr(row, field) != value}
    if any(field in RESETTING for field in differing):
        return _reset(checked_id, differing)
    if differing:
        models.Run.update(**differing, last_modified=utcnow()).where(models.Run.id == checked_id).execute()
        row = fetch(models.Run, checked_id)
    return _record(row)


@writes
def reset(run_id: int) -> RunRecord:
    """DashAI's reset without a change: the run starts over as in :func:`update_parameters`
    (NOT_STARTED, metrics, model and plots gone; InvalidTransition while its job runs).

    >>> runs.reset(run.id).status                                          # doctest: +SKIP
    <RunStatus.NOT_STARTED: 0>
    """
    return _reset(check_id(run_id, "run"), {})


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
    return _reset(run_id, changes)


def _reset(run_id: int, changes: dict[str, Any]) -> RunRecord:
    """Back to NOT_STARTED with ``changes``, inside the caller's write transaction: the
    run's metrics, model and plots go (files after COMMIT)."""
    changes = {**changes, "artifacts": None, "run_path": None, **dict.fromkeys(_PLOT_COLUMNS)}
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
def load_model(run_id: int, *, trust: bool = False) -> Any:
    """The run's model, unpickled only if the file's sha256 matches the one recorded.

    NotFound if the run has no model (or its file is gone); FileIntegrityError if the
    file was changed on disk (it is then not unpickled). A run imported from a bundle
    (someone else's code) raises UntrustedArtifact, nothing loaded, unless ``trust=True``
    or the import was trusted (:mod:`dashai_store.bundles`).
    """
    check_id(run_id, "run")
    row = fetch(models.Run, run_id)
    model = (row.artifacts or {}).get("model")
    if not isinstance(model, dict) or not isinstance(model.get("path"), str):
        raise errors.NotFound(f"run {run_id} has no saved model")
    artifacts.refuse_untrusted(row, f"the model of run {run_id}", trust=trust)
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
    checked = check_id(run_id, "run")
    # The delete itself says whether the run existed (no lookup first); an unknown id
    # scheduled nothing, and raising rolls the transaction back.
    if not delete_rows(models.Run, [checked]):
        raise not_found("run", checked)
