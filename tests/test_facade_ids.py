"""Every facade function that takes a row id refuses a value that is not one.

The rule (``rows.check_id``): an id is an ``int`` and not a ``bool``. ``True`` is an int to
Python and would act on row 1; ``None``, ``"1"`` and ``1.0`` would reach the database and
come back as a raw driver error, or match a row by coercion. Each function is found by
introspection, so a function added later is held to the rule without a new test: a
function whose first parameter is named ``*_id`` (or ``id``) is called with each bad
value and must raise ``errors.ValidationError`` and leave every row and file as it was
(``None`` is skipped where the id is an optional filter, as in ``runs.list(session_id=None)``).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from helpers import assert_refused

from dashai_store import errors
from dashai_store.database import Store

FACADE = (
    "datasets",
    "model_sessions",
    "runs",
    "metrics",
    "notebooks",
    "generative",
    "plugins",
    "predictions",
    "explainers",
    "explorers",
)
BAD_IDS: tuple[object, ...] = (None, True, False, "1", 1.0)
# Helpers other modules call inside their own transactions, not entry points of the app:
# they get ids the calling function has already checked.
INTERNAL = {"datasets.drop_version_if_unused", "notebooks.snapshot_path"}


def _id_functions() -> Iterator[tuple[str, Callable[..., Any], inspect.Signature]]:
    for module_name in FACADE:
        module = importlib.import_module(f"dashai_store.{module_name}")
        for name, function in sorted(vars(module).items()):
            if name.startswith("_") or not inspect.isfunction(function):
                continue
            if function.__module__ != module.__name__:
                continue  # imported helpers are tested where they live
            params = list(inspect.signature(function).parameters.values())
            if f"{module_name}.{name}" in INTERNAL:
                continue
            if params and (params[0].name == "id" or params[0].name.endswith("_id")):
                yield f"{module_name}.{name}", function, inspect.signature(function)


def _filler(param: inspect.Parameter) -> object:
    """A plausible value for a required parameter after the id (never reached: the id is checked first)."""
    annotation = str(param.annotation)
    if "int" in annotation:
        return 1
    if "float" in annotation:
        return 1.0
    if "dict" in annotation or "Mapping" in annotation:
        return {}
    if "list" in annotation or "Sequence" in annotation or "Iterable" in annotation:
        return []
    if "bool" in annotation:
        return False
    return "x"


FUNCTIONS = sorted(_id_functions(), key=lambda item: item[0])


def test_the_facade_has_id_taking_functions_to_check() -> None:
    names = {name for name, _, _ in FUNCTIONS}
    # A guard against the introspection finding nothing (a renamed parameter, a moved module).
    assert {"runs.get", "runs.delete", "runs.load_model", "datasets.finish", "metrics.log_many"} <= names
    assert len(names) >= 60, sorted(names)


@pytest.mark.parametrize("name", [name for name, _, _ in FUNCTIONS])
def test_a_bad_id_is_refused_with_a_validation_error_and_nothing_changes(
    sqlite_store: Store, name: str
) -> None:
    _, function, signature = next(item for item in FUNCTIONS if item[0] == name)
    first, *params = signature.parameters.values()
    args = [
        _filler(p)
        for p in params
        if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    kwargs = {
        p.name: _filler(p)
        for p in params
        if p.default is inspect.Parameter.empty and p.kind is p.KEYWORD_ONLY
    }
    optional = first.default is None  # a filter: None means "all"
    for bad in BAD_IDS:
        if bad is None and optional:
            continue
        assert_refused(
            sqlite_store,
            f"{name}({bad!r}, ...)",
            lambda bad=bad: function(bad, *args, **kwargs),  # type: ignore[misc]
            errors.ValidationError,
        )
