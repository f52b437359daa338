"""dashai_store.rows: the id, name, text and JSON checks and the row lookup every area shares."""

from __future__ import annotations

import enum
import math
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import peewee
import pytest
from helpers import file_tree, row_counts, transaction_held_open

from dashai_store import (
    datasets,
    errors,
    explainers,
    explorers,
    generative,
    metrics,
    model_sessions,
    models,
    notebooks,
    plugins,
    predictions,
    rows,
    runs,
)
from dashai_store.clock import utcnow
from dashai_store.database import Store, connect_postgres, run_in_transaction

# -- check_id ---------------------------------------------------------------------------------


class Color(enum.IntEnum):
    RED = 7


@pytest.mark.parametrize("value", [1, 42, rows.MAX_ID, 0, -1, -(2**70)])
def test_check_id_accepts_every_int_and_returns_it(value: int) -> None:
    # Zero and negatives are well-typed: the lookup after it says NotFound (see fetch).
    assert rows.check_id(value, "run") == value


def test_check_id_turns_an_int_subclass_into_a_plain_int() -> None:
    checked = rows.check_id(Color.RED, "run")
    assert checked == 7 and type(checked) is int


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (True, "bool True"),
        (False, "bool False"),
        (1.0, "float 1.0"),
        ("1", "str '1'"),
        (None, "NoneType None"),
        (b"1", "bytes b'1'"),
        ([1], "list [1]"),
    ],
)
def test_check_id_refuses_non_ints_naming_noun_type_and_value(value: object, shown: str) -> None:
    with pytest.raises(errors.ValidationError) as caught:
        rows.check_id(value, "model session")
    assert str(caught.value) == f"a model session id must be an int, got {shown}"


def test_check_id_uses_an_before_a_vowel() -> None:
    with pytest.raises(errors.ValidationError, match=r"^an explorer id must be an int"):
        rows.check_id("x", "explorer")


@pytest.mark.parametrize("value", [rows.MAX_ID + 1, 2**64, 10**30])
def test_check_id_says_not_found_for_ids_no_row_can_have(value: int) -> None:
    with pytest.raises(errors.NotFound, match=f"^run {value} does not exist$"):
        rows.check_id(value, "run")


def test_could_exist_is_the_id_range() -> None:
    assert [rows.could_exist(v) for v in (-1, 0, 1, rows.MAX_ID, rows.MAX_ID + 1)] == [
        False,
        False,
        True,
        True,
        False,
    ]


# -- check_name -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["iris", "../x", "数据 🌸", " padded ", "a" * rows.MAX_NAME_LENGTH, "x"])
def test_check_name_accepts_any_non_blank_text_up_to_the_limit(value: str) -> None:
    assert rows.check_name(value, "dataset name") == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "dataset name must not be empty or blank, got ''"),
        ("  \t\n", "dataset name must not be empty or blank"),
        ("a" * (rows.MAX_NAME_LENGTH + 1), "256 characters long; at most 255 are allowed"),
        ("a\x00b", "contains a NUL character"),
        ("\x00", "contains a NUL character"),
        ("bad \ud800 half", "not valid Unicode text"),
        (None, "dataset name must be a str, got NoneType None"),
        (b"iris", "dataset name must be a str, got bytes b'iris'"),
        (42, "dataset name must be a str, got int 42"),
    ],
)
def test_check_name_refuses_naming_what_and_why(value: object, message: str) -> None:
    with pytest.raises(errors.ValidationError) as caught:
        rows.check_name(value, "dataset name")
    assert message in str(caught.value)


def test_check_name_max_length_is_a_parameter() -> None:
    assert rows.check_name("abcd", "tag", max_length=4) == "abcd"
    with pytest.raises(errors.ValidationError, match="5 characters long; at most 4"):
        rows.check_name("abcde", "tag", max_length=4)


def test_a_long_name_is_shown_shortened() -> None:
    with pytest.raises(errors.ValidationError) as caught:
        rows.check_name("z" * 10_000, "run name")
    assert len(str(caught.value)) < 200


# -- check_text and check_json ----------------------------------------------------------------


def test_check_text_required_optional_and_the_row_named() -> None:
    assert rows.check_text("", "summary") == ""
    assert rows.check_text(None, "job_id", optional=True) is None
    with pytest.raises(errors.ValidationError, match=r"^summary must not be empty or blank"):
        rows.check_text(" ", "summary", required=True)
    with pytest.raises(errors.ValidationError, match=r"^job_id must be a str or None, got int 5 \(run 3\)$"):
        rows.check_text(5, "job_id", optional=True, row="run 3")
    with pytest.raises(errors.ValidationError, match=r"^error must be a str, got NoneType None$"):
        rows.check_text(None, "error")
    with pytest.raises(errors.ValidationError, match="NUL"):
        rows.check_text("a\x00", "description")
    with pytest.raises(errors.ValidationError, match="not valid Unicode"):
        rows.check_text("\udfff", "description")


def test_check_json_mapping() -> None:
    ordered = OrderedDict(b=1, a=[math.nan, math.inf])
    checked = rows.check_json(ordered, "parameters", mapping=True)
    assert type(checked) is dict and list(checked) == ["b", "a"]  # NaN/inf are kept
    for value, message in (
        ([1], "parameters must be a dict, got list"),
        (None, "parameters must be a dict, got NoneType"),
        ({1: "x"}, "parameters keys must be str"),
        ({"f": object()}, "parameters is not JSON-serialisable"),
        ({"s": "\ud800"}, "not valid Unicode"),
    ):
        with pytest.raises(errors.ValidationError, match=message):
            rows.check_json(value, "parameters", mapping=True)


def test_check_json_any_value() -> None:
    assert rows.check_json(None, "scope", mapping=False) is None
    assert rows.check_json([1, "a", {"k": None}], "scope", mapping=False) == [1, "a", {"k": None}]
    circular: list[Any] = []
    circular.append(circular)
    with pytest.raises(errors.ValidationError, match="not JSON-serialisable"):
        rows.check_json(circular, "scope", mapping=False)
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(errors.ValidationError, match="nested too deeply"):
        rows.check_json(deep, "scope", mapping=False)


# -- fetch and require, on both backends ------------------------------------------------------


def test_fetch_and_require(store: Store) -> None:
    ds = datasets.create_pending("d")
    row = rows.fetch(models.Dataset, ds.id, "dataset")
    assert (row.id, row.name) == (ds.id, "d")
    rows.require(models.Dataset, ds.id, "dataset")
    locked = run_in_transaction(lambda: rows.fetch(models.Dataset, ds.id, "dataset", lock=True))
    assert locked.id == ds.id
    for missing in (ds.id + 1, 0, -5, rows.MAX_ID):
        with pytest.raises(errors.NotFound, match=f"^my noun {missing} does not exist$"):
            rows.fetch(models.Dataset, missing, "my noun")
        with pytest.raises(errors.NotFound, match=f"^my noun {missing} does not exist$"):
            rows.require(models.Dataset, missing, "my noun")


def _other_session_can_update(database_url: str, dataset_id: int, *, lock: bool) -> bool:
    """Whether another session can UPDATE the row while a transaction holds ``fetch(lock=lock)``."""
    with transaction_held_open(lambda: rows.fetch(models.Dataset, dataset_id, "dataset", lock=lock)):
        other = connect_postgres(database_url)
        try:
            other.execute_sql("SET lock_timeout = '300ms'")
            with other.atomic():
                other.execute_sql("UPDATE dataset SET huey_id = 'x' WHERE id = %s", (dataset_id,))
            return True
        except peewee.OperationalError as exc:
            assert "lock timeout" in str(exc)
            return False
        finally:
            other.close()


def test_fetch_with_lock_holds_the_row_on_postgres(store: Store, database_url: str | None) -> None:
    """lock=True is SELECT ... FOR UPDATE: another session cannot change the row meanwhile."""
    if database_url is None:
        pytest.skip("PostgreSQL only: SQLite's BEGIN IMMEDIATE already excludes other writers")
    ds = datasets.create_pending("held")
    assert _other_session_can_update(database_url, ds.id, lock=False)
    assert not _other_session_can_update(database_url, ds.id, lock=True)


# -- Jobs ---------------------------------------------------------------------------------------


def test_jobs_validate_before_moving_and_write_nothing_when_refused(store: Store) -> None:
    ds = datasets.create_pending("job")
    counts, tree = row_counts(store.db), file_tree(store.home)
    refused: list[tuple[type[Exception], str, Callable[[], object]]] = [
        (
            errors.ValidationError,
            "a dataset id must be an int, got bool True",
            lambda: datasets.deliver(True),
        ),
        (
            errors.ValidationError,
            rf"job_id must be a str or None, got int 5 \(dataset {ds.id}\)",
            lambda: datasets.deliver(ds.id, 5),  # type: ignore[arg-type]
        ),
        (errors.ValidationError, "NUL", lambda: datasets.deliver(ds.id, "a\x00b")),
        (errors.NotFound, f"dataset {2**64} does not exist", lambda: datasets.deliver(2**64)),
        (errors.NotFound, f"dataset {2**64} does not exist", lambda: datasets.start(2**64)),
        (errors.InvalidTransition, "NOT_STARTED", lambda: datasets.fail(ds.id, "x")),
    ]
    for error, message, call in refused:
        with pytest.raises(error, match=message):
            call()
        assert (row_counts(store.db), file_tree(store.home)) == (counts, tree), message
    datasets.deliver(ds.id, "job-1")
    with pytest.raises(
        errors.ValidationError, match=rf"error must be a str, got NoneType None \(dataset {ds.id}\)"
    ):
        datasets.fail(ds.id, None)  # type: ignore[arg-type]
    failed = datasets.fail(ds.id, "")  # an empty message is kept as "failed", not refused
    assert failed.error == "failed"


# -- every area answers a bad id alike ----------------------------------------------------------

GETTERS: dict[str, Callable[[Any], object]] = {
    "datasets.get": datasets.get,
    "datasets.start": datasets.start,
    "model_sessions.get": model_sessions.get,
    "predictions.get": predictions.get,
    "predictions.finish": predictions.finish,
    "runs.get": runs.get,
    "runs.start": runs.start,
    "metrics.history": metrics.history,
    "notebooks.get": notebooks.get,
    "notebooks.deliver": notebooks.deliver,
    "explorers.get": explorers.get,
    "explorers.reset": explorers.reset,
    "generative.get_session": generative.get_session,
    "generative.get_process": generative.get_process,
    "generative.start": generative.start,
    "plugins.get": plugins.get,
    "plugins.delete": plugins.delete,
    "explainers.get": lambda i: explainers.get("global", i),
    "explainers.finish": lambda i: explainers.finish("local", i),
    # None is no bad id for a listing: it lists every run's explainers (the other bad ids stay bad).
    "explainers.list_global": lambda i: explainers.list_global(1.5 if i is None else i),
}


@pytest.mark.parametrize("area", sorted(GETTERS))
def test_every_area_answers_bad_ids_alike(store: Store, area: str) -> None:
    call = GETTERS[area]
    counts = row_counts(store.db)
    for bad in (True, "1", 1.0, None):
        with pytest.raises(errors.ValidationError, match="id must be an int, got "):
            call(bad)
    for unknown in (0, -1, 999_999, 2**63, 2**64):  # NotFound on both backends, never a driver error
        with pytest.raises(errors.NotFound, match=f" {unknown} does not exist"):
            call(unknown)
    assert row_counts(store.db) == counts


# -- fetch's default noun, the strict and optional JSON checks, insert_unique -----------------


def test_fetch_names_the_table_in_words_by_default(store: Store) -> None:
    for model, noun in (
        (models.ModelSession, "model session"),
        (models.GlobalExplainer, "global explainer"),
        (models.GenerativeProcess, "generative process"),
    ):
        with pytest.raises(errors.NotFound, match=f"^{noun} 99 does not exist$"):
            rows.fetch(model, 99)


def test_check_json_optional() -> None:
    assert rows.check_json(None, "lineage", mapping=True, optional=True) is None
    with pytest.raises(errors.ValidationError, match="lineage must be a dict or None, got list"):
        rows.check_json([1], "lineage", mapping=True, optional=True)
    with pytest.raises(errors.ValidationError, match="scope must be a JSON value, not None"):
        rows.check_json(None, "scope", mapping=False, optional=False)


def test_check_json_strict() -> None:
    # Normalised to what the JSON text reads back as; NaN refused; the value never echoed.
    assert rows.check_json({"a": (1, 2)}, "p", mapping=True, strict=True) == {"a": [1, 2]}
    assert rows.check_json("a\x00b", "p", mapping=False, strict=True) == "a\x00b"  # escaped in JSON
    secret = "x" * 50
    for value, message in (
        ({"a": [1.0, math.nan]}, r"p\['a'\]\[1\] is nan; strict JSON has no NaN"),
        ({"a": math.inf}, "strict JSON has no NaN or infinity"),
        ({1: secret}, "JSON keys must be str"),
        ({"a": {secret}}, r"p\['a'\] is a set, which is not a JSON value"),
        ({"s": "\ud800"}, "not valid Unicode"),
    ):
        with pytest.raises(errors.ValidationError, match=message) as caught:
            rows.check_json(value, "p", mapping=True, strict=True)
        assert secret not in str(caught.value)
    with pytest.raises(errors.ValidationError, match=r"^p must be a dict, got list$"):
        rows.check_json([secret], "p", mapping=True, strict=True)
    circular: list[Any] = []
    circular.append(circular)
    with pytest.raises(errors.ValidationError, match="contains itself"):
        rows.check_json(circular, "p", mapping=False, strict=True)


def test_check_payload_text() -> None:
    assert rows.check_payload_text("ok", "payload") == "ok"
    with pytest.raises(errors.ValidationError, match=r"^payload must be a str, got int$"):
        rows.check_payload_text(12345, "payload")
    with pytest.raises(errors.ValidationError, match="NUL"):
        rows.check_payload_text("a\x00", "payload")


def test_insert_unique(store: Store) -> None:
    datasets.create_pending("taken")
    now = utcnow()
    taken = models.Dataset.insert(name="taken", created=now, last_modified=now)
    with pytest.raises(errors.AlreadyExists, match=r"^a dataset named 'taken' already exists$"):
        run_in_transaction(lambda: rows.insert_unique(taken.execute, "a dataset named 'taken'"))
    fresh = models.Dataset.insert(name="fresh", created=now, last_modified=now)
    assert run_in_transaction(lambda: rows.insert_unique(fresh.execute, "x")) > 0
    # Any other integrity failure (here a foreign key) is not a taken name: it propagates.
    orphan = models.ModelSession.insert(
        dataset=10**6,
        name="s",
        task_name="t",
        input_columns=[],
        output_columns=[],
        splits={},
        created=now,
        last_modified=now,
    )
    with pytest.raises(errors.IntegrityError):
        run_in_transaction(lambda: rows.insert_unique(orphan.execute, "a model session named 's'"))
