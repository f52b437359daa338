"""Frozen dataclasses the facade returns; never Peewee model instances.

One exception: :class:`MetricPoint` is a ``NamedTuple`` (as immutable, and built at tuple
speed: a live chart reads points by the thousand).

Records are immutable snapshots, safe to hand across threads. Paths in records are
absolute (the rows keep them relative to the home); enums are the members of
:mod:`dashai_store.enums`; JSON columns are decoded.

A value stored by hand that this code cannot read (invalid JSON, an unknown enum name,
text in a number column) is never raised while building a record: the field holds a
:class:`~dashai_store.decoding.Unreadable` (the raw text, marked with its problem) and
:func:`unreadable_fields` lists such fields. ``maintenance.check()`` reports the row.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple, TypeVar, cast

from .decoding import Unreadable, decode_enum
from .enums import DataType, LevelEnum, PluginStatus, PluginTag, RunStatus, SplitEnum

if sys.version_info >= (3, 11):
    from typing import dataclass_transform
else:  # pragma: no cover - Python 3.10: the decorator only informs type checkers

    def dataclass_transform(**_: Any) -> Callable[[Any], Any]:
        return lambda decorated: decorated


# -- the record decorator ------------------------------------------------------------------------

C = TypeVar("C", bound=type[Any])


@dataclass_transform(frozen_default=True, kw_only_default=True, field_specifiers=(field,))
def record(cls: C) -> C:
    """``@dataclass(frozen=True, kw_only=True, slots=True)``, without compiling code for each class.

    ``dataclass`` writes and compiles ``__init__``, ``__repr__``, ``__eq__`` and
    ``__hash__`` for every class it decorates: about half a millisecond each, which for
    the store's records was a sixth of the app's import line. The records share one
    implementation of each instead (below), with the same behaviour: keyword-only
    arguments with defaults and default factories, equality between records of the same
    class, a hash of the field values, the dataclass repr, and ``FrozenInstanceError`` on
    assignment. ``dataclasses.fields``, ``replace`` and ``asdict`` work as on any dataclass,
    pickling and copying too.

    The fields are slots (no ``__dict__``): a record is one object, not two, which halves
    the objects a listing of 10,000 runs allocates (and the collector walks), and lets
    :func:`build_all` fill one by plain attribute stores (see there).
    """
    made = cast(C, dataclass(frozen=True, kw_only=True, init=False, repr=False, eq=False, slots=True)(cls))
    for name, shared in (
        ("__init__", _record_init),
        ("__repr__", _record_repr),
        ("__eq__", _record_eq),
        ("__hash__", _record_hash),
        ("__getstate__", _values),  # pickle and copy: Python 3.10.0's slotted dataclasses lack them
        ("__setstate__", _record_setstate),
    ):
        setattr(made, name, shared)
    return made


# record type -> (field names, {name: default}, {name: default factory}); made once per type.
_INIT_PLANS: dict[type[Any], tuple[tuple[str, ...], dict[str, Any], dict[str, Callable[[], Any]]]] = {}
_set = object.__setattr__


def _init_plan(cls: type[Any]) -> tuple[tuple[str, ...], dict[str, Any], dict[str, Callable[[], Any]]]:
    plan = _INIT_PLANS.get(cls)
    if plan is None:
        items = fields(cls)
        defaults = {item.name: item.default for item in items if item.default is not MISSING}
        factories = {item.name: item.default_factory for item in items if item.default_factory is not MISSING}
        plan = _INIT_PLANS[cls] = (tuple(item.name for item in items), defaults, factories)
    return plan


def _record_init(self: Any, /, **values: Any) -> None:
    cls = type(self)
    names, defaults, factories = _init_plan(cls)
    if len(values) > len(names) or not values.keys() <= set(names):
        unexpected = sorted(values.keys() - set(names))
        raise TypeError(f"{cls.__qualname__}.__init__() got an unexpected keyword argument {unexpected[0]!r}")
    missing = []
    for name in names:
        if name in values:
            _set(self, name, values[name])
        elif name in defaults:
            _set(self, name, defaults[name])
        elif name in factories:
            _set(self, name, factories[name]())
        else:
            missing.append(name)
    if missing:
        raise TypeError(
            f"{cls.__qualname__}.__init__() missing {len(missing)} required keyword-only "
            f"argument(s): {', '.join(repr(name) for name in missing)}"
        )


def _values(self: Any) -> tuple[Any, ...]:
    return tuple([getattr(self, name) for name in _init_plan(type(self))[0]])


def _record_setstate(self: Any, state: Sequence[Any]) -> None:
    for name, value in zip(_init_plan(type(self))[0], state, strict=True):
        _set(self, name, value)


def _record_eq(self: Any, other: object) -> Any:  # bool, or NotImplemented
    if other.__class__ is self.__class__:
        return _values(self) == _values(other)
    return NotImplemented


def _record_hash(self: Any) -> int:
    return hash(_values(self))


_repr_running: set[tuple[int, int]] = set()


def _record_repr(self: Any) -> str:
    import threading

    key = (id(self), threading.get_ident())
    if key in _repr_running:  # a record holding itself, as dataclass's repr guards
        return "..."
    _repr_running.add(key)
    try:
        shown = ", ".join(
            f"{name}={value!r}" for name, value in zip(_init_plan(type(self))[0], _values(self), strict=True)
        )
    finally:
        _repr_running.discard(key)
    return f"{type(self).__qualname__}({shown})"


@record
class JobState:
    """The lifecycle columns every job-like record shares."""

    status: RunStatus
    huey_id: str | None
    error: str | None
    delivery_time: datetime | None
    start_time: datetime | None
    end_time: datetime | None


@record
class DatasetRecord(JobState):
    id: int
    name: str
    file_path: Path | None
    lineage: dict[str, Any] | None
    created: datetime
    last_modified: datetime


@record
class ModelSessionRecord:
    id: int
    dataset_id: int
    name: str
    task_name: str
    input_columns: list[str]
    output_columns: list[str]
    train_metrics: list[str] | None
    validation_metrics: list[str] | None
    test_metrics: list[str] | None
    splits: dict[str, Any]
    created: datetime
    last_modified: datetime


@record
class RunRecord(JobState):
    id: int
    model_session_id: int
    name: str
    description: str | None
    model_name: str
    parameters: dict[str, Any]
    split_indexes: Any
    optimizer_name: str
    optimizer_parameters: dict[str, Any]
    goal_metric: str
    artifacts: dict[str, Any] | None
    run_path: Path | None
    plot_history_path: Path | None
    plot_slice_path: Path | None
    plot_contour_path: Path | None
    plot_importance_path: Path | None
    created: datetime
    last_modified: datetime


class MetricPoint(NamedTuple):
    """One logged point. A NamedTuple, not a frozen dataclass like the other records: as
    immutable, with the same attribute names, and built at tuple speed, which a live chart
    reading pages of points (``metrics.since``) spends most of its time on."""

    id: int
    run_id: int
    name: str
    split: SplitEnum
    level: LevelEnum
    step: int
    value: float
    timestamp: datetime


@record
class PredictionRecord(JobState):
    id: int
    run_id: int
    dataset_id: int | None
    results_path: Path | None
    created: datetime
    last_modified: datetime


@record
class NotebookRecord:
    id: int
    dataset_id: int
    name: str | None
    description: str | None
    file_path: Path
    current_position: int
    created: datetime
    last_modified: datetime


@record
class ConverterRecord(JobState):
    id: int
    notebook_id: int
    converter: str
    parameters: dict[str, Any]
    position: int
    snapshot_path: Path | None
    created: datetime
    last_modified: datetime


@record
class ExplorerRecord(JobState):
    id: int
    notebook_id: int
    name: str | None
    exploration_type: str
    columns: list[Any]  # names, or DashAI's {"id", "columnName"} objects (explorers.column_names)
    parameters: dict[str, Any]
    exploration_path: Path | None
    position: int
    created: datetime
    last_modified: datetime


@record
class GenerativeSessionRecord:
    id: int
    name: str
    task_name: str
    model_name: str
    parameters: dict[str, Any]
    description: str | None
    created: datetime
    last_modified: datetime


@record
class ParameterSnapshot:
    id: int
    session_id: int
    parameters: dict[str, Any]
    modified_at: datetime


@record
class ParameterChange:
    """What one snapshot changed relative to the one before it (the first: all added)."""

    snapshot_id: int
    modified_at: datetime
    added: dict[str, Any] = field(default_factory=dict)
    removed: dict[str, Any] = field(default_factory=dict)
    changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)


@record
class Payload:
    """A generative process input or output; ``value`` is str, a JSON value, or bytes."""

    id: int
    process_id: int
    data_type: DataType
    is_input: bool
    value: Any
    file_path: Path | None


@record
class GenerativeProcessRecord(JobState):
    id: int
    session_id: int
    parameter_history_id: int | None
    created: datetime
    last_modified: datetime


@record
class PluginRecord:
    id: int
    name: str
    author: str
    installed_version: str
    latest_version: str
    status: PluginStatus
    summary: str
    description: str
    description_content_type: str
    tags: tuple[PluginTag, ...]
    created: datetime
    last_modified: datetime


@record
class GlobalExplainerRecord(JobState):
    id: int
    run_id: int
    name: str
    explainer_name: str
    parameters: dict[str, Any]
    explanation_path: Path | None
    plot_path: Path | None
    created: datetime


@record
class LocalExplainerRecord(JobState):
    id: int
    run_id: int
    dataset_id: int
    name: str
    explainer_name: str
    parameters: dict[str, Any]
    fit_parameters: dict[str, Any]
    scope: Any
    explanation_path: Path | None
    plots_path: Path | None
    created: datetime


# -- rows to records --------------------------------------------------------------------------

R = TypeVar("R")

# record type -> (its field names, whether it is a JobState); worked out once per type.
_PLANS: dict[type[Any], tuple[tuple[str, ...], bool]] = {}


def _plan(record_type: type[Any]) -> tuple[tuple[str, ...], bool]:
    plan = _PLANS.get(record_type)
    if plan is None:
        plan = (tuple(f.name for f in fields(record_type)), issubclass(record_type, JobState))
        _PLANS[record_type] = plan
    return plan


def to_record(record_type: type[R], row: Any, /, **overrides: Any) -> R:
    """A ``record_type`` whose fields are the same-named attributes of ``row``.

    ``overrides`` give the fields that are not a column as it is: decoded (an enum, an
    absolute path) or computed (a plugin's tags). A JobState record's ``status`` is decoded
    here, from the member name the column holds, unless overridden.

    >>> to_record(RunRecord, row, run_path=files.to_absolute(row.run_path), ...)  # doctest: +SKIP
    """
    names, is_job = _plan(record_type)
    values = {name: getattr(row, name) for name in names if name not in overrides}
    if is_job and "status" not in overrides:
        status = values["status"]
        try:
            values["status"] = RunStatus[status]
        except (KeyError, TypeError):  # an unknown name written by hand: marked, not raised
            values["status"] = decode_enum(RunStatus, status)
    if overrides:
        unknown = overrides.keys() - set(names)
        if unknown:
            raise TypeError(f"{record_type.__name__} has no field(s) {', '.join(sorted(unknown))}")
        values.update(overrides)
    return maker(record_type)(values)


def maker(record_type: type[R]) -> Callable[[dict[str, Any]], R]:
    """The fast constructor of a frozen record type: ``{field name: value}`` -> record.

    The values come from the store's own decoders (every field given, each already of its
    type): no defaults are applied and nothing is checked. The record is the same frozen
    instance ``record_type(**values)`` makes (equality, hash, repr, ``dataclasses.replace``).
    """
    return _builders(record_type)[1]


def build_all(record_type: type[R], rows: Iterable[Sequence[Any]]) -> list[R]:
    """Records of ``record_type`` from ``rows`` holding every field's value (decoded), in the
    order of ``dataclasses.fields``: the list paths' constructor.

    A frozen record's fields can only be set through ``object.__setattr__``, a call per
    field (a run's 24 took 2.3 us). Here each record is made as an instance of a twin
    subclass that has the plain ``__setattr__`` (so each field is one attribute store the
    interpreter specialises for slots), then given its class: 10,000 runs in 3 ms
    instead of 10. The twin adds no slot, so the record is exactly what the class makes.
    """
    built: list[R] = _builders(record_type)[0](rows)
    return built


Build = Callable[[Iterable[Sequence[Any]]], Any]
Make = Callable[[dict[str, Any]], Any]

# record type -> (build_all's function, maker's function), compiled on first use of the type.
_BUILDERS: dict[type[Any], tuple[Build, Make]] = {}


def _builders(record_type: type[Any]) -> tuple[Build, Make]:
    made = _BUILDERS.get(record_type)
    if made is None:
        names = _init_plan(record_type)[0]
        # Both: they share the type's one setattr slot, which is the plain one only if neither
        # is the frozen class's Python function.
        plain = {"__slots__": (), "__setattr__": object.__setattr__, "__delattr__": object.__delattr__}
        twin = type(record_type.__name__, (record_type,), plain)
        values = ", ".join(f"_v{index}" for index in range(len(names)))
        stores = "".join(f"\n        r.{name} = _v{index}" for index, name in enumerate(names))
        keyed = "".join(f"\n    r.{name} = values[{name!r}]" for name in names)
        source = (
            f"def build(rows):\n    out = []\n    append = out.append\n    for {values}, in rows:"
            f"\n        r = new(twin){stores}\n        r.__class__ = cls\n        append(r)\n    return out\n"
            f"def make(values, /):\n    r = new(twin){keyed}\n    r.__class__ = cls\n    return r\n"
        )
        namespace: dict[str, Any] = {"new": object.__new__, "twin": twin, "cls": record_type}
        exec(compile(source, f"<records: {record_type.__qualname__}>", "exec"), namespace)
        made = _BUILDERS[record_type] = (namespace["build"], namespace["make"])
    return made


def unreadable_fields(record: Any) -> dict[str, Unreadable]:
    """The fields of ``record`` whose stored value could not be read (see
    :mod:`dashai_store.decoding`): ``{field name: Unreadable}``; ``{}`` for a sound record.

    A tuple field (a plugin's tags) is listed under ``"<field>[<index>]"``.

    >>> unreadable_fields(runs.get(12))      # doctest: +SKIP
    {'parameters': Unreadable('{"lr": 0.1', problem='not valid JSON: ...')}
    """
    found: dict[str, Unreadable] = {}
    names = record._fields if isinstance(record, MetricPoint) else (item.name for item in fields(record))
    for name in names:
        value = getattr(record, name)
        if isinstance(value, Unreadable):
            found[name] = value
        elif isinstance(value, tuple):
            for index, element in enumerate(value):
                if isinstance(element, Unreadable):
                    found[f"{name}[{index}]"] = element
    return found


# -- maintenance (dashai_store.maintenance) ---------------------------------------------------


@record
class BadRow:
    """A row whose stored value this code cannot read (hand-edited, or written outside the store).

    ``column`` names the value at fault and ``problem`` says what is wrong with it; the row
    stays readable as far as it can be, and deletable.
    """

    table: str
    row_id: int
    column: str
    problem: str


@record
class MissingFile:
    """A path a row refers to that is not on disk, or that points outside the home.

    ``column`` is the path column, ``artifacts.<name>`` for an artifact entry, or ``data``
    for a generative payload; ``path`` is absolute; ``reason`` is ``"missing"`` or
    ``"outside the home"``.
    """

    table: str
    row_id: int
    column: str
    path: Path
    reason: str


@record
class ForeignKeyViolation:
    """A row whose foreign key names a parent row that does not exist."""

    table: str
    row_id: int | None
    parent: str
    column: str | None


@record
class CheckReport:
    """What :func:`dashai_store.maintenance.check` found; ``ok`` when nothing needs attention.

    ``recent_files`` are unowned files younger than the grace period (a writer may be about
    to commit the row that owns them): listed, not judged, and not a problem.
    """

    backend: str
    home: Path
    integrity_checked: bool
    integrity_problems: tuple[str, ...]
    foreign_key_violations: tuple[ForeignKeyViolation, ...]
    missing_files: tuple[MissingFile, ...]
    unowned_files: tuple[Path, ...]
    stale_temp_files: tuple[Path, ...]
    pending_deletions: tuple[Path, ...]
    recent_files: tuple[Path, ...]
    notes: tuple[str, ...]
    #: Symbolic links found in the managed folders (the store never follows them).
    symlinks: tuple[Path, ...] = ()
    #: Rows whose values cannot be read as the schema means them.
    bad_rows: tuple[BadRow, ...] = ()
    #: Deletions another process is carrying out right now: in-flight work, not a problem.
    in_flight_deletions: tuple[Path, ...] = ()
    #: Staging folders of backups that never finished (a killed ``dashai-store backup``).
    partial_backups: tuple[Path, ...] = ()
    #: Differences between the database's schema and the models' (a dropped trigger, ...).
    schema_drift: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not (
            self.integrity_problems
            or self.foreign_key_violations
            or self.missing_files
            or self.unowned_files
            or self.stale_temp_files
            or self.pending_deletions
            or self.symlinks
            or self.bad_rows
            or self.partial_backups
            or self.schema_drift
        )


@record
class GcReport:
    """What :func:`dashai_store.maintenance.gc` removed (or, with ``dry_run``, would remove).

    ``kept_referenced``: recorded deletions of a path some row refers to; the record is
    dropped and the file kept. ``failed`` pairs a path with the OS error that stopped it.
    """

    dry_run: bool
    removed_files: tuple[Path, ...]
    removed_temp_files: tuple[Path, ...]
    removed_folders: tuple[Path, ...]
    finished_deletions: tuple[Path, ...]
    kept_referenced: tuple[Path, ...]
    failed: tuple[tuple[Path, str], ...]
    bytes_freed: int

    @property
    def ok(self) -> bool:
        return not self.failed


@record
class BackupReport:
    """A finished backup (see :func:`dashai_store.maintenance.backup`).

    ``database`` is the copied SQLite file, or None on PostgreSQL (back that database up
    with ``pg_dump``; ``note`` says so). ``missing_files`` and ``changed_files`` are
    home-relative paths the database snapshot refers to that were deleted, or replaced
    with other content, before they could be copied.
    """

    path: Path
    backend: str
    database: Path | None
    schema_head: str | None
    files: int
    bytes: int
    missing_files: tuple[str, ...]
    changed_files: tuple[str, ...]
    note: str

    @property
    def ok(self) -> bool:
        return not (self.missing_files or self.changed_files)


@record
class CopyRecord:
    """A whole store copied to another (see :func:`dashai_store.home_copy.copy_home`).

    ``rows`` is rows per table and ``files``/``bytes`` what the destination holds of the
    source's files; ``skipped_files`` of them were already there (a copy run again after it
    was interrupted: ``resumed``). ``already_done``: an earlier run had finished this copy
    and nothing was done (the counts are that run's). ``links`` are symbolic links found in
    the source's folders, not followed and not copied; ``damaged_files`` are source files
    whose bytes differ from the checksum their row records (copied as they are).
    """

    source: str
    destination: str
    backend: str
    rows: dict[str, int]
    files: int
    bytes: int
    skipped_files: int
    links: tuple[str, ...]
    damaged_files: tuple[str, ...]
    seconds: float
    resumed: bool
    already_done: bool
    #: ``copy --merge``: added with new ids to a store that may hold other work (an import).
    merged: bool = False

    @property
    def ok(self) -> bool:
        return not self.damaged_files


@record
class InterruptedJobs:
    """Rows :func:`dashai_store.maintenance.mark_interrupted` moved to ERROR: (table, id)."""

    jobs: tuple[tuple[str, int], ...]

    @property
    def total(self) -> int:
        return len(self.jobs)

    def by_table(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for table, _ in self.jobs:
            counts[table] = counts.get(table, 0) + 1
        return counts


# -- records of DashAI's listings and job lookups ----------------------------------------------------


@record
class RunWithMetrics:
    """A run and its LAST metrics, ``{split name: {metric name: value}}`` (DashAI's runs page)."""

    run: RunRecord
    last_metrics: dict[str, dict[str, float]]


@record
class JobEntity:
    """The row a job queue's id belongs to (DashAI's ``find_entity_by_huey_id``).

    ``entity_type`` is the table (``"run"``, ``"dataset"``, ``"explorer"``,
    ``"global_explainer"``, ``"local_explainer"``, ``"converter"``, ``"prediction"``,
    ``"generative_process"``); ``name`` is None where the table has no name column
    (a converter's is its class, ``converter``); ``last_modified`` is None where the table
    has no such column (explainers).
    """

    entity_type: str
    entity_id: int
    name: str | None
    created: datetime
    last_modified: datetime | None
    status: RunStatus
    job_id: str


# -- bundles (dashai_store.bundles) -------------------------------------------------------------


@record
class BundleRecord:
    """What :func:`dashai_store.bundles.export_bundle` wrote."""

    path: Path  # the .dashai file
    bundle_id: str  # sha256 of its manifest, which lists the sha256 of every other member
    size: int  # bytes of the archive
    format_version: int
    schema: str  # the migration the store was at
    pieces: dict[str, tuple[int, ...]]  # the ids asked for, by kind ("runs": (3,), ...)
    rows: dict[str, int]  # rows per table
    files: int
    file_bytes: int


@record
class RenamedRow:
    """A row imported under another name because its own was taken (``iris`` -> ``iris (2)``)."""

    table: str
    id: int  # the new id
    name: str  # the name in the bundle
    new_name: str


@record
class ImportRecord:
    """What :func:`dashai_store.bundles.import_bundle` added (all in one transaction)."""

    import_id: int  # the dashai_bundle_import row; imported runs and explainers name it
    path: Path
    bundle_id: str
    trusted: bool
    schema: str  # the migration the exporting store was at
    rows: dict[str, int]  # rows added per table
    new_ids: dict[str, tuple[int, ...]]  # per table, except the bulk ones (metric, process_data, tag)
    pieces: dict[str, dict[int, int]]  # the bundle's top-level pieces: old id -> new id, by kind
    renamed: tuple[RenamedRow, ...]
    files: int
    file_bytes: int


@record
class BundleImportRecord:
    """One earlier import (``dashai_bundle_import``): what runs and explainers name in ``origin``."""

    id: int
    bundle_id: str  # the bundle's sha256 (of its manifest); ``import_bundle(once=True)`` looks it up
    source: str  # the file's name when it was imported
    trusted: bool
    imported_at: datetime
    pieces: dict[str, dict[str, int]]  # by kind: old id (as text) -> new id
