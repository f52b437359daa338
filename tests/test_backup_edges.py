"""What a backup reports and leaves behind when the home is not as the rows say.

A backup copies the files its database snapshot refers to. When one is gone, it says so
(``missing_files``); when one's bytes no longer match the checksum its row records, it
says so (``changed_files``); a path a hand-edited row points outside the home is never
copied from there. What killed or failed backups leave (``.partial`` folders) is removed
by ``gc`` (or only listed by a dry run), but never while a backup is running.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_maintenance import plant_store

from dashai_store import errors, maintenance, models
from dashai_store.database import Store
from dashai_store.files import layout


def test_a_file_gone_from_the_home_is_reported_missing(store: Store, tmp_path: Path) -> None:
    planted = plant_store()
    (store.home / planted.paths["plot"]).unlink()

    report = maintenance.backup(tmp_path / "bk")

    assert report.missing_files == (planted.paths["plot"],)
    assert report.changed_files == () and not report.ok
    assert (tmp_path / "bk" / planted.paths["model"]).is_file()  # the rest is there


def test_a_model_whose_bytes_changed_is_reported_changed(store: Store, tmp_path: Path) -> None:
    planted = plant_store()
    clean = maintenance.backup(tmp_path / "clean")
    assert clean.ok and clean.changed_files == () and clean.missing_files == ()
    (store.home / planted.paths["model"]).write_bytes(b"not the pickled model any more")

    report = maintenance.backup(tmp_path / "bk")

    assert report.changed_files == (planted.paths["model"],)
    assert not report.ok


def test_a_path_a_row_points_outside_the_home_is_never_copied(store: Store, tmp_path: Path) -> None:
    planted = plant_store()
    outside = store.home.parent / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not the store's")
    dataset = models.Dataset
    dataset.update(file_path="../outside/secret.txt").where(dataset.id == planted.ids["dataset"]).execute()
    dest = tmp_path / "deep" / "bk"  # "../outside/secret.txt" from here is a new place

    report = maintenance.backup(dest)

    assert "../outside/secret.txt" in report.missing_files
    assert not (dest.parent / "outside").exists()
    assert all("secret" not in p.name for p in dest.rglob("*"))


def test_a_failed_backup_leaves_no_work_folder_in_the_home(store: Store, tmp_path: Path) -> None:
    plant_store()

    def progress(phase: str, done: int, total: int) -> None:
        raise errors.StoreError("disk full (simulated)")

    with pytest.raises(errors.StoreError, match="simulated"):
        maintenance.backup(tmp_path / "bk", progress=progress)
    backups = layout.backups(store.home)
    assert [p.name for p in backups.iterdir() if p.name.endswith(".partial")] == []


def _plant_partial(home: Path) -> Path:
    partial = layout.backups(home) / ".backup-killed.partial"
    (partial / "pins").mkdir(parents=True)
    (partial / "pins" / "model.joblib").write_bytes(b"x" * 1000)
    return partial


def test_gc_removes_what_killed_backups_left_and_a_dry_run_only_lists_it(store: Store) -> None:
    partial = _plant_partial(store.home)
    lookalike = layout.backups(store.home) / ".backup-notes"  # no .partial mark: not a backup's
    lookalike.mkdir()

    dry = maintenance.gc(dry_run=True)
    assert partial in dry.removed_folders and dry.bytes_freed == 1000  # files only, not folders
    assert partial.is_dir()

    done = maintenance.gc()
    assert partial in done.removed_folders and done.bytes_freed == 1000
    assert not partial.exists() and lookalike.is_dir()


HOLD_RUNNING = """
import sys, time
from pathlib import Path
from dashai_store.maintenance.backup import running
with running(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(60)
"""


def test_gc_keeps_partial_folders_while_a_backup_runs(store: Store) -> None:
    partial = _plant_partial(store.home)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_RUNNING, str(store.home)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        report = maintenance.gc()
        assert partial.is_dir() and partial not in report.removed_folders
        assert maintenance.check().partial_backups == ()  # a running backup's folders are in flight
    finally:
        holder.kill()
        holder.wait(timeout=30)
    time.sleep(0.05)
    assert partial in maintenance.gc().removed_folders
