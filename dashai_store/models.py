"""Peewee models: DashAI's 16 tables plus the store's own bookkeeping table.

Table and column names follow DashAI's SQLAlchemy schema so that raw SQL written against
an existing ``~/.DashAI/db.sqlite`` finds them, with one exception: DashAI's misspelt
``plugin.lastest_version`` is ``latest_version`` here (the README says so). Enums are
text holding the member NAME, guarded by a CHECK; JSON columns hold JSON text;
timestamps are naive UTC.

The migrations never import this module (each freezes what it needs); the drift check
(``dashai_store.schema``) proves that the migrated schema and these models agree.
"""

from __future__ import annotations

import enum
import json
from typing import Any

from peewee import (
    SQL,
    AutoField,
    BooleanField,
    Check,
    DateTimeField,
    DoubleField,
    ForeignKeyField,
    IntegerField,
    Model,
    ModelIndex,
    NodeList,
    SchemaManager,
    TextField,
)

from .database import database_proxy
from .decoding import Unreadable, decode_int, decode_json, decode_real
from .enums import (
    SUMMARY_PREDICATE,
    DataType,
    LevelEnum,
    PluginStatus,
    PluginTag,
    RunStatus,
    SplitEnum,
    names,
)

# -- field types --------------------------------------------------------------------


class StoreIdField(AutoField):
    """Primary key whose values are never reused.

    On SQLite this adds AUTOINCREMENT (plain INTEGER PRIMARY KEY hands the highest id out
    again after it is deleted, and a new row would meet the old row's files); PostgreSQL's
    sequences never go back, so SERIAL is enough there.
    """

    def ddl(self, ctx: Any) -> Any:
        node = super().ddl(ctx)
        # SQLite is the one supported backend whose AUTO type is a bare INTEGER.
        if ctx.state.field_types.get("AUTO") == "INTEGER":
            return NodeList((node, SQL("AUTOINCREMENT")))
        return node


class JSONField(TextField):
    """JSON text. NaN and infinities are kept (Python's json spells them NaN/Infinity).

    ``shape`` (``dict`` or ``list``) is the type the column's values have; a stored value
    that is not JSON, or not of that shape (edited by hand), reads back as
    :class:`~dashai_store.decoding.Unreadable` instead of raising.
    """

    def __init__(self, *args: Any, shape: type[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shape = shape

    def db_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return json.dumps(value, ensure_ascii=False, allow_nan=True)

    def python_value(self, value: Any) -> Any:
        if value is None:
            return None
        try:
            decoded = json.loads(value)
        except (ValueError, TypeError, RecursionError):
            return decode_json(value, self.shape)
        shape = self.shape
        if shape is None or isinstance(decoded, shape) or (decoded is None and self.null):
            return decoded
        return decode_json(value, shape)


class StoreIntegerField(IntegerField):
    """An integer; a non-integer stored by hand reads back as ``Unreadable``, not ValueError."""

    def python_value(self, value: Any) -> Any:
        if value is None or type(value) is int:
            return value
        return decode_int(value)


class StoreBooleanField(BooleanField):
    """A boolean; anything but 0/1 stored by hand reads back as ``Unreadable``."""

    def python_value(self, value: Any) -> Any:
        if value is None or type(value) is bool:
            return value
        if type(value) is int and value in (0, 1):
            return bool(value)
        return Unreadable(value, f"{value!r:.80} is not a boolean")


class MetricValueField(DoubleField):
    """A double; NULL stands for NaN because SQLite stores a bound NaN as NULL (and SQLite's
    -0.0 is a BLOB, see :func:`~dashai_store.decoding.decode_real`)."""

    def python_value(self, value: Any) -> Any:
        if type(value) is float:
            return value
        return decode_real(value)


def enum_check(column: str, enum_cls: Any, *, fast: bool = False) -> Any:
    if fast:  # the same constraint as an OR-chain, for hot INSERT paths (see Metric)
        return Check(" OR ".join(f"{column} = '{name}'" for name in names(enum_cls)))
    allowed = ", ".join(f"'{name}'" for name in names(enum_cls))
    return Check(f"{column} IN ({allowed})")


def status_field() -> TextField:
    return TextField(default=RunStatus.NOT_STARTED.name, constraints=[enum_check("status", RunStatus)])


# -- base classes ---------------------------------------------------------------------


class BaseModel(Model):
    id = StoreIdField()

    class Meta:
        database = database_proxy
        legacy_table_names = False


class JobMixin(BaseModel):
    """Columns every job-like row shares; only dashai_store.lifecycle writes them."""

    status = status_field()
    # Indexed: a worker's job id finds its row (dashai_store.jobs.find) without a scan.
    huey_id = TextField(null=True, index=True)
    delivery_time = DateTimeField(null=True)
    start_time = DateTimeField(null=True)
    end_time = DateTimeField(null=True)
    error = TextField(null=True)


# -- datasets, model sessions, runs ----------------------------------------------------


class Dataset(JobMixin):
    name = TextField(unique=True)
    file_path = TextField(null=True)
    lineage = JSONField(null=True, shape=dict)
    created = DateTimeField()
    last_modified = DateTimeField()

    class Meta:
        table_name = "dataset"


class ModelSession(BaseModel):
    dataset = ForeignKeyField(
        Dataset, column_name="dataset_id", on_delete="CASCADE", backref="model_sessions"
    )
    name = TextField(unique=True)
    task_name = TextField()
    input_columns = JSONField(shape=list)
    output_columns = JSONField(shape=list)
    train_metrics = JSONField(null=True, shape=list)
    validation_metrics = JSONField(null=True, shape=list)
    test_metrics = JSONField(null=True, shape=list)
    splits = JSONField(shape=dict)
    created = DateTimeField()
    last_modified = DateTimeField()

    class Meta:
        table_name = "model_session"


class Run(JobMixin):
    model_session = ForeignKeyField(
        ModelSession, column_name="model_session_id", on_delete="CASCADE", backref="runs"
    )
    name = TextField()
    description = TextField(null=True)
    model_name = TextField()
    parameters = JSONField(shape=dict)
    split_indexes = JSONField(null=True)
    optimizer_name = TextField()
    optimizer_parameters = JSONField(shape=dict)
    goal_metric = TextField()
    artifacts = JSONField(null=True, shape=dict)
    run_path = TextField(null=True)
    plot_history_path = TextField(null=True)
    plot_slice_path = TextField(null=True)
    plot_contour_path = TextField(null=True)
    plot_importance_path = TextField(null=True)
    created = DateTimeField()
    last_modified = DateTimeField()
    # Where the row's joblib file came from: NULL made here, else the dashai_bundle_import
    # id of the import that brought it (loading it then needs trust: dashai_store.bundles).
    origin = StoreIntegerField(null=True)

    class Meta:
        table_name = "run"
        indexes = ((("status",), False),)


class Metric(BaseModel):
    run = ForeignKeyField(Run, column_name="run_id", on_delete="CASCADE", backref="metrics", index=False)
    name = TextField()
    value = MetricValueField(null=True)
    # OR-chains, not IN lists: SQLite rebuilds an IN list's ephemeral table for every row
    # an INSERT checks, which halves log_many's throughput (155k vs 337k rows/s).
    split = TextField(constraints=[enum_check("split", SplitEnum, fast=True)])
    level = TextField(constraints=[enum_check("level", LevelEnum, fast=True)])
    step = StoreIntegerField()
    timestamp = DateTimeField()

    class Meta:
        table_name = "metric"
        # The unique index makes a retried log idempotent and serves every history query
        # (its run_id prefix); the foreign key needs no index of its own.
        indexes = (
            (("run", "split", "level", "name", "step"), True),
            # since(cursor) pages through one run by id: a range scan, not a sort of the run.
            (("run", "id"), False),
        )


# One value per (run, split, name) at the summary levels (LAST, LAST_OUTER), whatever the
# step: the key the metric writers upsert those on (see enums.SUMMARY_LEVELS).
Metric.add_index(
    ModelIndex(
        Metric,
        (Metric.run, Metric.split, Metric.level, Metric.name),
        unique=True,
        where=SQL(SUMMARY_PREDICATE),
        name="metric_summary_key",
    )
)


class Prediction(JobMixin):
    run = ForeignKeyField(Run, column_name="run_id", on_delete="CASCADE", backref="predictions")
    dataset = ForeignKeyField(
        Dataset, column_name="dataset_id", on_delete="CASCADE", null=True, backref="predictions"
    )
    results_path = TextField(null=True)
    created = DateTimeField()
    last_modified = DateTimeField()

    class Meta:
        table_name = "prediction"


# -- notebooks --------------------------------------------------------------------------


class Notebook(BaseModel):
    dataset = ForeignKeyField(Dataset, column_name="dataset_id", on_delete="CASCADE", backref="notebooks")
    name = TextField(null=True)
    description = TextField(null=True)
    # The current state's Arrow file (relative to the home); at position 0 it is the
    # source dataset's own immutable file, shared rather than copied.
    file_path = TextField()
    current_position = StoreIntegerField(default=0)
    created = DateTimeField()
    last_modified = DateTimeField()
    # The dataset version (its Arrow file) the notebook started from, its step 0: a
    # dataset edited in place points at a new version, the notebook keeps this one.
    source_path = TextField(null=True)

    class Meta:
        table_name = "notebook"


class Converter(JobMixin):
    notebook = ForeignKeyField(Notebook, column_name="notebook_id", on_delete="CASCADE", backref="converters")
    converter = TextField()
    parameters = JSONField(shape=dict)
    position = StoreIntegerField()
    snapshot_path = TextField(null=True)
    created = DateTimeField()
    last_modified = DateTimeField()

    class Meta:
        table_name = "converter"
        indexes = ((("notebook", "position"), True),)


class Explorer(JobMixin):
    notebook = ForeignKeyField(Notebook, column_name="notebook_id", on_delete="CASCADE", backref="explorers")
    name = TextField(null=True)
    exploration_type = TextField()
    columns = JSONField(shape=list)
    parameters = JSONField(shape=dict)
    exploration_path = TextField(null=True)
    # The notebook position the explorer looked at; reverting below it removes it.
    position = StoreIntegerField(default=0)
    created = DateTimeField()
    last_modified = DateTimeField()

    class Meta:
        table_name = "explorer"


# -- generative ----------------------------------------------------------------------------


class GenerativeSession(BaseModel):
    name = TextField(unique=True)
    task_name = TextField()
    model_name = TextField()
    parameters = JSONField(shape=dict)
    description = TextField(null=True)
    created = DateTimeField()
    last_modified = DateTimeField()

    class Meta:
        table_name = "generative_session"


class ParameterHistory(BaseModel):
    """Append-only: triggers (see ``SQLITE_TRIGGERS``/``POSTGRES_TRIGGERS``) reject UPDATE,
    any DELETE but the cascade, and (SQLite) an INSERT OR REPLACE of an existing id."""

    session = ForeignKeyField(
        GenerativeSession, column_name="session_id", on_delete="CASCADE", backref="parameter_history"
    )
    parameters = JSONField(shape=dict)
    modified_at = DateTimeField()

    class Meta:
        table_name = "parameter_history"


class GenerativeProcess(JobMixin):
    session = ForeignKeyField(
        GenerativeSession, column_name="session_id", on_delete="CASCADE", backref="processes"
    )
    parameter_history = ForeignKeyField(
        ParameterHistory, column_name="parameter_history_id", on_delete="CASCADE", null=True
    )
    created = DateTimeField()
    last_modified = DateTimeField()

    class Meta:
        table_name = "generative_process"


class ProcessData(BaseModel):
    process = ForeignKeyField(
        GenerativeProcess, column_name="process_id", on_delete="CASCADE", backref="data"
    )
    data = TextField()
    data_type = TextField(constraints=[Check("data_type IN ('str', 'json', 'image', 'bytes')")])
    is_input = StoreBooleanField()

    class Meta:
        table_name = "process_data"


# -- plugins ----------------------------------------------------------------------------------


class Plugin(BaseModel):
    name = TextField(unique=True)
    author = TextField()
    installed_version = TextField()
    latest_version = TextField()
    status = TextField(constraints=[enum_check("status", PluginStatus)])
    summary = TextField()
    description = TextField()
    description_content_type = TextField()
    created = DateTimeField()
    last_modified = DateTimeField()

    class Meta:
        table_name = "plugin"


class Tag(BaseModel):
    plugin = ForeignKeyField(Plugin, column_name="plugin_id", on_delete="CASCADE", backref="tags")
    name = TextField(constraints=[enum_check("name", PluginTag)])

    class Meta:
        table_name = "tag"
        indexes = ((("plugin", "name"), True),)


# -- explainers ---------------------------------------------------------------------------------


class GlobalExplainer(JobMixin):
    run = ForeignKeyField(Run, column_name="run_id", on_delete="CASCADE", backref="global_explainers")
    name = TextField()
    explainer_name = TextField()
    parameters = JSONField(shape=dict)
    explanation_path = TextField(null=True)
    plot_path = TextField(null=True)
    artifacts = JSONField(null=True, shape=dict)
    created = DateTimeField()
    # Where the row's joblib file came from: NULL made here, else the dashai_bundle_import
    # id of the import that brought it (loading it then needs trust: dashai_store.bundles).
    origin = StoreIntegerField(null=True)

    class Meta:
        table_name = "global_explainer"


class LocalExplainer(JobMixin):
    run = ForeignKeyField(Run, column_name="run_id", on_delete="CASCADE", backref="local_explainers")
    dataset = ForeignKeyField(
        Dataset, column_name="dataset_id", on_delete="CASCADE", backref="local_explainers"
    )
    name = TextField()
    explainer_name = TextField()
    parameters = JSONField(shape=dict)
    fit_parameters = JSONField(shape=dict)
    scope = JSONField()
    explanation_path = TextField(null=True)
    plots_path = TextField(null=True)
    artifacts = JSONField(null=True, shape=dict)
    created = DateTimeField()
    # Where the row's joblib file came from: NULL made here, else the dashai_bundle_import
    # id of the import that brought it (loading it then needs trust: dashai_store.bundles).
    origin = StoreIntegerField(null=True)

    class Meta:
        table_name = "local_explainer"


# -- the store's own bookkeeping --------------------------------------------------------------------


class PendingDeletion(BaseModel):
    """A file to delete once the transaction that removed its row has committed.

    Written in the deleting transaction, so a crash between COMMIT and unlink leaves a row
    here that the next ``open_store`` finishes.
    """

    path = TextField(unique=True)
    created = DateTimeField()

    class Meta:
        table_name = "dashai_pending_deletion"


class BundleImport(BaseModel):
    """One import of a ``.dashai`` bundle (``dashai_store.bundles``): rows it added whose
    files run code when loaded name it in their ``origin`` column; ``trusted`` says whether
    such files may be loaded without the caller vouching for them again."""

    sha256 = TextField(index=True)
    source = TextField()
    trusted = StoreBooleanField()
    pieces = JSONField(shape=dict)
    imported_at = DateTimeField()

    class Meta:
        table_name = "dashai_bundle_import"


DOMAIN_MODELS: tuple[type[BaseModel], ...] = (
    Dataset,
    ModelSession,
    Run,
    Metric,
    Prediction,
    Notebook,
    Converter,
    Explorer,
    GenerativeSession,
    ParameterHistory,
    GenerativeProcess,
    ProcessData,
    Plugin,
    Tag,
    GlobalExplainer,
    LocalExplainer,
)
ALL_MODELS: tuple[type[BaseModel], ...] = (*DOMAIN_MODELS, PendingDeletion, BundleImport)

# The text columns that hold an enum member's name (their CHECKs list the names), by table.
ENUM_COLUMNS: dict[type[BaseModel], dict[str, type[enum.Enum]]] = {
    **{model: {"status": RunStatus} for model in DOMAIN_MODELS if issubclass(model, JobMixin)},
    Metric: {"split": SplitEnum, "level": LevelEnum},
    ProcessData: {"data_type": DataType},
    Plugin: {"status": PluginStatus},
    Tag: {"name": PluginTag},
}

APPEND_ONLY_MESSAGE = "parameter_history is append-only"

# Triggers are part of the schema the models describe; create_schema() installs them and
# the drift check compares them with what the migrations made.
SQLITE_TRIGGERS: tuple[str, ...] = (
    "CREATE TRIGGER parameter_history_no_update BEFORE UPDATE ON parameter_history "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
    # A DELETE is allowed only once the session itself is gone (its cascade).
    "CREATE TRIGGER parameter_history_no_delete BEFORE DELETE ON parameter_history "
    "WHEN EXISTS (SELECT 1 FROM generative_session WHERE id = OLD.session_id) "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
    # INSERT OR REPLACE deletes the row in the way without firing the DELETE trigger
    # (recursive_triggers is off), so an insert may not name an id already present.
    "CREATE TRIGGER parameter_history_no_replace BEFORE INSERT ON parameter_history "
    "WHEN EXISTS (SELECT 1 FROM parameter_history WHERE id = NEW.id) "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
)
# No REPLACE on PostgreSQL; INSERT ... ON CONFLICT DO UPDATE fires the BEFORE UPDATE trigger.
POSTGRES_TRIGGERS: tuple[str, ...] = (
    "CREATE FUNCTION parameter_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN "
    "IF TG_OP = 'DELETE' AND NOT EXISTS "
    "(SELECT 1 FROM generative_session WHERE id = OLD.session_id) THEN RETURN OLD; END IF; "
    f"RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}' USING ERRCODE = 'integrity_constraint_violation'; "
    "END $$",
    "CREATE TRIGGER parameter_history_append_only BEFORE UPDATE OR DELETE ON parameter_history "
    "FOR EACH ROW EXECUTE FUNCTION parameter_history_append_only()",
    # Row triggers do not fire on TRUNCATE, which would wipe the trail in one statement.
    "CREATE TRIGGER parameter_history_no_truncate BEFORE TRUNCATE ON parameter_history "
    "FOR EACH STATEMENT EXECUTE FUNCTION parameter_history_append_only()",
)


def create_schema(db: Any, backend: str) -> None:
    """Create the whole schema the models describe (tables, indexes, triggers) on ``db``.

    ``backend`` is the backend's name (``"sqlite"`` or ``"postgresql"``). Used by the drift
    check to build the reference schema; real stores are made by the migrations.
    """
    # A SchemaManager per model with ``db`` given, not bind_ctx: rebinding the models would
    # point every thread's queries at ``db`` meanwhile, and maintenance.check() builds this
    # scratch schema inside a live application.
    for model in ALL_MODELS:  # parents before children
        SchemaManager(model, db).create_all(safe=False)
    # The triggers of each backend, by its name (looked up at call time: tests swap them).
    triggers = {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRES_TRIGGERS}[backend]
    for statement in triggers:
        db.execute_sql(statement)
