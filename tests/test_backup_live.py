"""Issue 14, class 7: backups taken while another process deletes rows and re-saves models.

Before: 2-5 of 5 such backups had rows whose files were missing, or a model failing its
checksum (files were copied after the database snapshot while nothing held deletions
and replacements back). Every backup must now open, and load every row's file. And a
killed ``dashai-store backup`` left its ``.partial`` folders forever; ``check`` now reports
them and ``gc`` removes them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
from helpers import plant_session

from dashai_store import datasets, maintenance, models, open_store, runs

REPO = Path(__file__).resolve().parents[1]
BACKUPS = 5

_WRITER = """
import random, sys, time
from dashai_store import datasets, open_store, runs
home, seed = sys.argv[1], int(sys.argv[2])
rng = random.Random(seed)
with open_store(home):
    dataset_ids = [d.id for d in datasets.list()]
    run_ids = [r.id for r in runs.list()]
    print("ready", flush=True)
    version = 0
    while dataset_ids or run_ids:
        if dataset_ids and rng.random() < 0.4:
            datasets.delete(dataset_ids.pop(rng.randrange(len(dataset_ids))))
        elif run_ids:
            version += 1
            runs.save_model(rng.choice(run_ids), {"version": version, "weights": list(range(2000))})
"""


def _populate(home: Path) -> None:
    with open_store(home):
        table = pa.table({"x": list(range(20_000)), "y": [i % 2 for i in range(20_000)]})
        keep = datasets.create("kept", table)
        session = plant_session(keep.id)
        for i in range(12):
            run = runs.create(session, f"r{i}", "SVC", {})
            runs.save_model(run.id, {"version": 0, "weights": list(range(2000))})
        for i in range(100):
            datasets.create(f"doomed-{i}", table)


def _loads_everything(backup: Path) -> tuple[int, int]:
    with open_store(backup, migrate=False):
        assert maintenance.check(grace_s=0).ok
        loaded_tables = [datasets.load_table(d.id).num_rows for d in datasets.list()]
        loaded_models = [runs.load_model(r.id)["version"] for r in runs.list() if r.artifacts]
        assert models.Run.select().count() == len(loaded_models)
    return len(loaded_tables), len(loaded_models)


def test_backups_under_a_deleting_and_resaving_process_open_and_load_every_file(
    tmp_path: Path, capsys: object
) -> None:
    home = tmp_path / "home"
    _populate(home)
    seed = int.from_bytes(os.urandom(4), "little")
    print(f"backup under writers: seed={seed}")
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(home), str(seed)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
    made: list[Path] = []
    try:
        with open_store(home):
            for index in range(BACKUPS):
                made.append(tmp_path / f"bk{index}")
                report = maintenance.backup(made[-1])
                assert report.ok, report
    finally:
        writer.kill()
        writer.wait(30)
    for backup in made:
        _loads_everything(backup)


def test_a_killed_backup_leaves_partial_folders_that_check_reports_and_gc_removes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _populate(home)
    dest = tmp_path / "outside" / "bk"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dashai_store", "backup", str(dest), "--home", str(home)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not list((home / "backups").glob(".backup-*.partial/pins")) and time.monotonic() < deadline:
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    left = list((home / "backups").glob(".backup-*.partial")) + list(dest.parent.glob(".bk.partial-*"))
    assert left, "the kill came too late to leave anything"
    with open_store(home):
        report = maintenance.check()
        assert not report.ok and set(report.partial_backups) == set(left)
        gone = maintenance.gc()
        assert set(left) <= set(gone.removed_folders)
        assert maintenance.check().ok
    assert not any(p.exists() for p in left) and not dest.exists()


def test_deletions_after_commit_wait_while_the_files_are_held(tmp_path: Path) -> None:
    """The hold a backup takes while it pins files: another process's deletion commits
    but its file stays in place until the hold ends (then it goes to the trash)."""
    from dashai_store import files

    home = tmp_path / "home"
    with open_store(home):
        ds = datasets.create("d", pa.table({"x": [1, 2]}))
    data = home / f"datasets/{ds.id}/data.arrow"
    child = "import sys\nfrom dashai_store import datasets, open_store\nwith open_store(sys.argv[1]):\n"
    child += "    datasets.delete(int(sys.argv[2]))\n"
    with files.tx.files_settled(home, timeout_s=None):
        proc = subprocess.Popen([sys.executable, "-c", child, str(home), str(ds.id)], cwd=REPO)
        deadline = time.monotonic() + 30
        committed = False
        while not committed and time.monotonic() < deadline:
            with open_store(home, migrate=False, finish_deletions=False):
                committed = not any(d.id == ds.id for d in datasets.list())
            time.sleep(0.05)
        assert committed
        time.sleep(0.3)
        assert data.is_file() and proc.poll() is None  # held back
    assert proc.wait(30) == 0
    assert not data.exists()
