"""maintenance.backup: an online, consistent copy that open_store can open."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from helpers import file_tree, row_counts
from migration_fixtures.support import HEAD
from test_maintenance import plant_store

from dashai_store import errors, files, maintenance, models, open_store
from dashai_store.database import Store


def backup_tree(dest: Path) -> dict[str, bytes]:
    tree = file_tree(dest)
    tree.pop(maintenance.BACKUP_MANIFEST)
    return tree


def test_backup_copies_the_database_and_every_referenced_file(store: Store, tmp_path: Path) -> None:
    planted = plant_store()
    junk = store.home / "runs" / "999" / "junk.bin"  # unowned: not part of a backup
    junk.parent.mkdir(parents=True)
    junk.write_bytes(b"junk")
    counts = row_counts(store.db)
    source_files = file_tree(store.home)
    del source_files["runs/999/junk.bin"]
    ticks: list[tuple[str, int, int]] = []

    report = maintenance.backup(tmp_path / "bk", progress=lambda *tick: ticks.append(tick))

    dest = tmp_path / "bk"
    assert report.path == dest and report.ok
    assert backup_tree(dest) == source_files
    assert report.files == len(source_files) and report.bytes == sum(map(len, source_files.values()))
    manifest = json.loads((dest / maintenance.BACKUP_MANIFEST).read_text())
    assert manifest["backend"] == store.backend and manifest["schema_head"] == HEAD
    assert manifest["source_home"] == str(store.home)
    assert any(t[0] == "files" and t[1] == t[2] for t in ticks)
    assert all(0 <= done <= total for _, done, total in ticks)  # each file counted once
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bk", "home"]  # no staging folder left
    if store.backend == "postgresql":
        assert report.database is None and "pg_dump" in report.note
        assert not (dest / "db.sqlite").exists()
        return
    assert report.database == dest / "db.sqlite" and report.schema_head == HEAD
    assert any(t[0] == "database" and t[1] == t[2] for t in ticks)
    with open_store(dest) as copy:
        assert row_counts(copy.db) == counts
        assert maintenance.check(grace_s=0).ok
        run = models.Run.get_by_id(planted.ids["run"])
        assert files.load_joblib(run.artifacts["model"]["path"], run.artifacts["model"]["sha256"]) == {
            "weights": [1, 2, 3]
        }


WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from dashai_store import open_store
    from dashai_store.database import writes
    from dashai_store.models import Metric
    from dashai_store.clock import utcnow

    home, run_id, stop = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    BATCH = 100
    try:
        from dashai_store import metrics
    except ImportError:
        metrics = None

    @writes
    def log_raw(points):
        now = utcnow()
        Metric.insert_many(
            [dict(run=run_id, name=n, split=s, level=l, step=st, value=v, timestamp=now)
             for n, s, l, st, v in points]
        ).execute()

    with open_store(home):
        committed = 0
        deadline = time.monotonic() + 60
        while not stop.exists() and time.monotonic() < deadline:
            points = [("loss", "TRAIN", "STEP", committed + i, 0.5) for i in range(BATCH)]
            if metrics is not None:
                metrics.log_many(run_id, points)
            else:
                log_raw(points)
            committed += BATCH
            print(committed, flush=True)  # printed only after COMMIT
    """
)


def test_backup_taken_while_another_process_logs_metrics(sqlite_store: Store, tmp_path: Path) -> None:
    store = sqlite_store
    run_id = plant_store().ids["run"]
    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(store.home), str(run_id), str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: list[int] = []

    def read() -> None:
        assert writer.stdout is not None
        for line in writer.stdout:
            seen.append(int(line))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    during: list[int] = []

    def progress(phase: str, done: int, total: int) -> None:
        if phase == "database":
            during.append(seen[-1] if seen else 0)
            time.sleep(0.005)  # give the writer time to commit between steps

    try:
        deadline = time.monotonic() + 30
        while (not seen or seen[-1] < 3000) and time.monotonic() < deadline:
            assert writer.poll() is None, writer.stderr.read() if writer.stderr else ""
            time.sleep(0.01)
        committed_before = seen[-1]
        report = maintenance.backup(tmp_path / "bk", progress=progress, pages_per_step=2)
    finally:
        stop.touch()
        writer.wait(timeout=30)
        reader.join(timeout=5)
    assert writer.returncode == 0, writer.stderr.read() if writer.stderr else ""
    assert report.ok and report.database is not None
    # the writer kept committing while the database was being copied
    assert len(during) > 3 and during[-1] > during[0]

    raw = sqlite3.connect(str(report.database))
    try:
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        steps = [
            r[0] for r in raw.execute("SELECT step FROM metric WHERE run_id = ? ORDER BY step", (run_id,))
        ]
    finally:
        raw.close()
    # every metric committed before the backup began, and whole transactions only
    assert len(steps) >= committed_before
    assert steps == list(range(len(steps))) and len(steps) % 100 == 0
    assert len(steps) <= seen[-1]
    with open_store(tmp_path / "bk") as copy:
        assert copy.db.execute_sql("SELECT COUNT(*) FROM metric").fetchone()[0] == len(steps)
        assert maintenance.check(grace_s=0).ok


_DELETE_DATASET = """
import sys
from dashai_store import datasets, open_store
with open_store(sys.argv[1], migrate=False, finish_deletions=False):  # the other one's waits too
    datasets.delete(int(sys.argv[2]))
"""


def test_backup_matches_its_snapshot_when_rows_are_deleted_during_it(
    sqlite_store: Store, tmp_path: Path
) -> None:
    """Rows deleted (by other processes) after the database snapshot keep their files in
    the backup: the deletions commit, but their files wait until the backup has pinned
    every file its snapshot refers to. Before, they went to the trash while the files
    were copied, and the backup named files it did not have."""
    first = plant_store("-a")
    second = plant_store("-b")
    third = plant_store("-c")
    deleters: list[subprocess.Popen[str]] = []
    held_back: list[bool] = []

    def progress(phase: str, done: int, total: int) -> None:
        if phase != "database" or deleters:
            return
        for planted in (second, third):  # during the snapshot
            deleters.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-c",
                        _DELETE_DATASET,
                        str(sqlite_store.home),
                        str(planted.ids["dataset"]),
                    ],
                    text=True,
                )
            )
        deadline = time.monotonic() + 30
        raw = sqlite3.connect(sqlite_store.home / "db.sqlite")
        try:
            while time.monotonic() < deadline:
                left = raw.execute(
                    "SELECT COUNT(*) FROM dataset WHERE id IN (?, ?)",
                    (second.ids["dataset"], third.ids["dataset"]),
                ).fetchone()[0]
                if left == 0:
                    break
                time.sleep(0.02)
            assert left == 0, "the deletions did not commit during the snapshot"
        finally:
            raw.close()
        time.sleep(0.2)
        held_back.append(all((sqlite_store.home / p.paths["dataset"]).is_file() for p in (second, third)))

    report = maintenance.backup(tmp_path / "bk", progress=progress)
    assert all(proc.wait(60) == 0 for proc in deleters)
    assert len(deleters) == 2 and report.ok
    assert held_back == [True], "the deletions committed, but their files did not wait for the backup"
    tree = backup_tree(tmp_path / "bk")
    for planted in (first, second, third):
        assert all(rel in tree for name, rel in planted.paths.items() if name != "run_dir")
    assert not (sqlite_store.home / third.paths["model"]).exists()  # gone from the live home
    with open_store(tmp_path / "bk"):
        assert maintenance.check(grace_s=0).ok
        for planted in (second, third):
            assert models.Dataset.get_or_none(models.Dataset.id == planted.ids["dataset"]) is not None


def test_backup_keeps_the_snapshot_version_of_a_file_replaced_during_it(
    sqlite_store: Store, tmp_path: Path
) -> None:
    planted = plant_store()

    def progress(phase: str, done: int, total: int) -> None:
        if phase == "database" and done == total:  # re-saved after the snapshot
            files.dump_joblib(planted.paths["model"], {"weights": "new"})

    report = maintenance.backup(tmp_path / "bk", progress=progress)
    assert report.ok and report.changed_files == ()
    with open_store(tmp_path / "bk"):
        assert files.load_joblib(planted.paths["model"], planted.model_sha) == {"weights": [1, 2, 3]}


def test_backup_refuses_bad_destinations_and_writes_nothing(store: Store, tmp_path: Path) -> None:
    plant_store()
    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("x")
    a_file = tmp_path / "file"
    a_file.write_text("x")
    before = sorted(p.name for p in tmp_path.iterdir())
    home_before = file_tree(store.home)
    for dest in (full, a_file, store.home / "runs" / "bk", store.home):
        with pytest.raises(errors.ValidationError):
            maintenance.backup(dest)
    with pytest.raises(errors.ValidationError):
        maintenance.backup(42)  # type: ignore[arg-type]
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert file_tree(store.home) == home_before
    # an empty folder, and a folder under the home's backups/, are fine
    empty = tmp_path / "empty"
    empty.mkdir()
    assert maintenance.backup(empty).ok
    inside = maintenance.backup(store.home / "backups" / "manual")
    assert inside.ok and (store.home / "backups" / "manual" / maintenance.BACKUP_MANIFEST).is_file()


def test_a_failed_backup_leaves_no_partial_folder(store: Store, tmp_path: Path) -> None:
    plant_store()

    def progress(phase: str, done: int, total: int) -> None:
        raise errors.StoreError("disk full (simulated)")

    with pytest.raises(errors.StoreError, match="simulated"):
        maintenance.backup(tmp_path / "bk", progress=progress)
    assert list(tmp_path.iterdir()) == [store.home]
