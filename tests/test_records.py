"""dashai_store.records.to_record: a record from a row's same-named attributes."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass, fields
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from dashai_store import records
from dashai_store.decoding import Unreadable
from dashai_store.enums import LevelEnum, RunStatus, SplitEnum
from dashai_store.records import JobState, MetricPoint, to_record, unreadable_fields

MOMENT = datetime(2024, 1, 2, 3, 4, 5)


@dataclass(frozen=True, kw_only=True)
class Plain:
    id: int
    name: str
    file_path: Path | None


@dataclass(frozen=True, kw_only=True)
class Job(JobState):
    id: int


def _job_row(**fields: Any) -> SimpleNamespace:
    base = dict(id=3, status="STARTED", huey_id="h", error=None, delivery_time=MOMENT, start_time=MOMENT)
    return SimpleNamespace(**{**base, "end_time": None, **fields})


def test_fields_come_from_same_named_attributes_and_overrides_win() -> None:
    row = SimpleNamespace(id=1, name="n", file_path="datasets/1/data.arrow", extra="ignored")
    record = to_record(Plain, row, file_path=Path("/home/datasets/1/data.arrow"))
    assert record == Plain(id=1, name="n", file_path=Path("/home/datasets/1/data.arrow"))
    with pytest.raises(FrozenInstanceError):
        record.name = "m"  # type: ignore[misc]


def test_a_job_records_status_is_decoded_unless_overridden() -> None:
    record = to_record(Job, _job_row())
    assert record.status is RunStatus.STARTED and record.huey_id == "h" and record.end_time is None
    assert to_record(Job, _job_row(), status=RunStatus.ERROR).status is RunStatus.ERROR


def test_a_missing_column_is_an_error_not_a_default() -> None:
    with pytest.raises(AttributeError, match="file_path"):
        to_record(Plain, SimpleNamespace(id=1, name="n"))


def test_every_record_type_has_a_plan_of_its_own_fields() -> None:
    for record_type in (records.RunRecord, records.DatasetRecord, records.PluginRecord):
        names, is_job = records._plan(record_type)
        assert names == tuple(f.name for f in fields(record_type))
        assert is_job == issubclass(record_type, JobState)


def test_a_metric_point_is_an_immutable_record_with_named_fields() -> None:
    # MetricPoint is a NamedTuple (for since()'s speed): immutable like the dataclasses,
    # same attribute names, and unreadable_fields() still finds its marked values.
    moment = datetime(2024, 1, 2, 3, 4, 5)
    bad = Unreadable("abc", "not a number")
    point = MetricPoint(
        id=1,
        run_id=2,
        name="loss",
        split=SplitEnum.TRAIN,
        level=LevelEnum.STEP,
        step=3,
        value=bad,
        timestamp=moment,
    )
    assert (point.id, point.run_id, point.name, point.split, point.step, point.timestamp) == (
        1,
        2,
        "loss",
        SplitEnum.TRAIN,
        3,
        moment,
    )
    with pytest.raises(AttributeError):
        point.value = 0.5  # type: ignore[misc]
    assert unreadable_fields(point) == {"value": bad}
    assert unreadable_fields(point._replace(value=0.5)) == {}
