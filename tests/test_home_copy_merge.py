"""``copy --merge``: a whole store added to one that holds work, with new ids, exactly once.

The destination is a store in use (its own dataset named like one of the source's, its
own run with a model); the source is the demo's walkthrough plus edge cases. After the
merge both stores' work is there, the taken name got a suffix, the merged models load
(the caller named a store of their own), metric series are whole, the source was not
written, and ``check`` is clean. Run again on the unchanged source, nothing is added; on a
changed source, it is merged again as new work. A merge killed at random moments adds all
or nothing, and running it again finishes the job once.
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
import pytest
from helpers import row_counts
from home_copy_support import populate, tree

from dashai_store import datasets, maintenance, metrics, model_sessions, models, open_store, runs
from dashai_store.home_copy import copy_home

SEED = int(os.environ.get("DASHAI_CRASH_SEED", "0")) or random.randrange(1, 1 << 30)
# Tables whose rows a merge adds one for one (the bookkeeping tables differ by design).
BOOKKEEPING = {"dashai_bundle_import", "dashai_pending_deletion", "dashai_schema_migration"}


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("merge-source") / "home"
    populate(home)
    return home


def _busy_destination(home: Path, database: str | None) -> None:
    with open_store(home, database=database):
        ds = datasets.create("customers", pa.table({"x": [1.0, 2.0], "y": [0, 1]}))
        session = model_sessions.create(
            ds.id, "mine", "TabularClassificationTask", ["x"], ["y"], {"train": 1.0}
        )
        run = runs.create(session.id, "my-run", "SVC", {"C": 1})
        runs.save_model(run.id, {"mine": True})
        metrics.log_many(run.id, [("loss", "TRAIN", "STEP", s, 1 / (s + 1)) for s in range(50)])


def _counts(home: Path, database: str | None) -> dict[str, int]:
    with open_store(home, database=database, migrate=False) as store:
        return {t: n for t, n in row_counts(store.db).items() if t not in BOOKKEEPING}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dashai_store", "copy", *args], capture_output=True, text=True, timeout=600
    )


def test_a_merge_adds_everything_once_with_new_ids(
    source: Path, tmp_path: Path, database_url: str | None
) -> None:
    dest = tmp_path / "dest"
    _busy_destination(dest, database_url)
    before, source_counts, untouched = _counts(dest, database_url), _counts(source, None), tree(source)

    record = copy_home(source, to_home=dest, to_database=database_url, merge=True)

    assert record.merged and not record.already_done
    assert tree(source) == untouched
    after = _counts(dest, database_url)
    assert after == {t: before[t] + source_counts[t] for t in before}
    with open_store(dest, database=database_url, migrate=False):
        names = sorted(d.name for d in datasets.list())
        assert names.count("customers") == 1 and "customers (2)" in names  # the demo's, renamed
        mine = next(r for r in runs.list() if r.name == "my-run")
        assert runs.load_model(mine.id) == {"mine": True}
        for run in runs.list():
            if (run.artifacts or {}).get("model"):
                runs.load_model(run.id)  # merged models load: the caller named a store of their own
        bulk = [r for r in runs.list() if metrics.history(r.id, name="bulk")]
        assert len(bulk) == 1 and len(metrics.history(bulk[0].id, name="bulk")) == 12_000
        report = maintenance.check(grace_s=0)
    assert report.ok, report

    again = copy_home(source, to_home=dest, to_database=database_url, merge=True)
    assert again.merged and again.already_done
    assert _counts(dest, database_url) == after


def test_a_changed_source_is_merged_again_as_new_work(source: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    populate(src)
    dest = tmp_path / "dest"
    copy_home(src, to_home=dest, merge=True)
    once = _counts(dest, None)
    with open_store(src):
        datasets.create("later", pa.table({"x": [1]}))

    record = copy_home(src, to_home=dest, merge=True)

    assert not record.already_done
    assert _counts(dest, None)["dataset"] == 2 * once["dataset"] + 1


def test_the_command_says_merge_and_a_plain_copy_into_work_points_to_it(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    _busy_destination(dest, None)
    refused = _cli("--home", str(source), "--to-home", str(dest), "-q")
    assert refused.returncode == 1
    assert "not empty" in refused.stderr and "--merge" in refused.stderr

    merged = _cli("--home", str(source), "--to-home", str(dest), "--merge", "-q")
    assert merged.returncode == 0, merged.stderr
    assert merged.stdout.startswith("merged: ")
    again = _cli("--home", str(source), "--to-home", str(dest), "--merge", "-q")
    assert again.returncode == 0 and again.stdout.startswith("already merged"), again.stdout
    assert not list(dest.glob(".dashai-merge-*"))  # the temporary bundle is gone


def test_a_merge_killed_at_random_moments_adds_all_or_nothing(source: Path, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    print(f"kills (merge): seed={SEED}")
    source_counts = _counts(source, None)
    timed = tmp_path / "timed"
    _busy_destination(timed, None)
    started = time.monotonic()
    assert _cli("--home", str(source), "--to-home", str(timed), "--merge", "-q").returncode == 0
    duration = time.monotonic() - started
    for i in range(3):
        dest = tmp_path / f"dest{i}"
        _busy_destination(dest, None)
        before = _counts(dest, None)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dashai_store",
                "copy",
                "--home",
                str(source),
                "--to-home",
                str(dest),
                "--merge",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.0, duration))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        held = _counts(dest, None)
        merged = {t: before[t] + source_counts[t] for t in before}
        assert held in (before, merged), f"kill {i} (seed {SEED}) left a partial merge"
        rerun = _cli("--home", str(source), "--to-home", str(dest), "--merge", "-q")
        assert rerun.returncode == 0, rerun.stderr
        assert _counts(dest, None) == merged, f"kill {i} (seed {SEED})"
        with open_store(dest, migrate=False):
            assert maintenance.check().bad_rows == ()
            assert models.BundleImport.select().count() == 1
