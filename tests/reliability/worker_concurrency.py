"""One process of the concurrency test: the API, or a job worker.

    python worker_concurrency.py CONFIG_JSON

CONFIG: role ("api" | "worker"), tag, home, url (None for SQLite), seed, start_at (epoch
seconds: all processes begin together), seconds, dataset_id, session_id, notebook_id
(workers), out (result JSON path). Every exception is recorded as an error (the test
requires none); the result JSON lists operations, points logged and what was written.
"""

from __future__ import annotations

import json
import random
import sys
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import metric_value

from dashai_store import (
    datasets,
    metrics,
    model_sessions,
    notebooks,
    open_store,
    runs,
)


def _inc(table: Any, parameters: dict[str, Any]) -> Any:
    import pyarrow.compute as pc

    return table.set_column(0, "x", pc.add(table.column("x"), 1))


class Worker:
    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.rng = random.Random(cfg["seed"])
        self.ops: Counter[str] = Counter()
        self.errors: list[str] = []
        self.points = 0
        self.runs: dict[int, list[int]] = {}  # run id -> [bulk points, single points]
        self.steps: list[int] = []
        self.k = 0

    def fail(self, what: str) -> None:
        self.errors.append(what)

    def run_cycle(self) -> None:
        """A run through its lifecycle, with metrics logged in bulk and point by point."""
        self.k += 1
        bulk = self.rng.randint(200, 3000)
        single = self.rng.randint(5, 30)
        run = runs.create(
            self.cfg["session_id"],
            f"{self.cfg['tag']}-run-{self.k}",
            "SVC",
            {"bulk": bulk, "single": single},
        )
        self.ops["runs.create"] += 1
        runs.deliver(run.id, job_id=f"job-{run.id}")
        runs.start(run.id)
        self.ops["runs.deliver+start"] += 2
        rid = run.id
        # In two bulk calls (a re-log of an overlapping range must replace, not duplicate).
        half = bulk // 2
        points = [("bulk", "TRAIN", "STEP", s, metric_value(rid, "bulk", s)) for s in range(bulk)]
        metrics.log_many(rid, points[: half + 10])
        metrics.log_many(rid, points[half:])
        self.ops["metrics.log_many"] += 2
        for s in range(single):
            metrics.log(
                rid, "single", metric_value(rid, "single", s), split="VALIDATION", level="STEP", step=s
            )
        self.ops["metrics.log"] += single
        self.points += bulk + single
        self.runs[rid] = [bulk, single]
        # Each worker verifies what it wrote, while the others keep writing.
        got = metrics.history(rid, name="bulk")
        if [(p.step, p.value) for p in got] != [(s, metric_value(rid, "bulk", s)) for s in range(bulk)]:
            self.fail(f"run {rid}: bulk history differs ({len(got)} points, expected {bulk})")
        table = metrics.history_table(rid, name="single")
        want = [metric_value(rid, "single", s) for s in range(single)]
        if table.column("value").to_pylist() != want:
            self.fail(f"run {rid}: single-point history differs ({table.num_rows} rows, expected {single})")
        self.ops["metrics.history"] += 2
        if self.rng.random() < 0.2:
            runs.fail(rid, "a simulated training error")
            self.ops["runs.fail"] += 1
            self.runs[rid].append(0)
        else:
            runs.finish(rid)
            self.ops["runs.finish"] += 1

    def notebook_step(self) -> None:
        nb = self.cfg["notebook_id"]
        step = notebooks.add_converter(nb, "inc", {"by": 1})
        done = notebooks.apply(step.id, _inc)
        self.ops["notebooks.add_converter+apply"] += 2
        if done.status.name != "FINISHED":
            self.fail(f"converter {step.id} ended {done.status.name}: {done.error}")
        self.steps.append(step.id)
        table = notebooks.load_table(nb)
        if table.column("x")[0].as_py() != len(self.steps):
            self.fail(f"notebook {nb}: x[0] is {table.column('x')[0]}, expected {len(self.steps)}")
        self.ops["notebooks.load_table"] += 1

    def step(self) -> None:
        if self.rng.random() < 0.7:
            self.run_cycle()
        else:
            self.notebook_step()


class Api:
    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.rng = random.Random(cfg["seed"])
        self.ops: Counter[str] = Counter()
        self.errors: list[str] = []
        self.points = 0
        self.runs: dict[int, list[int]] = {}
        self.steps: list[int] = []
        self.k = 0
        self.cursors: dict[int, int] = {}
        self.tailed: Counter[int] = Counter()

    def fail(self, what: str) -> None:
        self.errors.append(what)

    def step(self) -> None:
        choice = self.rng.random()
        if choice < 0.55:
            self.read()
        elif choice < 0.75:
            self.tail()
        else:
            self.session_cycle()

    def read(self) -> None:
        datasets.list()
        found = runs.list(self.cfg["session_id"])
        self.ops["datasets.list"] += 1
        self.ops["runs.list"] += 1
        finished = [r for r in found if r.status.name == "FINISHED"]
        if finished:
            run = self.rng.choice(finished)
            # A FINISHED run's worker has verified and stopped writing: its history is complete.
            got = metrics.history(run.id)
            want = run.parameters["bulk"] + run.parameters["single"]
            if len(got) != want or len({(p.name, p.step) for p in got}) != want:
                self.fail(f"run {run.id} is FINISHED with {len(got)} points, expected {want}")
            self.ops["metrics.history"] += 1

    def tail(self) -> None:
        """Live tailing of a running run: every point seen exactly once."""
        found = runs.list(self.cfg["session_id"], status="STARTED") or runs.list(self.cfg["session_id"])
        self.ops["runs.list"] += 1
        if not found:
            return
        run = self.rng.choice(found[-3:])
        cursor = self.cursors.get(run.id, 0)
        points, self.cursors[run.id] = metrics.since(run.id, cursor)
        self.tailed[run.id] += len(points)
        self.ops["metrics.since"] += 1

    def session_cycle(self) -> None:
        self.k += 1
        session = model_sessions.create(
            self.cfg["dataset_id"],
            f"api-session-{self.k}",
            "TabularClassificationTask",
            ["x"],
            ["y"],
            {"train": 0.6, "validation": 0.2, "test": 0.2},
        )
        run = runs.create(session.id, "api-run", "SVC", {"C": 1.0})
        metrics.log_many(run.id, [("loss", "TRAIN", "STEP", s, 0.5) for s in range(50)])
        self.points += 50
        model_sessions.delete(session.id)
        self.ops["model_sessions.create+delete"] += 2
        self.ops["runs.create"] += 1
        self.ops["metrics.log_many"] += 1

    def finish(self) -> None:
        # Tailing must have seen each run's points exactly once: compare with the history.
        for run_id, seen in self.tailed.items():
            points, _ = metrics.since(run_id, self.cursors[run_id])
            total = seen + len(points)
            history = len(metrics.history(run_id))
            if total != history:
                self.fail(f"run {run_id}: tailing saw {total} points, history has {history}")


def main() -> int:
    cfg = json.loads(sys.argv[1])
    actor: Worker | Api = Api(cfg) if cfg["role"] == "api" else Worker(cfg)
    with open_store(cfg["home"], database=cfg["url"], migrate=False):
        time.sleep(max(0.0, cfg["start_at"] - time.time()))
        deadline = time.monotonic() + cfg["seconds"]
        while time.monotonic() < deadline:
            try:
                actor.step()
            except Exception as exc:
                actor.fail(f"{type(exc).__module__}.{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        if isinstance(actor, Api):
            try:
                actor.finish()
            except Exception as exc:
                actor.fail(f"{type(exc).__name__}: {exc}")
    result = {
        "role": cfg["role"],
        "tag": cfg["tag"],
        "ops": dict(actor.ops),
        "operations": sum(actor.ops.values()),
        "points": actor.points,
        "errors": actor.errors,
        "runs": actor.runs,
        "steps": actor.steps,
    }
    Path(cfg["out"]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
