"""rows.Reader: records built from the driver's tuples read exactly as through Peewee models.

Each facade's list and get build records below the ORM (``rows.Reader``); the reference is
the slow path they replaced: a Peewee model per row, then ``records.to_record``. Both must
agree on every value, including the ones edited by hand that the fast column paths hand
back to the field's own ``python_value`` (timestamps in other shapes, JSON with trailing
text or of another shape, numbers in text columns, unknown enum names).
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError, fields, replace
from datetime import datetime
from typing import Any

import pyarrow as pa
import pytest

from dashai_store import (
    datasets,
    explainers,
    explorers,
    files,
    generative,
    model_sessions,
    models,
    notebooks,
    predictions,
    records,
    runs,
)
from dashai_store.database import Store
from dashai_store.decoding import Unreadable
from dashai_store.enums import RunStatus
from dashai_store.records import RunRecord, to_record
from dashai_store.rows import Reader

# area reader -> the record the Peewee path builds from a model row (what the readers replaced)
READERS: list[tuple[Reader[Any], Any]] = [
    (runs._reader, runs._record),
    (datasets._records, datasets._record),
    (model_sessions._reader, model_sessions._record),
    (predictions._reader, predictions._record),
    (notebooks._notebooks, notebooks.notebook_record),
    (notebooks._converters, notebooks.converter_record),
    (explorers._reader, explorers.explorer_record),
    (explainers._global_reader, explainers._global_record),
    (explainers._local_reader, explainers._local_record),
    (generative._sessions, generative._session_record),
    (generative._snapshots, generative._snapshot_record),
    (generative._processes, generative._process_record),
]


def _world() -> dict[str, int]:
    ds = datasets.create("ds", pa.table({"a": [1, 2, 3, 4], "b": [0, 1, 0, 1]}))
    ms = model_sessions.create(
        ds.id,
        "ms",
        task_name="TabularClassificationTask",
        input_columns=["a"],
        output_columns=["b"],
        splits={"train": 0.5, "validation": 0.25, "test": 0.25},
    )
    run = runs.create(ms.id, "run", model_name="SVC", parameters={"C": 1.0, "nested": {"k": [1, 2]}})
    runs.save_plot(run.id, "history", {"data": [], "layout": {}})
    runs.deliver(run.id, job_id="job-1")
    runs.create(ms.id, "second", model_name="SVC", parameters={}, split_indexes=[[0, 1], [2]])
    predictions.create(run.id, ds.id)
    nb = notebooks.create(ds.id, name="nb")
    notebooks.add_converter(nb.id, "Scale", {"factor": 2})
    explorers.create(nb.id, "Describe", ["a"], {"bins": 3})
    session = generative.create_session(
        "gs", task_name="TextToImage", model_name="M", parameters={"steps": 4}
    )
    generative.create_process(session.id, [("str", "a cat")])
    explainers.create_global(run.id, "g", "KernelShap", {"n": 1})
    explainers.create_local(run.id, ds.id, "l", "Lime", {"n": 1}, {"k": 2}, {"instances": [0]})
    return {"run": run.id, "model_session": ms.id}


def _both(reader: Reader[Any], old: Any) -> tuple[list[Any], list[Any]]:
    model = reader.model
    query = model.select().order_by(model.id)
    return reader.all(query), [old(row) for row in query]


def test_every_reader_builds_what_the_peewee_path_built(store: Store) -> None:
    _world()
    for reader, old in READERS:
        fast, slow = _both(reader, old)
        assert slow, reader.record_type
        assert fast == slow, reader.record_type
        for record in fast:
            assert type(record) is reader.record_type
            assert reader.get(record.id) == record
            for item in fields(record):  # each value of the very type the slow path gives
                assert type(getattr(record, item.name)) is type(getattr(slow[0], item.name)) or (
                    getattr(record, item.name) is None or getattr(slow[0], item.name) is None
                )


def test_a_reader_record_is_an_ordinary_frozen_record(store: Store) -> None:
    ids = _world()
    record = runs.get(ids["run"])
    with pytest.raises(FrozenInstanceError):
        record.name = "other"  # type: ignore[misc]
    assert replace(record, name="other").name == "other"
    assert hash(record) == hash(runs.get(ids["run"])) if _hashable(record) else True
    assert record.parameters == {"C": 1.0, "nested": {"k": [1, 2]}}
    assert record.plot_history_path == store.home / files.layout.run_plot(record.id, "history")
    assert record.status is RunStatus.DELIVERED and isinstance(record.created, datetime)


def _hashable(record: Any) -> bool:
    try:
        hash(record)
    except TypeError:
        return False
    return True


def test_an_unknown_id_is_not_found_and_pages_keep_their_order(store: Store) -> None:
    ids = _world()
    from dashai_store import errors

    with pytest.raises(errors.NotFound, match="run 999 does not exist"):
        runs._reader.get(999, "run")
    with pytest.raises(errors.NotFound, match="run 0 does not exist"):
        runs.get(0)
    names = [record.name for record in runs.list(ids["model_session"], limit=1, offset=1)]
    assert names == ["second"]


# Hand-edited values (SQLite holds any type in any column): each read by the fast path
# exactly as Peewee's model reads it.
HAND_EDITS = {
    "created": [
        "'2024-01-02T03:04:05'",  # ISO with a T: Peewee's formats do not read it, kept as text
        "'2024-01-02'",  # a date alone: Peewee's third format
        "'2024-01-02 03:04:05+05:00'",  # an offset: not a stored shape
        "'2024-01-02 03:04:05.123456'",
        "'2024-01-02 03:04:05'",
        "'garbage text, 26 charsxx'",
        "12345",
    ],
    "parameters": ["'{\"a\": 1} '", "' {}'", "'null'", "'[1]'", "'{\"a\": '", "'NaN'", "7"],
    "split_indexes": ["'null'", "'[1, 2] x'", "'\"text\"'"],
    "name": ["42", "4.5", "X'6869'"],
    "status": ["'RUNNING'", "7"],
    "model_session_id": ["'1'"],
    "run_path": ["'runs/1'", "12"],
}


@pytest.mark.parametrize(("column", "literal"), [(c, v) for c, vs in HAND_EDITS.items() for v in vs])
def test_a_hand_edited_value_reads_as_through_peewee(sqlite_store: Store, column: str, literal: str) -> None:
    ids = _world()
    db = sqlite_store.db
    db.execute_sql("PRAGMA ignore_check_constraints = ON")
    db.execute_sql("PRAGMA foreign_keys = OFF")
    db.execute_sql(f'UPDATE run SET "{column}" = {literal} WHERE id = ?', (ids["run"],))
    fast, slow = _both(runs._reader, runs._record)
    assert fast == slow
    assert runs.get(ids["run"]) == slow[0]
    for name in records.unreadable_fields(slow[0]):
        assert isinstance(getattr(fast[0], name), Unreadable)


def test_to_record_refuses_a_field_the_record_does_not_have() -> None:
    row = runs._reader.record_type
    with pytest.raises(TypeError, match="no field"):
        to_record(RunRecord, _Anything(), not_a_field=1)
    assert row is RunRecord


class _Anything:
    def __getattr__(self, name: str) -> Any:
        return "STARTED" if name == "status" else None


def test_models_of_the_readers_are_the_areas_tables() -> None:
    assert {reader.model for reader, _ in READERS} <= set(models.DOMAIN_MODELS)
