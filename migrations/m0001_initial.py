"""0001: the initial schema — DashAI's 16 tables and the pending-deletion table.

Frozen: this module defines the tables as they were when it was written and never
imports ``dashai_store.models``; later changes are later migrations.
"""

from __future__ import annotations

from typing import Any

from peewee import (
    SQL,
    AutoField,
    BooleanField,
    Check,
    Database,
    DateTimeField,
    DoubleField,
    ForeignKeyField,
    IntegerField,
    Model,
    NodeList,
    PostgresqlDatabase,
    TextField,
)
from playhouse.migrate import SchemaMigrator

ID = "0001_initial"

STATUS = "'NOT_STARTED', 'DELIVERED', 'STARTED', 'FINISHED', 'ERROR'"


class _Id(AutoField):
    def ddl(self, ctx: Any) -> Any:
        node = super().ddl(ctx)
        if ctx.state.field_types.get("AUTO") == "INTEGER":
            return NodeList((node, SQL("AUTOINCREMENT")))
        return node


def _status() -> TextField:
    return TextField(default="NOT_STARTED", constraints=[Check(f"status IN ({STATUS})")])


class _Base(Model):
    id = _Id()

    class Meta:
        legacy_table_names = False


class _Job(_Base):
    status = _status()
    huey_id = TextField(null=True)
    delivery_time = DateTimeField(null=True)
    start_time = DateTimeField(null=True)
    end_time = DateTimeField(null=True)
    error = TextField(null=True)


class Dataset(_Job):
    name = TextField(unique=True)
    file_path = TextField(null=True)
    lineage = TextField(null=True)
    created = DateTimeField()
    last_modified = DateTimeField()

    class Meta:
        table_name = "dataset"


class ModelSession(_Base):
    dataset = ForeignKeyField(Dataset, column_name="dataset_id", on_delete="CASCADE")
    name = TextField(unique=True)
    task_name = TextField()
    input_columns = TextField()
    output_columns = TextField()
    train_metrics = TextField(null=True)
    validation_metrics = TextField(null=True)
    test_metrics = TextField(null=True)
    splits = TextField()
    created = DateTimeField()
    last_modified = DateTimeField()

    class Meta:
        table_name = "model_session"


class Run(_Job):
    model_session = ForeignKeyField(ModelSession, column_name="model_session_id", on_delete="CASCADE")
    name = TextField()
    description = TextField(null=True)
    model_name = TextField()
    parameters = TextField()
    split_indexes = TextField(null=True)
    optimizer_name = TextField()
    optimizer_parameters = TextField()
    goal_metric = TextField()
    artifacts = TextField(null=True)
    run_path = TextField(null=True)
    plot_history_path = TextField(null=True)
    plot_slice_path = TextField(null=True)
    plot_contour_path = TextField(null=True)
    plot_importance_path = TextField(null=True)
    created = DateTimeField()
    last_modified = DateTimeField()

    class Meta:
        table_name = "run"
        indexes = ((("status",), False),)


class Metric(_Base):
    run = ForeignKeyField(Run, column_name="run_id", on_delete="CASCADE", index=False)
    name = TextField()
    value = DoubleField(null=True)
    # OR-chains: SQLite evaluates an IN list per inserted row at twice the cost.
    split = TextField(constraints=[Check("split = 'TRAIN' OR split = 'VALIDATION' OR split = 'TEST'")])
    level = TextField(
        constraints=[Check("level = 'LAST' OR level = 'STEP' OR level = 'BATCH' OR level = 'TRIAL'")]
    )
    step = IntegerField()
    timestamp = DateTimeField()

    class Meta:
        table_name = "metric"
        indexes = ((("run", "split", "level", "name", "step"), True), (("run", "id"), False))


class Prediction(_Job):
    run = ForeignKeyField(Run, column_name="run_id", on_delete="CASCADE")
    dataset = ForeignKeyField(Dataset, column_name="dataset_id", on_delete="CASCADE", null=True)
    results_path = TextField(null=True)
    created = DateTimeField()
    last_modified = DateTimeField()

    class Meta:
        table_name = "prediction"


class Notebook(_Base):
    dataset = ForeignKeyField(Dataset, column_name="dataset_id", on_delete="CASCADE")
    name = TextField(null=True)
    description = TextField(null=True)
    file_path = TextField()
    current_position = IntegerField(default=0)
    created = DateTimeField()
    last_modified = DateTimeField()

    class Meta:
        table_name = "notebook"


class Converter(_Job):
    notebook = ForeignKeyField(Notebook, column_name="notebook_id", on_delete="CASCADE")
    converter = TextField()
    parameters = TextField()
    position = IntegerField()
    snapshot_path = TextField(null=True)
    created = DateTimeField()
    last_modified = DateTimeField()

    class Meta:
        table_name = "converter"
        indexes = ((("notebook", "position"), True),)


class Explorer(_Job):
    notebook = ForeignKeyField(Notebook, column_name="notebook_id", on_delete="CASCADE")
    name = TextField(null=True)
    exploration_type = TextField()
    columns = TextField()
    parameters = TextField()
    exploration_path = TextField(null=True)
    position = IntegerField(default=0)
    created = DateTimeField()
    last_modified = DateTimeField()

    class Meta:
        table_name = "explorer"


class GenerativeSession(_Base):
    name = TextField(unique=True)
    task_name = TextField()
    model_name = TextField()
    parameters = TextField()
    description = TextField(null=True)
    created = DateTimeField()
    last_modified = DateTimeField()

    class Meta:
        table_name = "generative_session"


class ParameterHistory(_Base):
    session = ForeignKeyField(GenerativeSession, column_name="session_id", on_delete="CASCADE")
    parameters = TextField()
    modified_at = DateTimeField()

    class Meta:
        table_name = "parameter_history"


class GenerativeProcess(_Job):
    session = ForeignKeyField(GenerativeSession, column_name="session_id", on_delete="CASCADE")
    parameter_history = ForeignKeyField(
        ParameterHistory, column_name="parameter_history_id", on_delete="CASCADE", null=True
    )
    created = DateTimeField()
    last_modified = DateTimeField()

    class Meta:
        table_name = "generative_process"


class ProcessData(_Base):
    process = ForeignKeyField(GenerativeProcess, column_name="process_id", on_delete="CASCADE")
    data = TextField()
    data_type = TextField(constraints=[Check("data_type IN ('str', 'json', 'image', 'bytes')")])
    is_input = BooleanField()

    class Meta:
        table_name = "process_data"


class Plugin(_Base):
    name = TextField(unique=True)
    author = TextField()
    installed_version = TextField()
    latest_version = TextField()
    status = TextField(constraints=[Check("status IN ('REGISTERED', 'INSTALLED', 'ERROR')")])
    summary = TextField()
    description = TextField()
    description_content_type = TextField()
    created = DateTimeField()
    last_modified = DateTimeField()

    class Meta:
        table_name = "plugin"


_TAGS = "'DashAI', 'Package', 'Task', 'Model', 'Metric', 'Dataloader', 'Converter', 'Explainer'"


class Tag(_Base):
    plugin = ForeignKeyField(Plugin, column_name="plugin_id", on_delete="CASCADE")
    name = TextField(constraints=[Check(f"name IN ({_TAGS})")])

    class Meta:
        table_name = "tag"
        indexes = ((("plugin", "name"), True),)


class GlobalExplainer(_Job):
    run = ForeignKeyField(Run, column_name="run_id", on_delete="CASCADE")
    name = TextField()
    explainer_name = TextField()
    parameters = TextField()
    explanation_path = TextField(null=True)
    plot_path = TextField(null=True)
    artifacts = TextField(null=True)
    created = DateTimeField()

    class Meta:
        table_name = "global_explainer"


class LocalExplainer(_Job):
    run = ForeignKeyField(Run, column_name="run_id", on_delete="CASCADE")
    dataset = ForeignKeyField(Dataset, column_name="dataset_id", on_delete="CASCADE")
    name = TextField()
    explainer_name = TextField()
    parameters = TextField()
    fit_parameters = TextField()
    scope = TextField()
    explanation_path = TextField(null=True)
    plots_path = TextField(null=True)
    artifacts = TextField(null=True)
    created = DateTimeField()

    class Meta:
        table_name = "local_explainer"


class PendingDeletion(_Base):
    path = TextField(unique=True)
    created = DateTimeField()

    class Meta:
        table_name = "dashai_pending_deletion"


TABLES: tuple[type[Model], ...] = (
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
    PendingDeletion,
)

_MESSAGE = "parameter_history is append-only"

SQLITE_TRIGGERS = (
    "CREATE TRIGGER parameter_history_no_update BEFORE UPDATE ON parameter_history "
    f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END",
    "CREATE TRIGGER parameter_history_no_delete BEFORE DELETE ON parameter_history "
    "WHEN EXISTS (SELECT 1 FROM generative_session WHERE id = OLD.session_id) "
    f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END",
)
POSTGRES_TRIGGERS = (
    "CREATE FUNCTION parameter_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN "
    "IF TG_OP = 'DELETE' AND NOT EXISTS "
    "(SELECT 1 FROM generative_session WHERE id = OLD.session_id) THEN RETURN OLD; END IF; "
    f"RAISE EXCEPTION '{_MESSAGE}' USING ERRCODE = 'integrity_constraint_violation'; "
    "END $$",
    "CREATE TRIGGER parameter_history_append_only BEFORE UPDATE OR DELETE ON parameter_history "
    "FOR EACH ROW EXECUTE FUNCTION parameter_history_append_only()",
    # Row triggers do not fire on TRUNCATE, which would wipe the trail in one statement.
    "CREATE TRIGGER parameter_history_no_truncate BEFORE TRUNCATE ON parameter_history "
    "FOR EACH STATEMENT EXECUTE FUNCTION parameter_history_append_only()",
)


def upgrade(migrator: SchemaMigrator, db: Database) -> None:
    with db.bind_ctx(TABLES):
        db.create_tables(TABLES, safe=False)
    for statement in POSTGRES_TRIGGERS if isinstance(db, PostgresqlDatabase) else SQLITE_TRIGGERS:
        db.execute_sql(statement)


def downgrade(migrator: SchemaMigrator, db: Database) -> None:
    if isinstance(db, PostgresqlDatabase):
        db.execute_sql("DROP FUNCTION IF EXISTS parameter_history_append_only() CASCADE")
    with db.bind_ctx(TABLES):
        db.drop_tables(TABLES, safe=False)
