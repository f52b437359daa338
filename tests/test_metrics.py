"""metrics: logging, reading back, live tailing; on SQLite and PostgreSQL."""

from __future__ import annotations

import math
import struct
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from typing import Any

import pyarrow as pa
import pytest
from helpers import file_tree, plant_dataset, plant_session, row_counts, transaction_held_open

from dashai_store import errors, maintenance, metrics, runs
from dashai_store.backends.postgres import RUN_LOCK_NAMESPACE
from dashai_store.clock import utcnow
from dashai_store.database import Store
from dashai_store.enums import LevelEnum, SplitEnum


def make_run(name: str = "r") -> int:
    """A run in a fresh dataset and model session (made through the models directly)."""
    session_id = plant_session(plant_dataset(f"ds-{name}"), f"session-{name}")
    return runs.create(session_id, name, "SVC", {"C": 1.0}).id


@pytest.fixture
def run_id(store: Store) -> int:
    return make_run()


def same_float(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def snapshot(store: Store) -> tuple[dict[str, int], dict[str, bytes]]:
    return row_counts(store.db), file_tree(store.home)


# -- log -----------------------------------------------------------------------------------------


def test_log_and_history_round_trip(store: Store, run_id: int) -> None:
    before = utcnow()
    metrics.log(run_id, "loss", 0.5, split="TRAIN", level="STEP", step=0)
    metrics.log(run_id, "loss", 0.25, split=SplitEnum.TRAIN, level=LevelEnum.STEP, step=1)
    points = metrics.history(run_id)
    assert [(p.name, p.split, p.level, p.step, p.value) for p in points] == [
        ("loss", SplitEnum.TRAIN, LevelEnum.STEP, 0, 0.5),
        ("loss", SplitEnum.TRAIN, LevelEnum.STEP, 1, 0.25),
    ]
    assert all(p.run_id == run_id for p in points)
    assert points[0].id < points[1].id
    assert all(before - timedelta(seconds=1) <= p.timestamp <= utcnow() for p in points)


def test_log_keeps_explicit_timestamps_in_utc(store: Store, run_id: int) -> None:
    naive = datetime(2024, 5, 1, 12, 30, 15, 123456)
    aware = datetime(2024, 5, 1, 14, 0, 0, 7, tzinfo=timezone(timedelta(hours=2)))
    metrics.log(run_id, "a", 1.0, split="TEST", level="LAST", step=0, timestamp=naive)
    metrics.log(run_id, "b", 1.0, split="TEST", level="LAST", step=0, timestamp=aware)
    stamps = {p.name: p.timestamp for p in metrics.history(run_id)}
    assert stamps == {"a": naive, "b": datetime(2024, 5, 1, 12, 0, 0, 7)}
    table = metrics.history_table(run_id)
    assert table.column("timestamp").to_pylist() == [naive, datetime(2024, 5, 1, 12, 0, 0, 7)]


def test_relogging_a_point_replaces_it(store: Store, run_id: int) -> None:
    metrics.log(run_id, "acc", 0.1, split="VALIDATION", level="STEP", step=3)
    first = metrics.history(run_id)[0]
    metrics.log(run_id, "acc", 0.9, split="VALIDATION", level="STEP", step=3)
    metrics.log_many(run_id, [("acc", "VALIDATION", "STEP", 3, 0.7)])
    points = metrics.history(run_id)
    assert len(points) == 1
    assert points[0].value == 0.7
    assert points[0].id == first.id  # replaced in place: a retried job does not duplicate
    # Another split, level or step is another point.
    metrics.log(run_id, "acc", 0.5, split="TRAIN", level="STEP", step=3)
    metrics.log(run_id, "acc", 0.5, split="VALIDATION", level="LAST", step=3)
    metrics.log(run_id, "acc", 0.5, split="VALIDATION", level="STEP", step=4)
    assert len(metrics.history(run_id)) == 4


SPECIAL_FLOATS = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1e-310, -1.7976931348623157e308, 0.1]


def test_special_floats_round_trip_everywhere(store: Store) -> None:
    for value in SPECIAL_FLOATS:
        check_round_trip(make_run(f"r{value}"), value)


def check_round_trip(run_id: int, value: float) -> None:
    metrics.log(run_id, "x", value, split="TRAIN", level="LAST", step=0)
    metrics.log_many(run_id, [("y", "TRAIN", "LAST", 0, value)])
    metrics.log_many(run_id, [{"name": "z", "split": "TRAIN", "level": "LAST", "step": 0, "value": value}])
    metrics.log_many(run_id, [("w", "TRAIN", "LAST", 0, value, datetime(2024, 1, 1))])  # timestamped path
    read = [p.value for p in metrics.history(run_id)]
    table_values = metrics.history_table(run_id).column("value").to_pylist()
    latest = list(metrics.latest(run_id)["TRAIN"].values())
    since = [p.value for p in metrics.since(run_id)[0]]
    for path, values in (
        ("history", read),
        ("history_table", table_values),
        ("latest", latest),
        ("since", since),
    ):
        assert len(values) == 4 and all(v is not None and same_float(v, value) for v in values), (
            path,
            values,
        )
        # -0.0 == 0.0: the sign is compared on its own (SQLite's REAL column drops it).
        assert all(math.copysign(1, v) == math.copysign(1, value) for v in values), (path, values)


def test_negative_zero_is_stored_so_that_raw_sql_still_reads_a_zero(store: Store) -> None:
    run_id = make_run("negative-zero")
    metrics.log_many(run_id, [("a", "TRAIN", "STEP", s, v) for s, v in enumerate([1.0, -0.0, 0.0, -2.0])])
    stored = store.db.execute_sql("SELECT step, value FROM metric ORDER BY step").fetchall()
    if store.backend == "sqlite":  # a REAL column keeps -0.0 as the integer 0; its BLOB keeps the sign
        assert stored[1][1] == struct.pack(">d", -0.0) and stored[2][1] == 0.0
    else:
        assert math.copysign(1, stored[1][1]) == -1.0
    signs = [math.copysign(1, p.value) for p in metrics.history(run_id)]
    assert signs == [1.0, -1.0, 1.0, -1.0]
    assert maintenance.check().bad_rows == ()


def test_log_accepts_ints_and_other_reals(store: Store, run_id: int) -> None:
    metrics.log(run_id, "epochs", 3, split="TRAIN", level="LAST", step=0)
    metrics.log(run_id, "ratio", Fraction(1, 4), split="TRAIN", level="LAST", step=0)
    values = {p.name: p.value for p in metrics.history(run_id)}
    assert values == {"epochs": 3.0, "ratio": 0.25}
    assert all(type(v) is float for v in values.values())


BAD_LOG_ARGUMENTS: list[tuple[str, dict[str, Any]]] = [
    ("empty name", {"name": ""}),
    ("NUL in name", {"name": "a\x00"}),
    ("name not str", {"name": 3}),
    ("value str", {"value": "0.5"}),
    ("value None", {"value": None}),
    ("value bool", {"value": True}),
    ("value complex", {"value": 1j}),
    ("split unknown", {"split": "TRAINING"}),
    ("split lower case", {"split": "train"}),
    ("split other enum", {"split": LevelEnum.LAST}),
    ("level unknown", {"level": "GENERATION"}),
    ("level unhashable", {"level": ["LAST"]}),
    ("step float", {"step": 1.0}),
    ("step bool", {"step": False}),
    ("step too big", {"step": 2**31}),
    ("timestamp str", {"timestamp": "2024-01-01"}),
    ("run id str", {"run_id": "1"}),
]


def test_log_refuses_bad_arguments_and_writes_nothing(store: Store, run_id: int) -> None:
    metrics.log(run_id, "kept", 1.0, split="TRAIN", level="STEP", step=0)
    before = snapshot(store)
    for case, change in BAD_LOG_ARGUMENTS:
        arguments: dict[str, Any] = {
            "run_id": run_id,
            "name": "loss",
            "value": 0.5,
            "split": "TRAIN",
            "level": "STEP",
            "step": 1,
        }
        arguments.update(change)
        with pytest.raises(errors.ValidationError):
            metrics.log(**arguments)
        assert snapshot(store) == before, case


def test_log_to_unknown_run_is_not_found_and_writes_nothing(store: Store, run_id: int) -> None:
    before = snapshot(store)
    for bad_id in (999_999, 0, -1, 2**40):
        with pytest.raises(errors.NotFound, match=f"run {bad_id} does not exist"):
            metrics.log(bad_id, "loss", 0.5, split="TRAIN", level="STEP", step=0)
        with pytest.raises(errors.NotFound, match=f"run {bad_id} does not exist"):
            metrics.log_many(bad_id, [("loss", "TRAIN", "STEP", 0, 0.5)])
    assert snapshot(store) == before


def test_log_inside_an_outer_transaction_rolls_back_with_it(store: Store, run_id: int) -> None:
    from dashai_store.database import run_in_transaction

    def body() -> None:
        metrics.log(run_id, "loss", 0.5, split="TRAIN", level="STEP", step=0)
        metrics.log_many(run_id, [("loss", "TRAIN", "STEP", 1, 0.4)])
        raise errors.ValidationError("abort")

    with pytest.raises(errors.ValidationError, match="abort"):
        run_in_transaction(body)
    assert metrics.history(run_id) == []


# -- log_many ------------------------------------------------------------------------------------


def test_log_many_accepts_every_point_shape(store: Store, run_id: int) -> None:
    stamp = datetime(2023, 1, 2, 3, 4, 5, 6)
    default = datetime(2022, 1, 1)
    points: list[Any] = [
        ("a", "TRAIN", "STEP", 0, 0.5),  # 5-tuple
        ["a", "TRAIN", "STEP", 1, 0.4],  # list
        ("a", "TRAIN", "STEP", 2, 0.3, stamp),  # 6-tuple with a timestamp
        ("a", "TRAIN", "STEP", 3, 0.2, None),  # 6-tuple, default timestamp
        {"name": "b", "split": SplitEnum.TEST, "level": LevelEnum.LAST, "step": 0, "value": 1},
        {"name": "b", "split": "TEST", "level": "LAST", "step": 1, "value": 2.0, "timestamp": stamp},
    ]
    assert metrics.log_many(run_id, points, timestamp=default) == 6
    got = [
        (p.name, p.split.name, p.level.name, p.step, p.value, p.timestamp) for p in metrics.history(run_id)
    ]
    assert got == [
        ("a", "TRAIN", "STEP", 0, 0.5, default),
        ("a", "TRAIN", "STEP", 1, 0.4, default),
        ("b", "TEST", "LAST", 1, 2.0, stamp),  # LAST: the second "b" replaced the first
        ("a", "TRAIN", "STEP", 2, 0.3, stamp),
        ("a", "TRAIN", "STEP", 3, 0.2, default),
    ]


class _Float(float):
    """A float subclass, as numpy.float64 is."""


def test_log_many_converts_enum_members_and_other_numbers_column_wise(store: Store, run_id: int) -> None:
    given: list[Any] = [
        ("loss", SplitEnum.TRAIN, LevelEnum.STEP, 0, _Float(0.5)),
        ("loss", "TRAIN", LevelEnum.STEP, 1, Fraction(1, 4)),
        ("acc", SplitEnum.TEST, "STEP", 0, 1),
        ("acc", SplitEnum.TEST, LevelEnum.LAST, 3, _Float(-0.0)),
        ("acc", SplitEnum.TEST, LevelEnum.LAST, 4, _Float("nan")),  # replaces the LAST above
    ]
    # The whole chunk takes the column-wise path, converted to the stored form.
    converted = metrics._plain(given)
    assert converted is not None
    assert [row[:4] for row in converted] == [
        ("loss", "TRAIN", "STEP", 0),
        ("loss", "TRAIN", "STEP", 1),
        ("acc", "TEST", "STEP", 0),
        ("acc", "TEST", "LAST", 3),
        ("acc", "TEST", "LAST", 4),
    ]
    assert all(type(row[4]) is float for row in converted)
    assert metrics.log_many(run_id, given) == 5
    got = {(p.name, p.split, p.level, p.step): p.value for p in metrics.history(run_id)}
    assert len(got) == 4 and math.isnan(got.pop(("acc", SplitEnum.TEST, LevelEnum.LAST, 4)))
    assert got == {
        ("loss", SplitEnum.TRAIN, LevelEnum.STEP, 0): 0.5,
        ("loss", SplitEnum.TRAIN, LevelEnum.STEP, 1): 0.25,
        ("acc", SplitEnum.TEST, LevelEnum.STEP, 0): 1.0,
    }
    # A bool is no number, a list no split: still refused among members, naming the point.
    for bad in (
        ("loss", SplitEnum.TRAIN, LevelEnum.STEP, 5, True),
        ("loss", ["TRAIN"], LevelEnum.STEP, 5, 1.0),
    ):
        with pytest.raises(errors.ValidationError, match="point 1"):
            metrics.log_many(run_id, [given[0], bad])


def test_log_many_takes_numpy_floats_column_wise(store: Store, run_id: int) -> None:
    np = pytest.importorskip("numpy")
    given = [("loss", SplitEnum.TRAIN, LevelEnum.STEP, s, v) for s, v in enumerate(np.linspace(0, 1, 5))]
    given.append(("loss", SplitEnum.TRAIN, LevelEnum.STEP, 5, np.float32(0.5)))
    converted = metrics._plain(given)
    assert converted is not None and all(type(row[4]) is float for row in converted)
    metrics.log_many(run_id, given)
    assert [p.value for p in metrics.history(run_id)] == [0.0, 0.25, 0.5, 0.75, 1.0, 0.5]


def test_log_many_takes_generators_and_spans_chunks(
    store: Store, run_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics, "CHUNK_ROWS", 7)
    count = metrics.log_many(run_id, (("loss", "TRAIN", "STEP", s, s / 10) for s in range(50)))
    assert count == 50
    assert [(p.step, p.value) for p in metrics.history(run_id)] == [(s, s / 10) for s in range(50)]
    # A tuple of dicts, across chunks too; and the empty input.
    dicts = tuple(
        {"name": "acc", "split": "TEST", "level": "STEP", "step": s, "value": 1.0} for s in range(20)
    )
    assert metrics.log_many(run_id, dicts) == 20
    assert metrics.log_many(run_id, []) == 0
    assert len(metrics.history(run_id, name="acc")) == 20


def test_names_with_control_characters_round_trip(store: Store, run_id: int) -> None:
    names = ["tab\there", "new\nline", "back\\slash\\.", "\\.", "ünï ✓", "cr\r", "'quote\""]
    metrics.log_many(run_id, [(name, "TRAIN", "STEP", 0, 1.0) for name in names])
    metrics.log_many(
        run_id, [{"name": name, "split": "TEST", "level": "STEP", "step": 0, "value": 2.0} for name in names]
    )
    metrics.log(run_id, names[0], 3.0, split="VALIDATION", level="STEP", step=0)
    assert sorted(p.name for p in metrics.history(run_id, split="TRAIN")) == sorted(names)
    assert sorted(p.name for p in metrics.history(run_id, split="TEST")) == sorted(names)
    assert metrics.history(run_id, name=names[0], split="VALIDATION")[0].value == 3.0


def test_log_many_repeated_points_last_one_wins(store: Store, run_id: int) -> None:
    points = [("loss", "TRAIN", "STEP", 0, float(v)) for v in range(5)]
    points += [("loss", "TRAIN", "STEP", 1, 9.0), ("loss", "TRAIN", "STEP", 0, 42.0)]
    assert metrics.log_many(run_id, points) == 7
    assert [(p.step, p.value) for p in metrics.history(run_id)] == [(0, 42.0), (1, 9.0)]


BAD_POINTS: list[tuple[str, Any, str]] = [
    ("short tuple", ("loss", "TRAIN", "STEP", 0), "expected"),
    ("long tuple", ("loss", "TRAIN", "STEP", 0, 1.0, None, 1), "expected"),
    ("not a point", 3.5, "expected a tuple or a mapping"),
    ("missing key", {"name": "loss", "split": "TRAIN", "level": "STEP", "step": 0}, "missing value"),
    (
        "unknown key",
        {"name": "loss", "split": "TRAIN", "level": "STEP", "step": 0, "value": 1.0, "epoch": 1},
        "unknown key",
    ),
    ("bad split", ("loss", "TRAINING", "STEP", 0, 1.0), "SplitEnum"),
    ("bad level", ("loss", "TRAIN", "ALL", 0, 1.0), "LevelEnum"),
    ("bad name", ("", "TRAIN", "STEP", 0, 1.0), "name"),
    ("NUL in name", ("a\x00b", "TRAIN", "STEP", 0, 1.0), "NUL"),
    ("unhashable name", (["loss"], "TRAIN", "STEP", 0, 1.0), "name"),
    ("float step", ("loss", "TRAIN", "STEP", 0.5, 1.0), "step"),
    ("huge step", ("loss", "TRAIN", "STEP", -(2**31) - 1, 1.0), "32-bit"),
    ("text value", ("loss", "TRAIN", "STEP", 0, "1.0"), "real number"),
    ("huge int value", ("loss", "TRAIN", "STEP", 0, 10**400), "not a float"),
    ("bad timestamp", ("loss", "TRAIN", "STEP", 0, 1.0, 12), "timestamp"),
]


def test_log_many_refuses_a_bad_point_anywhere_and_writes_nothing(
    store: Store, run_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics, "CHUNK_ROWS", 10)  # the bad point sits in the third chunk
    metrics.log(run_id, "kept", 1.0, split="TRAIN", level="STEP", step=0)
    before = snapshot(store)
    for case, bad, message in BAD_POINTS:
        points: list[Any] = [("loss", "TRAIN", "STEP", s, 0.1) for s in range(25)]
        points.insert(23, bad)
        for given in (points, iter(points)):  # a list, and a one-shot iterator
            with pytest.raises(errors.ValidationError, match=message) as caught:
                metrics.log_many(run_id, given)
            assert "point 23" in str(caught.value), case
            assert snapshot(store) == before, case


def test_log_many_refuses_a_non_iterable(store: Store, run_id: int) -> None:
    before = snapshot(store)
    for points in (3, "points", b"xy", {"name": "loss"}, None):
        with pytest.raises(errors.ValidationError, match="iterable"):
            metrics.log_many(run_id, points)  # type: ignore[arg-type]
    assert snapshot(store) == before


def test_log_many_bad_default_timestamp_and_run_id_type(store: Store, run_id: int) -> None:
    with pytest.raises(errors.ValidationError, match="timestamp"):
        metrics.log_many(run_id, [("a", "TRAIN", "STEP", 0, 1.0)], timestamp="now")  # type: ignore[arg-type]
    with pytest.raises(errors.ValidationError, match="run id"):
        metrics.log_many(None, [("a", "TRAIN", "STEP", 0, 1.0)])  # type: ignore[arg-type]
    assert metrics.history(run_id) == []


# -- reading -------------------------------------------------------------------------------------


def fill(run_id: int) -> None:
    metrics.log_many(
        run_id,
        [("loss", split, "STEP", step, step + 0.5) for split in ("TRAIN", "VALIDATION") for step in range(3)]
        + [("acc", "TEST", "LAST", 0, 0.7), ("acc", "TEST", "LAST", 5, 0.9), ("acc", "TRAIN", "LAST", 2, 1.0)]
        + [("acc", "TEST", "TRIAL", 0, 0.1)],
    )


def test_history_filters_and_order(store: Store, run_id: int) -> None:
    fill(run_id)
    keys = [(p.step, p.name, p.split.name, p.level.name) for p in metrics.history(run_id)]
    assert keys == sorted(keys)  # by step, then name, split, level
    assert len(keys) == 9  # acc TEST LAST at step 5 replaced the one at step 0
    loss_train = metrics.history(run_id, name="loss", split="TRAIN")
    assert [(p.step, p.value) for p in loss_train] == [(0, 0.5), (1, 1.5), (2, 2.5)]
    assert {p.name for p in metrics.history(run_id, level=LevelEnum.LAST)} == {"acc"}
    assert len(metrics.history(run_id, name="acc", split="TEST", level="TRIAL")) == 1
    assert metrics.history(run_id, name="nothing") == []
    # Names sort by code point on both backends (PostgreSQL's locale would put "a" first).
    metrics.log_many(run_id, [(name, "TRAIN", "BATCH", 99, 0.0) for name in ("b", "a", "B", "_", "A")])
    assert [p.name for p in metrics.history(run_id, level="BATCH")] == ["A", "B", "_", "a", "b"]
    assert metrics.history_table(run_id, level="BATCH").column("name").to_pylist() == [
        "A",
        "B",
        "_",
        "a",
        "b",
    ]


def test_history_of_another_run_is_separate(store: Store, run_id: int) -> None:
    other = make_run("other")
    fill(run_id)
    metrics.log(other, "loss", 3.0, split="TRAIN", level="STEP", step=0)
    assert [p.value for p in metrics.history(other)] == [3.0]
    assert metrics.since(other)[0][0].run_id == other


def test_history_table_matches_history(store: Store, run_id: int) -> None:
    fill(run_id)
    metrics.log(run_id, "nan", math.nan, split="TRAIN", level="STEP", step=9)
    table = metrics.history_table(run_id)
    assert isinstance(table, pa.Table)
    assert table.schema == metrics.history_table_schema()
    points = metrics.history(run_id)
    rows = table.to_pylist()
    assert len(rows) == len(points) == 10
    for row, point in zip(rows, points, strict=True):
        assert row["id"] == point.id and row["name"] == point.name and row["step"] == point.step
        assert row["split"] == point.split.name and row["level"] == point.level.name
        assert same_float(row["value"], point.value) and row["timestamp"] == point.timestamp
    filtered = metrics.history_table(run_id, name="loss", split=SplitEnum.VALIDATION, level="STEP")
    assert filtered.column("value").to_pylist() == [0.5, 1.5, 2.5]


def test_history_table_spans_fetch_batches(
    store: Store, run_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics, "FETCH_ROWS", 3)
    metrics.log_many(run_id, [("m", "TRAIN", "BATCH", s, math.nan if s % 4 else s) for s in range(10)])
    table = metrics.history_table(run_id)
    assert table.column("step").to_pylist() == list(range(10))
    values = table.column("value").to_pylist()
    assert [v for v in values if not math.isnan(v)] == [0.0, 4.0, 8.0]
    assert table.column("value").null_count == 0


def test_history_table_keeps_its_chunks_instead_of_copying_them_into_one(
    store: Store, run_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 17: a final combine_chunks() copied the whole table once more (1.0 GB at 5M
    # points where the fetched batches took 0.57 GB); the chunks are now the result.
    monkeypatch.setattr(metrics, "FETCH_ROWS", 3)
    monkeypatch.setattr(metrics, "CHUNK_FETCHES", 2)
    metrics.log_many(run_id, [("m", "TRAIN", "BATCH", s, math.nan if s == 7 else s) for s in range(10)])
    table = metrics.history_table(run_id)
    assert table.schema == metrics.history_table_schema()
    assert [len(chunk) for chunk in table.column("step").chunks] == [6, 4]
    assert table.column("step").to_pylist() == list(range(10))
    assert math.isnan(table.column("value")[7].as_py()) and table.column("value").null_count == 0
    assert table.column("timestamp").null_count == 0


def test_empty_reads_of_an_existing_run(store: Store, run_id: int) -> None:
    assert metrics.history(run_id) == []
    table = metrics.history_table(run_id)
    assert table.num_rows == 0 and table.schema == metrics.history_table_schema()
    assert metrics.latest(run_id) == {}
    assert metrics.since(run_id, 5) == ([], 5)


def test_latest_takes_last_level_and_highest_step(store: Store, run_id: int) -> None:
    fill(run_id)
    assert metrics.latest(run_id) == {"TEST": {"acc": 0.9}, "TRAIN": {"acc": 1.0}}


def test_since_tails_without_gaps_or_repeats(store: Store, run_id: int) -> None:
    points, cursor = metrics.since(run_id)
    assert (points, cursor) == ([], 0)
    metrics.log_many(run_id, [("loss", "TRAIN", "STEP", s, float(s)) for s in range(5)])
    points, cursor = metrics.since(run_id, cursor)
    assert [p.step for p in points] == [0, 1, 2, 3, 4]
    assert cursor == points[-1].id
    assert metrics.since(run_id, cursor) == ([], cursor)
    metrics.log(run_id, "loss", 5.0, split="TRAIN", level="STEP", step=5)
    more, cursor2 = metrics.since(run_id, cursor)
    assert [p.step for p in more] == [5] and cursor2 > cursor
    # limit pages through in logging order
    seen: list[int] = []
    page_cursor = 0
    while True:
        page, page_cursor = metrics.since(run_id, page_cursor, limit=2)
        if not page:
            break
        assert len(page) <= 2
        seen.extend(p.step for p in page)
    assert seen == [0, 1, 2, 3, 4, 5]


BAD_READS: list[tuple[Any, type[Exception]]] = [
    (lambda r: metrics.history(r, split="TRAINING"), errors.ValidationError),
    (lambda r: metrics.history(r, level=3), errors.ValidationError),
    (lambda r: metrics.history(r, name=""), errors.ValidationError),
    (lambda r: metrics.history_table(r, split="x"), errors.ValidationError),
    (lambda r: metrics.history("1"), errors.ValidationError),
    (lambda r: metrics.since(r, -1), errors.ValidationError),
    (lambda r: metrics.since(r, 1.5), errors.ValidationError),
    (lambda r: metrics.since(r, 0, limit=0), errors.ValidationError),
    (lambda r: metrics.latest(True), errors.ValidationError),
    (lambda r: metrics.history(r + 1000), errors.NotFound),
    (lambda r: metrics.history_table(r + 1000), errors.NotFound),
    (lambda r: metrics.latest(r + 1000), errors.NotFound),
    (lambda r: metrics.since(r + 1000), errors.NotFound),
]


def test_reads_refuse_bad_arguments(store: Store, run_id: int) -> None:
    fill(run_id)
    for number, (call, error) in enumerate(BAD_READS):
        with pytest.raises(error):
            call(run_id)
            pytest.fail(f"case {number} did not raise")


def test_metrics_go_with_their_run(store: Store, run_id: int) -> None:
    fill(run_id)
    runs.delete(run_id)
    assert row_counts(store.db)["metric"] == 0
    with pytest.raises(errors.NotFound):
        metrics.history(run_id)


@pytest.mark.postgres_only
def test_postgres_writers_of_one_run_take_turns(store: Store, run_id: int, database_url: str | None) -> None:
    """On PostgreSQL a second writer of the same run waits for the first to commit, so the
    run's ids become visible in increasing order (what since() relies on)."""
    if database_url is None:
        pytest.skip("PostgreSQL only")
    from dashai_store.database import connect_postgres

    other = make_run("other-run")
    logged = lambda: metrics.log(run_id, "first", 1.0, split="TRAIN", level="STEP", step=0)  # noqa: E731
    with transaction_held_open(logged):
        # A second session (what another process would be) tries the same run, then another run.
        second = connect_postgres(database_url)
        try:
            second.execute_sql("SET lock_timeout = '300ms'")
            with pytest.raises(Exception, match="lock timeout"), second.atomic():
                second.execute_sql("SELECT pg_advisory_xact_lock(%s, %s)", (RUN_LOCK_NAMESPACE, run_id))
            with second.atomic():  # another run's writers are not held up
                second.execute_sql("SELECT pg_advisory_xact_lock(%s, %s)", (RUN_LOCK_NAMESPACE, other))
        finally:
            second.close()
    assert [p.name for p in metrics.history(run_id)] == ["first"]
