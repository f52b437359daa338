"""The pending-deletion records' statements, built once per shape (statements.execute_cached).

Every delete writes its paths to ``dashai_pending_deletion`` and drops them once carried
out; the SQL text of both is kept per backend and number of paths, in chunks. These tests
pin that a deletion of more paths than one chunk records and drops every one, and that
the cache refuses a query whose bound values are not the ones it is given.
"""

from __future__ import annotations

import pytest

from dashai_store import files, models
from dashai_store.clock import utcnow
from dashai_store.database import Store, run_in_transaction
from dashai_store.files import tx
from dashai_store.statements import execute_cached


def test_a_deletion_of_more_paths_than_a_chunk_records_and_drops_every_one(store: Store) -> None:
    count = tx._PENDING_CHUNK * 2 + 7
    folder = store.home / "runs" / "7"
    folder.mkdir(parents=True)
    paths = [f"runs/7/f{index:03d}" for index in range(count)]
    for path in paths:
        (store.home / path).write_text("x")
    recorded: list[list[str]] = []

    def delete() -> None:
        files.delete_after_commit(*paths, "runs/7/f000")  # a path named twice is one record
        recorded.append(tx.pending_deletions())

    run_in_transaction(delete)
    files.wait_for_trash(store.home)
    assert sorted(recorded[0]) == paths
    assert tx.pending_deletions() == []
    assert sorted(p.name for p in folder.iterdir()) == []


def test_a_path_recorded_again_keeps_its_one_record(store: Store) -> None:
    models.PendingDeletion.create(path="runs/9/a", created=utcnow())
    run_in_transaction(lambda: tx._record_pending(["runs/9/a", "runs/9/b"]))
    assert tx.pending_deletions() == ["runs/9/a", "runs/9/b"]


def test_the_cache_refuses_a_query_that_binds_other_values(store: Store) -> None:
    pd = models.PendingDeletion

    def build() -> object:
        return pd.delete().where(pd.path.in_(["b", "a"]))

    with pytest.raises(AssertionError, match="binds"):
        execute_cached(store.db, ("test-refuses", 2), build, ["a", "b"])
