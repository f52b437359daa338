"""Generative sessions, parameter history, processes and payloads, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import math
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import peewee
import pytest
from helpers import file_tree, row_counts

from dashai_store import errors, files, generative
from dashai_store.clock import utcnow
from dashai_store.database import Store, writes
from dashai_store.enums import DataType, RunStatus
from dashai_store.models import GenerativeSession, ParameterHistory
from dashai_store.records import GenerativeSessionRecord


def make_png(width: int = 3, height: int = 2) -> bytes:
    """A real, valid RGB PNG (signature, IHDR, IDAT, IEND with correct CRCs)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    raw = b"".join(
        b"\x00" + bytes(c for x in range(width) for c in (x * 80 % 256, y * 120 % 256, (x + y) * 40 % 256))
        for y in range(height)
    )
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )


PNG = make_png()


def new_session(name: str = "chat", parameters: dict[str, Any] | None = None) -> GenerativeSessionRecord:
    params = {"temperature": 0.7, "max_tokens": 32} if parameters is None else parameters
    return generative.create_session(name, "TextToText", "tiny-gpt", params, description="test")


def history_params(session_id: int) -> list[dict[str, Any]]:
    return [snapshot.parameters for snapshot in generative.parameter_history(session_id)]


# -- the audit trail ------------------------------------------------------------------------


def test_updates_restore_and_processes_record_exactly(store: Store) -> None:
    s = new_session()
    p0 = generative.create_process(s.id, [("str", "first prompt")])

    s1 = generative.update_parameters(s.id, {"temperature": 0.9, "top_p": 0.95})
    s2 = generative.update_parameters(s.id, {"max_tokens": 64})
    p1 = generative.create_process(s.id, [("str", "second prompt")])
    s3 = generative.update_parameters(s.id, {"temperature": 0.2}, replace=True)
    p2 = generative.create_process(s.id)

    history = generative.parameter_history(s.id)
    restored = generative.restore_parameters(s.id, history[0].id)
    p3 = generative.create_process(s.id, [("json", {"seed": 7})])
    # Restoring what is already current, and a merge that changes nothing, write nothing.
    assert generative.restore_parameters(s.id, history[0].id).id == restored.id
    assert generative.update_parameters(s.id, {"max_tokens": 32}).id == restored.id
    p4 = generative.create_process(s.id)

    history = generative.parameter_history(s.id)
    assert [h.id for h in history] == [history[0].id, s1.id, s2.id, s3.id, restored.id]
    assert [h.parameters for h in history] == [
        {"temperature": 0.7, "max_tokens": 32},
        {"temperature": 0.9, "max_tokens": 32, "top_p": 0.95},
        {"temperature": 0.9, "max_tokens": 64, "top_p": 0.95},
        {"temperature": 0.2},
        {"temperature": 0.7, "max_tokens": 32},
    ]
    assert all(h.session_id == s.id for h in history)
    assert [h.modified_at for h in history] == sorted(h.modified_at for h in history)
    assert generative.get_session(s.id).parameters == {"temperature": 0.7, "max_tokens": 32}
    assert generative.get_session(s.id).last_modified == restored.modified_at

    changes = generative.parameter_changes(s.id)
    assert [c.snapshot_id for c in changes] == [h.id for h in history]
    assert [(c.added, c.removed, c.changed) for c in changes] == [
        ({"temperature": 0.7, "max_tokens": 32}, {}, {}),
        ({"top_p": 0.95}, {}, {"temperature": (0.7, 0.9)}),
        ({}, {}, {"max_tokens": (32, 64)}),
        ({}, {"max_tokens": 64, "top_p": 0.95}, {"temperature": (0.9, 0.2)}),
        ({"max_tokens": 32}, {}, {"temperature": (0.2, 0.7)}),
    ]

    processes = generative.list_processes(s.id)
    assert [p.id for p in processes] == [p0.id, p1.id, p2.id, p3.id, p4.id]
    assert [p.parameter_history_id for p in processes] == [
        history[0].id,
        s2.id,
        s3.id,
        restored.id,
        restored.id,
    ]
    assert generative.get_snapshot(p2.parameter_history_id or 0).parameters == {"temperature": 0.2}


def test_noop_update_writes_nothing(store: Store) -> None:
    s = new_session(parameters={"a": 1, "b": {"x": [1, 2]}})
    before_counts = row_counts(store.db)
    before_session = generative.get_session(s.id)
    first = generative.parameter_history(s.id)[0]

    assert generative.update_parameters(s.id, {}).id == first.id
    assert generative.update_parameters(s.id, {"a": 1}).id == first.id
    assert generative.update_parameters(s.id, {"b": {"x": (1, 2)}}).id == first.id  # tuple == list in JSON
    assert generative.update_parameters(s.id, {"b": {"x": [1, 2]}, "a": 1}, replace=True).id == first.id
    assert generative.restore_parameters(s.id, first.id).id == first.id

    assert row_counts(store.db) == before_counts
    assert generative.get_session(s.id) == before_session  # last_modified untouched too


def test_json_type_changes_are_changes(store: Store) -> None:
    s = new_session(parameters={"n": 1, "flag": 1, "nested": {"k": [1, "a"]}})
    generative.update_parameters(s.id, {"n": 1.0})
    generative.update_parameters(s.id, {"flag": True})
    generative.update_parameters(s.id, {"nested": {"k": [1, "b"]}})
    changes = generative.parameter_changes(s.id)
    assert len(changes) == 4
    assert changes[1].changed == {"n": (1, 1.0)}
    assert isinstance(changes[1].changed["n"][1], float)
    assert changes[2].changed == {"flag": (1, True)}
    assert changes[2].changed["flag"][1] is True
    assert changes[3].changed == {"nested": ({"k": [1, "a"]}, {"k": [1, "b"]})}
    assert generative.get_session(s.id).parameters == {"n": 1.0, "flag": True, "nested": {"k": [1, "b"]}}


def test_restore_refuses_another_sessions_snapshot(store: Store) -> None:
    a = new_session("a")
    b = new_session("b", {"other": True})
    b_first = generative.parameter_history(b.id)[0]
    before = row_counts(store.db)
    with pytest.raises(errors.ValidationError, match=rf"snapshot {b_first.id} belongs to generative session"):
        generative.restore_parameters(a.id, b_first.id)
    with pytest.raises(errors.NotFound, match="parameter snapshot 987654 does not exist"):
        generative.restore_parameters(a.id, 987654)
    assert row_counts(store.db) == before
    assert generative.get_session(a.id).parameters == {"temperature": 0.7, "max_tokens": 32}


def test_snapshot_update_and_delete_are_rejected_by_the_database(store: Store) -> None:
    s = new_session()
    generative.update_parameters(s.id, {"temperature": 1.0})
    before = [(h.id, h.parameters, h.modified_at) for h in generative.parameter_history(s.id)]
    statements = [
        "UPDATE parameter_history SET parameters = '{\"hacked\": 1}'",
        f"UPDATE parameter_history SET modified_at = modified_at WHERE session_id = {s.id}",
        f"DELETE FROM parameter_history WHERE session_id = {s.id}",
        "DELETE FROM parameter_history",
    ]
    for sql in statements:
        with pytest.raises(peewee.DatabaseError, match="append-only"), store.db.atomic():
            store.db.execute_sql(sql)
    # Through the ORM too: the refusal is in the database, not in Python.
    with pytest.raises(peewee.DatabaseError, match="append-only"), store.db.atomic():
        ParameterHistory.update(parameters={}).where(ParameterHistory.session == s.id).execute()
    assert [(h.id, h.parameters, h.modified_at) for h in generative.parameter_history(s.id)] == before
    # The session's own cascade may remove them.
    with store.db.atomic():
        store.db.execute_sql(f"DELETE FROM generative_session WHERE id = {s.id}")
    assert row_counts(store.db)["parameter_history"] == 0


def test_facade_offers_no_way_to_edit_a_snapshot() -> None:
    assert set(generative.__all__) == {
        "PayloadInput",
        "add_outputs",
        "create_process",
        "create_session",
        "delete_process",
        "delete_session",
        "deliver",
        "fail",
        "finish",
        "get_process",
        "get_session",
        "get_session_by_name",
        "get_snapshot",
        "list_processes",
        "list_sessions",
        "parameter_changes",
        "parameter_history",
        "payload_by_file_name",
        "payloads",
        "restore_parameters",
        "start",
        "update_parameters",
        "update_session",
    }


def test_session_without_history_gets_a_snapshot_for_its_process(store: Store) -> None:
    # An adopted DashAI database can hold sessions that never had a history row.
    now = utcnow()
    legacy = GenerativeSession.create(
        name="legacy", task_name="t", model_name="m", parameters={"steps": 3}, created=now, last_modified=now
    )
    process = generative.create_process(legacy.id, [("str", "hi")])
    history = generative.parameter_history(legacy.id)
    assert [h.parameters for h in history] == [{"steps": 3}]
    assert process.parameter_history_id == history[0].id


# -- sessions ----------------------------------------------------------------------------------


def test_sessions_get_list_rename(store: Store) -> None:
    a = generative.create_session("a", "TextToImage", "sd", {"steps": 4})
    b = generative.create_session("b", "TextToText", "gpt", {})
    assert generative.get_session_by_name("b") == b
    assert [s.id for s in generative.list_sessions()] == [a.id, b.id]
    assert [s.id for s in generative.list_sessions(task_name="TextToText")] == [b.id]
    assert a.description is None

    renamed = generative.update_session(a.id, name="a2", description="cats")
    assert (renamed.name, renamed.description, renamed.parameters) == ("a2", "cats", {"steps": 4})
    assert renamed.last_modified >= a.last_modified
    assert generative.update_session(a.id, description=None).description is None
    before = row_counts(store.db)
    unchanged = generative.get_session(a.id)
    assert generative.update_session(a.id, name="a2") == unchanged  # no-op: nothing written
    assert len(generative.parameter_history(a.id)) == 1  # renaming is not a parameter change

    with pytest.raises(errors.AlreadyExists, match="'b'"):
        generative.update_session(a.id, name="b")
    with pytest.raises(errors.AlreadyExists, match="'b'"):
        generative.create_session("b", "t", "m", {})
    with pytest.raises(errors.NotFound, match="no generative session is named 'zzz'"):
        generative.get_session_by_name("zzz")
    with pytest.raises(errors.NotFound, match="generative session 424242 does not exist"):
        generative.get_session(424242)
    assert row_counts(store.db) == before
    assert generative.get_session(a.id) == unchanged


# -- processes and payloads -----------------------------------------------------------------------


def test_payloads_round_trip_byte_for_byte(store: Store) -> None:
    s = new_session()
    text = "Ünïcödé 🐱\nline two\ttab \\ backslash 'quotes\""
    value = {
        "prompt": "a cat",
        "nums": [1, 2.5, -3, 10**20],
        "nested": {"ok": True, "none": None},
        "s": "\x00",
    }
    blob = bytes(range(256)) * 3
    process = generative.create_process(
        s.id, [("str", text), (DataType.json, value), ("image", PNG), ("bytes", blob)]
    )
    outputs = generative.add_outputs(
        process.id,
        [("image", bytearray(PNG)), ("str", ""), ("json", [1, "two", None]), ("json", "just text")],
    )
    assert [o.is_input for o in outputs] == [False] * 4

    inputs = generative.payloads(process.id, is_input=True)
    assert [p.data_type for p in inputs] == [DataType.str, DataType.json, DataType.image, DataType.bytes]
    assert inputs[0].value == text
    assert inputs[1].value == value
    assert json.dumps(inputs[1].value) == json.dumps(value)  # same key order and types
    assert inputs[2].value == PNG and isinstance(inputs[2].value, bytes)
    assert inputs[3].value == blob
    assert inputs[0].file_path is None and inputs[1].file_path is None

    image_path = inputs[2].file_path
    assert image_path is not None
    assert image_path.read_bytes() == PNG
    assert image_path.suffix == ".png"
    assert image_path.parent == store.home / "generative" / str(s.id) / str(process.id)
    assert inputs[3].file_path is not None and inputs[3].file_path.suffix == ".bin"

    read_outputs = generative.payloads(process.id, is_input=False)
    assert read_outputs == outputs
    assert [o.value for o in read_outputs] == [PNG, "", [1, "two", None], "just text"]
    everything = generative.payloads(process.id)
    assert [p.id for p in everything] == sorted(p.id for p in everything)
    assert len(everything) == 8

    # Only the two binary payloads are files, each exactly the bytes given.
    files = {k: v for k, v in file_tree(store.home).items() if k.startswith("generative/")}
    assert sorted(files.values()) == sorted([PNG, blob, PNG])


def test_lifecycle_and_failure_output(store: Store) -> None:
    s = new_session()
    ok = generative.create_process(s.id, [("str", "hi")])
    assert ok.status is RunStatus.NOT_STARTED
    delivered = generative.deliver(ok.id, job_id="job-1")
    assert (delivered.status, delivered.huey_id) == (RunStatus.DELIVERED, "job-1")
    assert generative.start(ok.id).start_time is not None
    generative.add_outputs(ok.id, [("str", "hello")])
    done = generative.finish(ok.id)
    assert done.status is RunStatus.FINISHED and done.end_time is not None
    with pytest.raises(errors.InvalidTransition, match=rf"generative_process {ok.id} is FINISHED"):
        generative.start(ok.id)

    bad = generative.create_process(s.id, [("str", "boom?")])
    with pytest.raises(errors.InvalidTransition):
        generative.fail(bad.id, "cannot fail before delivery")
    assert generative.payloads(bad.id, is_input=False) == []  # the refused fail wrote nothing
    generative.deliver(bad.id)
    generative.start(bad.id)
    failed = generative.fail(bad.id, "CUDA out of memory")
    assert (failed.status, failed.error) == (RunStatus.ERROR, "CUDA out of memory")
    shown = generative.payloads(bad.id, is_input=False)
    assert [(p.data_type, p.value) for p in shown] == [(DataType.str, "CUDA out of memory")]
    assert generative.get_process(bad.id) == failed


def test_delete_session_removes_every_payload_file(store: Store) -> None:
    keep = new_session("keep")
    kept = generative.create_process(keep.id, [("image", PNG)])
    doomed = new_session("doomed")
    generative.update_parameters(doomed.id, {"temperature": 0.1})
    for i in range(3):
        p = generative.create_process(doomed.id, [("image", PNG), ("str", f"prompt {i}")])
        generative.add_outputs(p.id, [("image", PNG + bytes([i])), ("bytes", b"\x00" * i)])
    doomed_folder = store.home / "generative" / str(doomed.id)
    assert len([f for f in doomed_folder.rglob("*") if f.is_file()]) == 9

    generative.delete_session(doomed.id)

    assert not doomed_folder.exists()
    tree = file_tree(store.home)
    assert [k for k in tree if k.startswith("generative/")] == [
        str(generative.payloads(kept.id)[0].file_path.relative_to(store.home))  # type: ignore[union-attr]
    ]
    counts = row_counts(store.db)
    assert counts["generative_session"] == 1
    assert counts["generative_process"] == 1
    assert counts["process_data"] == 1
    assert counts["parameter_history"] == 1
    # Finished: the record lingers, queued, until the next deletion or the close drops it.
    assert files.pending_deletions() == []
    with pytest.raises(errors.NotFound):
        generative.get_session(doomed.id)
    with pytest.raises(errors.NotFound):
        generative.delete_session(doomed.id)


def test_delete_process_removes_its_files_only(store: Store) -> None:
    s = new_session()
    a = generative.create_process(s.id, [("image", PNG)])
    b = generative.create_process(s.id, [("image", PNG)])
    a_file = generative.payloads(a.id)[0].file_path
    b_file = generative.payloads(b.id)[0].file_path
    assert a_file is not None and b_file is not None
    generative.delete_process(a.id)
    assert not a_file.exists() and not a_file.parent.exists()
    assert b_file.read_bytes() == PNG
    assert [p.id for p in generative.list_processes(s.id)] == [b.id]
    assert len(generative.parameter_history(s.id)) == 1  # the snapshot a used stays
    with pytest.raises(errors.NotFound, match=f"generative process {a.id} does not exist"):
        generative.payloads(a.id)


def test_missing_payload_file_is_reported(store: Store) -> None:
    s = new_session()
    p = generative.create_process(s.id, [("image", PNG)])
    path = generative.payloads(p.id)[0].file_path
    assert path is not None
    path.unlink()
    with pytest.raises(errors.FileIntegrityError, match=rf"process {p.id}\) is missing"):
        generative.payloads(p.id)


# -- bad input writes nothing ---------------------------------------------------------------------


def _circular() -> dict[str, Any]:
    value: dict[str, Any] = {}
    value["self"] = value
    return value


# The facade validates at run time what the type hints say; ``g`` lets these calls break them.
g: Any = generative
Call = Callable[[int, int, int], object]
BAD_CALLS: dict[str, tuple[type[errors.StoreError], str, Call]] = {
    # name: (error, message pattern, call(session_id, process_id, snapshot_id))
    "unknown session update": (
        errors.NotFound,
        "generative session 999999",
        lambda s, p, h: g.update_parameters(999999, {"a": 1}),
    ),
    "unknown session process": (
        errors.NotFound,
        "generative session 999999",
        lambda s, p, h: g.create_process(999999, [("image", PNG)]),
    ),
    "unknown session restore": (
        errors.NotFound,
        "generative session 999999",
        lambda s, p, h: g.restore_parameters(999999, h),
    ),
    "unknown session delete": (
        errors.NotFound,
        "generative session 999999",
        lambda s, p, h: g.delete_session(999999),
    ),
    "unknown process outputs": (
        errors.NotFound,
        "generative process 999999",
        lambda s, p, h: g.add_outputs(999999, [("image", PNG)]),
    ),
    "unknown process delete": (
        errors.NotFound,
        "generative process 999999",
        lambda s, p, h: g.delete_process(999999),
    ),
    "id of wrong type": (
        errors.ValidationError,
        "must be an int",
        lambda s, p, h: g.update_parameters(str(s), {"a": 1}),
    ),
    "set parameter": (
        errors.ValidationError,
        r"parameters\['bad'\] is a set",
        lambda s, p, h: g.create_session("new", "t", "m", {"bad": {1, 2}}),
    ),
    "NaN parameter": (
        errors.ValidationError,
        "NaN or infinity",
        lambda s, p, h: g.create_session("new", "t", "m", {"lr": math.nan}),
    ),
    "inf change": (
        errors.ValidationError,
        "NaN or infinity",
        lambda s, p, h: g.update_parameters(s, {"lr": [1.0, math.inf]}),
    ),
    "object change": (
        errors.ValidationError,
        "object, which is not a JSON value",
        lambda s, p, h: g.update_parameters(s, {"a": object()}),
    ),
    "nested int key": (
        errors.ValidationError,
        "JSON keys must be str",
        lambda s, p, h: g.update_parameters(s, {"a": {1: "x"}}),
    ),
    "top-level int key": (
        errors.ValidationError,
        "JSON keys must be str",
        lambda s, p, h: g.update_parameters(s, {1: "x"}),
    ),
    "parameters not a dict": (
        errors.ValidationError,
        "must be a dict, got list",
        lambda s, p, h: g.update_parameters(s, [("a", 1)]),
    ),
    "circular parameters": (
        errors.ValidationError,
        "circular",
        lambda s, p, h: g.update_parameters(s, _circular()),
    ),
    "lone surrogate": (
        errors.ValidationError,
        "not valid Unicode",
        lambda s, p, h: g.update_parameters(s, {"a": "\ud800"}),
    ),
    "unknown payload type": (
        errors.ValidationError,
        "data type 'video'",
        lambda s, p, h: g.create_process(s, [("image", PNG), ("video", b"...")]),
    ),
    "image as str": (
        errors.ValidationError,
        r"inputs\[1\] \(image\) must be bytes, got str",
        lambda s, p, h: g.create_process(s, [("image", PNG), ("image", "cat.png")]),
    ),
    "str as bytes": (
        errors.ValidationError,
        r"\(str\) must be a str, got bytes",
        lambda s, p, h: g.create_process(s, [("str", b"hi")]),
    ),
    "NUL in str": (errors.ValidationError, "NUL", lambda s, p, h: g.create_process(s, [("str", "a\x00b")])),
    "NaN json payload": (
        errors.ValidationError,
        "NaN",
        lambda s, p, h: g.add_outputs(p, [("image", PNG), ("json", {"score": math.nan})]),
    ),
    "payload not a pair": (
        errors.ValidationError,
        "pair",
        lambda s, p, h: g.add_outputs(p, [("str", "a", "b")]),
    ),
    "bare string outputs": (errors.ValidationError, "sequence of", lambda s, p, h: g.add_outputs(p, "hello")),
    "duplicate name": (
        errors.AlreadyExists,
        "'chat'",
        lambda s, p, h: g.create_session("chat", "t", "m", {}),
    ),
    "empty name": (
        errors.ValidationError,
        "must not be empty",
        lambda s, p, h: g.create_session("  ", "t", "m", {}),
    ),
    "fail with non-str": (errors.ValidationError, "error must be a str", lambda s, p, h: g.fail(p, 42)),
    "replace not bool": (
        errors.ValidationError,
        "replace must be a bool",
        lambda s, p, h: g.update_parameters(s, {}, replace="yes"),
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_bad_input_raises_typed_error_and_writes_nothing(store: Store, case: str) -> None:
    error, message, call = BAD_CALLS[case]
    s = new_session()
    p = generative.create_process(s.id, [("image", PNG)])
    h = generative.parameter_history(s.id)[0].id
    counts, tree = row_counts(store.db), file_tree(store.home)
    session, history = generative.get_session(s.id), history_params(s.id)

    with pytest.raises(error, match=message):
        call(s.id, p.id, h)

    assert row_counts(store.db) == counts
    assert file_tree(store.home) == tree
    assert generative.get_session(s.id) == session
    assert history_params(s.id) == history


def test_failed_file_write_leaves_no_row(store: Store, tmp_path: Path) -> None:
    s = new_session()
    # A file where the session's payload folder should be: the image write must fail.
    (store.home / "generative").mkdir()
    (store.home / "generative" / str(s.id)).write_bytes(b"in the way")
    counts, tree = row_counts(store.db), file_tree(store.home)
    with pytest.raises(errors.StoreError, match="cannot write"):
        generative.create_process(s.id, [("str", "first"), ("image", PNG)])
    assert row_counts(store.db) == counts
    assert file_tree(store.home) == tree


def _refuse_inserts(store: Store, table: str, column: str, value: str) -> None:
    """A trigger (in this test's own database) refusing rows whose ``column`` is ``value``."""
    if store.backend == "sqlite":
        store.db.execute_sql(
            f"CREATE TRIGGER refuse BEFORE INSERT ON {table} WHEN instr(NEW.{column}, '{value}') > 0 "
            "BEGIN SELECT RAISE(ABORT, 'refused by test'); END"
        )
    else:
        store.db.execute_sql(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF position('{value}' in NEW.{column}::text) > 0 THEN "
            "RAISE EXCEPTION 'refused by test'; END IF; "
            "RETURN NEW; END $$"
        )
        store.db.execute_sql(
            f"CREATE TRIGGER refuse BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION refuse()"
        )


def test_database_failure_after_file_write_leaves_nothing(store: Store) -> None:
    s = new_session()
    p = generative.create_process(s.id)
    _refuse_inserts(store, "process_data", "data", "boom")
    counts, tree = row_counts(store.db), file_tree(store.home)
    # The image file is written before the failing row; both calls must take it back.
    with pytest.raises(errors.StoreError, match="refused by test"):
        generative.create_process(s.id, [("image", PNG), ("str", "boom")])
    with pytest.raises(errors.StoreError, match="refused by test"):
        generative.add_outputs(p.id, [("bytes", b"x"), ("image", PNG), ("json", {"k": "boom"})])
    assert row_counts(store.db) == counts
    assert file_tree(store.home) == tree


def test_session_and_first_snapshot_are_one_transaction(store: Store) -> None:
    _refuse_inserts(store, "parameter_history", "parameters", "refuse-me")
    counts = row_counts(store.db)
    with pytest.raises(errors.StoreError, match="refused by test"):
        generative.create_session("atomic", "t", "m", {"x": "refuse-me"})
    assert row_counts(store.db) == counts
    with pytest.raises(errors.NotFound):
        generative.get_session_by_name("atomic")


def test_outer_transaction_rollback_takes_payload_files_back(store: Store) -> None:
    s = new_session()
    p = generative.create_process(s.id)
    counts, tree = row_counts(store.db), file_tree(store.home)

    @writes
    def caller_work() -> None:
        # The calls join the caller's transaction and succeed; then the caller fails.
        generative.create_process(s.id, [("image", PNG)])
        generative.add_outputs(p.id, [("bytes", b"partial")])
        raise RuntimeError("the caller gave up")

    with pytest.raises(RuntimeError, match="gave up"):
        caller_work()
    assert row_counts(store.db) == counts
    assert file_tree(store.home) == tree


# A RIFF container is WebP only with "WEBP" at bytes 8-12; a WAV (RIFF....WAVE) or a
# truncated header is stored as plain bytes, never named .webp.
IMAGE_KINDS = [
    (b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(20), ".webp"),
    (b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(20), ".bin"),
    (b"RIFF\x24\x00\x00\x00xWEBP", ".bin"),
    (b"RIFF\x24\x00\x00\x00WEB", ".bin"),
    (b"\xff\xd8\xff\xe0" + bytes(10), ".jpg"),
    (b"GIF89a" + bytes(10), ".gif"),
    (b"BM" + bytes(10), ".bmp"),
    (b"not an image", ".bin"),
    (b"text that mentions BM and GIF89a", ".bin"),
]


@pytest.mark.parametrize(
    ("data", "suffix"), IMAGE_KINDS, ids=[s + str(i) for i, (_, s) in enumerate(IMAGE_KINDS)]
)
def test_an_image_file_is_named_by_what_its_bytes_are(sqlite_store: Store, data: bytes, suffix: str) -> None:
    session = generative.create_session("img", "TextToImage", "sd", {})
    process = generative.create_process(session.id, [("image", data)])
    [payload] = generative.payloads(process.id)
    assert payload.file_path is not None
    assert payload.file_path.suffix == suffix
    assert payload.value == data == payload.file_path.read_bytes()
