"""The file store's own rules: paths stay in the home, writes are atomic, deletions wait."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from helpers import plant_dataset, plant_run, plant_session

from dashai_store import errors, files, models
from dashai_store.clock import utcnow
from dashai_store.database import Store, run_in_transaction


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
