"""records.record: the store's records behave as ``@dataclass(frozen=True, kw_only=True)`` did.

The decorator shares one ``__init__``/``__repr__``/``__eq__``/``__hash__`` among the
records instead of compiling them per class (import time); each record class is compared
here with a reference dataclass of the same name and fields, built the standard way.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
import sys
from datetime import datetime
from typing import Any

import pytest

from dashai_store import records
from dashai_store.enums import RunStatus

RECORD_TYPES = [
    value
    for value in vars(records).values()
    if inspect.isclass(value) and dataclasses.is_dataclass(value) and value.__module__ == records.__name__
]


def _reference(record_type: type[Any]) -> type[Any]:
    specs = [(item.name, item.type, item) for item in dataclasses.fields(record_type)]
    return dataclasses.make_dataclass(record_type.__qualname__, specs, frozen=True, kw_only=True)


def _sample(record_type: type[Any], salt: int) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for index, item in enumerate(dataclasses.fields(record_type)):
        if item.name == "status":
            values[item.name] = RunStatus.STARTED
        elif item.name in ("created", "modified_at"):
            values[item.name] = datetime(2024, 1, 2, 3, 4, salt)
        else:
            values[item.name] = f"{item.name}-{index}-{salt}"
    return values


def test_the_records_are_the_modules_classes() -> None:
    assert records.RunRecord in RECORD_TYPES and records.CheckReport in RECORD_TYPES
    assert len(RECORD_TYPES) >= 25


@pytest.mark.parametrize("record_type", RECORD_TYPES, ids=lambda t: t.__name__)
def test_a_record_behaves_as_its_reference_dataclass(record_type: type[Any]) -> None:
    reference = _reference(record_type)
    values = _sample(record_type, 1)
    ours, theirs = record_type(**values), reference(**values)
    assert repr(ours) == repr(theirs)
    assert hash(ours) == hash(theirs)
    assert ours == record_type(**values) and ours != record_type(**_sample(record_type, 2))
    assert ours != theirs  # another class: not equal, as between two dataclasses
    assert dataclasses.asdict(ours) == dataclasses.asdict(theirs)
    name = dataclasses.fields(record_type)[-1].name
    assert getattr(dataclasses.replace(ours, **{name: "changed"}), name) == "changed"
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(ours, name, "x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        delattr(ours, name)
    assert pickle.loads(pickle.dumps(ours)) == ours == copy.deepcopy(ours)


@pytest.mark.parametrize("record_type", RECORD_TYPES, ids=lambda t: t.__name__)
def test_bad_arguments_are_type_errors_as_for_a_dataclass(record_type: type[Any]) -> None:
    values = _sample(record_type, 1)
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        record_type(**values, bogus=1)
    required = [
        item.name
        for item in dataclasses.fields(record_type)
        if item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING
    ]
    with pytest.raises(TypeError, match=f"missing 1 required keyword-only argument.*'{required[0]}'"):
        record_type(**{k: v for k, v in values.items() if k != required[0]})
    with pytest.raises(TypeError):
        record_type(*values.values())  # keyword-only


def test_defaults_and_default_factories_apply() -> None:
    moment = datetime(2024, 1, 2)
    first = records.ParameterChange(snapshot_id=1, modified_at=moment)
    second = records.ParameterChange(snapshot_id=1, modified_at=moment)
    assert first.added == {} and first.added is not second.added  # a fresh dict each
    report = records.InterruptedJobs(jobs=(("run", 1),))
    assert report.total == 1
    assert records.GcReport.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_a_record_holding_itself_repr_does_not_recurse() -> None:
    holder: list[Any] = []
    entity = records.RunWithMetrics(run=holder, last_metrics={})  # type: ignore[arg-type]
    holder.append(entity)
    assert "RunWithMetrics(run=[...], last_metrics={})" == repr(entity)


@pytest.mark.parametrize("record_type", RECORD_TYPES, ids=lambda t: t.__name__)
def test_the_list_paths_constructors_make_what_the_class_makes(record_type: type[Any]) -> None:
    # build_all and maker fill a record through a twin class with the plain __setattr__,
    # then give it its own class: the result must be indistinguishable from record_type(...).
    names = [item.name for item in dataclasses.fields(record_type)]
    samples = [_sample(record_type, salt) for salt in (1, 2, 3)]
    built = records.build_all(record_type, [tuple(values[name] for name in names) for values in samples])
    made = records.maker(record_type)(samples[0])
    for record, values in zip([*built, made], [*samples, samples[0]], strict=True):
        assert type(record) is record_type and record == record_type(**values)
        assert repr(record) == repr(record_type(**values)) and hash(record) == hash(record_type(**values))
        assert not hasattr(record, "__dict__")  # the fields are slots: one object per record
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(record, names[0], "x")
        with pytest.raises(dataclasses.FrozenInstanceError):
            delattr(record, names[-1])
        assert pickle.loads(pickle.dumps(record)) == record and copy.copy(record) == record
    assert records.build_all(record_type, []) == []


def test_a_record_is_one_object_and_carries_no_per_instance_dict() -> None:
    run = records.RunRecord(**_sample(records.RunRecord, 1))
    assert not hasattr(run, "__dict__")
    assert sys.getsizeof(run) < 16 + 8 * (len(dataclasses.fields(run)) + 4)
