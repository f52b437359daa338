"""Explainers of a trained run: global (the whole model) and local (instances of a dataset).

A global explainer belongs to a run; a local explainer to a run and the dataset whose
instances it explains (with its fit parameters and scope). Deleting the run, or the
dataset, deletes the explainers and their files (the database cascades; the files are
removed after COMMIT).

API shape: the two kinds are created, listed and deleted by their own functions
(:func:`create_global` / :func:`create_local`, :func:`list_global` / :func:`list_local`,
:func:`delete_global` / :func:`delete_local`), because creating and listing take
different arguments. Everything that acts on one existing explainer — :func:`get`, the
lifecycle (:func:`deliver`, :func:`start`, :func:`finish`, :func:`fail`, :func:`reset`)
and its files (:func:`save_explanation`, :func:`load_explanation`, :func:`save_plot`,
:func:`load_plot`) — takes ``kind`` first, ``"global"`` or ``"local"`` (anything else is
a ValidationError), then the explainer's id:

    >>> from dashai_store import explainers                              # doctest: +SKIP
    >>> e = explainers.create_global(run.id, "importance", "PermutationFeatureImportance", {})
    >>> explainers.deliver("global", e.id, job_id="huey-1")              # doctest: +SKIP
    >>> explainers.start("global", e.id)                                 # doctest: +SKIP
    >>> explainers.save_explanation("global", e.id, explanation)         # doctest: +SKIP
    >>> explainers.save_plot("global", e.id, figure)                     # doctest: +SKIP
    >>> explainers.finish("global", e.id)                                # doctest: +SKIP

Files (see :mod:`dashai_store.files.layout`), named by the explainer's id, never by a user's name::

    explainers/<kind>/<id>/explanation.joblib   sha256 in artifacts["explanation"]
    explainers/<kind>/<id>/plot.json            Plotly figure JSON, or a JSON list of figures

An explanation is loaded only if the file's sha256 matches the one recorded when the
store wrote it (unpickling runs code): an altered file is refused with
:class:`~dashai_store.errors.FileIntegrityError`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal, TypeAlias, overload

from . import artifacts, errors, files, models, paging
from .cascade import delete_rows
from .clock import utcnow
from .database import in_transaction, reads, writes
from .lifecycle import STARTED, move
from .records import GlobalExplainerRecord, LocalExplainerRecord, to_record
from .rows import Jobs, Reader, check_id, check_json, check_name, check_text, fetch, require

__all__ = [
    "ExplainerRecord",
    "Kind",
    "create_global",
    "create_local",
    "delete_global",
    "delete_local",
    "deliver",
    "fail",
    "finish",
    "get",
    "list_global",
    "list_local",
    "load_explanation",
    "load_plot",
    "reset",
    "save_explanation",
    "save_plot",
    "start",
]

Kind: TypeAlias = Literal["global", "local"]
ExplainerRecord: TypeAlias = GlobalExplainerRecord | LocalExplainerRecord
ExplainerModel: TypeAlias = type[models.GlobalExplainer] | type[models.LocalExplainer]


# -- records ---------------------------------------------------------------------------------


def _global_record(row: Any) -> GlobalExplainerRecord:
    return to_record(
        GlobalExplainerRecord,
        row,
        explanation_path=files.to_absolute(row.explanation_path),
        plot_path=files.to_absolute(row.plot_path),
    )


def _local_record(row: Any) -> LocalExplainerRecord:
    return to_record(
        LocalExplainerRecord,
        row,
        explanation_path=files.to_absolute(row.explanation_path),
        plots_path=files.to_absolute(row.plots_path),
    )


def _record(kind: Kind, row: Any) -> ExplainerRecord:
    return _global_record(row) if kind == "global" else _local_record(row)


_global_jobs = Jobs(models.GlobalExplainer, _global_record, "global explainer")
_local_jobs = Jobs(models.LocalExplainer, _local_record, "local explainer")
_global_reader: Reader[GlobalExplainerRecord] = Reader(
    models.GlobalExplainer, GlobalExplainerRecord, paths=("explanation_path", "plot_path")
)
_local_reader: Reader[LocalExplainerRecord] = Reader(
    models.LocalExplainer, LocalExplainerRecord, paths=("explanation_path", "plots_path")
)


# -- validation ------------------------------------------------------------------------------


def _check_kind(kind: object) -> Kind:
    if kind == "global" and isinstance(kind, str):
        return "global"
    if kind == "local" and isinstance(kind, str):
        return "local"
    raise errors.ValidationError(f"explainer kind must be 'global' or 'local', got {kind!r}")


def _model(kind: Kind) -> ExplainerModel:
    return models.GlobalExplainer if kind == "global" else models.LocalExplainer


def _noun(kind: Kind, explainer_id: int) -> str:
    return f"{kind} explainer {explainer_id}"


# -- create, get, list, delete -------------------------------------------------------------------


@writes
def create_global(
    run_id: int, name: str, explainer_name: str, parameters: Mapping[str, Any]
) -> GlobalExplainerRecord:
    """A new global explainer of run ``run_id`` (NOT_STARTED); NotFound if the run does not exist."""
    check_id(run_id, "run")
    check_name(name, "explainer name")
    check_name(explainer_name, "explainer_name")
    params = check_json(parameters, f"parameters of explainer {name!r}", mapping=True)
    require(models.Run, run_id, "run")
    row = models.GlobalExplainer.create(
        run=run_id, name=name, explainer_name=explainer_name, parameters=params, created=utcnow()
    )
    return _global_record(fetch(models.GlobalExplainer, row.id))


@writes
def create_local(
    run_id: int,
    dataset_id: int,
    name: str,
    explainer_name: str,
    parameters: Mapping[str, Any],
    fit_parameters: Mapping[str, Any],
    scope: Any,
) -> LocalExplainerRecord:
    """A new local explainer of run ``run_id`` over dataset ``dataset_id`` (NOT_STARTED).

    ``scope`` says which instances are explained (any JSON value but None, e.g.
    ``{"instances": [0, 4, 9]}``). NotFound if the run or the dataset does not exist.
    """
    check_id(run_id, "run")
    check_id(dataset_id, "dataset")
    check_name(name, "explainer name")
    check_name(explainer_name, "explainer_name")
    params = check_json(parameters, f"parameters of explainer {name!r}", mapping=True)
    fit = check_json(fit_parameters, f"fit_parameters of explainer {name!r}", mapping=True)
    scope = check_json(scope, f"scope of explainer {name!r}", mapping=False, optional=False)
    require(models.Run, run_id, "run")
    require(models.Dataset, dataset_id, "dataset")
    row = models.LocalExplainer.create(
        run=run_id,
        dataset=dataset_id,
        name=name,
        explainer_name=explainer_name,
        parameters=params,
        fit_parameters=fit,
        scope=scope,
        created=utcnow(),
    )
    return _local_record(fetch(models.LocalExplainer, row.id))


@overload
def get(kind: Literal["global"], explainer_id: int) -> GlobalExplainerRecord: ...
@overload
def get(kind: Literal["local"], explainer_id: int) -> LocalExplainerRecord: ...
def get(kind: Kind, explainer_id: int) -> ExplainerRecord:
    """Explainer ``explainer_id`` of ``kind``; NotFound if there is none.

    >>> explainers.get("local", 3).scope                                 # doctest: +SKIP
    """
    return _get(kind, explainer_id)


@reads
def _get(kind: object, explainer_id: object) -> ExplainerRecord:
    checked = _check_kind(kind)
    reader: Reader[Any] = _global_reader if checked == "global" else _local_reader
    row_id = check_id(explainer_id, f"{checked} explainer")
    found: ExplainerRecord = reader.get(row_id, f"{checked} explainer")
    return found


@reads
def list_global(
    run_id: int | None = None, *, limit: int | None = None, offset: int = 0
) -> list[GlobalExplainerRecord]:
    """The global explainers of run ``run_id``, or of every run when it is None; oldest
    first (by id), one query. ``limit``/``offset`` page through them.

    NotFound if the run does not exist; ValidationError for a bad id or page.

    >>> explainers.list_global()             # DashAI's GET /global without run_id  # doctest: +SKIP
    """
    cut = paging.check(limit, offset)
    model = models.GlobalExplainer
    query = model.select()
    if run_id is not None:
        checked = check_id(run_id, "run")
        require(models.Run, checked, "run")
        query = query.where(model.run == checked)
    return _global_reader.all(paging.page(query.order_by(model.id), *cut))


@reads
def list_local(
    run_id: int | None = None,
    dataset_id: int | None = None,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> list[LocalExplainerRecord]:
    """The local explainers of run ``run_id`` and/or over dataset ``dataset_id`` (either
    None: any); oldest first (by id), one query. ``limit``/``offset`` page through them.

    NotFound for an unknown run or dataset; ValidationError for a bad id or page.

    >>> explainers.list_local(dataset_id=ds.id)                          # doctest: +SKIP
    """
    cut = paging.check(limit, offset)
    model = models.LocalExplainer
    query = model.select()
    if run_id is not None:
        checked_run = check_id(run_id, "run")
        require(models.Run, checked_run, "run")
        query = query.where(model.run == checked_run)
    if dataset_id is not None:
        checked_dataset = check_id(dataset_id, "dataset")
        require(models.Dataset, checked_dataset, "dataset")
        query = query.where(model.dataset == checked_dataset)
    return _local_reader.all(paging.page(query.order_by(model.id), *cut))


def _delete(kind: Kind, explainer_id: object) -> None:
    checked_id = check_id(explainer_id, f"{kind} explainer")
    fetch(_model(kind), checked_id, lock=True)
    delete_rows(_model(kind), [checked_id])


@writes
def delete_global(explainer_id: int) -> None:
    """Delete global explainer ``explainer_id``; its folder goes once the deletion commits."""
    _delete("global", explainer_id)


@writes
def delete_local(explainer_id: int) -> None:
    """Delete local explainer ``explainer_id``; its folder goes once the deletion commits."""
    _delete("local", explainer_id)


# -- lifecycle ------------------------------------------------------------------------------------


def _jobs(kind: object) -> Jobs[Any]:
    return _global_jobs if _check_kind(kind) == "global" else _local_jobs


def deliver(kind: Kind, explainer_id: int, job_id: str | None = None) -> ExplainerRecord:
    """NOT_STARTED -> DELIVERED: handed to the job queue as ``job_id``."""
    result: ExplainerRecord = _jobs(kind).deliver(explainer_id, job_id)
    return result


def start(kind: Kind, explainer_id: int, job_id: str | None = None) -> ExplainerRecord:
    """DELIVERED -> STARTED: a worker began computing the explanation (recording
    ``job_id`` when the worker knows it only now; None keeps the one given at delivery).

    >>> explainers.start("local", e.id, job_id="huey-2")                 # doctest: +SKIP
    """
    return _start(kind, explainer_id, job_id)


@writes
def _start(kind: object, explainer_id: object, job_id: object) -> ExplainerRecord:
    checked = _check_kind(kind)
    noun = f"{checked} explainer"
    row_id = check_id(explainer_id, noun)
    job = check_text(job_id, "job_id", optional=True, row=f"{noun} {row_id}")
    row = move(_model(checked), row_id, STARTED, extra=None if job is None else {"huey_id": job})
    return _record(checked, row)


def finish(kind: Kind, explainer_id: int) -> ExplainerRecord:
    """STARTED -> FINISHED."""
    result: ExplainerRecord = _jobs(kind).finish(explainer_id)
    return result


def fail(kind: Kind, explainer_id: int, error: str) -> ExplainerRecord:
    """DELIVERED or STARTED -> ERROR, keeping ``error`` as the reason shown to the user."""
    result: ExplainerRecord = _jobs(kind).fail(explainer_id, error)
    return result


def reset(kind: Kind, explainer_id: int) -> ExplainerRecord:
    """FINISHED or ERROR -> NOT_STARTED (to run it again); its files are kept until overwritten."""
    result: ExplainerRecord = _jobs(kind).reset(explainer_id)
    return result


# -- files ------------------------------------------------------------------------------------------


def save_explanation(kind: Kind, explainer_id: int, obj: Any) -> ExplainerRecord:
    """Store ``obj`` (any joblib-picklable value) as the explainer's explanation.

    The file is ``explainers/<kind>/<id>/explanation.joblib``; its sha256 goes to
    ``artifacts["explanation"]``. An object joblib cannot pickle is a ValidationError and
    leaves the previous explanation in place.

    A replacement never overwrites the committed explanation before the row stops
    referring to it (a crash in between would leave the recorded checksum naming bytes
    that are gone, and the explanation refused forever): it is written under a new name
    and committed there, then, in a second transaction, linked over ``explanation.joblib``
    and the row repointed (:func:`artifacts.save_joblib`). A crash at any moment leaves
    the row naming a whole file, the old or the new one. Inside an outer transaction the
    second step runs once that transaction commits (the record returned then names the
    new file's first name).
    """
    checked = _check_kind(kind)
    checked_id = check_id(explainer_id, f"{checked} explainer")
    record = _save_explanation(checked, checked_id, obj)
    return record if in_transaction() else _get(checked, checked_id)


@writes
def _save_explanation(kind: Kind, explainer_id: int, obj: Any) -> ExplainerRecord:
    artifacts.save_joblib(
        _model(kind),
        explainer_id,
        obj,
        final=files.layout.explainer_explanation(kind, explainer_id),
        artifact="explanation",
        path_column="explanation_path",
        what=f"the explanation of {_noun(kind, explainer_id)}",
    )
    return _record(kind, fetch(_model(kind), explainer_id))


@reads
def load_explanation(kind: Kind, explainer_id: int, *, trust: bool = False) -> Any:
    """The stored explanation; NotFound if none was saved.

    Refused with FileIntegrityError if the file's sha256 is not the recorded one (it was
    altered, or written by something other than this store), before anything is unpickled;
    with UntrustedArtifact for an explainer imported from a bundle (someone else's code)
    unless ``trust=True`` or the import was trusted (:mod:`dashai_store.bundles`).
    """
    checked = _check_kind(kind)
    checked_id = check_id(explainer_id, f"{checked} explainer")
    row = fetch(_model(checked), checked_id)
    if not row.explanation_path:
        raise errors.NotFound(f"{_noun(checked, checked_id)} has no saved explanation")
    entry = (row.artifacts or {}).get("explanation") or {}
    # A checksum recorded for another path does not vouch for this one.
    sha256 = entry.get("sha256") if entry.get("path") == row.explanation_path else None
    artifacts.refuse_untrusted(row, f"the explanation of {_noun(checked, checked_id)}", trust=trust)
    return files.load_joblib(row.explanation_path, sha256)


def _figures_json(kind: Kind, explainer_id: int, figure: Any) -> str:
    if isinstance(figure, (list, tuple)):
        if not figure:
            raise errors.ValidationError(f"the plot list of {_noun(kind, explainer_id)} is empty")
        return "[" + ",".join(files.figure_json(item) for item in figure) + "]"
    return files.figure_json(figure)


@writes
def save_plot(kind: Kind, explainer_id: int, figure: Any) -> ExplainerRecord:
    """Store the explainer's plot: a Plotly figure, its dict or JSON text, or a list of those.

    Local explainers usually draw one figure per explained instance, hence the list form
    (kept for both kinds). Written to ``explainers/<kind>/<id>/plot.json``; sets
    ``plot_path`` (global) or ``plots_path`` (local). A value that is not a figure is a
    ValidationError and writes nothing.
    """
    checked = _check_kind(kind)
    checked_id = check_id(explainer_id, f"{checked} explainer")
    text = _figures_json(checked, checked_id, figure)  # validated before anything is written
    row: Any = fetch(_model(checked), checked_id, lock=True)
    relative = files.layout.explainer_plot(checked, checked_id)
    if not (row.plot_path if checked == "global" else row.plots_path):
        files.discard_on_rollback(relative)  # a first plot: no committed row refers to it yet
    files.write_bytes(relative, text.encode())
    if checked == "global":
        models.GlobalExplainer.update(plot_path=relative).where(
            models.GlobalExplainer.id == checked_id
        ).execute()
    else:
        models.LocalExplainer.update(plots_path=relative).where(
            models.LocalExplainer.id == checked_id
        ).execute()
    return _record(checked, fetch(_model(checked), checked_id))


@reads
def load_plot(kind: Kind, explainer_id: int, as_figure: bool = True) -> Any:
    """The stored plot as saved: one figure, or a list of figures.

    With ``as_figure`` (default) each is a ``plotly.graph_objects.Figure`` (imports plotly);
    otherwise the decoded JSON (a dict, or a list of dicts), which needs no plotly.
    NotFound if no plot was saved.
    """
    checked = _check_kind(kind)
    checked_id = check_id(explainer_id, f"{checked} explainer")
    row: Any = fetch(_model(checked), checked_id)
    relative = row.plot_path if checked == "global" else row.plots_path
    if not relative:
        raise errors.NotFound(f"{_noun(checked, checked_id)} has no saved plot")
    value = files.read_json(relative)
    if not as_figure:
        return value
    if isinstance(value, list):
        return [_to_figure(item, relative) for item in value]
    return _to_figure(value, relative)


def _to_figure(value: Any, relative: str) -> Any:
    import plotly.io as pio

    try:
        return pio.from_json(json.dumps(value))
    except Exception as exc:  # plotly validates the whole figure and raises ValueError or others
        raise errors.FileIntegrityError(f"{files.resolve(relative)} is not a Plotly figure: {exc}") from exc
