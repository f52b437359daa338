"""Values edited by hand: decoding marks them (decoding.Unreadable), never raises.

The table-by-table sweep is ``tests/reliability/test_hostile_rows.py``; these are the
cases it does not reach: deletes through a parent, writes that would build on an
unreadable value, the metric read paths, and the marker itself.
"""

from __future__ import annotations

import copy
import json
import math
import pickle
import sqlite3
import subprocess
import sys

import pyarrow as pa
import pytest
from helpers import plant_dataset, plant_run, plant_session

from dashai_store import datasets, errors, generative, maintenance, metrics, models, runs
from dashai_store.database import Store
from dashai_store.decoding import Unreadable, decode_enum, decode_int, decode_json, decode_real
from dashai_store.enums import RunStatus
from dashai_store.records import unreadable_fields


def _edit(store: Store, sql: str) -> None:
    """Raw SQL past the CHECKs and the append-only triggers (dropped on PostgreSQL)."""
    if store.backend == "postgresql":
        with store.db.atomic():
            store.db.execute_sql(
                "ALTER TABLE parameter_history DISABLE TRIGGER parameter_history_append_only"
            )
            store.db.execute_sql(sql)
            store.db.execute_sql("ALTER TABLE parameter_history ENABLE TRIGGER parameter_history_append_only")
        return
    conn = sqlite3.connect(str(store.home / "db.sqlite"), timeout=30)
    try:
        conn.execute("PRAGMA ignore_check_constraints = ON")
        with conn:
            conn.execute("DROP TRIGGER parameter_history_no_update")
            conn.execute(sql)
            conn.execute(models.SQLITE_TRIGGERS[0])
    finally:
        conn.close()


def test_the_marker_is_the_raw_text_with_its_problem() -> None:
    bad = decode_json('{"a": ', dict)
    assert isinstance(bad, Unreadable) and bad == '{"a": ' and "not valid JSON" in bad.problem
    assert pickle.loads(pickle.dumps(bad)).problem == bad.problem and copy.deepcopy(bad) == bad
    assert decode_json("[]", dict).problem == "JSON list where an object is expected"
    assert decode_json("[1]", list) == [1] and decode_json("null") is None
    assert decode_enum(RunStatus, "FINISHED") is RunStatus.FINISHED
    assert isinstance(decode_enum(RunStatus, "RUNNING"), Unreadable)
    assert (
        decode_int(3) == 3
        and isinstance(decode_int("3"), Unreadable)
        and isinstance(decode_int(True), Unreadable)
    )
    assert math.isnan(decode_real(None)) and math.copysign(1, decode_real(b"\x80" + bytes(7))) == -1.0
    assert isinstance(decode_real("abc"), Unreadable) and isinstance(decode_real(b"xyz"), Unreadable)


def test_a_dataset_deletes_whatever_its_runs_hold(store: Store) -> None:
    ds = plant_dataset("d")
    run_id = plant_run(plant_session(ds))
    metrics.log(run_id, "loss", 0.5, split="TRAIN", level="STEP", step=0)
    _edit(store, f"UPDATE run SET parameters = '{{oops', artifacts = '[1]' WHERE id = {run_id}")
    record = runs.get(run_id)
    assert set(unreadable_fields(record)) == {"parameters", "artifacts"}
    assert {(b.table, b.column) for b in maintenance.check().bad_rows} == {
        ("run", "parameters"),
        ("run", "artifacts"),
    }
    datasets.delete(ds)
    assert runs.list() == [] and maintenance.check().bad_rows == ()


def test_text_in_a_metric_value_is_marked_in_history_and_nan_in_the_table(sqlite_store: Store) -> None:
    run_id = plant_run(plant_session(plant_dataset("d")))
    metrics.log_many(run_id, [("loss", "TRAIN", "STEP", s, v) for s, v in enumerate([0.5, -0.0, 0.25])])
    metrics.log(run_id, "accuracy", 0.9, split="TRAIN", level="LAST", step=2)
    _edit(sqlite_store, f"UPDATE metric SET value = 'abc' WHERE run_id = {run_id} AND step = 2")
    values = [p.value for p in metrics.history(run_id, name="loss")]
    assert values[0] == 0.5 and math.copysign(1, values[1]) == -1.0 and values[2] == "abc"
    assert isinstance(values[2], Unreadable)
    table = metrics.history_table(run_id, name="loss").column("value").to_pylist()
    assert table[0] == 0.5 and math.copysign(1, table[1]) == -1.0 and math.isnan(table[2])
    assert isinstance(metrics.latest(run_id)["TRAIN"]["accuracy"], Unreadable)
    assert [(b.table, b.column) for b in maintenance.check().bad_rows] == [("metric", "value")] * 2
    runs.delete(run_id)
    assert maintenance.check().bad_rows == ()


def test_generative_writes_refuse_to_build_on_unreadable_parameters(store: Store) -> None:
    session = generative.create_session("s", task_name="t", model_name="m", parameters={"a": 1})
    first = generative.parameter_history(session.id)[0]
    _edit(store, f"UPDATE generative_session SET parameters = '[]' WHERE id = {session.id}")
    _edit(store, f"UPDATE parameter_history SET parameters = 'nope' WHERE id = {first.id}")
    assert isinstance(generative.get_session(session.id).parameters, Unreadable)
    with pytest.raises(errors.UnreadableValue, match="cannot be read"):
        generative.update_parameters(session.id, {"b": 2})
    with pytest.raises(errors.UnreadableValue, match=f"parameter snapshot {first.id}"):
        generative.restore_parameters(session.id, first.id)
    repaired = generative.update_parameters(session.id, {"b": 2}, replace=True)
    assert repaired.parameters == {"b": 2} and generative.get_session(session.id).parameters == {"b": 2}
    changes = generative.parameter_changes(session.id)
    assert [(c.added, c.removed) for c in changes] == [({}, {}), ({"b": 2}, {})]
    report = maintenance.check()
    assert [(b.table, b.row_id) for b in report.bad_rows] == [("parameter_history", first.id)]
    assert any("edited by hand" in line for line in maintenance.advice(report))
    generative.delete_session(session.id)
    assert maintenance.check().bad_rows == ()


def test_a_sound_store_reports_no_bad_rows(store: Store) -> None:
    ds = datasets.create("d", pa.table({"a": [1]}))
    session = generative.create_session(
        "s", task_name="t", model_name="m", parameters={"x": [1, {"y": None}]}
    )
    generative.create_process(session.id, [("json", {"k": 1}), ("str", "t")])
    report = maintenance.check()
    assert report.bad_rows == () and report.schema_drift == ()
    assert datasets.get(ds.id).lineage is None


def test_a_json_payload_edited_into_non_json_is_a_bad_row(store: Store) -> None:
    # A payload's text is JSON only by its data type (not a JSON column): checked apart.
    session = generative.create_session("s", task_name="t", model_name="m", parameters={})
    process = generative.create_process(session.id, [("json", {"k": 1}), ("str", "{not json")])
    json_payload, text_payload = generative.payloads(process.id)
    _edit(store, f"UPDATE process_data SET data = '{{k: 1' WHERE id = {json_payload.id}")

    report = maintenance.check()

    assert [(b.table, b.row_id, b.column) for b in report.bad_rows] == [
        ("process_data", json_payload.id, "data")
    ]
    assert isinstance(generative.payloads(process.id)[0].value, Unreadable)
    assert generative.payloads(process.id)[1] == text_payload  # str payloads are never parsed


def test_dashai_store_check_lists_the_bad_rows(store: Store, database_url: str | None) -> None:
    run_id = plant_run(plant_session(plant_dataset("d")))
    _edit(store, f"UPDATE run SET optimizer_parameters = '{{' WHERE id = {run_id}")
    target = ["--home", str(store.home), *(["--database", database_url] if database_url else [])]
    command = [sys.executable, "-m", "dashai_store", "check", *target, "--grace", "0"]
    text = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert text.returncode != 0 and f"run {run_id} optimizer_parameters: not valid JSON" in text.stdout, (
        text.stdout
    )
    found = json.loads(
        subprocess.run([*command, "--json"], capture_output=True, text=True, timeout=60).stdout
    )
    assert [(b["table"], b["row_id"], b["column"]) for b in found["bad_rows"]] == [
        ("run", run_id, "optimizer_parameters")
    ]


def test_text_edited_into_bytes_that_are_not_utf8_reads_marked(sqlite_store: Store) -> None:
    # SQLite keeps whatever bytes a hand edit writes into a TEXT column; the driver refuses
    # to decode them and used to fail the whole fetch: one bad name made the table's
    # listing, the row's deletion and check fail with a raw sqlite3 error.
    ds = datasets.create("good", pa.table({"a": [1]}))
    bad = datasets.create("to-edit", pa.table({"a": [1]}))
    run_id = plant_run(plant_session(ds.id))
    metrics.log_many(run_id, [("loss", "TRAIN", "STEP", 0, 1.0), ("acc", "TRAIN", "STEP", 0, 0.5)])
    _edit(sqlite_store, f"UPDATE dataset SET name = CAST(X'66FF6F' AS TEXT) WHERE id = {bad.id}")
    _edit(sqlite_store, "UPDATE metric SET name = CAST(X'6C6FC3' AS TEXT) WHERE name = 'loss'")

    names = {d.id: d.name for d in datasets.list()}
    assert names[ds.id] == "good"
    assert isinstance(names[bad.id], Unreadable) and "not UTF-8" in names[bad.id].problem
    assert isinstance(datasets.get(bad.id).name, Unreadable)
    history = metrics.history(run_id)
    assert sorted(isinstance(p.name, Unreadable) for p in history) == [False, True]

    report = maintenance.check()
    assert {(b.table, b.column) for b in report.bad_rows} == {("dataset", "name"), ("metric", "name")}
    datasets.delete(bad.id)
    assert [d.id for d in datasets.list()] == [ds.id]


def test_check_in_a_fresh_process_lists_text_that_is_not_utf8(sqlite_store: Store) -> None:
    bad = datasets.create("to-edit", pa.table({"a": [1]}))
    _edit(sqlite_store, f"UPDATE dataset SET name = CAST(X'FF' AS TEXT) WHERE id = {bad.id}")
    command = [
        sys.executable,
        "-m",
        "dashai_store",
        "check",
        "--home",
        str(sqlite_store.home),
        "--grace",
        "0",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "not UTF-8" in result.stdout
