"""metrics at scale and across processes: one huge log_many, and live tailing of other
processes' single-point logs with since(); on SQLite and PostgreSQL."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers import plant_dataset, plant_session

from dashai_store import metrics, runs
from dashai_store.database import Store
from dashai_store.records import MetricPoint


def make_run() -> int:
    session_id = plant_session(plant_dataset("ds"), "session", splits={"train": 1.0})
    return runs.create(session_id, "r", "SVC", {}).id


MILLION = 1_000_000


@pytest.mark.slow
def test_one_log_many_call_with_a_million_points(store: Store) -> None:
    run_id = make_run()

    def points():  # type: ignore[no-untyped-def]
        # A generator (consumed in chunks, never held whole), with special values mixed in.
        for step in range(MILLION):
            value = math.nan if step % 100_000 == 7 else (math.inf if step == 3 else step * 0.5)
            yield ("loss", "TRAIN", "STEP", step, value)

    assert metrics.log_many(run_id, points()) == MILLION
    param = store.db.param
    count = store.db.execute_sql(
        f"SELECT COUNT(*), MIN(step), MAX(step) FROM metric WHERE run_id = {param}", (run_id,)
    )
    assert count.fetchone() == (MILLION, 0, MILLION - 1)
    # A few values, read back through the facade (since() pages in logging order).
    first, _ = metrics.since(run_id, 0, limit=10)
    assert [p.step for p in first] == list(range(10))
    assert first[2].value == 1.0 and first[3].value == math.inf and math.isnan(first[7].value)
    table = metrics.history_table(run_id, name="loss", split="TRAIN", level="STEP")
    assert table.num_rows == MILLION
    steps, values = table.column("step"), table.column("value")
    assert (steps[-1].as_py(), values[-1].as_py()) == (MILLION - 1, 499_999.5)
    assert math.isnan(values[900_007].as_py()) and values[900_008].as_py() == 450_004.0
    assert values.null_count == 0


WRITER = textwrap.dedent(
    """
    import random, sys, time
    from dashai_store import open_store, metrics
    home, database, run_id, name, count = sys.argv[1:6]
    with open_store(home, database=database or None, migrate=False):
        print("ready", flush=True)
        sys.stdin.readline()  # wait for the go, so the writers overlap
        for step in range(int(count)):
            metrics.log(int(run_id), name, step * 1.0, split="TRAIN", level="STEP", step=step)
            if random.random() < 0.2:
                time.sleep(random.random() / 1000)
    """
)


def test_since_sees_every_point_of_concurrent_writer_processes_once(
    store: Store, home: Path, database_url: str | None
) -> None:
    """Two other processes log single points to one run while this one tails it with since():
    every point arrives, none twice, in id order."""
    run_id = make_run()
    count = 300
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(home), database_url or "", str(run_id), name, str(count)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    try:
        for writer in writers:
            assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        for writer in writers:
            assert writer.stdin is not None
            writer.stdin.write("go\n")
            writer.stdin.flush()
        seen: list[MetricPoint] = []
        cursor = 0
        polls = 0
        deadline = time.monotonic() + 120
        while len(seen) < 2 * count and time.monotonic() < deadline:
            points, cursor = metrics.since(run_id, cursor)
            seen.extend(points)
            polls += 1
            if any(w.poll() not in (None, 0) for w in writers):
                break
        for writer in writers:
            _, err = writer.communicate(timeout=60)
            assert writer.returncode == 0, err
        points, cursor = metrics.since(run_id, cursor)
        seen.extend(points)
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
    ids = [p.id for p in seen]
    assert ids == sorted(ids) and len(set(ids)) == len(ids), "a point came twice or out of order"
    for name in ("a", "b"):
        assert sorted(p.step for p in seen if p.name == name) == list(range(count)), (
            f"writer {name} lost points"
        )
    assert len(seen) == 2 * count
    assert {p.id for p in metrics.history(run_id)} == set(ids)
    assert polls > 2  # the reader really overlapped the writers
