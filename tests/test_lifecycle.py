"""dashai_store.lifecycle: the walks (several moves in one call) and interrupt, on both backends."""

from __future__ import annotations

import pytest
from helpers import plant_dataset

from dashai_store import errors, lifecycle, models
from dashai_store.database import Store, run_in_transaction
from dashai_store.enums import RunStatus

NS, DE, ST, FI, ER = (
    RunStatus.NOT_STARTED,
    RunStatus.DELIVERED,
    RunStatus.STARTED,
    RunStatus.FINISHED,
    RunStatus.ERROR,
)


@pytest.mark.parametrize(
    ("current", "target", "path"),
    [
        (NS, FI, [DE, ST, FI]),  # a dataset created with its data
        (NS, ST, [DE, ST]),
        (DE, ST, [ST]),
        (ER, ST, [NS, DE, ST]),  # a notebook step retried
        (NS, ER, [DE, ER]),  # a step that never ran, marked failed
        (ER, ER, [NS, DE, ER]),  # failed again: the new message is recorded
        (ST, ER, [ER]),
        (FI, ER, [ER]),  # FINISHED is final: the one move, which move() refuses
        (FI, ST, [ST]),
        (ST, ST, [ST]),
        (FI, NS, [NS]),  # a reset
    ],
)
def test_walk_path(current: RunStatus, target: RunStatus, path: list[RunStatus]) -> None:
    assert lifecycle._walk_path(current, target) == path


def test_walk_moves_through_every_step_and_sets_extra_on_the_last(store: Store) -> None:
    dataset_id = run_in_transaction(plant_dataset)
    row = run_in_transaction(
        lambda: lifecycle.walk(
            models.Dataset, dataset_id, lifecycle.FINISHED, current=NS, extra={"huey_id": "inline"}
        )
    )
    assert row.status == "FINISHED" and row.huey_id == "inline"
    assert row.delivery_time is not None and row.start_time is not None and row.end_time is not None


def test_walk_from_error_is_a_retry_and_from_finished_is_refused(store: Store) -> None:
    dataset_id = run_in_transaction(lambda: plant_dataset(status="ERROR", error="boom"))
    row = run_in_transaction(lambda: lifecycle.walk(models.Dataset, dataset_id, ST, current=ER))
    assert (row.status, row.error) == ("STARTED", None)
    run_in_transaction(lambda: lifecycle.move(models.Dataset, dataset_id, FI))
    with pytest.raises(errors.InvalidTransition, match="is FINISHED; it cannot move to ERROR"):
        run_in_transaction(lambda: lifecycle.walk(models.Dataset, dataset_id, ER, current=FI, error="x"))


def test_interrupt_moves_running_rows_only(store: Store) -> None:
    ids = {
        status: run_in_transaction(lambda status=status: plant_dataset(f"d-{status}", status=status))
        for status in ("NOT_STARTED", "DELIVERED", "STARTED", "FINISHED", "ERROR")
    }
    moved = run_in_transaction(
        lambda: lifecycle.interrupt([models.Dataset, models.Run], "gone (was {status})")
    )
    assert moved == [("dataset", ids["DELIVERED"]), ("dataset", ids["STARTED"])]
    for status, row_id in ids.items():
        row = models.Dataset.get_by_id(row_id)
        if status in ("DELIVERED", "STARTED"):
            assert (row.status, row.error) == ("ERROR", f"gone (was {status})")
            assert row.end_time is not None
        else:
            assert row.status == status
    assert run_in_transaction(lambda: lifecycle.interrupt([models.Dataset], "again")) == []
