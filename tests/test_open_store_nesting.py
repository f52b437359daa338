"""Nested and repeated ``open_store``: stores stack, closing the inner one restores the outer.

The rule (``dashai_store.database``): opening a store while another is bound puts it on
top; the facade acts on the top store; closing a store takes it off the stack wherever it
is, so an outer store is current again after an inner ``with`` block, and two handles on
one home can be closed in either order without unbinding the one still open.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from dashai_store import datasets, errors, open_store
from dashai_store.database import bound_stores, current

TABLE = pa.table({"x": [1.0, 2.0]})


def names() -> list[str]:
    return [dataset.name for dataset in datasets.list()]


def test_inner_store_is_current_and_closing_it_restores_the_outer(
    tmp_path: Path, database_url: str | None
) -> None:
    with open_store(tmp_path / "outer", database=database_url) as outer:
        datasets.create("outer-data", TABLE)
        with open_store(tmp_path / "inner") as inner:
            assert current() is inner
            assert names() == []
            datasets.create("inner-data", TABLE)
            assert names() == ["inner-data"]
        # The outer store is bound again and its connection still works.
        assert current() is outer
        assert names() == ["outer-data"]
        datasets.create("outer-more", TABLE)
        assert sorted(names()) == ["outer-data", "outer-more"]
    with pytest.raises(errors.StoreNotOpen):
        datasets.list()
    with open_store(tmp_path / "inner"):
        assert names() == ["inner-data"]


def test_two_handles_on_one_home_closed_in_either_order(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = open_store(home)
    second = open_store(home)
    try:
        datasets.create("shared", TABLE)
        first.close()  # not the top one: the second handle stays bound
        assert current() is second
        assert names() == ["shared"]
    finally:
        second.close()
    with pytest.raises(errors.StoreNotOpen):
        current()

    first = open_store(home)
    second = open_store(home)
    second.close()
    try:
        assert current() is first
        assert names() == ["shared"]
    finally:
        first.close()
    assert bound_stores() == ()


def test_closing_twice_and_closing_out_of_order_keep_the_stack_consistent(tmp_path: Path) -> None:
    a = open_store(tmp_path / "a")
    b = open_store(tmp_path / "b")
    c = open_store(tmp_path / "c")
    try:
        assert bound_stores() == (a, b, c)
        b.close()
        b.close()  # a second close is a no-op, it does not unbind another store
        assert bound_stores() == (a, c)
        assert current() is c
        c.close()
        assert current() is a
        datasets.create("in-a", TABLE)
    finally:
        a.close()
    assert bound_stores() == ()


def test_a_failed_open_leaves_the_outer_store_bound(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    with open_store(tmp_path / "outer") as outer:
        with pytest.raises(errors.ValidationError):
            open_store(not_a_folder)
        assert current() is outer
        datasets.create("still-here", TABLE)
