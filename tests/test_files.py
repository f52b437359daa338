"""The file store's own rules: paths stay in the home, writes are atomic, deletions wait."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pytest
from helpers import plant_dataset, plant_run, plant_session

from dashai_store import errors, files, models
from dashai_store.clock import utcnow
from dashai_store.database import Store, run_in_transaction
from dashai_store.files import io, layout, tx


@pytest.mark.parametrize("bad", ["../outside", "/etc/passwd", "runs/../../x", "a\x00b"])
def test_resolve_refuses_paths_that_leave_the_home(sqlite_store: Store, bad: str) -> None:
    with pytest.raises(errors.UnsafePath):
        files.resolve(bad)


@pytest.mark.parametrize("part", ["", ".", "..", "a/b", "a\\b"])
def test_layout_refuses_unsafe_components(sqlite_store: Store, part: str) -> None:
    with pytest.raises(errors.UnsafePath):
        files.layout.join("datasets", part)


def test_a_failed_write_leaves_neither_a_temp_file_nor_the_final_name(sqlite_store: Store) -> None:
    with pytest.raises(RuntimeError), files.atomic_writer("runs/1/model.joblib") as handle:
        handle.write(b"half")
        raise RuntimeError("crash in the middle")
    folder = sqlite_store.home / "runs" / "1"
    assert list(folder.iterdir()) == []


def test_a_rewrite_replaces_the_whole_file(sqlite_store: Store) -> None:
    files.write_bytes("explorers/1/result.bin", b"first version, long")
    files.write_bytes("explorers/1/result.bin", b"second")
    assert files.read_bytes("explorers/1/result.bin") == b"second"


def test_arrow_round_trip_and_corrupt_file(sqlite_store: Store) -> None:
    table = pa.table({"a": [1, 2, 3], "b": ["x", "y", None]})
    path = files.write_arrow("datasets/1/data.arrow", table)
    assert files.read_arrow("datasets/1/data.arrow").equals(table)
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(errors.FileIntegrityError, match=r"data\.arrow"):
        files.read_arrow("datasets/1/data.arrow")


def test_joblib_refuses_a_changed_file_before_unpickling(sqlite_store: Store) -> None:
    digest = files.dump_joblib("runs/1/model.joblib", {"w": [1, 2]})
    assert files.load_joblib("runs/1/model.joblib", digest) == {"w": [1, 2]}
    target = sqlite_store.home / "runs/1/model.joblib"
    target.write_bytes(target.read_bytes() + b"\x00")
    with pytest.raises(errors.FileIntegrityError, match="changed on disk"):
        files.load_joblib("runs/1/model.joblib", digest)
    with pytest.raises(errors.FileIntegrityError, match="no recorded checksum"):
        files.load_joblib("runs/1/model.joblib", None)


def test_deletion_waits_for_commit_and_is_dropped_on_rollback(sqlite_store: Store) -> None:
    path = files.write_bytes("runs/7/plots/history.json", b"{}")

    def doomed() -> None:
        files.delete_after_commit("runs/7")
        assert path.exists()  # not before COMMIT
        raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        run_in_transaction(doomed)
    assert path.exists() and files.pending_deletions() == []
    run_in_transaction(lambda: files.delete_after_commit("runs/7"))
    assert not (sqlite_store.home / "runs/7").exists()
    assert files.pending_deletions() == []


def _plant_run_with_model(store: Store) -> int:
    session_id = plant_session(
        plant_dataset("d"),
        "s",
        task_name="t",
        input_columns=["a"],
        output_columns=["b"],
        splits={"train": 1.0},
    )
    return plant_run(session_id, "r", model_name="m", optimizer_name="", goal_metric="")


def test_an_interrupted_deletion_spares_a_path_a_row_refers_to_again(tmp_path: Path) -> None:
    """A reset scheduled runs/<id> for deletion, the unlink failed, the run was retrained
    into the same folder: finishing the old deletion must not destroy the new model."""
    from dashai_store import open_store

    home = tmp_path / "home"
    with open_store(home) as store:
        run_id = _plant_run_with_model(store)
        stale = files.write_bytes(f"runs/{run_id}/stale.bin", b"old")
        now = utcnow()
        run_in_transaction(
            lambda: models.PendingDeletion.insert(path=f"runs/{run_id}", created=now).execute()
        )
        digest = files.dump_joblib(f"runs/{run_id}/model.joblib", {"retrained": True})
        models.Run.update(
            run_path=f"runs/{run_id}",
            artifacts={"model": {"path": f"runs/{run_id}/model.joblib", "sha256": digest}},
        ).where(models.Run.id == run_id).execute()
        other = files.write_bytes("runs/999/orphan.bin", b"x")
        run_in_transaction(lambda: models.PendingDeletion.insert(path="runs/999", created=now).execute())
    with open_store(home):
        assert files.load_joblib(f"runs/{run_id}/model.joblib", digest) == {"retrained": True}
        assert stale.exists()  # inside the referenced folder: left for maintenance.gc to judge
        assert not other.exists()
        assert files.pending_deletions() == []


def test_deleted_files_leave_the_layout_at_once_and_the_trash_empties(tmp_path: Path) -> None:
    from dashai_store import open_store

    home = tmp_path / "home"
    with open_store(home) as store:
        big = files.write_bytes("notebooks/1/5.arrow", b"\x00" * (8 << 20))
        run_in_transaction(lambda: files.delete_after_commit("notebooks/1/5.arrow"))
        assert not big.exists()  # out of the layout before the call returns
    assert not any((home / files.TRASH).iterdir())  # close() waited for the janitor
    # A crash can leave the trash full: the next open empties it.
    (home / files.TRASH / "left-by-a-crash").write_bytes(b"x" * 1024)
    with open_store(home) as store:
        files.wait_for_trash(store.home)
        assert not any((home / files.TRASH).iterdir())


# -- files.io: plain I/O on absolute paths, no store ----------------------------------------------


def test_atomic_write_takes_bytes_or_text_and_needs_no_store(tmp_path: Path) -> None:
    target = tmp_path / "new" / "folder" / "report.json"
    assert io.atomic_write(target, '{"ok": true}') == target
    assert target.read_text(encoding="utf-8") == '{"ok": true}'
    io.atomic_write(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.json"]


def test_atomic_writer_streams_then_publishes_or_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "table.csv"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), io.atomic_writer(target) as handle:
        handle.write(b"half")
        assert target.read_bytes() == b"old"  # nothing visible before the block ends
        raise RuntimeError("crash in the middle")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]
    with io.atomic_writer(target) as handle:
        handle.write(b"new")
    assert target.read_bytes() == b"new"


def test_a_write_that_cannot_start_is_a_store_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "taken").write_bytes(b"a file where a folder should be")
    with pytest.raises(errors.StoreError, match=r"cannot write .*taken"):
        io.atomic_write(tmp_path / "taken" / "x.bin", b"x")


def test_publish_renames_a_finished_file_and_the_temp_names_are_recognised(tmp_path: Path) -> None:
    partial = tmp_path / ".backup.sqlite.tmp"
    partial.write_bytes(b"copy")
    assert io.is_temp_name(partial.name)
    assert io.publish(partial, tmp_path / "backup.sqlite").read_bytes() == b"copy"
    assert not partial.exists()


def test_sha256_file_matches_hashlib(tmp_path: Path) -> None:
    data = os.urandom(3 * io.CHUNK + 5)  # several chunks and a partial one
    (tmp_path / "f").write_bytes(data)
    assert io.sha256_file(tmp_path / "f") == hashlib.sha256(data).hexdigest()


# -- files.layout: the names of the home ---------------------------------------------------------


def test_every_folder_a_row_owns_lies_under_a_managed_root() -> None:
    from dashai_store import cascade

    for model, folder in cascade.OWNED_FOLDERS.items():
        row = SimpleNamespace(id=12, session_id=3)
        path = folder(row)
        assert path.split("/")[0] in layout.MANAGED_ROOTS, (model, path)
        assert layout.is_row_folder(path), (model, path)


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        ("runs/12", True),
        ("explainers/local/4", True),
        ("generative/1/2", True),
        ("runs/12/model.joblib", False),
        ("explainers/4", False),
        ("backups/3", False),
        (".trash/3", False),
    ],
)
def test_is_row_folder(rel: str, expected: bool) -> None:
    assert layout.is_row_folder(rel) is expected


def test_per_row_paths() -> None:
    assert layout.dataset_file(3) == "datasets/3/data.arrow"
    assert layout.run_model(4) == "runs/4/model.joblib"
    assert layout.run_plot(4, "history") == "runs/4/plots/history.json"
    assert layout.notebook_snapshot(5, 9) == "notebooks/5/9.arrow"
    assert layout.explainer_explanation("global", 6) == "explainers/global/6/explanation.joblib"
    assert layout.generative_payload(7, 8, "0.png") == "generative/7/8/0.png"
    with pytest.raises(errors.UnsafePath):
        layout.explorer_result(1, "../escape")


# -- files.tx: carrying recorded deletions out ------------------------------------------------------


def _record(*paths: str) -> None:
    now = utcnow()
    run_in_transaction(
        lambda: models.PendingDeletion.insert_many([{"path": p, "created": now} for p in paths]).execute()
    )


def test_carry_out_keeps_referenced_paths_and_refuses_outside_ones(store: Store) -> None:
    home = store.home
    files.write_bytes("runs/1/model.joblib", b"new model")
    doomed = files.write_bytes("runs/2/model.joblib", b"old")
    _record("runs/1", "runs/2", "runs/3", "../outside")
    refs = {"runs/1/model.joblib"}

    preview = tx.carry_out(files.pending_deletions(), refs=refs, dry_run=True)
    assert preview.kept == ("runs/1",) and set(preview.finished) == {"runs/2", "runs/3"}
    assert doomed.exists() and len(files.pending_deletions()) == 4  # a dry run changes nothing

    done = tx.carry_out(files.pending_deletions(), refs=refs, free_now=True)
    assert done.kept == ("runs/1",)
    assert set(done.finished) == {"runs/2", "runs/3"}  # runs/3 was already gone: done too
    assert done.failed == () and [path for path, _ in done.refused] == ["../outside"]
    assert done.bytes_freed == len(b"old")
    assert not doomed.exists() and (home / "runs/1/model.joblib").exists()
    assert files.pending_deletions() == []  # the outside path is refused and its record dropped


def test_close_runs_the_hooks_registered_on_the_store(tmp_path: Path) -> None:
    from dashai_store import open_store

    calls: list[str] = []
    store = open_store(tmp_path / "home")
    store.on_close(lambda: calls.append("closed"))
    store.close()
    assert calls == ["closed"]


def test_close_waits_until_the_trash_is_empty(tmp_path: Path) -> None:
    """open_store registers the wait as a close hook (database.py does not import files)."""
    from dashai_store import open_store

    home = tmp_path / "home"
    with open_store(home):
        folder = home / "notebooks" / "1"
        folder.mkdir(parents=True)
        for i in range(3000):  # long enough to free that close() would win the race
            (folder / f"{i}.arrow").write_bytes(b"x")
        run_in_transaction(lambda: files.delete_after_commit("notebooks/1"))
    assert not folder.exists()
    assert list((home / files.TRASH).iterdir()) == []


def _trash_worker(home: Path) -> threading.Thread | None:
    janitor = tx._janitors.get(layout.trash(home))
    return None if janitor is None else janitor.thread


def _delete_a_folder(store: Store, number: int) -> Path:
    folder = store.home / "runs" / str(number)
    folder.mkdir(parents=True)
    # Over the in-place limit: the folder goes through the trash and its worker.
    (folder / "model.joblib").write_bytes(b"x" * (tx.IN_PLACE_MAX_BYTES + 1))
    run_in_transaction(lambda: files.delete_after_commit(f"runs/{number}"))
    return folder


def test_one_trash_worker_empties_the_trash_for_a_loop_of_deletes(sqlite_store: Store) -> None:
    # A thread per delete cost ~0.1 ms and a wait for it to start: the worker that ran the
    # trash dry waits, idle, for the next delete's entries (wait_for_trash returns meanwhile).
    workers: list[threading.Thread] = []
    for number in range(1, 6):
        folder = _delete_a_folder(sqlite_store, number)
        files.wait_for_trash(sqlite_store.home)
        assert not folder.exists() and list((sqlite_store.home / files.TRASH).iterdir()) == []
        worker = _trash_worker(sqlite_store.home)
        assert worker is not None and worker.is_alive()
        workers.append(worker)
    assert len({id(worker) for worker in workers}) == 1


def test_an_idle_trash_worker_ends_and_the_next_delete_starts_another(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tx, "TRASH_IDLE_S", 0.05)
    _delete_a_folder(sqlite_store, 1)
    files.wait_for_trash(sqlite_store.home)
    first = _trash_worker(sqlite_store.home)
    assert first is not None
    first.join(5)
    assert not first.is_alive() and _trash_worker(sqlite_store.home) is None
    folder = _delete_a_folder(sqlite_store, 2)
    files.wait_for_trash(sqlite_store.home)
    assert not folder.exists() and list((sqlite_store.home / files.TRASH).iterdir()) == []
