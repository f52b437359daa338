"""Model sessions: a task set up on a dataset (columns, splits, metrics) that runs train in.

    >>> from dashai_store import model_sessions                            # doctest: +SKIP
    >>> s = model_sessions.create(                                          # doctest: +SKIP
    ...     ds.id, "iris svm", "TabularClassificationTask",
    ...     input_columns=["sepal_length", "sepal_width"], output_columns=["species"],
    ...     splits={"train": 0.6, "validation": 0.2, "test": 0.2, "seed": 42},
    ...     train_metrics=["Accuracy"], test_metrics=["Accuracy", "F1"])
    >>> model_sessions.update(s.id, name="iris svm v2").name               # doctest: +SKIP
    'iris svm v2'

``splits`` is the split configuration as DashAI's front end sends it: a dict, or its JSON
text (DashAI's ``json.dumps``), which is decoded and stored once, not twice encoded. The
ratios present are checked: ``train``, ``validation`` and ``test`` each a finite number in
[0, 1], those present summing to 1 (within 1e-9), and likewise ``train_size``,
``validation_size`` and ``test_size`` (the holdout splitter's spelling). So are these
options of how the split is drawn:

* ``is_random``, ``shuffle``, ``stratify``, ``has_changed``: bool;
* ``seed``, ``random_state``: int or None.

Every other key (``splitter_name``, which DashAI's ModelJob uses to pick the splitter,
``splitType``, ``n_splits``, ...) is kept as given; it must be JSON. The splits must give
a ratio of either family or a ``splitter_name``, i.e. say how the split is drawn.

Input and output columns are non-empty lists of distinct column names that exist in the
dataset (checked against the Arrow schema in the file's footer, without reading the
data) and do not overlap. The metric lists
(``train_metrics``, ``validation_metrics``, ``test_metrics``) are lists of metric names
or None.
"""

from __future__ import annotations

import builtins
import json
import math
import numbers
from collections.abc import Sequence
from typing import Any

import peewee

from . import errors, files, models
from .cascade import delete_rows
from .clock import utcnow
from .database import reads, writes
from .records import ModelSessionRecord, to_record
from .rows import Reader, check_id, check_json, check_name, fetch, insert_unique, require

__all__ = [
    "OPTION_KEYS",
    "RATIO_KEYS",
    "SIZE_KEYS",
    "create",
    "delete",
    "get",
    "list",
    "update",
]

RATIO_KEYS = ("train", "validation", "test")
#: The same ratios as DashAI's holdout splitter names them; checked as a family of their own.
SIZE_KEYS = ("train_size", "validation_size", "test_size")
OPTION_KEYS = ("is_random", "shuffle", "stratify", "has_changed", "seed", "random_state")
_BOOL_OPTIONS = ("is_random", "shuffle", "stratify", "has_changed")
_SEED_OPTIONS = ("seed", "random_state")
RATIO_TOLERANCE = 1e-9

UPDATABLE = (
    "dataset_id",
    "name",
    "task_name",
    "input_columns",
    "output_columns",
    "splits",
    "train_metrics",
    "validation_metrics",
    "test_metrics",
)
_METRIC_FIELDS = ("train_metrics", "validation_metrics", "test_metrics")


# -- validation ------------------------------------------------------------------------------------


def _check_splits(splits: object, label: str) -> dict[str, Any]:
    """The splits with ratios as floats, or ValidationError naming the key and value at fault."""
    if isinstance(splits, str):
        try:
            splits = json.loads(splits)
        except ValueError as exc:
            raise errors.ValidationError(f"splits of {label} given as text must be JSON: {exc}") from None
    if not isinstance(splits, dict):
        raise errors.ValidationError(f"splits of {label} must be a dict, got {type(splits).__name__}")
    checked: dict[str, Any] = {}
    for key, value in splits.items():
        if key in RATIO_KEYS or key in SIZE_KEYS:
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise errors.ValidationError(
                    f"split ratio {key!r} of {label} must be a number, got {type(value).__name__} {value!r}"
                )
            ratio = float(value)
            if not math.isfinite(ratio) or not 0.0 <= ratio <= 1.0:
                raise errors.ValidationError(
                    f"split ratio {key!r} of {label} must be in [0, 1], got {value!r}"
                )
            checked[key] = ratio
        elif key in _BOOL_OPTIONS:
            if not isinstance(value, bool):
                raise errors.ValidationError(
                    f"split option {key!r} of {label} must be a bool, got {type(value).__name__} {value!r}"
                )
            checked[key] = value
        elif key in _SEED_OPTIONS:
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise errors.ValidationError(
                    f"split option {key!r} of {label} must be an int or None, "
                    f"got {type(value).__name__} {value!r}"
                )
            checked[key] = value
        else:  # the splitter's own settings: kept as the front end sent them
            checked[key] = value
    check_json(checked, f"splits of {label}", mapping=True)
    if not any(key in checked for key in (*RATIO_KEYS, *SIZE_KEYS, "splitter_name")):
        raise errors.ValidationError(
            f"splits of {label} say neither the ratios ({', '.join(RATIO_KEYS)}) nor a splitter_name"
        )
    for family in (RATIO_KEYS, SIZE_KEYS):
        ratios = {key: checked[key] for key in family if key in checked}
        total = math.fsum(ratios.values())
        if ratios and abs(total - 1.0) > RATIO_TOLERANCE:
            raise errors.ValidationError(f"split ratios of {label} sum to {total!r}, not 1: {ratios}")
    return checked


def _check_names(value: object, what: str, label: str, *, allow_none: bool) -> builtins.list[str] | None:
    """A list of distinct str (columns or metrics), or None when ``allow_none``."""
    if value is None and allow_none:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise errors.ValidationError(
            f"{what} of {label} must be a list of str, got {type(value).__name__} {value!r}"
        )
    names: builtins.list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise errors.ValidationError(
                f"{what} of {label} must hold str only, got {type(item).__name__} {item!r}"
            )
        if item in names:
            raise errors.ValidationError(f"{what} of {label} name {item!r} twice")
        names.append(item)
    return names


def _check_columns(value: object, what: str, label: str) -> builtins.list[str]:
    """A non-empty list of distinct column names."""
    if value is None:
        raise errors.ValidationError(f"{what} of {label} must be a list of str, got None")
    columns = _check_names(value, what, label, allow_none=False) or []
    if not columns:
        raise errors.ValidationError(f"{what} of {label} must not be empty")
    return columns


def _check_task(value: object, label: str) -> str:
    return check_name(value, f"task_name of {label}")


def _check_columns_in_dataset(
    dataset: Any, inputs: builtins.list[str], outputs: builtins.list[str], label: str
) -> None:
    overlap = [column for column in inputs if column in outputs]
    if overlap:
        raise errors.ValidationError(
            f"column(s) {', '.join(map(repr, overlap))} of {label} are both input and output columns"
        )
    if dataset.file_path is None:
        raise errors.ValidationError(
            f"dataset {dataset.id} ({dataset.name!r}) has no data yet (it is {dataset.status}); "
            f"{label} cannot check its columns"
        )
    available = set(files.read_arrow_schema(dataset.file_path).names)
    for what, columns in (("input column", inputs), ("output column", outputs)):
        missing = [column for column in columns if column not in available]
        if missing:
            shown = ", ".join(map(repr, sorted(available)[:20])) + (", ..." if len(available) > 20 else "")
            raise errors.ValidationError(
                f"{what}(s) {', '.join(map(repr, missing))} of {label} are not in dataset {dataset.id} "
                f"({dataset.name!r}), whose columns are {shown}"
            )


# -- rows and records ----------------------------------------------------------------------------------


def _record(row: Any) -> ModelSessionRecord:
    return to_record(ModelSessionRecord, row)


_reader: Reader[ModelSessionRecord] = Reader(models.ModelSession, ModelSessionRecord)


def _refuse_taken(name: str, *, other_than: int | None = None) -> None:
    session = models.ModelSession
    row = session.select(session.id).where(session.name == name).get_or_none()
    if row is not None and row.id != other_than:
        raise errors.AlreadyExists(f"a model session named {name!r} already exists (model session {row.id})")


# -- the facade -------------------------------------------------------------------------------------------


@writes
def create(
    dataset_id: int,
    name: str,
    task_name: str,
    input_columns: Sequence[str],
    output_columns: Sequence[str],
    splits: dict[str, Any],
    *,
    train_metrics: Sequence[str] | None = None,
    validation_metrics: Sequence[str] | None = None,
    test_metrics: Sequence[str] | None = None,
) -> ModelSessionRecord:
    """A new model session on dataset ``dataset_id`` (see the module docstring for the rules).

    Raises NotFound (unknown dataset), AlreadyExists (a taken name) or ValidationError
    (anything malformed: name, task, columns, splits, metrics); nothing is written then.
    """
    check_id(dataset_id, "dataset")
    check_name(name, "model session name")
    label = f"model session {name!r}"
    task = _check_task(task_name, label)
    inputs = _check_columns(input_columns, "input_columns", label)
    outputs = _check_columns(output_columns, "output_columns", label)
    checked_splits = _check_splits(splits, label)
    metrics = {
        field: _check_names(value, field, label, allow_none=True)
        for field, value in (
            ("train_metrics", train_metrics),
            ("validation_metrics", validation_metrics),
            ("test_metrics", test_metrics),
        )
    }
    dataset = fetch(models.Dataset, dataset_id)
    _check_columns_in_dataset(dataset, inputs, outputs, label)
    _refuse_taken(name)
    now = utcnow()
    query = models.ModelSession.insert(
        dataset=dataset_id,
        name=name,
        task_name=task,
        input_columns=inputs,
        output_columns=outputs,
        splits=checked_splits,
        created=now,
        last_modified=now,
        **metrics,
    )
    try:
        row_id = insert_unique(query.execute, f"a model session named {name!r}")
    except peewee.IntegrityError as exc:  # not the name: the dataset's foreign key
        raise errors.NotFound(f"dataset {dataset_id} does not exist (it was deleted meanwhile)") from exc
    return _record(fetch(models.ModelSession, int(row_id)))


@reads
def get(session_id: int) -> ModelSessionRecord:
    """The model session with this id; NotFound if there is none."""
    return _reader.get(check_id(session_id, "model session"))


@reads
def list(dataset_id: int | None = None) -> builtins.list[ModelSessionRecord]:
    """Every model session ordered by id, or only those on ``dataset_id`` (NotFound if unknown)."""
    session = models.ModelSession
    query = session.select().order_by(session.id)
    if dataset_id is not None:
        check_id(dataset_id, "dataset")
        require(models.Dataset, dataset_id, "dataset")
        query = query.where(session.dataset == dataset_id)
    return _reader.all(query)


@writes
def update(session_id: int, **changes: Any) -> ModelSessionRecord:
    """Change any of :data:`UPDATABLE` (dataset, name, task_name, columns, splits, metric lists).

    The session as it would be after the change is validated as a whole (e.g. new input
    columns must not overlap the current output columns). Moving it to another dataset
    (``dataset_id``, as DashAI's session page does) re-checks its columns against that
    dataset's. Raises NotFound (an unknown session or dataset), AlreadyExists (a taken
    name) or ValidationError; nothing is written then. Returns the updated record
    (unchanged when nothing differs).

        >>> model_sessions.update(s.id, splits={"train": 0.8, "test": 0.2})  # doctest: +SKIP
        >>> model_sessions.update(s.id, dataset_id=other.id)                # doctest: +SKIP
    """
    check_id(session_id, "model session")
    unknown = sorted(set(changes) - set(UPDATABLE))
    if unknown:
        raise errors.ValidationError(
            f"model session {session_id}: cannot update {', '.join(unknown)}; "
            f"updatable fields are {', '.join(UPDATABLE)}"
        )
    row: Any = fetch(models.ModelSession, session_id, lock=True)
    label = f"model session {session_id} ({row.name!r})"
    checked: dict[str, Any] = {}
    if "dataset_id" in changes:
        checked["dataset_id"] = check_id(changes["dataset_id"], "dataset")
    if "name" in changes:
        checked["name"] = check_name(changes["name"], "model session name")
    if "task_name" in changes:
        checked["task_name"] = _check_task(changes["task_name"], label)
    for field in ("input_columns", "output_columns"):
        if field in changes:
            checked[field] = _check_columns(changes[field], field, label)
    if "splits" in changes:
        checked["splits"] = _check_splits(changes["splits"], label)
    for field in _METRIC_FIELDS:
        if field in changes:
            checked[field] = _check_names(changes[field], field, label, allow_none=True)
    differing = {field: value for field, value in checked.items() if getattr(row, field) != value}
    if not differing:
        return _record(row)
    if {"dataset_id", "input_columns", "output_columns"} & set(differing):
        dataset = fetch(models.Dataset, differing.get("dataset_id", row.dataset_id))
        inputs = differing.get("input_columns", row.input_columns)
        outputs = differing.get("output_columns", row.output_columns)
        _check_columns_in_dataset(dataset, inputs, outputs, label)
    if "name" in differing:
        _refuse_taken(differing["name"], other_than=session_id)
    columns = {("dataset" if field == "dataset_id" else field): value for field, value in differing.items()}
    query = models.ModelSession.update(**columns, last_modified=utcnow()).where(
        models.ModelSession.id == session_id
    )
    try:
        insert_unique(query.execute, f"a model session named {differing.get('name')!r}")
    except peewee.IntegrityError as exc:  # not the name: the new dataset's foreign key
        raise errors.NotFound(f"dataset {columns.get('dataset')} does not exist (deleted meanwhile)") from exc
    return _record(fetch(models.ModelSession, session_id))


@writes
def delete(session_id: int) -> None:
    """Delete the model session, its runs (with their metrics, predictions and explainers)
    and every file of every removed row (after the transaction commits)."""
    check_id(session_id, "model session")
    fetch(models.ModelSession, session_id, lock=True)
    delete_rows(models.ModelSession, [session_id])
