"""Hostile homes (issue 14): links, hand-edited paths, outside records, a full disk, and
Windows' refusals — the store deletes only what its layout gives a row, never through a
symbolic link, and a user's deletion or replacement succeeds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from helpers import settle_files

from dashai_store import (
    cascade,
    datasets,
    errors,
    explorers,
    files,
    maintenance,
    model_sessions,
    models,
    notebooks,
    open_store,
    predictions,
    runs,
)
from dashai_store.clock import utcnow
from dashai_store.database import Store, run_in_transaction
from dashai_store.files import io

FIGURE_A = {"data": [{"type": "scatter", "y": [1, 2]}], "layout": {"title": {"text": "A"}}}
FIGURE_B = {"data": [{"type": "scatter", "y": [3, 4]}], "layout": {"title": {"text": "B"}}}


def _table(n: int = 100) -> pa.Table:
    return pa.table({"x": pa.array(range(n), pa.int64()), "y": pa.array([i % 2 for i in range(n)])})


def _run(dataset_id: int) -> int:
    session = model_sessions.create(
        dataset_id, f"s{dataset_id}", "TabularClassificationTask", ["x"], ["y"],
        {"train": 0.6, "validation": 0.2, "test": 0.2},
    )  # fmt: skip
    run = runs.create(session.id, "r", "SVC", {})
    runs.save_model(run.id, {"model": 1})
    return run.id


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the home with something in it that must survive everything."""
    folder = tmp_path / "outside"
    (folder / "inner").mkdir(parents=True)
    (folder / "precious.txt").write_text("keep me")
    (folder / "inner" / "also.txt").write_text("keep me too")
    return folder


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture
def reopen(home: Path, database_url: str | None) -> Callable[[], Store]:
    def again() -> Store:
        return open_store(home, database=database_url)

    return again


# -- 1. symbolic links inside the home -------------------------------------------------------------


def test_a_linked_trash_is_never_emptied_nor_used(
    store: Store, outside: Path, reopen: Callable[[], Store]
) -> None:
    ds = datasets.create("a", _table())
    before = _tree(outside)
    trash = store.home / ".trash"
    if trash.exists():
        shutil.rmtree(trash)
    trash.symlink_to(outside, target_is_directory=True)
    with reopen():  # opening used to empty the linked folder (the janitor followed the link)
        files.wait_for_trash(store.home)
        assert _tree(outside) == before
        datasets.delete(ds.id)  # removed in place, not moved into the linked folder
        files.wait_for_trash(store.home)
        assert _tree(outside) == before
        assert not (store.home / "datasets" / str(ds.id)).exists()
        assert files.pending_deletions() == []
        report = maintenance.check(grace_s=0)
        assert trash in report.symlinks and not report.ok
    assert _tree(outside) == before


def test_a_run_folder_linked_to_the_datasets_deletes_only_the_link(store: Store) -> None:
    ds = datasets.create("a", _table())
    other = datasets.create("b", _table(5))
    run_id = _run(ds.id)
    run_folder = store.home / "runs" / str(run_id)
    shutil.rmtree(run_folder)
    run_folder.symlink_to("../datasets", target_is_directory=True)
    assert run_folder in maintenance.check(grace_s=0).symlinks
    runs.delete(run_id)
    files.wait_for_trash(store.home)
    assert datasets.load_table(ds.id).num_rows == 100  # all of datasets/ used to go
    assert datasets.load_table(other.id).num_rows == 5
    assert not os.path.lexists(run_folder)
    assert files.pending_deletions() == []


def test_a_plot_linked_to_another_datasets_file_leaves_that_file(store: Store) -> None:
    ds = datasets.create("a", _table())
    victim = datasets.create("victim", _table(7))
    run_id = _run(ds.id)
    runs.save_plot(run_id, "history", FIGURE_A)
    plot = store.home / "runs" / str(run_id) / "plots" / "history.json"
    plot.unlink()
    plot.symlink_to(victim.file_path)
    assert plot in maintenance.check(grace_s=0).symlinks
    runs.delete(run_id)
    files.wait_for_trash(store.home)
    assert victim.file_path is not None and victim.file_path.is_file()
    assert datasets.load_table(victim.id).num_rows == 7


@pytest.mark.parametrize("root", [*files.layout.MANAGED_ROOTS, files.layout.TRASH])
def test_check_reports_every_symlink_in_the_managed_folders(store: Store, outside: Path, root: str) -> None:
    (store.home / root / "7").mkdir(parents=True)
    to_file = store.home / root / "7" / "file-link"
    to_folder = store.home / root / "folder-link"
    to_file.symlink_to(outside / "precious.txt")
    to_folder.symlink_to(outside, target_is_directory=True)
    report = maintenance.check(grace_s=0)
    assert {to_file, to_folder} <= set(report.symlinks), report.symlinks
    assert not report.ok
    assert any("symbolic link" in line for line in maintenance.advice(report))


def test_a_link_inside_a_deleted_folder_is_removed_as_a_link(store: Store, outside: Path) -> None:
    before = _tree(outside)
    ds = datasets.create("a", _table())
    (store.home / "datasets" / str(ds.id) / "to-outside").symlink_to(outside, target_is_directory=True)
    (store.home / "datasets" / str(ds.id) / "to-file").symlink_to(outside / "precious.txt")
    datasets.delete(ds.id)
    files.wait_for_trash(store.home)
    assert _tree(outside) == before


def test_a_recorded_path_behind_a_linked_folder_is_refused(store: Store, outside: Path) -> None:
    before = _tree(outside)
    (store.home / "runs").mkdir(exist_ok=True)
    (store.home / "runs" / "9").symlink_to(outside, target_is_directory=True)
    _record("runs/9/precious.txt", "runs/9/inner")
    done = files.tx.carry_out(files.pending_deletions())
    assert {rel for rel, _ in done.refused} == {"runs/9/precious.txt", "runs/9/inner"}
    assert _tree(outside) == before
    assert files.pending_deletions() == []


def test_a_link_loop_is_reported_not_a_crash(store: Store) -> None:
    run_id = _run(datasets.create("a", _table()).id)
    runs.save_plot(run_id, "history", FIGURE_A)
    plot = store.home / files.layout.run_plot(run_id, "history")
    plot.unlink()
    plot.symlink_to(plot)  # a link to itself
    report = maintenance.check(grace_s=0)  # used to raise RuntimeError (pathlib's loop error)
    assert plot in report.symlinks
    assert [m.reason for m in report.missing_files if m.path == plot] == ["outside the home"]
    runs.delete(run_id)
    files.wait_for_trash(store.home)
    assert not os.path.lexists(plot)


def test_nothing_is_written_through_a_linked_folder(store: Store, outside: Path) -> None:
    before = _tree(outside)
    victim = datasets.create("victim", _table(7))
    run_id = _run(datasets.create("a", _table()).id)
    plots = store.home / "runs" / str(run_id) / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(plots)
    plots.symlink_to(outside, target_is_directory=True)
    with pytest.raises(errors.UnsafePath, match="symbolic link"):
        runs.save_plot(run_id, "history", FIGURE_A)
    assert _tree(outside) == before
    # A link at the file's own name is replaced, never written through.
    plots.unlink()
    runs.save_plot(run_id, "history", FIGURE_A)
    plot = store.home / files.layout.run_plot(run_id, "history")
    plot.unlink()
    plot.symlink_to(victim.file_path)
    runs.save_plot(run_id, "history", FIGURE_B)  # staged, then promoted over the link
    assert datasets.load_table(victim.id).num_rows == 7
    assert runs.load_plot(run_id, "history", as_figure=False)["layout"]["title"]["text"] == "B"
    assert not plot.is_symlink()


def test_the_no_follow_primitives_refuse_a_link_on_the_way(tmp_path: Path, outside: Path) -> None:
    home = tmp_path / "home"
    (home / "runs").mkdir(parents=True)
    (home / "runs" / "1").symlink_to(outside, target_is_directory=True)
    before = _tree(outside)
    with pytest.raises(errors.UnsafePath):
        io.remove_within(home, "runs/1/precious.txt")
    with pytest.raises(errors.UnsafePath):
        io.move_within(home, "runs/1/inner", ".trash", "x")
    (home / "datasets" / "2").mkdir(parents=True)
    (home / "datasets" / "2" / "f").write_text("x")
    with pytest.raises(errors.UnsafePath):
        io.move_within(home, "datasets/2/f", "runs/1", "stolen")  # into a linked folder
    assert _tree(outside) == before
    io.remove_within(home, "runs/1")  # the link itself goes, its target stays
    assert _tree(outside) == before and not os.path.lexists(home / "runs" / "1")
    for bad in ("../x", "/etc", "runs/../..", "", "runs//1"):
        with pytest.raises(errors.UnsafePath):
            io.remove_within(home, bad)


# -- 5. deletion follows the layout, not a path a row claims ----------------------------------------


def test_a_hand_edited_file_path_does_not_take_another_datasets_file(store: Store) -> None:
    ds = datasets.create("a", _table())
    victim = datasets.create("victim", _table(7))
    run_in_transaction(
        lambda: (
            models.Dataset.update(file_path=files.layout.dataset_file(victim.id))
            .where(models.Dataset.id == ds.id)
            .execute()
        )
    )
    datasets.delete(ds.id)
    files.wait_for_trash(store.home)
    assert datasets.load_table(victim.id).num_rows == 7
    assert not (store.home / "datasets" / str(ds.id)).exists()  # its own folder went


def test_hand_edited_paths_of_every_kind_stay(store: Store) -> None:
    """Each path column pointed at a victim's file: deleting the row leaves the victim."""
    victim = datasets.create("victim", _table(7))
    ds = datasets.create("a", _table())
    run_id = _run(ds.id)
    nb = notebooks.create(ds.id, "nb")
    step = notebooks.add_converter(nb.id, "noop")
    notebooks.apply(step.id, lambda table, params: table)
    pred = predictions.create(run_id, ds.id)
    predictions.save_results(pred.id, _table(3))
    exp = explorers.create(nb.id, "describe", ["x"])
    explorers.save_result(exp.id, {"a": 1})
    stolen = files.layout.dataset_file(victim.id)

    def edit() -> None:
        models.Run.update(plot_history_path=stolen).where(models.Run.id == run_id).execute()
        models.Prediction.update(results_path=stolen).where(models.Prediction.id == pred.id).execute()
        models.Converter.update(snapshot_path=stolen).where(models.Converter.id == step.id).execute()
        models.Explorer.update(exploration_path=stolen).where(models.Explorer.id == exp.id).execute()

    run_in_transaction(edit)
    assert stolen in cascade.referenced_paths()
    for doomed in (
        cascade.owned_paths(models.Run, [run_id]),
        cascade.owned_paths(models.Converter, [step.id]),
    ):
        assert stolen not in doomed
    explorers.save_result(exp.id, b"bytes now")  # the previous "result" is not its to delete
    datasets.delete(ds.id)
    files.wait_for_trash(store.home)
    assert datasets.load_table(victim.id).num_rows == 7


def test_a_reset_or_cleared_row_leaves_a_foreign_file_it_claims(store: Store) -> None:
    victim = datasets.create("victim", _table(7))
    ds = datasets.create("a", _table())
    run_id = _run(ds.id)
    nb = notebooks.create(ds.id, "nb")
    exp = explorers.create(nb.id, "describe", ["x"])
    explorers.save_result(exp.id, {"a": 1})
    stolen = files.layout.dataset_file(victim.id)

    def edit() -> None:
        models.Run.update(plot_slice_path=stolen).where(models.Run.id == run_id).execute()
        models.Explorer.update(exploration_path=stolen).where(models.Explorer.id == exp.id).execute()

    run_in_transaction(edit)
    runs.update_parameters(run_id, {"C": 2})  # DashAI's reset: the run's files go
    explorers.clear_result(exp.id)
    files.wait_for_trash(store.home)
    assert datasets.load_table(victim.id).num_rows == 7
    assert not (store.home / "runs" / str(run_id)).exists()


# -- 11. a pending deletion outside the home ---------------------------------------------------------


def _home_names(home: Path) -> list[str]:
    """The home's entries, less the lock files the store makes as it works."""
    return sorted(p.name for p in home.iterdir() if not p.name.endswith(".lock"))


def _record(*paths: str) -> None:
    now = utcnow()
    run_in_transaction(
        lambda: models.PendingDeletion.insert_many([{"path": p, "created": now} for p in paths]).execute()
    )


@pytest.mark.parametrize("path", ["../outside", "datasets", "db.sqlite", "backups", "/etc", "runs/../.."])
def test_an_outside_record_is_refused_and_dropped_at_open(
    store: Store, outside: Path, reopen: Callable[[], Store], path: str
) -> None:
    ds = datasets.create("a", _table())
    (store.home / "backups").mkdir(exist_ok=True)
    (store.home / "backups" / "keep.txt").write_text("a backup")
    (store.home / "db.sqlite").touch()  # on PostgreSQL too: a file of the home that is no row's
    before, home_files = _tree(outside), _home_names(store.home)
    _record(path)
    with reopen():
        assert files.pending_deletions() == []
        assert datasets.load_table(ds.id).num_rows == 100
        files.wait_for_trash(store.home)
        assert _home_names(store.home) == home_files
        assert (store.home / "backups" / "keep.txt").read_text() == "a backup"
    assert _tree(outside) == before


def test_gc_reports_an_outside_record_once_and_drops_it(store: Store) -> None:
    _record("../outside")
    report = maintenance.gc(grace_s=0, dry_run=True)
    assert [str(p) for p, _ in report.failed] == [str(store.home / "../outside")]
    assert files.pending_deletions() == ["../outside"]  # a dry run changes nothing
    report = maintenance.gc(grace_s=0)
    assert len(report.failed) == 1 and "record dropped" in report.failed[0][1]
    assert files.pending_deletions() == []
    assert maintenance.gc(grace_s=0).ok


# -- 8. staged replacements ---------------------------------------------------------------------------


class _Rollback(Exception):
    pass


def _rolled_back(action: Callable[[], Any]) -> None:
    def run() -> None:
        action()
        raise _Rollback

    with pytest.raises(_Rollback):
        run_in_transaction(run)


def test_a_resaved_plot_rolled_back_keeps_the_committed_figure(store: Store) -> None:
    run_id = _run(datasets.create("a", _table()).id)
    runs.save_plot(run_id, "history", FIGURE_A)
    _rolled_back(lambda: runs.save_plot(run_id, "history", FIGURE_B))
    assert runs.load_plot(run_id, "history", as_figure=False)["layout"]["title"]["text"] == "A"
    runs.save_plot(run_id, "history", FIGURE_B)  # committed: promoted to the final name
    assert runs.get(run_id).plot_history_path == store.home / files.layout.run_plot(run_id, "history")
    assert runs.load_plot(run_id, "history", as_figure=False)["layout"]["title"]["text"] == "B"
    files.wait_for_trash(store.home)
    assert sorted(p.name for p in (store.home / "runs" / str(run_id) / "plots").iterdir()) == ["history.json"]


def test_resaved_results_rolled_back_keep_the_committed_results(store: Store) -> None:
    ds = datasets.create("a", _table())
    pred = predictions.create(_run(ds.id), ds.id)
    predictions.save_results(pred.id, _table(3))
    _rolled_back(lambda: predictions.save_results(pred.id, _table(9)))
    assert predictions.load_results(pred.id).num_rows == 3
    predictions.save_results(pred.id, _table(9))
    assert predictions.load_results(pred.id).num_rows == 9
    assert predictions.get(pred.id).results_path == store.home / files.layout.prediction_results(pred.id)


def test_a_resaved_explorer_result_rolled_back_keeps_the_committed_one(store: Store) -> None:
    ds = datasets.create("a", _table())
    nb = notebooks.create(ds.id, "nb")
    exp = explorers.create(nb.id, "describe", ["x"])
    explorers.save_result(exp.id, {"v": 1})
    _rolled_back(lambda: explorers.save_result(exp.id, {"v": 2}))
    assert explorers.load_result(exp.id) == {"v": 1}
    _rolled_back(lambda: explorers.save_result(exp.id, b"binary"))  # another file name
    assert explorers.load_result(exp.id) == {"v": 1}
    explorers.save_result(exp.id, {"v": 3})
    assert explorers.load_result(exp.id) == {"v": 3}
    explorers.save_result(exp.id, b"binary")  # the JSON file goes once this commits
    files.wait_for_trash(store.home)
    assert explorers.load_result(exp.id) == b"binary"
    assert [p.name for p in (store.home / "explorers" / str(exp.id)).iterdir()] == ["result.bin"]


# -- 13. a full disk ----------------------------------------------------------------------------------


@pytest.fixture
def full_disk_home() -> Iterator[Path]:
    """A home on an 8 MiB tmpfs (a real filesystem that fills up); skipped without mount rights."""
    top = Path(tempfile.mkdtemp(prefix="dashai-full-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(top)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        top.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield top / "home"
    finally:
        subprocess.run(["umount", "-l", str(top)], check=False)
        top.rmdir()


def _fill(folder: Path) -> Path:
    """Fill the filesystem of ``folder`` to the last byte."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as handle:
        for size in (1 << 16, 512, 1):
            try:
                while True:
                    handle.write(b"\0" * size)
            except OSError:
                continue
    return filler


def test_deleting_works_on_a_full_disk(full_disk_home: Path, database_url: str | None) -> None:
    with open_store(full_disk_home, database=database_url):
        big = datasets.create("big", pa.table({"x": pa.array(range(300_000), pa.int64())}))
        small = datasets.create("small", _table(4))
    with open_store(full_disk_home, database=database_url) as store:
        filler = _fill(full_disk_home.parent)
        with pytest.raises(errors.StoreError):  # the disk really is full
            io.atomic_write(full_disk_home / "probe", b"x" * 4096)
        datasets.delete(big.id)  # used to fail with DatabaseError: database or disk is full
        with pytest.raises(errors.NotFound):
            datasets.get(big.id)
        files.wait_for_trash(store.home)
        assert not (store.home / "datasets" / str(big.id)).exists()
        assert datasets.load_table(small.id).num_rows == 4
        filler.unlink()
        report = maintenance.check(grace_s=0)
        assert report.ok, report


# -- Windows file semantics (emulated) ----------------------------------------------------------------


@pytest.fixture
def windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(io.EMULATE_WINDOWS_ENV, "1")


@pytest.mark.usefixtures("windows")
def test_the_emulation_refuses_like_windows(store: Store) -> None:
    ds = datasets.create("a", _table())
    path = store.home / files.layout.dataset_file(ds.id)
    table = datasets.load_table(ds.id)
    with pytest.raises(errors.StoreError, match="emulated Windows"):
        io.atomic_write(path, b"replaced")  # os.replace onto a mapped file
    with pytest.raises(PermissionError):
        io.remove_within(store.home, files.layout.dataset_folder(ds.id))  # its folder
    del table
    import gc

    gc.collect()
    io.remove_within(store.home, files.layout.dataset_folder(ds.id))  # released: allowed


@pytest.mark.usefixtures("windows")
def test_a_mapped_dataset_deleted_stays_pending_until_released(
    store: Store, reopen: Callable[[], Store]
) -> None:
    ds = datasets.create("a", _table())
    table = datasets.load_table(ds.id)
    datasets.delete(ds.id)  # the user's deletion succeeds
    with pytest.raises(errors.NotFound):
        datasets.get(ds.id)
    assert files.pending_deletions() == [files.layout.dataset_folder(ds.id)]
    assert table.num_rows == 100  # still readable: the OS kept it
    with reopen():  # retried at the next open: still mapped, still pending
        assert files.pending_deletions() == [files.layout.dataset_folder(ds.id)]
    del table
    settle_files(store.home)
    assert files.pending_deletions() == []
    assert not (store.home / "datasets" / str(ds.id)).exists()
    assert maintenance.check(grace_s=0).ok


@pytest.mark.usefixtures("windows")
def test_a_mapped_snapshot_reverted_stays_pending_until_gc(store: Store) -> None:
    ds = datasets.create("a", _table())
    nb = notebooks.create(ds.id, "nb")
    step = notebooks.add_converter(nb.id, "noop")
    notebooks.apply(step.id, lambda table, params: table.slice(0, 10))
    table = notebooks.load_table(nb.id)
    snapshot = store.home / files.layout.notebook_snapshot(nb.id, step.id)
    notebooks.revert(nb.id, 0)  # succeeds although the snapshot is mapped
    assert notebooks.get(nb.id).current_position == 0
    assert snapshot.exists() and files.pending_deletions()
    assert not maintenance.gc(grace_s=0).ok  # refused again by the OS: reported, kept
    del table
    import gc

    gc.collect()
    assert maintenance.gc(grace_s=0).ok
    assert not snapshot.exists() and files.pending_deletions() == []


@pytest.mark.usefixtures("windows")
def test_mapped_results_replaced_keep_the_row_on_a_whole_file(store: Store) -> None:
    ds = datasets.create("a", _table())
    pred = predictions.create(_run(ds.id), ds.id)
    predictions.save_results(pred.id, _table(3))
    old = predictions.load_results(pred.id)
    predictions.save_results(pred.id, _table(9))  # cannot be promoted over the mapped file
    assert predictions.load_results(pred.id).num_rows == 9
    assert old.num_rows == 3
    del old
    import gc

    gc.collect()
    maintenance.gc(grace_s=0)  # the superseded file is no row's: removed now it is released
    predictions.save_results(pred.id, _table(5))  # now promoted to the final name
    assert predictions.get(pred.id).results_path == store.home / files.layout.prediction_results(pred.id)
    assert predictions.load_results(pred.id).num_rows == 5
    files.wait_for_trash(store.home)
    assert maintenance.check(grace_s=0).ok
