"""The worker the crash test kills with SIGKILL at a random moment.

    python worker_crash.py CONFIG_JSON

CONFIG: home, url (None for SQLite), seed, journal (path), session_id, notebook_id.

It starts as the app does (``maintenance.mark_interrupted()``, then catching up on the
notebook's pending steps), prints ``ready``, and then loops over random operations until
it is killed: logging metrics point by point and in bulk, creating and deleting runs,
saving models and plots, applying notebook steps (and reverting them), creating and
deleting datasets. After each facade call RETURNS it appends a line to the journal and
fsyncs it: each line is a transaction the store reported committed. Before each operation
it writes a ``begin`` line (not a commitment: it tells the test what a kill interrupted).
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import Journal, metric_value

from dashai_store import datasets, maintenance, metrics, notebooks, open_store, runs

MAX_RUNS = 5
MAX_SCRATCH = 4
BULK = 2000


def inc(table: Any, parameters: dict[str, Any]) -> Any:
    import pyarrow.compute as pc

    return table.set_column(0, "x", pc.add(table.column("x"), parameters.get("by", 1)))


class CrashWorker:
    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.rng = random.Random(cfg["seed"])
        self.journal = Journal(Path(cfg["journal"]))
        self.session = cfg["session_id"]
        self.notebook = cfg["notebook_id"]

    def begin(self, op: str, *target: Any) -> None:
        self.journal.write("begin", op, *target)

    def live_runs(self) -> list[int]:
        return [r.id for r in runs.list(self.session)]

    def any_run(self) -> int:
        found = self.live_runs()
        return self.rng.choice(found) if found else self.new_run()

    def new_run(self) -> int:
        self.begin("run")
        run = runs.create(self.session, f"run-{self.rng.randrange(10**9)}", "SVC", {"C": 1.0})
        self.journal.write("run", run.id)
        runs.deliver(run.id)
        runs.start(run.id)
        return run.id

    def op_metric(self) -> None:
        rid = self.any_run()
        self.begin("metric")
        for _ in range(self.rng.randint(1, 5)):
            step = self.rng.randrange(10**6)
            metrics.log(rid, "p", metric_value(rid, "p", step), split="TRAIN", level="STEP", step=step)
            self.journal.write("metric", rid, "p", step)

    def op_bulk(self) -> None:
        rid = self.any_run()
        first = self.rng.randrange(500) * BULK
        self.begin("bulk")
        points = [
            ("b", "VALIDATION", "STEP", s, metric_value(rid, "b", s)) for s in range(first, first + BULK)
        ]
        metrics.log_many(rid, points)
        self.journal.write("bulk", rid, "b", first, BULK)

    def op_model(self) -> None:
        rid = self.any_run()
        version = time.time_ns()  # increasing across the workers that follow one another
        self.begin("model", rid)
        runs.save_model(rid, {"run": rid, "version": version, "payload": os.urandom(200_000)})
        self.journal.write("model", rid, version)

    def op_plot(self) -> None:
        rid = self.any_run()
        self.begin("plot")
        runs.save_plot(rid, "history", {"data": [{"y": [1, 2, 3]}], "layout": {"title": {"text": str(rid)}}})
        self.journal.write("plot", rid)

    def op_new_run(self) -> None:
        if len(self.live_runs()) >= MAX_RUNS:
            rid = self.rng.choice(self.live_runs())
            self.begin("run_deleted", rid)
            runs.delete(rid)
            self.journal.write("run_deleted", rid)
        else:
            self.new_run()

    def op_step(self) -> None:
        self.begin("converter")
        step = notebooks.add_converter(self.notebook, "inc", {"by": 1})
        self.journal.write("converter", step.id)
        self.begin("step")
        done = notebooks.apply(step.id, inc)
        if done.status.name != "FINISHED":
            raise AssertionError(f"step {step.id} ended {done.status.name}: {done.error}")
        self.journal.write("step", self.notebook, step.id, done.position)

    def op_revert(self) -> None:
        self.begin("revert", self.notebook)
        notebooks.revert(self.notebook, 0)
        self.journal.write("revert", self.notebook)

    def op_dataset(self) -> None:
        import pyarrow as pa

        scratch = [d for d in datasets.list() if d.name.startswith("scratch-")]
        if len(scratch) >= MAX_SCRATCH:
            victim = self.rng.choice(scratch)
            self.begin("dataset_deleted", victim.id)
            datasets.delete(victim.id)
            self.journal.write("dataset_deleted", victim.id)
            return
        rows = self.rng.randint(1_000, 50_000)
        table = pa.table({"x": pa.array(range(rows), pa.int64()), "y": pa.array([0.5] * rows)})
        self.begin("dataset")
        ds = datasets.create(f"scratch-{self.rng.randrange(10**12)}", table)
        self.journal.write("dataset", ds.id, rows)

    def loop(self) -> None:
        ops = [
            (self.op_metric, 4),
            (self.op_bulk, 3),
            (self.op_model, 3),
            (self.op_plot, 1),
            (self.op_new_run, 2),
            (self.op_step, 3),
            (self.op_revert, 1),
            (self.op_dataset, 3),
        ]
        fns = [fn for fn, _ in ops]
        weights = [w for _, w in ops]
        while True:
            self.rng.choices(fns, weights)[0]()


def main() -> int:
    cfg = json.loads(sys.argv[1])
    with open_store(cfg["home"], database=cfg["url"]):
        maintenance.mark_interrupted()  # as the app does at start, before its worker
        notebooks.run_pending(cfg["notebook_id"], {"inc": inc})  # finish what a kill interrupted
        worker = CrashWorker(cfg)
        print("ready", flush=True)
        worker.loop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
