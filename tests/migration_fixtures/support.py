"""Helpers shared by the migration, constraint and script tests (not a migration step)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import peewee
from dashai_store.migrations import REGISTRY

from dashai_store import models
from dashai_store.database import connect_postgres, connect_sqlite

REPO = Path(__file__).resolve().parents[2]
MIGRATE_SCRIPT = REPO / "scripts" / "migrate.py"
WRAPPER = Path(__file__).resolve().parent / "migrate_with.py"
PYTHON = sys.executable
TIMEOUT_S = 60

# The real registry's step ids in order, and its head (what a fresh store is migrated to);
# the test-only steps of this package are numbered after them.
BASE: list[str] = [str(m.ID) for m in REGISTRY]
HEAD = BASE[-1]

# The 16 DashAI tables, the store's bookkeeping tables (pending deletions, bundle imports)
# and the runner's version table.
EXPECTED_TABLES = (
    "converter",
    "dashai_bundle_import",
    "dashai_pending_deletion",
    "dashai_schema_migration",
    "dataset",
    "explorer",
    "generative_process",
    "generative_session",
    "global_explainer",
    "local_explainer",
    "metric",
    "model_session",
    "notebook",
    "parameter_history",
    "plugin",
    "prediction",
    "process_data",
    "run",
    "tag",
)


def target_args(home: Path, url: str | None) -> list[str]:
    """Command-line arguments naming the store: ``--home`` and, on PostgreSQL, ``--database``."""
    return ["--home", str(home), *(["--database", url] if url else [])]


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    """``python scripts/migrate.py ARGS`` in a subprocess."""
    return subprocess.run(
        [PYTHON, str(MIGRATE_SCRIPT), *args], capture_output=True, text=True, timeout=TIMEOUT_S, cwd=REPO
    )


def run_with(extra: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The migrate command line with test-only steps (``m0005_x[,m0005_y]``) appended."""
    return subprocess.run(
        [PYTHON, str(WRAPPER), extra, *args], capture_output=True, text=True, timeout=TIMEOUT_S, cwd=REPO
    )


def connect(home: Path, url: str | None) -> peewee.Database:
    """An unbound database for the store at ``home`` (or the PostgreSQL ``url``)."""
    return connect_postgres(url) if url else connect_sqlite(home / "db.sqlite")


def table_names(db: peewee.Database) -> list[str]:
    if isinstance(db, peewee.PostgresqlDatabase):
        query = (
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    return sorted(str(r[0]) for r in db.execute_sql(query).fetchall())


def version_rows(db: peewee.Database) -> list[tuple[object, ...]]:
    return [
        tuple(r)
        for r in db.execute_sql(
            "SELECT sequence, id, checksum, applied_at, library_version, duration_ms "
            "FROM dashai_schema_migration ORDER BY sequence"
        ).fetchall()
    ]


def sqlite_rows(path: Path, query: str) -> list[tuple[object, ...]]:
    """Rows from a SQLite file opened read-only with the plain driver."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [tuple(r) for r in conn.execute(query).fetchall()]
    finally:
        conn.close()


def now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True)
class Seeded:
    """Ids of one row of every table, as inserted through the Peewee models."""

    dataset: int
    other_dataset: int
    model_session: int
    run: int
    other_run: int
    metrics: tuple[int, ...]
    prediction: int
    notebook: int
    converter: int
    explorer: int
    global_explainer: int
    local_explainer: int
    generative_session: int
    parameter_history: tuple[int, ...]
    generative_process: int
    process_data: int
    plugin: int
    tag: int


def seed() -> Seeded:
    """Insert a small graph of rows through the models (a store must be open and bound)."""
    t = now()
    job = {"created": t, "last_modified": t}
    with models.Dataset._meta.database.atomic():
        ds = models.Dataset.create(name="iris", file_path="datasets/1/data.arrow", **job)
        other = models.Dataset.create(name="wine", file_path="datasets/2/data.arrow", **job)
        ms = models.ModelSession.create(
            dataset=ds,
            name="session",
            task_name="TabularClassificationTask",
            input_columns=["a", "b"],
            output_columns=["y"],
            train_metrics=["Accuracy"],
            splits={"train": 0.6, "validation": 0.2, "test": 0.2},
            **job,
        )
        run_kw = {
            "model_session": ms,
            "model_name": "SVC",
            "parameters": {"C": 1.0},
            "optimizer_name": "OptunaOptimizer",
            "optimizer_parameters": {},
            "goal_metric": "Accuracy",
            **job,
        }
        run = models.Run.create(name="run", **run_kw)
        other_run = models.Run.create(name="other run", **run_kw)
        metrics = tuple(
            models.Metric.create(
                run=r,
                name="Accuracy",
                value=0.5 + step / 10,
                split=split,
                level="STEP",
                step=step,
                timestamp=t,
            ).id
            for r in (run, other_run)
            for split in ("TRAIN", "TEST")
            for step in range(3)
        )
        prediction = models.Prediction.create(run=run, dataset=other, **job)
        notebook = models.Notebook.create(dataset=ds, name="nb", file_path=ds.file_path, **job)
        converter = models.Converter.create(
            notebook=notebook, converter="DropNaN", parameters={}, position=1, **job
        )
        explorer = models.Explorer.create(
            notebook=notebook, exploration_type="Histogram", columns=["a"], parameters={}, **job
        )
        gexp = models.GlobalExplainer.create(
            run=run, name="g", explainer_name="KernelShap", parameters={}, created=t
        )
        lexp = models.LocalExplainer.create(
            run=run,
            dataset=ds,
            name="l",
            explainer_name="Lime",
            parameters={},
            fit_parameters={},
            scope={"instances": [0]},
            created=t,
        )
        gs = models.GenerativeSession.create(
            name="gen", task_name="TextToImage", model_name="sd", parameters={"steps": 10}, **job
        )
        history = tuple(
            models.ParameterHistory.create(session=gs, parameters={"steps": n}, modified_at=t).id
            for n in (10, 20)
        )
        process = models.GenerativeProcess.create(session=gs, parameter_history=history[-1], **job)
        data = models.ProcessData.create(process=process, data="a cat", data_type="str", is_input=True)
        plugin = models.Plugin.create(
            name="dashai-plugin",
            author="me",
            installed_version="1.0",
            latest_version="1.0",
            status="INSTALLED",
            summary="s",
            description="d",
            description_content_type="text/markdown",
            **job,
        )
        tag = models.Tag.create(plugin=plugin, name="Model")
    return Seeded(
        dataset=ds.id,
        other_dataset=other.id,
        model_session=ms.id,
        run=run.id,
        other_run=other_run.id,
        metrics=metrics,
        prediction=prediction.id,
        notebook=notebook.id,
        converter=converter.id,
        explorer=explorer.id,
        global_explainer=gexp.id,
        local_explainer=lexp.id,
        generative_session=gs.id,
        parameter_history=history,
        generative_process=process.id,
        process_data=data.id,
        plugin=plugin.id,
        tag=tag.id,
    )


def all_rows(db: peewee.Database) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every domain table, ordered by id (for before/after comparisons)."""
    return {
        m._meta.table_name: [
            tuple(r) for r in db.execute_sql(f'SELECT * FROM "{m._meta.table_name}" ORDER BY id').fetchall()
        ]
        for m in models.DOMAIN_MODELS
    }
