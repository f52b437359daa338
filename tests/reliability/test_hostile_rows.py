"""Hostile rows: one value of one row edited by hand, for every table and every kind.

A database is a file anyone can edit (``sqlite3 db.sqlite``, ``psql``). For each table and
each kind of bad value its columns can be given (invalid JSON, JSON of the wrong shape, an
enum name this version does not know, text in a number column), one row is edited with raw
SQL, and then:

* the area's list still lists every row, the edited one with the bad field marked
  (:class:`~dashai_store.decoding.Unreadable`, the raw text), never an untyped error;
* a get of that row returns the same marked record;
* ``maintenance.check()`` reports exactly that row and column in ``bad_rows``;
* the area's delete removes the row, and check no longer reports it.

Enums are edited past their CHECK (SQLite: ``PRAGMA ignore_check_constraints``; PostgreSQL:
the test schema's CHECKs are dropped first); ``parameter_history`` past its append-only
triggers. Text in a number column exists only on SQLite (PostgreSQL's columns are typed).
The order of the cases and the bad text used for each kind come from a seed
(``DASHAI_HOSTILE_ROWS_SEED``), printed with the figures so a failure can be replayed.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from dashai_store import (
    datasets,
    explainers,
    explorers,
    generative,
    maintenance,
    metrics,
    model_sessions,
    models,
    notebooks,
    plugins,
    predictions,
    runs,
)
from dashai_store.database import Store
from dashai_store.decoding import Unreadable
from dashai_store.records import unreadable_fields

from ._support import seed_from

SEED = seed_from("DASHAI_HOSTILE_ROWS_SEED")

# Bad values per kind (SQL literals); the seed picks one per case.
KINDS: dict[str, tuple[str, ...]] = {
    "invalid json": ("'{\"a\": '", "'not json'", "'[1, 2'", "''"),
    "json object expected": ("'[]'", "'[1, 2]'", "'\"text\"'", "'3'"),
    "json array expected": ("'{}'", "'{\"a\": 1}'", "'7'"),
    "unknown enum": ("'RUNNING'", "'LOST'", "'finished'", "'??'"),
    "text in a number": ("'abc'", "'1.5.2'", "'NaNa'"),
}


@dataclass(frozen=True)
class Case:
    table: str
    column: str
    kind: str
    sqlite_only: bool = False
    row: str = ""  # the world's row to edit, when not the table's first (see _world)


CASES = (
    Case("dataset", "lineage", "json object expected"),
    Case("dataset", "status", "unknown enum"),
    Case("model_session", "input_columns", "json array expected"),
    Case("model_session", "splits", "invalid json"),
    Case("run", "parameters", "invalid json"),
    Case("run", "parameters", "json object expected"),
    Case("run", "artifacts", "invalid json"),
    Case("run", "status", "unknown enum"),
    Case("metric", "value", "text in a number", sqlite_only=True),
    Case("metric", "step", "text in a number", sqlite_only=True),
    Case("metric", "split", "unknown enum"),
    Case("metric", "level", "unknown enum"),
    Case("prediction", "status", "unknown enum"),
    Case("notebook", "current_position", "text in a number", sqlite_only=True),
    Case("converter", "parameters", "json object expected"),
    Case("converter", "position", "text in a number", sqlite_only=True),
    Case("converter", "status", "unknown enum"),
    Case("explorer", "columns", "json array expected"),
    Case("explorer", "parameters", "invalid json"),
    Case("explorer", "position", "text in a number", sqlite_only=True),
    Case("generative_session", "parameters", "json object expected"),
    Case("parameter_history", "parameters", "invalid json"),
    Case("generative_process", "status", "unknown enum"),
    Case("process_data", "data_type", "unknown enum"),
    Case("process_data", "is_input", "text in a number", sqlite_only=True),
    Case("process_data", "data", "invalid json", row="process_data_json"),
    Case("plugin", "status", "unknown enum"),
    Case("tag", "name", "unknown enum"),
    Case("global_explainer", "parameters", "invalid json"),
    Case("global_explainer", "status", "unknown enum"),
    Case("local_explainer", "scope", "invalid json"),
    Case("local_explainer", "fit_parameters", "json object expected"),
)


# -- a small world with one row in every table -------------------------------------------------


def _world(tag: str) -> dict[str, int]:
    ds = datasets.create(f"ds-{tag}", pa.table({"a": [1, 2, 3, 4], "b": [0, 1, 0, 1]}))
    ms = model_sessions.create(
        ds.id,
        f"ms-{tag}",
        task_name="TabularClassificationTask",
        input_columns=["a"],
        output_columns=["b"],
        splits={"train": 0.5, "validation": 0.25, "test": 0.25},
    )
    run = runs.create(
        ms.id,
        "run",
        model_name="SVC",
        parameters={"C": 1.0},
        optimizer_name="Optuna",
        optimizer_parameters={},
        goal_metric="Accuracy",
    )
    metrics.log_many(run.id, [("loss", "TRAIN", "STEP", s, 1.0 / (s + 1)) for s in range(3)])
    prediction = predictions.create(run.id, ds.id)
    nb = notebooks.create(ds.id, name="nb")
    converter = notebooks.add_converter(nb.id, "Scale", {"factor": 2})
    explorer = explorers.create(nb.id, "Describe", ["a"], {"bins": 3})
    session = generative.create_session(
        f"gs-{tag}", task_name="TextToImage", model_name="M", parameters={"steps": 4}
    )
    process = generative.create_process(session.id, [("str", "a cat"), ("json", {"seed": 1})])
    plugin = plugins.register(f"pl-{tag}", author="me", version="1.0", tags=["Model", "Task"])
    glob = explainers.create_global(run.id, "g", "KernelShap", {"n": 1})
    local = explainers.create_local(run.id, ds.id, "l", "Lime", {"n": 1}, {"k": 2}, {"instances": [0]})
    snapshot = generative.parameter_history(session.id)[0]
    return {
        "dataset": ds.id,
        "model_session": ms.id,
        "run": run.id,
        "metric": metrics.history(run.id)[0].id,
        "prediction": prediction.id,
        "notebook": nb.id,
        "converter": converter.id,
        "explorer": explorer.id,
        "generative_session": session.id,
        "parameter_history": snapshot.id,
        "generative_process": process.id,
        "process_data": generative.payloads(process.id)[0].id,
        "process_data_json": generative.payloads(process.id)[1].id,
        "plugin": plugin.id,
        "tag": int(models.Tag.select(models.Tag.id).where(models.Tag.plugin == plugin.id).scalar()),
        "global_explainer": glob.id,
        "local_explainer": local.id,
    }


# -- the area's list, get and delete of each table's row -----------------------------------------

Reader = Callable[[dict[str, int]], Any]


def _metric_reads(w: dict[str, int]) -> list[Any]:
    run_id = w["run"]
    # Every read path must answer; history and since carry the marked point.
    metrics.history_table(run_id)
    metrics.latest(run_id)
    since, _cursor = metrics.since(run_id)
    assert len(since) == 3
    return metrics.history(run_id)


AREAS: dict[str, tuple[Reader, Reader, Callable[[dict[str, int]], None]]] = {
    "dataset": (
        lambda w: datasets.list(),
        lambda w: datasets.get(w["dataset"]),
        lambda w: datasets.delete(w["dataset"]),
    ),
    "model_session": (
        lambda w: model_sessions.list(w["dataset"]),
        lambda w: model_sessions.get(w["model_session"]),
        lambda w: model_sessions.delete(w["model_session"]),
    ),
    "run": (
        lambda w: runs.list(w["model_session"]),
        lambda w: runs.get(w["run"]),
        lambda w: runs.delete(w["run"]),
    ),
    "metric": (_metric_reads, lambda w: None, lambda w: runs.delete(w["run"])),
    "prediction": (
        lambda w: predictions.list(),
        lambda w: predictions.get(w["prediction"]),
        lambda w: predictions.delete(w["prediction"]),
    ),
    "notebook": (
        lambda w: notebooks.list(w["dataset"]),
        lambda w: notebooks.get(w["notebook"]),
        lambda w: notebooks.delete(w["notebook"]),
    ),
    "converter": (
        lambda w: notebooks.converters(w["notebook"]),
        lambda w: notebooks.get_converter(w["converter"]),
        lambda w: notebooks.delete(w["notebook"]),
    ),
    "explorer": (
        lambda w: explorers.list(w["notebook"]),
        lambda w: explorers.get(w["explorer"]),
        lambda w: explorers.delete(w["explorer"]),
    ),
    "generative_session": (
        lambda w: generative.list_sessions(),
        lambda w: generative.get_session(w["generative_session"]),
        lambda w: generative.delete_session(w["generative_session"]),
    ),
    "parameter_history": (
        lambda w: (
            generative.parameter_history(w["generative_session"]),
            generative.parameter_changes(w["generative_session"]),
        )[0],
        lambda w: generative.get_snapshot(w["parameter_history"]),
        lambda w: generative.delete_session(w["generative_session"]),
    ),
    "generative_process": (
        lambda w: generative.list_processes(w["generative_session"]),
        lambda w: generative.get_process(w["generative_process"]),
        lambda w: generative.delete_process(w["generative_process"]),
    ),
    "process_data": (
        lambda w: generative.payloads(w["generative_process"]),
        lambda w: None,
        lambda w: generative.delete_process(w["generative_process"]),
    ),
    "plugin": (
        lambda w: plugins.list(),
        lambda w: plugins.get(w["plugin"]),
        lambda w: plugins.delete(w["plugin"]),
    ),
    "tag": (
        lambda w: plugins.list(),
        lambda w: plugins.get(w["plugin"]),
        lambda w: plugins.delete(w["plugin"]),
    ),
    "global_explainer": (
        lambda w: explainers.list_global(w["run"]),
        lambda w: explainers.get("global", w["global_explainer"]),
        lambda w: explainers.delete_global(w["global_explainer"]),
    ),
    "local_explainer": (
        lambda w: explainers.list_local(w["run"]),
        lambda w: explainers.get("local", w["local_explainer"]),
        lambda w: explainers.delete_local(w["local_explainer"]),
    ),
}


def _marked(found: Any) -> bool:
    """Whether a record (or a list of records) holds an Unreadable value somewhere."""
    if isinstance(found, list):
        return any(_marked(item) for item in found)
    if found is None:
        return False
    if isinstance(found, Unreadable):
        return True
    return bool(unreadable_fields(found))


# -- editing by hand ------------------------------------------------------------------------------


def _loosen_postgres(store: Store) -> None:
    """Drop the test schema's CHECKs, as a hand edit that ignores them would need."""
    rows = store.db.execute_sql(
        "SELECT c.relname, k.conname FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE k.contype = 'c' AND n.nspname = current_schema()"
    ).fetchall()
    for table, name in rows:
        store.db.execute_sql(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')


def _edit(store: Store, table: str, column: str, literal: str, row_id: int) -> None:
    update = f'UPDATE "{table}" SET "{column}" = {literal} WHERE id = {row_id}'
    if store.backend == "postgresql":
        with store.db.atomic():
            if table == "parameter_history":
                store.db.execute_sql(
                    "ALTER TABLE parameter_history DISABLE TRIGGER parameter_history_append_only"
                )
            store.db.execute_sql(update)
            if table == "parameter_history":
                store.db.execute_sql(
                    "ALTER TABLE parameter_history ENABLE TRIGGER parameter_history_append_only"
                )
        return
    conn = sqlite3.connect(str(store.home / "db.sqlite"), timeout=30)
    try:
        conn.execute("PRAGMA ignore_check_constraints = ON")
        with conn:
            if table == "parameter_history":
                conn.execute("DROP TRIGGER parameter_history_no_update")
            conn.execute(update)
            if table == "parameter_history":
                conn.execute(models.SQLITE_TRIGGERS[0])
    finally:
        conn.close()


# -- the test -----------------------------------------------------------------------------------------


def test_a_hand_edited_value_of_any_table_is_listed_marked_reported_and_deletable(
    store: Store, figures: Any
) -> None:
    rng = random.Random(SEED)
    cases = [case for case in CASES if not (case.sqlite_only and store.backend != "sqlite")]
    rng.shuffle(cases)
    if store.backend == "postgresql":
        _loosen_postgres(store)
    started = time.perf_counter()
    for number, case in enumerate(cases):
        literal = rng.choice(KINDS[case.kind])
        label = f"{case.table}.{case.column} = {literal} ({case.kind}; seed {SEED})"
        world = _world(str(number))
        list_of, get_of, delete_of = AREAS[case.table]
        row_id = world[case.row or case.table]
        _edit(store, case.table, case.column, literal, row_id)

        listed = list_of(world)
        assert _marked(listed), f"{label}: the list does not mark the value"
        got = get_of(world)
        if got is not None:
            assert _marked(got), f"{label}: get does not mark the value"
        report = maintenance.check()
        assert [(b.table, b.row_id, b.column) for b in report.bad_rows] == [
            (case.table, row_id, case.column)
        ], f"{label}: check reported {report.bad_rows}"
        assert not report.ok

        delete_of(world)
        after = maintenance.check()
        assert after.bad_rows == (), f"{label}: still reported after the delete: {after.bad_rows}"
        # What is left of the world goes too, so the next case starts clean.
        if case.table not in ("dataset",):
            datasets.delete(world["dataset"])
        if case.table not in ("generative_session", "parameter_history"):
            generative.delete_session(world["generative_session"])
        if case.table not in ("plugin", "tag"):
            plugins.delete(world["plugin"])
    elapsed = time.perf_counter() - started
    tables = len({case.table for case in cases})
    figures("seed (DASHAI_HOSTILE_ROWS_SEED)", SEED)
    figures("hand-edited rows", len(cases))
    figures("tables", tables)
    figures("kinds", len({case.kind for case in cases}))
    print(
        f"\n[hostile rows] {store.backend}: {len(cases)} hand-edited rows over {tables} tables, "
        f"each listed, got, reported by check and deleted, in {elapsed:.1f} s (seed {SEED})"
    )
