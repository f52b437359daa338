"""A busy database during ``log_many``: a replayable input is retried whole, a generator never half-written.

``run_in_transaction`` retries a write whose database was busy. ``log_many`` consumes its
points inside that write, so a retry must start the input over: a list (or any iterable
whose ``iter()`` gives a fresh iterator) can be, a generator cannot (its first points are
gone). The busy error is injected while the points are being consumed, as the store sees a real
one mid-write (the driver's "database is locked", wrapped by Peewee), on a real store.
"""

from __future__ import annotations

from collections.abc import Iterator

import peewee
import pytest
from helpers import plant_dataset, plant_run, plant_session

from dashai_store import errors, metrics
from dashai_store.database import Store

POINTS = 45_000  # more than two chunks of metrics.CHUNK_ROWS: the failure comes after a chunk is written
FAIL_AT = 30_000


def _point(step: int) -> tuple[str, str, str, int, float]:
    return ("loss", "TRAIN", "STEP", step, step / 7)


class FlakyOnce:
    """A replayable iterable whose first pass hits a busy database after ``FAIL_AT`` points."""

    def __init__(self) -> None:
        self.passes = 0

    def __iter__(self) -> Iterator[tuple[str, str, str, int, float]]:
        self.passes += 1
        for step in range(POINTS):
            if self.passes == 1 and step == FAIL_AT:
                raise peewee.OperationalError("database is locked")
            yield _point(step)


def _flaky_generator() -> Iterator[tuple[str, str, str, int, float]]:
    for step in range(POINTS):
        if step == FAIL_AT:
            raise peewee.OperationalError("database is locked")
        yield _point(step)


def test_a_replayable_input_is_retried_from_the_start_and_written_once(sqlite_store: Store) -> None:
    run_id = plant_run(plant_session(plant_dataset()))
    points = FlakyOnce()

    assert metrics.log_many(run_id, points) == POINTS

    assert points.passes == 2
    history = metrics.history(run_id, name="loss")
    assert [p.step for p in history] == list(range(POINTS))


def test_a_generator_is_never_replayed_after_a_busy_failure(sqlite_store: Store) -> None:
    run_id = plant_run(plant_session(plant_dataset()))

    with pytest.raises(errors.StoreBusy, match="one-shot iterator"):
        metrics.log_many(run_id, _flaky_generator())

    assert metrics.history(run_id) == []
