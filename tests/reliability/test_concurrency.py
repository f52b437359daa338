"""The app's API process and two job workers write one store at once, for a bounded time.

Real processes (``worker_concurrency.py``): the API lists datasets and runs, reads metric
histories, tails live runs with ``since`` and creates and deletes model sessions (with a
run and metrics each); each worker moves runs through their lifecycle, logs metrics in
bulk and point by point, verifies what it wrote, and applies notebook steps. Any exception
reaching a process (a ``StoreBusy``, a driver's "database is locked") is an error, and the
test requires none. At the end the parent checks every point of every worker run (no
point lost, none duplicated, every value exact), the notebooks, and the store's
consistency (integrity_check, foreign_key_check, files).

Run time: ``DASHAI_RELIABILITY_SECONDS`` (default 20) on each backend.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pyarrow as pa

from dashai_store import datasets, model_sessions, notebooks, open_store
from dashai_store.database import Store

from ._support import env_float, metric_value, seed_from, spawn, sqlite_problems, store_problems

SECONDS = env_float("DASHAI_RELIABILITY_SECONDS", 20.0)


def _setup() -> dict[str, int]:
    table = pa.table({"x": pa.array(range(100), pa.int64()), "y": pa.array([i % 2 for i in range(100)])})
    ds = datasets.create("shared", table)
    session = model_sessions.create(
        ds.id,
        "main",
        "TabularClassificationTask",
        ["x"],
        ["y"],
        {"train": 0.6, "validation": 0.2, "test": 0.2},
    )
    nb1 = notebooks.create(ds.id, "w1 notebook")
    nb2 = notebooks.create(ds.id, "w2 notebook")
    return {"dataset_id": ds.id, "session_id": session.id, "nb1": nb1.id, "nb2": nb2.id}


def test_api_and_two_workers_write_one_store_without_errors_or_lost_points(
    store: Store, home: Path, database_url: str | None, backend: str, tmp_path: Path, figures: Any
) -> None:
    seed = seed_from("DASHAI_CONCURRENCY_SEED")
    seconds = SECONDS
    print(f"concurrency: backend={backend} seed={seed} seconds={seconds}")
    ids = _setup()
    store.close()  # the parent stays out of the way while the processes run

    start_at = time.time() + 2.0  # after every process has imported and opened the store
    procs = []
    for i, (role, tag) in enumerate([("api", "api"), ("worker", "w1"), ("worker", "w2")]):
        cfg = {
            "role": role,
            "tag": tag,
            "home": str(home),
            "url": database_url,
            "seed": seed + i,
            "start_at": start_at,
            "seconds": seconds,
            "dataset_id": ids["dataset_id"],
            "session_id": ids["session_id"],
            "notebook_id": ids["nb1"] if tag == "w1" else ids["nb2"],
            "out": str(tmp_path / f"{tag}.json"),
        }
        procs.append(spawn("worker_concurrency.py", json.dumps(cfg)))
    for proc in procs:
        assert proc.wait(timeout=seconds + 120) == 0
    results = [json.loads((tmp_path / f"{tag}.json").read_text()) for tag in ("api", "w1", "w2")]

    errors = [e for r in results for e in r["errors"]]
    points = sum(r["points"] for r in results)
    figures("backend", backend)
    figures("seed", seed)
    figures("seconds", seconds)
    figures("points logged under contention", points)
    for r in results:
        figures(f"operations {r['tag']}", r["operations"])
    figures("errors", len(errors))
    assert not errors, "\n".join(errors[:5])
    for r in results:
        assert r["operations"] > 0, r  # every process really took part

    with open_store(home, database=database_url, migrate=False) as reopened:
        db = reopened.db
        checked = 0
        for r in results[1:]:
            for run_id, expected in r["runs"].items():
                rid = int(run_id)
                bulk, single = expected[0], expected[1]
                rows = db.execute_sql(
                    f"SELECT name, split, level, step, value FROM metric WHERE run_id = {db.param}", (rid,)
                ).fetchall()
                keys = [(n, s) for n, _sp, _lv, s, _v in rows]
                assert len(keys) == len(set(keys)) == bulk + single, f"run {rid}: {len(rows)} rows"
                want = {("bulk", s) for s in range(bulk)} | {("single", s) for s in range(single)}
                assert set(keys) == want, f"run {rid}: points lost or foreign"
                bad = [row for row in rows if row[4] != metric_value(rid, row[0], row[3])]
                assert not bad, f"run {rid}: wrong values {bad[:3]}"
                checked += len(rows)
            # The worker's notebook went through exactly its steps, in order.
            nb = ids["nb1"] if r["tag"] == "w1" else ids["nb2"]
            steps = notebooks.converters(nb)
            assert [s.id for s in steps] == r["steps"]
            assert all(s.status.name == "FINISHED" for s in steps)
            table = notebooks.load_table(nb)
            assert table.column("x").to_pylist() == [x + len(r["steps"]) for x in range(100)]
        # The API's sessions are all gone, cascade and files included.
        assert [s.name for s in model_sessions.list()] == ["main"]
        figures("points verified by the parent", checked)
        assert store_problems() == []
    if backend == "sqlite":
        assert sqlite_problems(home / "db.sqlite") == []
