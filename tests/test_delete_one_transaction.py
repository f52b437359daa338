"""Issue 17, part 2: one transaction per delete.

The pending-deletion record of a deleted row's path is written in the deleting transaction
(a crash after COMMIT is finished by the next open) and, once the path is removed, queued
in memory and dropped by the next deletion's transaction or at close, instead of in a
second transaction of its own. A deleted row's path is never taken again (ids are never
reused), so a lingering record is harmless: another process's open or gc finds the path
gone and drops it. Paths a live row keeps using (a reset, a replaced file) still have their
record dropped at once.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import plant_dataset, plant_run, plant_session

from dashai_store import files, maintenance, open_store, runs
from dashai_store.database import Store, run_in_transaction
from dashai_store.files import layout, tx

REPO = Path(__file__).resolve().parents[1]


def _session() -> int:
    return plant_session(plant_dataset("d"), "s")


def _runs_with_models(count: int) -> list[int]:
    session_id = _session()
    ids = []
    for index in range(count):
        run_id = plant_run(session_id, f"r{index}", model_name="m", optimizer_name="", goal_metric="")
        runs.save_model(run_id, {"weights": [1.0, 2.0]})
        ids.append(run_id)
    return ids


def _recorded(store: Store) -> list[str]:
    """The pending-deletion table as stored (queued records included)."""
    rows = store.db.execute_sql("SELECT path FROM dashai_pending_deletion ORDER BY path").fetchall()
    return [row[0] for row in rows]


# -- what a delete writes ----------------------------------------------------------------------------


@pytest.fixture
def statements(sqlite_store: Store) -> Iterator[list[str]]:
    """Every SQL statement SQLite runs on the store's connection (BEGIN and COMMIT too)."""
    seen: list[str] = []
    connection = sqlite_store.db.connection()
    connection.set_trace_callback(seen.append)
    try:
        yield seen
    finally:
        connection.set_trace_callback(None)


def test_a_delete_is_one_transaction_that_drops_the_previous_records(
    sqlite_store: Store, statements: list[str]
) -> None:
    first, second = _runs_with_models(2)
    runs.delete(first)
    statements.clear()
    runs.delete(second)
    # SQLite traces a statement once more per foreign-key cascade it runs: counted once.
    ran = [sql for index, sql in enumerate(statements) if index == 0 or sql != statements[index - 1]]
    assert [sql.split()[0] for sql in ran] == [
        "BEGIN",
        "SELECT",
        "SELECT",
        "DELETE",
        "DELETE",
        "INSERT",
        "COMMIT",
    ]
    pending = [sql for sql in statements if "dashai_pending_deletion" in sql]
    # The previous delete's finished record is dropped BEFORE this one's is written.
    assert [sql.split()[0] for sql in pending] == ["DELETE", "INSERT"], pending
    assert f"'{layout.run_folder(first)}'" in pending[0] and f"'{layout.run_folder(second)}'" in pending[1]
    assert _recorded(sqlite_store) == [layout.run_folder(second)]


def test_the_record_is_written_with_the_delete_and_dropped_by_the_next_one_or_the_close(
    store: Store, home: Path, database_url: str | None
) -> None:
    first, second = _runs_with_models(2)
    runs.delete(first)
    assert not (home / layout.run_folder(first)).exists()
    # Recorded in the deleting transaction; finished, so neither pending nor reported.
    assert _recorded(store) == [layout.run_folder(first)]
    assert files.pending_deletions() == []
    assert maintenance.check(grace_s=0).pending_deletions == ()
    runs.delete(second)
    assert _recorded(store) == [layout.run_folder(second)]
    assert tx._queued(store) == {layout.run_folder(second)}
    store.close()
    with open_store(home, database=database_url, finish_deletions=False) as again:
        assert _recorded(again) == []  # the close dropped the last one


def test_a_rolled_back_delete_keeps_the_queued_records(store: Store) -> None:
    first, second = _runs_with_models(2)
    runs.delete(first)

    def doomed() -> None:
        runs.delete(second)  # joins this transaction: takes the queued record of `first`
        assert _recorded(store) == [layout.run_folder(second)]
        raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        run_in_transaction(doomed)
    assert _recorded(store) == [layout.run_folder(first)]
    assert tx._queued(store) == {layout.run_folder(first)}  # still queued
    assert runs.get(second).id == second
    runs.delete(second)
    assert _recorded(store) == [layout.run_folder(second)]


def test_a_rolled_back_savepoint_keeps_the_queued_records(store: Store) -> None:
    first, second = _runs_with_models(2)
    runs.delete(first)

    def outer() -> None:
        with pytest.raises(RuntimeError):
            run_in_transaction(inner)  # a savepoint, rolled back; the outer one commits

    def inner() -> None:
        runs.delete(second)
        raise RuntimeError("savepoint rolled back")

    run_in_transaction(outer)
    assert _recorded(store) == [layout.run_folder(first)]
    assert tx._queued(store) == {layout.run_folder(first)}
    runs.delete(second)
    assert _recorded(store) == [layout.run_folder(second)]


def test_a_path_recorded_again_keeps_its_new_record(store: Store) -> None:
    (run_id,) = _runs_with_models(1)
    runs.delete(run_id)
    folder = layout.run_folder(run_id)
    held = store.home / folder / "late.bin"  # e.g. written into the folder after its row went
    files.write_bytes(f"{folder}/late.bin", b"x")
    recorded: list[list[str]] = []

    def again() -> None:
        files.delete_after_commit(folder, rows_deleted=True)
        recorded.append(_recorded(store))

    run_in_transaction(again)
    assert recorded == [[folder]]  # dropped as finished, then recorded anew
    assert not held.exists()
    assert _recorded(store) == [folder] and files.pending_deletions() == []


def test_a_reset_drops_its_record_at_once(store: Store) -> None:
    (run_id,) = _runs_with_models(1)
    runs.reset(run_id)  # the run lives on and may be retrained into the same folder
    assert not (store.home / layout.run_folder(run_id)).exists()
    assert _recorded(store) == []
    assert tx._queued(store) == frozenset()


def test_a_staged_replacement_drops_its_record_at_once(store: Store) -> None:
    (run_id,) = _runs_with_models(1)
    runs.save_model(run_id, {"weights": [3.0]})  # staged, promoted, the staged name deleted
    assert _recorded(store) == []
    assert runs.load_model(run_id, trust=True) == {"weights": [3.0]}


# -- other processes ----------------------------------------------------------------------------------

_OTHER = textwrap.dedent(
    """
    import json, sys
    from dashai_store import files, maintenance, open_store

    home, url, how = sys.argv[1], sys.argv[2] or None, sys.argv[3]
    raw = "SELECT path FROM dashai_pending_deletion ORDER BY path"
    with open_store(home, database=url, finish_deletions=(how == "open")) as store:
        seen = files.pending_deletions()
        finished = [str(p) for p in maintenance.gc(grace_s=3600).finished_deletions] if how == "gc" else []
        left = [row[0] for row in store.db.execute_sql(raw).fetchall()]
    print(json.dumps({"seen": seen, "finished": finished, "left": left}))
    """
)


def _other_process(home: Path, url: str | None, how: str) -> dict[str, list[str]]:
    import json

    done = subprocess.run(
        [sys.executable, "-c", _OTHER, str(home), url or "", how],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, list[str]] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("how", ["open", "gc"])
def test_another_process_finds_a_queued_record_finished_and_drops_it(
    store: Store, home: Path, database_url: str | None, how: str
) -> None:
    first, second = _runs_with_models(2)
    runs.delete(first)
    keep = store.home / layout.run_folder(second)
    assert _recorded(store) == [layout.run_folder(first)]
    other = _other_process(home, database_url, how)
    if how == "gc":  # not queued there: pending, and found already gone
        assert other["seen"] == [layout.run_folder(first)]
        assert other["finished"] == [str(store.home / layout.run_folder(first))]
    assert other["left"] == []
    assert keep.is_dir() and runs.get(second).id == second  # nothing else touched
    runs.delete(second)  # drops its queued (already dropped) record: no harm
    assert _recorded(store) == [layout.run_folder(second)]
    assert maintenance.check(grace_s=0).ok


# -- a crash with a record queued ---------------------------------------------------------------------

_KILLED = textwrap.dedent(
    """
    import os, signal, sys
    from dashai_store import open_store, runs

    home, url = sys.argv[1], sys.argv[2] or None
    store = open_store(home, database=url)
    for run_id in map(int, sys.argv[3:]):
        runs.delete(run_id)
    os.kill(os.getpid(), signal.SIGKILL)  # the last delete's record still queued
    """
)


def test_killed_after_a_delete_with_its_record_queued_the_next_open_drops_it(
    store: Store, home: Path, database_url: str | None
) -> None:
    doomed = _runs_with_models(3)
    kept = doomed.pop()
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED, str(home), database_url or "", *map(str, doomed)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert _recorded(store) == [layout.run_folder(doomed[-1])]  # the queued one survived
    assert not any((home / layout.run_folder(run_id)).exists() for run_id in doomed)
    before = sorted(p.relative_to(home).as_posix() for p in home.rglob("*") if p.is_file())
    with open_store(home, database=database_url) as again:
        assert _recorded(again) == []
        assert files.pending_deletions() == []
        assert runs.get(kept).id == kept
        assert runs.load_model(kept, trust=True) == {"weights": [1.0, 2.0]}
        after = sorted(p.relative_to(home).as_posix() for p in home.rglob("*") if p.is_file())
        assert [p for p in before if p not in after and not p.startswith(".")] == []  # nothing harmed
        assert maintenance.check(grace_s=0).ok
