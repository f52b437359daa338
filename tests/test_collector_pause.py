"""Long listings build their records with the cyclic collector paused, and leave it as they found it.

``rows.collector_paused`` turns Python's cyclic garbage collector off while thousands of
rows become records (none of them in a cycle) and back on afterwards: only if it was on,
so an application that runs with it off keeps it off, and even when the build raises.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from dashai_store import rows


@pytest.fixture
def collector_restored() -> Iterator[None]:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_a_long_build_pauses_the_collector_and_turns_it_back_on(collector_restored: None) -> None:
    gc.enable()
    with rows.collector_paused(rows.PAUSE_COLLECTOR_ROWS):
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_short_build_leaves_the_collector_alone(collector_restored: None) -> None:
    gc.enable()
    with rows.collector_paused(rows.PAUSE_COLLECTOR_ROWS - 1):
        assert gc.isenabled()
    assert gc.isenabled()


def test_an_application_that_turned_it_off_keeps_it_off(collector_restored: None) -> None:
    gc.disable()
    with rows.collector_paused(10 * rows.PAUSE_COLLECTOR_ROWS):
        pass
    assert not gc.isenabled()


def test_a_failing_build_turns_it_back_on(collector_restored: None) -> None:
    gc.enable()
    with pytest.raises(ValueError), rows.collector_paused(rows.PAUSE_COLLECTOR_ROWS):
        raise ValueError("a row that cannot be read")
    assert gc.isenabled()
