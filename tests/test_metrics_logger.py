"""metrics.logger: buffered logging from a training loop; on SQLite and PostgreSQL."""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import pytest
from helpers import plant_dataset, plant_session, transaction_held_open

from dashai_store import errors, metrics, open_store, runs
from dashai_store.database import Store
from dashai_store.metrics_logger import MetricLogger


def make_run(name: str = "r") -> int:
    session_id = plant_session(plant_dataset(f"ds-{name}"), f"session-{name}")
    return runs.create(session_id, name, "SVC", {"C": 1.0}).id


@pytest.fixture
def run_id(store: Store) -> int:
    return make_run()


def stored(run_id: int) -> list[tuple[str, str, str, int, float]]:
    return [(p.name, p.split.name, p.level.name, p.step, p.value) for p in metrics.history(run_id)]


def test_points_reach_since_within_a_flush_interval(run_id: int) -> None:
    with metrics.logger(run_id, flush_every_s=0.1) as log:
        cursor = 0
        seen: list[int] = []
        for step in range(5):
            log.log("loss", 1.0 / (step + 1), split="TRAIN", level="STEP", step=step)
            logged = time.monotonic()
            while True:
                points, cursor = metrics.since(run_id, cursor)
                seen.extend(p.step for p in points)
                if step in seen:
                    break
                # One interval, plus the write's own time (and a new thread's first connection)
                # on a loaded 2-core machine.
                assert time.monotonic() - logged < 5.0, f"step {step} not visible"
                time.sleep(0.01)
    assert seen == [0, 1, 2, 3, 4]


def test_flush_and_exit_write_everything_in_order_once(run_id: int) -> None:
    with metrics.logger(run_id, flush_every_s=60, max_points=100, max_pending=1000) as log:
        for step in range(250):
            log.log("acc", step / 250, split="VALIDATION", level="STEP", step=step)
        log.flush()
        assert log.points_written == 250
        assert len(metrics.history(run_id)) == 250
        for step in range(250, 300):
            log.log("acc", step / 250, split="VALIDATION", level="STEP", step=step)
    points, _ = metrics.since(run_id)
    assert [p.step for p in points] == list(range(300))  # each once, in logging order
    ids = [p.id for p in points]
    assert ids == sorted(set(ids))


def test_logging_again_replaces_as_log_does(run_id: int) -> None:
    with metrics.logger(run_id) as log:
        log.log("loss", 1.0, split="TRAIN", level="STEP", step=0)
        log.log("loss", 2.0, split="TRAIN", level="STEP", step=0)  # same batch: the last wins
        log.log("accuracy", 0.5, split="TEST", level="LAST", step=1)
        log.flush()
        log.log("loss", 3.0, split="TRAIN", level="STEP", step=0)  # a later batch
        log.log("accuracy", 0.9, split="TEST", level="LAST", step=7)
    assert sorted(stored(run_id)) == [("accuracy", "TEST", "LAST", 7, 0.9), ("loss", "TRAIN", "STEP", 0, 3.0)]
    assert metrics.latest(run_id) == {"TEST": {"accuracy": 0.9}}


def test_nan_and_enum_members_are_taken_as_log_takes_them(run_id: int) -> None:
    from dashai_store.enums import LevelEnum, SplitEnum

    with metrics.logger(run_id) as log:
        log.log("loss", math.nan, split=SplitEnum.TRAIN, level=LevelEnum.STEP, step=0)
        log.log("loss", 3, split="TRAIN", level="STEP", step=1)
    values = [p.value for p in metrics.history(run_id)]
    assert math.isnan(values[0]) and values[1] == 3.0


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (("", 1.0), {"split": "TRAIN", "level": "STEP", "step": 0}),
        (("loss", "1.0"), {"split": "TRAIN", "level": "STEP", "step": 0}),
        (("loss", True), {"split": "TRAIN", "level": "STEP", "step": 0}),
        (("loss", 1.0), {"split": "NOPE", "level": "STEP", "step": 0}),
        (("loss", 1.0), {"split": "TRAIN", "level": "NOPE", "step": 0}),
        (("loss", 1.0), {"split": "TRAIN", "level": "STEP", "step": 1.5}),
        (("loss", 1.0), {"split": "TRAIN", "level": "STEP", "step": 2**31}),
    ],
)
def test_bad_input_raises_at_the_call(
    run_id: int, args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    with metrics.logger(run_id) as log:
        log.log("ok", 1.0, split="TRAIN", level="STEP", step=0)
        with pytest.raises(errors.ValidationError):
            log.log(*args, **kwargs)  # type: ignore[arg-type]
        with pytest.raises(errors.ValidationError):  # the same refusal as metrics.log
            metrics.log(run_id, *args, **kwargs)  # type: ignore[arg-type]
        log.log("ok", 2.0, split="TRAIN", level="STEP", step=1)  # the logger goes on
    assert [p.value for p in metrics.history(run_id)] == [1.0, 2.0]


def test_unknown_run_and_bad_settings_are_refused(run_id: int) -> None:
    with pytest.raises(errors.NotFound):
        metrics.logger(run_id + 1000)
    with pytest.raises(errors.ValidationError):
        metrics.logger("7")  # type: ignore[arg-type]
    for settings in ({"flush_every_s": 0}, {"max_points": 0}, {"max_pending": 5, "max_points": 10}):
        with pytest.raises(errors.ValidationError):
            metrics.logger(run_id, **settings)  # type: ignore[arg-type]


def test_finish_and_fail_flush_the_runs_loggers(run_id: int) -> None:
    other = make_run("other")
    for target, end in ((run_id, lambda r: runs.finish(r)), (other, lambda r: runs.fail(r, "boom"))):
        runs.deliver(target)
        runs.start(target)
        log = metrics.logger(target, flush_every_s=60)
        for step in range(10):
            log.log("loss", float(step), split="TRAIN", level="STEP", step=step)
        end(target)
        assert len(metrics.history(target)) == 10  # written before finish/fail returned
        log.close()


def test_deleted_run_stops_the_logger_with_a_typed_error(run_id: int) -> None:
    log = metrics.logger(run_id, flush_every_s=60)
    log.log("loss", 1.0, split="TRAIN", level="STEP", step=0)
    log.flush()
    runs.delete(run_id)
    log.log("loss", 2.0, split="TRAIN", level="STEP", step=1)
    with pytest.raises(errors.NotFound):
        log.flush()
    with pytest.raises(errors.NotFound):  # the logger stays stopped: never swallowed
        log.log("loss", 3.0, split="TRAIN", level="STEP", step=2)
    with pytest.raises(errors.NotFound):
        log.close()


def test_a_failed_write_surfaces_at_the_next_log_and_at_exit(run_id: int) -> None:
    with pytest.raises(errors.NotFound):
        with metrics.logger(run_id, flush_every_s=0.05) as log:
            log.log("loss", 1.0, split="TRAIN", level="STEP", step=0)
            runs.delete(run_id)
            deadline = time.monotonic() + 10
            with pytest.raises(errors.NotFound):  # raised by a later log, once the write failed
                while time.monotonic() < deadline:
                    log.log("loss", 2.0, split="TRAIN", level="STEP", step=1)
                    time.sleep(0.01)
    log2 = metrics.logger(make_run("again"), flush_every_s=60)
    log2.log("loss", 1.0, split="TRAIN", level="STEP", step=0)
    runs.delete(log2.run_id)
    with pytest.raises(errors.NotFound):  # the exit raises it when nothing else did
        with log2:
            pass


def test_back_pressure_bounds_memory(run_id: int) -> None:
    max_pending, total = 20, 200
    done = threading.Event()
    log = metrics.logger(run_id, flush_every_s=0.01, max_points=5, max_pending=max_pending)

    def produce() -> None:
        for step in range(total):
            log.log("loss", float(step), split="TRAIN", level="STEP", step=step)
        done.set()

    # The run's write lock held by another transaction: the writer cannot commit.
    with transaction_held_open(lambda: metrics.log(run_id, "other", 0.0, split="TEST", level="STEP", step=0)):
        producer = threading.Thread(target=produce)
        producer.start()
        time.sleep(0.5)
        assert not done.is_set()  # log() blocks instead of queueing without bound
        assert len(log._pending) <= max_pending
    producer.join(30)
    assert done.is_set()
    log.close()
    assert len(metrics.history(run_id, name="loss")) == total


def test_back_pressure_with_a_stalled_writer(tmp_path: Path) -> None:
    # The mechanism alone, with a writer that stalls until released: the waiting points
    # never exceed max_pending, and everything arrives once the writer resumes.
    release = threading.Event()
    written: list[int] = []

    def write(batch: list[int]) -> None:
        release.wait(10)
        written.extend(batch)

    with open_store(tmp_path / "mechanism") as store:
        log = MetricLogger(
            store, 1, lambda n, v, s, lv, st: st, write, flush_every_s=0.01, max_points=3, max_pending=10
        )
        peak = [0]

        def produce() -> None:
            for step in range(100):
                log.log("x", 0.0, split="TRAIN", level="STEP", step=step)
                peak[0] = max(peak[0], len(log._pending))

        producer = threading.Thread(target=produce)
        producer.start()
        time.sleep(0.3)
        assert producer.is_alive() and peak[0] <= 10
        release.set()
        producer.join(10)
        log.close()
    assert written == list(range(100))


def test_closing_the_store_writes_the_loggers_points(tmp_path: Path, database_url: str | None) -> None:
    home = tmp_path / "home2"
    with open_store(home, database=database_url):
        run = make_run("closing")
        log = metrics.logger(run, flush_every_s=60)
        log.log("loss", 1.0, split="TRAIN", level="STEP", step=0)
    with open_store(home, database=database_url):
        assert len(metrics.history(run)) == 1
    log.close()  # already closed with its store: a no-op


def test_the_thread_writes_to_its_own_store_whatever_is_bound(run_id: int, tmp_path: Path) -> None:
    log = metrics.logger(run_id, flush_every_s=60)
    log.log("loss", 1.0, split="TRAIN", level="STEP", step=0)
    with open_store(tmp_path / "inner"):  # another store is current now
        log.flush()
    log.close()
    assert len(metrics.history(run_id)) == 1


def test_finish_inside_a_write_transaction_does_not_wait_for_the_writer(run_id: int) -> None:
    from dashai_store.database import run_in_transaction

    runs.deliver(run_id)
    runs.start(run_id)
    with metrics.logger(run_id, flush_every_s=60) as log:
        log.log("loss", 1.0, split="TRAIN", level="STEP", step=0)
        started = time.monotonic()
        # The writer thread would wait for this transaction's lock: finish must not wait for it.
        run_in_transaction(lambda: runs.finish(run_id))
        assert time.monotonic() - started < 3.0
    assert len(metrics.history(run_id)) == 1  # written at the exit instead
