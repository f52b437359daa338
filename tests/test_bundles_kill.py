"""An import killed (SIGKILL) at random moments leaves all of the bundle or none of it.

A real subprocess imports a bundle (a 24 MB dataset, a run with 60,000 metric points and
a model) into a SQLite store and is killed at a random moment within the time an
uninterrupted import took (``DASHAI_CRASH_SEED`` replays a run; ``DASHAI_HOSTILE_KILLS``
kills, default 4). After each kill the store opens; every table holds its rows before
the imports plus whole copies of the bundle (one per import that committed, none half);
every imported file loads; and ``gc`` removes whatever the kill left (staged files, a
row folder whose transaction never committed) so that ``check`` is clean.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
from helpers import row_counts
from reliability._support import env_int, seed_from

from dashai_store import bundles, datasets, maintenance, metrics, model_sessions, models, open_store, runs

KILLS = env_int("DASHAI_HOSTILE_KILLS", 4)
SEED = seed_from("DASHAI_CRASH_SEED")
CHILD = "import sys\nfrom dashai_store import bundles, open_store\nwith open_store(sys.argv[1]):\n" + (
    "    bundles.import_bundle(sys.argv[2])\n"
)


def make_bundle(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    with open_store(tmp_path / "source"):
        table = pa.table({"blob": [os.urandom(1024 * 1024) for _ in range(24)], "y": list(range(24))})
        ds = datasets.create("big", table)
        splits = {"train": 0.6, "validation": 0.2, "test": 0.2}
        session = model_sessions.create(ds.id, "s", "TabularClassificationTask", ["blob"], ["y"], splits)
        run = runs.create(session.id, "r", "SVC", {})
        runs.save_model(run.id, {"weights": list(range(10_000))})
        metrics.log_many(run.id, (("loss", "TRAIN", "STEP", step, 1 / (step + 1)) for step in range(60_000)))
        record = bundles.export_bundle(tmp_path / "big.dashai", runs=[run.id])
    return record.path, record.rows


def test_an_import_killed_at_random_moments_is_all_or_nothing(tmp_path: Path) -> None:
    print(f"DASHAI_CRASH_SEED={SEED}")
    rng = random.Random(SEED)
    bundle, bundle_rows = make_bundle(tmp_path)
    dest = tmp_path / "dest"
    with open_store(dest) as store:
        datasets.create("big", pa.table({"a": [1]}))  # a name the imports must work around
        before = row_counts(store.db)
    started = time.monotonic()
    timing = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "timing"), str(bundle)], timeout=300)
    assert timing.returncode == 0
    duration = time.monotonic() - started
    outcomes = []
    for _ in range(KILLS):
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(dest), str(bundle)])
        time.sleep(rng.uniform(0.0, duration * 1.1))
        finished = proc.poll() is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        outcomes.append("finished" if finished else "killed")
        with open_store(dest) as store:
            imported = models.BundleImport.select().count()
            outcomes[-1] += f" ({imported} whole copies so far)"
            counts = row_counts(store.db)
            for table, count in before.items():
                expected = (
                    count
                    + imported * bundle_rows.get(table, 0)
                    + (table == "dashai_bundle_import") * imported
                )
                assert counts[table] == expected, (table, outcomes)
            for record in runs.list():
                assert runs.load_model(record.id, trust=True) == {"weights": list(range(10_000))}
                assert len(metrics.history(record.id)) == 60_000
            for record in datasets.list():
                assert datasets.load_table(record.id).num_rows in (1, 24)
            maintenance.gc(grace_s=0)
            report = maintenance.check(grace_s=0)
            assert report.ok, (report, outcomes)
    print(f"kills: {outcomes}")
