"""SIGKILL a process logging through ``metrics.logger`` at seeded random moments.

The child (this file run as a script) logs step ``i`` with value ``i / 2`` as fast as it
can, through a real ``metrics.logger`` whose batch writes it journals: ``start a b``
before the thread writes points ``[a, b)`` and ``done b`` once that write returned (each
line fsynced). After each kill (``DASHAI_LOGGER_KILLS`` per backend, default 6; seeded by
``DASHAI_LOGGER_KILL_SEED``, printed as a reliability figure), the parent asserts:

* the stored steps are a prefix ``0 .. k-1`` of what was logged, each once, each with its
  value (nothing duplicated or half-written);
* ``k`` is a batch boundary: the end of the last completed flush, or of the one batch in
  flight at the kill (committed, not yet journaled), never in the middle of a batch;
* so the lost points are at most those logged after the last completed flush.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dashai_store import metrics, open_store, runs
from dashai_store.database import Store

from ._support import PYTHON, REPO, env_int, seed_from, sqlite_problems

KILLS = env_int("DASHAI_LOGGER_KILLS", 6)
SEED = seed_from("DASHAI_LOGGER_KILL_SEED")
NAME = "loss"


def _journal_lines(path: Path) -> list[list[str]]:
    if not path.exists():
        return []
    # A killed writer may leave a partial last line: only lines ending in a newline count.
    text = path.read_text()
    return [line.split() for line in text.split("\n")[:-1] if line]


def _kill_once(home: Path, url: str | None, run_id: int, delay_s: float, journal: Path) -> None:
    # Run as a module, so that its relative imports resolve in the child too.
    args = [str(home), url or "", str(run_id), str(journal)]
    child = subprocess.Popen(
        [PYTHON, "-m", "tests.reliability.test_logger_kill", *args],
        cwd=REPO,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        ready = child.stdout.readline()
        assert ready.strip() == "ready", f"child did not start: {ready!r}"
        time.sleep(delay_s)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(30)


def _check_after_kill(run_id: int, journal: Path) -> tuple[int, int]:
    """The assertions above; returns (stored points, points of the last completed flush)."""
    points = metrics.history(run_id, name=NAME)
    steps = [p.step for p in points]
    assert steps == list(range(len(steps))), "the stored points are not a prefix of those logged"
    assert len({p.id for p in points}) == len(points)
    assert all(p.value == p.step / 2 for p in points), "a point holds another point's value"
    stored = len(steps)
    done = 0
    in_flight = None
    for entry in _journal_lines(journal):
        if entry[0] == "start":
            assert int(entry[1]) == done, f"batches out of order: {entry}"
            in_flight = int(entry[2])
        elif entry[0] == "done":
            assert in_flight == int(entry[1])
            done, in_flight = int(entry[1]), None
    assert stored >= done, f"a completed flush was lost: {stored} stored, {done} flushed"
    assert stored in (done, in_flight), f"{stored} stored: not a batch boundary ({done}, {in_flight})"
    return stored, done


def test_killed_logger_loses_at_most_the_unflushed_points(
    store: Store, tmp_path: Path, figures: Callable[[str, object], None], database_url: str | None
) -> None:
    from helpers import plant_dataset, plant_session

    figures("seed (DASHAI_LOGGER_KILL_SEED)", SEED)
    rng = random.Random(f"{SEED}-{store.backend}")
    session_id = plant_session(plant_dataset("ds"), "session")
    stored_total = in_flight_kills = 0
    for kill in range(KILLS):
        run_id = runs.create(session_id, f"run-{kill}", "SVC", {}).id
        journal = tmp_path / f"journal-{kill}.txt"
        _kill_once(store.home, database_url, run_id, rng.uniform(0.05, 1.2), journal)
        if store.backend == "sqlite":
            assert sqlite_problems(store.home / "db.sqlite") == []
        stored, done = _check_after_kill(run_id, journal)
        stored_total += stored
        in_flight_kills += stored > done
    figures("kills", KILLS)
    figures("points stored", stored_total)
    figures("kills with a batch committed but not journaled", in_flight_kills)
    if stored_total == 0:
        pytest.fail("no kill happened after a flush: the test exercised nothing")


def _child(home: str, url: str, run_id: int, journal_path: str) -> None:
    fd = os.open(journal_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def note(*words: object) -> None:
        os.write(fd, (" ".join(map(str, words)) + "\n").encode())
        os.fsync(fd)

    with open_store(home, database=url or None):
        log = metrics.logger(run_id, flush_every_s=0.02, max_points=300, max_pending=3000)
        inner = log._write  # the bulk write metrics.logger gave it, journaled around
        written = [0]

        def journaled(batch: list[tuple[str, str, str, int, float]]) -> None:
            start, end = written[0], written[0] + len(batch)
            note("start", start, end)
            inner(batch)
            written[0] = end
            note("done", end)

        log._write = journaled
        print("ready", flush=True)
        step = 0
        while True:
            log.log(NAME, step / 2, split="TRAIN", level="STEP", step=step)
            step += 1
            if step % 500 == 0:
                time.sleep(0.005)  # let time-based flushes happen too, not only full batches


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
