"""Issue 17, part 1: a small deleted tree is removed in place, a large one through the trash.

The trash makes deleting a large tree O(1) for the caller (a rename, the bytes freed by a
background thread); for a run folder holding one model the rename and the thread cost more
than unlinking at once. These tests pin which way each deletion goes, on real files, and
that removing in place keeps the trash's guarantees: no link followed, a file the OS holds
keeps its record for a retry.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest
from helpers import plant_dataset, plant_run, plant_session

from dashai_store import datasets, errors, files, maintenance, open_store, runs
from dashai_store.database import Store, run_in_transaction
from dashai_store.files import io, layout, tx


def _trash_worker_started(home: Path) -> bool:
    return layout.trash(home) in tx._janitors


def _trash_entries(home: Path) -> list[str]:
    trash = layout.trash(home)
    return sorted(os.listdir(trash)) if trash.is_dir() else []


def _run_with_model(store: Store) -> int:
    session_id = plant_session(plant_dataset("d"), "s")
    run_id = plant_run(session_id, "r", model_name="m", optimizer_name="", goal_metric="")
    runs.save_model(run_id, {"weights": [float(i) for i in range(20_000)]})  # ~180 kB
    return run_id


def _delete(rel: str) -> None:
    run_in_transaction(lambda: files.delete_after_commit(rel))


def test_a_small_run_folder_is_gone_at_once_without_the_trash(store: Store) -> None:
    run_id = _run_with_model(store)
    folder = store.home / layout.run_folder(run_id)
    assert any(folder.iterdir())
    runs.delete(run_id)
    assert not folder.exists()  # before any wait: removed by the call itself
    assert _trash_entries(store.home) == []
    assert not _trash_worker_started(store.home)
    assert files.pending_deletions() == []


def test_a_deleted_run_with_a_large_model_goes_through_the_trash(store: Store) -> None:
    run_id = _run_with_model(store)
    runs.save_model(run_id, {"weights": [float(i) for i in range(200_000)]})  # ~1.8 MB
    folder = store.home / layout.run_folder(run_id)
    runs.delete(run_id)
    assert not folder.exists()
    assert _trash_worker_started(store.home)
    files.wait_for_trash(store.home)
    assert _trash_entries(store.home) == []
    assert files.pending_deletions() == []


@pytest.mark.parametrize(
    ("names", "size", "in_place"),
    [
        (tx.IN_PLACE_MAX_ENTRIES, 1, True),  # at the limits: in place
        (1, tx.IN_PLACE_MAX_BYTES, True),
        (tx.IN_PLACE_MAX_ENTRIES + 1, 1, False),  # one entry too many
        (1, tx.IN_PLACE_MAX_BYTES + 1, False),  # one byte too many
    ],
)
def test_a_folder_over_either_limit_goes_through_the_trash(
    sqlite_store: Store, names: int, size: int, in_place: bool
) -> None:
    home = sqlite_store.home
    folder = home / "runs" / "5"
    folder.mkdir(parents=True)
    for index in range(names):
        (folder / f"f{index}").write_bytes(b"x" * size)
    _delete("runs/5")
    assert not folder.exists()
    assert _trash_worker_started(home) is not in_place
    files.wait_for_trash(home)
    assert _trash_entries(home) == []
    assert files.pending_deletions() == []


def test_entries_in_subfolders_count_towards_the_limit(sqlite_store: Store) -> None:
    home = sqlite_store.home
    deep = home / "runs" / "6" / "a" / "b"
    deep.mkdir(parents=True)
    for index in range(tx.IN_PLACE_MAX_ENTRIES):  # with a/ and b/: over the limit
        (deep / f"f{index}").write_bytes(b"x")
    _delete("runs/6")
    assert not (home / "runs" / "6").exists()
    assert _trash_worker_started(home)


def test_a_large_file_goes_through_the_trash_and_a_small_one_does_not(sqlite_store: Store) -> None:
    home = sqlite_store.home
    small = files.write_bytes("notebooks/1/2.arrow", b"x" * 100)
    _delete("notebooks/1/2.arrow")
    assert not small.exists() and not _trash_worker_started(home)
    big = files.write_bytes("notebooks/1/3.arrow", b"x" * (tx.IN_PLACE_MAX_BYTES + 1))
    _delete("notebooks/1/3.arrow")
    assert not big.exists() and _trash_worker_started(home)


def test_a_large_folder_with_a_linked_trash_is_removed_in_place(sqlite_store: Store, tmp_path: Path) -> None:
    home = sqlite_store.home
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    trash = layout.trash(home)
    if trash.exists():
        trash.rmdir()
    trash.symlink_to(outside, target_is_directory=True)
    big = files.write_bytes("runs/11/model.joblib", b"x" * (tx.IN_PLACE_MAX_BYTES + 1))
    _delete("runs/11")
    assert not big.parent.exists()
    assert sorted(os.listdir(outside)) == ["precious.txt"]  # nothing moved into the link
    assert not _trash_worker_started(home)
    assert files.pending_deletions() == []


def test_a_link_inside_a_small_folder_is_removed_and_its_target_kept(store: Store, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "inner").mkdir(parents=True)
    precious = outside / "precious.txt"
    precious.write_text("keep me")
    (outside / "inner" / "also.txt").write_text("keep me too")
    huge = outside / "huge.bin"
    huge.write_bytes(b"x" * (tx.IN_PLACE_MAX_BYTES * 2))  # followed, it would pass the limit
    folder = store.home / "runs" / "8"
    folder.mkdir(parents=True)
    (folder / "model.joblib").write_bytes(b"m")
    (folder / "to-file").symlink_to(precious)
    (folder / "to-folder").symlink_to(outside, target_is_directory=True)
    (folder / "to-huge").symlink_to(huge)
    _delete("runs/8")
    assert not folder.exists() and not _trash_worker_started(store.home)  # a small tree
    assert precious.read_text() == "keep me"
    assert (outside / "inner" / "also.txt").read_text() == "keep me too"
    assert huge.stat().st_size == tx.IN_PLACE_MAX_BYTES * 2
    assert files.pending_deletions() == []


def test_a_link_among_the_folders_is_refused_and_nothing_behind_it_removed(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    outside = tmp_path / "outside"
    (outside / "9").mkdir(parents=True)
    (outside / "9" / "precious.txt").write_text("keep me")
    runs_folder = store.home / "runs"
    if runs_folder.exists():
        runs_folder.rmdir()
    runs_folder.symlink_to(outside, target_is_directory=True)
    with pytest.raises(errors.UnsafePath):
        io.remove_if_small(store.home, "runs/9", max_entries=16, max_bytes=1 << 20)
    with caplog.at_level(logging.WARNING, logger="dashai_store.files"):
        _delete("runs/9")  # refused: the record dropped, reported, nothing touched
    assert "refused to delete runs/9" in caplog.text
    assert (outside / "9" / "precious.txt").read_text() == "keep me"
    assert files.pending_deletions() == []


def test_a_missing_path_counts_as_finished(store: Store) -> None:
    with pytest.raises(FileNotFoundError):
        io.remove_if_small(store.home, "runs/404", max_entries=16, max_bytes=1 << 20)
    _delete("runs/404")
    assert files.pending_deletions() == []


def test_measuring_a_tree_stops_once_past_a_limit(sqlite_store: Store) -> None:
    home = sqlite_store.home
    folder = home / "runs" / "10"
    folder.mkdir(parents=True)
    for index in range(100):
        (folder / f"f{index}").write_bytes(b"x")
    info = os.stat(folder, follow_symlinks=False)
    stopped = io._measure("10", None, home / "runs", info, max_entries=3)
    assert stopped.over and stopped.entries == 4
    whole = io._measure("10", None, home / "runs", info)
    assert not whole.over and (whole.entries, whole.size) == (100, 100)
    with io.folder_fd(home, ["runs"], "runs/10") as fd:
        if fd is not None:
            assert io._measure("10", fd, home / "runs", info, max_bytes=5).size == 6
    # A link to a big folder is one entry of its own size, never entered (both walks).
    (home / "elsewhere").mkdir()
    for index in range(50):
        (home / "elsewhere" / f"g{index}").write_bytes(b"y" * 1000)
    (folder / "link").symlink_to(home / "elsewhere", target_is_directory=True)
    info = os.stat(folder, follow_symlinks=False)
    link_size = os.lstat(folder / "link").st_size
    assert io._measure("10", None, home / "runs", info) == io._Tree(101, 100 + link_size, False)
    with io.folder_fd(home, ["runs"], "runs/10") as fd:
        assert io._measure("10", fd, home / "runs", info) == io._Tree(101, 100 + link_size, False)
    (folder / "link").unlink()
    assert io.remove_if_small(home, "runs/10", max_entries=3, max_bytes=1 << 20) is False
    assert len(os.listdir(folder)) == 100  # nothing touched
    assert io.remove_within(home, "runs/10", count=True) == 100
    assert not folder.exists()


# -- a file the OS holds (Windows, emulated) ---------------------------------------------------------


@pytest.fixture
def windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(io.EMULATE_WINDOWS_ENV, "1")


@pytest.fixture
def reopen(home: Path, database_url: str | None) -> Callable[[], Store]:
    def again() -> Store:
        return open_store(home, database=database_url)

    return again


@pytest.mark.usefixtures("windows")
def test_a_held_small_folder_keeps_its_record_for_gc(store: Store) -> None:
    ds = datasets.create("a", pa.table({"x": list(range(10))}))
    folder = store.home / layout.dataset_folder(ds.id)
    table = datasets.load_table(ds.id)  # maps the file: the OS refuses to remove it
    datasets.delete(ds.id)
    assert folder.exists() and not _trash_worker_started(store.home)
    assert files.pending_deletions() == [layout.dataset_folder(ds.id)]
    assert not maintenance.gc(grace_s=0).ok  # refused again: still recorded
    assert files.pending_deletions() == [layout.dataset_folder(ds.id)]
    del table
    gc.collect()
    assert maintenance.gc(grace_s=0).ok
    assert not folder.exists() and files.pending_deletions() == []
    assert maintenance.check(grace_s=0).ok


@pytest.mark.usefixtures("windows")
def test_a_held_small_folder_is_finished_by_the_next_open(store: Store, reopen: Callable[[], Store]) -> None:
    ds = datasets.create("a", pa.table({"x": list(range(10))}))
    folder = store.home / layout.dataset_folder(ds.id)
    table = datasets.load_table(ds.id)
    datasets.delete(ds.id)
    assert folder.exists() and files.pending_deletions() == [layout.dataset_folder(ds.id)]
    del table
    gc.collect()
    with reopen():
        assert not folder.exists()
        assert files.pending_deletions() == []
        assert maintenance.check(grace_s=0).ok


def test_a_nested_tree_is_removed_whole_and_nothing_a_link_points_at(tmp_path: Path) -> None:
    # io's own descriptor walk (shutil.rmtree takes dir_fd only from Python 3.11 on):
    # folders at every depth, an empty one, and links to a folder and to a file outside.
    home, outside = tmp_path / "home", tmp_path / "outside"
    (outside / "keep").mkdir(parents=True)
    (outside / "keep" / "data.bin").write_bytes(b"k" * 10)
    (outside / "file.bin").write_bytes(b"f")
    tree = home / "runs" / "7"
    (tree / "a" / "b" / "c").mkdir(parents=True)
    (tree / "empty").mkdir()
    (tree / "a" / "b" / "c" / "deep.bin").write_bytes(b"d" * 100)
    (tree / "a" / "top.bin").write_bytes(b"t")
    (tree / "a" / "b" / "to-folder").symlink_to(outside / "keep", target_is_directory=True)
    (tree / "to-file").symlink_to(outside / "file.bin")
    assert io.remove_within(home, "runs/7") == 0
    assert not tree.exists() and (home / "runs").is_dir()
    assert (outside / "keep" / "data.bin").read_bytes() == b"k" * 10 and (outside / "file.bin").exists()
