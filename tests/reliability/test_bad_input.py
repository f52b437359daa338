"""Property tests: whatever a caller passes, a facade call either succeeds and round-trips,
or raises a ``dashai_store.errors`` type and writes nothing (row counts and file tree
unchanged). Never a raw TypeError/ValueError/peewee/sqlite3/psycopg2 error.

Examples per test and backend: ``DASHAI_HYPOTHESIS_EXAMPLES`` (default 100); the number of
inputs tried is in the figures. One store per test function (the ``store`` fixture; the
examples of one test share it, which is why the function-scoped health check is off).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest
from helpers import file_tree, row_counts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashai_store import datasets, errors, generative, metrics, model_sessions, notebooks, plugins, runs
from dashai_store.database import Store

from ._support import env_int

EXAMPLES = env_int("DASHAI_HYPOTHESIS_EXAMPLES", 100)
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # no example database written into the checkout
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

PATH_LIKE = st.sampled_from(
    [
        "../x",
        "../../etc/passwd",
        "/etc/passwd",
        "/tmp",
        "a/b",
        "a\\b",
        "C:\\Windows",
        "..",
        ".",
        "~",
        "a\x00b",
        "\x00",
        " ",
        "",
        "datasets/1/data.arrow",
        "con",
        "nul.txt",
        "\ud800",
        "x" * 256,
        "é" * 255,
        "🦀" * 255,
    ]
)
NAMES = st.one_of(PATH_LIKE, st.text(max_size=40), st.text(min_size=200, max_size=400))
WRONG = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.binary(max_size=10),
    st.lists(st.integers(), max_size=3),
    st.builds(object),
)
JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
JSON = st.recursive(
    JSON_LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)


def _deep(depth: int) -> Any:
    value: Any = 0
    for i in range(depth):
        value = {"k": value} if i % 2 else [value]
    return value


PARAMETERS = st.one_of(
    st.dictionaries(st.text(max_size=10), JSON, max_size=5),
    st.integers(min_value=1, max_value=3000).map(lambda d: {"deep": _deep(d)}),
    st.integers(min_value=1, max_value=200_000).map(lambda n: {"huge": list(range(n))}),
    st.sampled_from([{"bad": {1, 2}}, {"bad": object()}, {"bad": b"bytes"}, {1: "int key"}, {(1, 2): 0}]),
    WRONG,
    JSON,
)

TRIED: dict[str, int] = {}


def _same_json(a: Any, b: Any) -> bool:
    # NaN != NaN, so compare the texts (json writes NaN/Infinity as tokens).
    return json.dumps(a, sort_keys=True, allow_nan=True) == json.dumps(b, sort_keys=True, allow_nan=True)


def attempt(store: Store, counter: str, call: Callable[[], Any]) -> tuple[bool, Any]:
    """Run ``call``: (True, result) or (False, the typed error), having checked that a
    refused call wrote nothing and that no untyped exception escaped."""
    TRIED[counter] = TRIED.get(counter, 0) + 1
    rows, tree = row_counts(store.db), file_tree(store.home)
    try:
        return True, call()
    except errors.StoreError as exc:
        assert row_counts(store.db) == rows, f"a refused call wrote rows: {exc}"
        assert file_tree(store.home) == tree, f"a refused call wrote files: {exc}"
        assert str(exc), "an error without a message"
        return False, exc
    except Exception as exc:  # the property: nothing untyped escapes
        pytest.fail(f"untyped {type(exc).__module__}.{type(exc).__name__} escaped: {exc!r}"[:2000])


@pytest.fixture
def base(store: Store) -> dict[str, int]:
    table = pa.table({"x": pa.array([1, 2, 3], pa.int64()), "y": pa.array([0, 1, 0])})
    ds = datasets.create("base", table)
    session = model_sessions.create(
        ds.id, "s", "TabularClassificationTask", ["x"], ["y"], {"train": 0.6, "validation": 0.2, "test": 0.2}
    )
    run = runs.create(session.id, "r", "SVC", {})
    nb = notebooks.create(ds.id, "nb")
    return {"dataset": ds.id, "session": session.id, "run": run.id, "notebook": nb.id}


def test_dataset_names(store: Store, base: dict[str, int], figures: Any) -> None:
    TRIED["dataset names"] = 0
    table = pa.table({"x": [1]})

    @SETTINGS
    @given(name=st.one_of(NAMES, WRONG), rename=st.one_of(NAMES, WRONG))
    def prop(name: Any, rename: Any) -> None:
        ok, ds = attempt(store, "dataset names", lambda: datasets.create(name, table))
        if ok:
            assert datasets.get_by_name(name).id == ds.id
            assert ds.file_path == store.home / "datasets" / str(ds.id) / "data.arrow"
            assert datasets.load_table(ds.id).equals(table)
            ok, renamed = attempt(store, "dataset names", lambda: datasets.rename(ds.id, rename))
            if ok:
                assert datasets.get(ds.id).name == rename == renamed.name

    prop()
    figures("inputs tried", TRIED["dataset names"])
    figures("examples per property", EXAMPLES)


def test_run_parameters_and_names(store: Store, base: dict[str, int], figures: Any) -> None:
    TRIED["run parameters"] = 0

    @SETTINGS
    @given(name=st.one_of(NAMES, WRONG), parameters=PARAMETERS, model=st.one_of(NAMES, WRONG))
    def prop(name: Any, parameters: Any, model: Any) -> None:
        ok, run = attempt(
            store, "run parameters", lambda: runs.create(base["session"], name, model, parameters)
        )
        if ok:
            got = runs.get(run.id)
            assert got.name == name and got.model_name == model
            assert _same_json(got.parameters, parameters)
            ok, _ = attempt(store, "run parameters", lambda: runs.update_parameters(run.id, parameters))
            assert ok and _same_json(runs.get(run.id).parameters, parameters)

    prop()
    figures("inputs tried", TRIED["run parameters"])


def test_metric_points(store: Store, base: dict[str, int], figures: Any) -> None:
    TRIED["metric points"] = 0
    values = st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(min_value=-(2**1100), max_value=2**1100),
        WRONG,
        st.text(max_size=5),
    )
    steps = st.one_of(st.integers(min_value=-(2**40), max_value=2**40), WRONG)
    splits = st.one_of(st.sampled_from(["TRAIN", "VALIDATION", "TEST", "train", "", "LAST"]), WRONG)
    levels = st.one_of(st.sampled_from(["LAST", "STEP", "BATCH", "TRIAL", "step", "TRAIN"]), WRONG)
    run_ids = st.one_of(st.just(base["run"]), st.integers(min_value=-(2**70), max_value=2**70), WRONG)

    @SETTINGS
    @given(
        run_id=run_ids,
        name=st.one_of(NAMES, WRONG),
        value=values,
        split=splits,
        level=levels,
        step=steps,
        bulk=st.booleans(),
    )
    def prop(run_id: Any, name: Any, value: Any, split: Any, level: Any, step: Any, bulk: bool) -> None:
        def call() -> Any:
            if bulk:
                return metrics.log_many(run_id, [(name, split, level, step, value)])
            return metrics.log(run_id, name, value, split=split, level=level, step=step)

        ok, _ = attempt(store, "metric points", call)
        if ok:
            point = [
                p for p in metrics.history(run_id, name=name, split=split, level=level) if p.step == step
            ]
            assert len(point) == 1
            expected = float(value)
            assert point[0].value == expected or (math.isnan(expected) and math.isnan(point[0].value))

    prop()
    figures("inputs tried", TRIED["metric points"])


def _past_the_source(notebook_id: int, step: Any) -> Any:
    valid = isinstance(step, int) and not isinstance(step, bool)
    if valid and 0 <= step <= notebooks.get(notebook_id).current_position:
        return -1 - step
    return step


def test_unknown_ids_and_wrong_id_types(store: Store, base: dict[str, int], figures: Any) -> None:
    TRIED["ids"] = 0
    taken = set(base.values())
    ids = st.one_of(st.integers(min_value=-(2**70), max_value=2**70), WRONG).filter(
        lambda i: not (isinstance(i, int) and i in taken)
    )
    calls: list[Callable[[Any], Any]] = [
        datasets.get,
        datasets.delete,
        datasets.load_table,
        lambda i: datasets.rename(i, "other"),
        model_sessions.get,
        model_sessions.delete,
        runs.get,
        runs.delete,
        runs.load_model,
        lambda i: runs.save_model(i, {"w": 1}),
        lambda i: runs.save_plot(i, "history", {"data": []}),
        runs.start,
        metrics.history,
        metrics.history_table,
        metrics.latest,
        notebooks.get,
        notebooks.delete,
        notebooks.load_table,
        lambda i: notebooks.add_converter(i, "c"),
        # A step number, not a row id: 0 (the source data) and the steps the notebook has are
        # valid, so those draws become a step before the source instead.
        lambda i: notebooks.revert(base["notebook"], _past_the_source(base["notebook"], i)),
        plugins.get,
        generative.get_session,
        lambda i: model_sessions.create(i, "x", "TabularClassificationTask", ["x"], ["y"], {"train": 1.0}),
        lambda i: runs.create(i, "x", "SVC", {}),
    ]

    @SETTINGS
    @given(row_id=ids, which=st.integers(min_value=0, max_value=len(calls) - 1))
    def prop(row_id: Any, which: int) -> None:
        ok, result = attempt(store, "ids", lambda: calls[which](row_id))
        assert not ok, f"call {which} with id {row_id!r} succeeded: {result!r}"
        assert isinstance(result, (errors.NotFound, errors.ValidationError, errors.InvalidTransition)), result

    prop()
    figures("inputs tried", TRIED["ids"])


def test_generative_sessions_and_plugins(store: Store, base: dict[str, int], figures: Any) -> None:
    TRIED["generative+plugins"] = 0

    @SETTINGS
    @given(
        name=st.one_of(NAMES, WRONG),
        parameters=PARAMETERS,
        tags=st.one_of(st.lists(NAMES, max_size=3), WRONG),
    )
    def prop(name: Any, parameters: Any, tags: Any) -> None:
        ok, session = attempt(
            store,
            "generative+plugins",
            lambda: generative.create_session(name, "TextToImage", "sd", parameters),
        )
        if ok:
            assert _same_json(generative.get_session(session.id).parameters, parameters)
            assert generative.get_session(session.id).name == name
        ok, plugin = attempt(
            store, "generative+plugins", lambda: plugins.register(name, author="me", version="1", tags=tags)
        )
        if ok:
            assert plugins.get_by_name(name).id == plugin.id

    prop()
    figures("inputs tried", TRIED["generative+plugins"])
