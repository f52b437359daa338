"""A real process dies between the COMMIT of a dataset delete and the file removal.

The child registers its own after-commit callback first in the deleting transaction;
callbacks run in registration order, so it ``os._exit``s after COMMIT and before the
deletion callback. The files must still be there with their pending-deletion records,
and the next ``open_store`` must remove them.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
from helpers import file_tree, plant_run, row_counts

from dashai_store import datasets, files, model_sessions, models, open_store, predictions
from dashai_store.clock import utcnow
from dashai_store.database import Store

CHILD = textwrap.dedent(
    """
    import os, sys
    from dashai_store import datasets, open_store
    from dashai_store.database import run_in_transaction

    home, url, dataset_id, when = sys.argv[1], sys.argv[2] or None, int(sys.argv[3]), sys.argv[4]
    store = open_store(home, database=url)

    def work():
        if when == "after-commit":
            store.after_commit(lambda: os._exit(17))  # runs before the deletion callback
        datasets.delete(dataset_id)
        if when == "before-commit":
            os._exit(18)

    run_in_transaction(work)
    sys.exit(0)
    """
)


def build(store: Store) -> tuple[int, list[str]]:
    """A dataset with a session, a run (model file, plot, metric) and a prediction with results."""
    ds = datasets.create("doomed", pa.table({"a": [1.0, 2.0], "label": [0, 1]}))
    session = model_sessions.create(ds.id, "s", "TabularClassificationTask", ["a"], ["label"], {"train": 1.0})
    now = utcnow()
    run_id = plant_run(session.id, "r", created=now, last_modified=now)
    model = files.layout.run_model(run_id)
    plot = files.layout.run_plot(run_id, "history")
    sha = files.dump_joblib(model, {"w": [1, 2]})
    files.write_figure(plot, {"data": [], "layout": {}})
    models.Run.update(
        run_path=files.layout.run_folder(run_id),
        plot_history_path=plot,
        artifacts={"model": {"path": model, "sha256": sha}},
    ).where(models.Run.id == run_id).execute()
    models.Metric.insert(
        run=run_id, name="F1", value=0.5, split="TEST", level="LAST", step=0, timestamp=now
    ).execute()
    prediction = predictions.create(run_id, ds.id)
    predictions.save_results(prediction.id, pa.table({"y": [1, 0]}))
    owned = sorted(file_tree(store.home))
    assert owned == sorted(
        [f"datasets/{ds.id}/data.arrow", model, plot, f"predictions/{prediction.id}/results.arrow"]
    )
    return ds.id, owned


def run_child(home: Path, url: str | None, dataset_id: int, when: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(home), url or "", str(dataset_id), when],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode in (17, 18), done.stderr
    return done.returncode


def pending(store: Store) -> list[str]:
    rows = store.db.execute_sql("SELECT path FROM dashai_pending_deletion ORDER BY path").fetchall()
    return [row[0] for row in rows]


def test_killed_after_commit_the_next_open_removes_the_files(
    store: Store, home: Path, database_url: str | None
) -> None:
    dataset_id, owned = build(store)

    assert run_child(home, database_url, dataset_id, "after-commit") == 17

    # The rows are gone (committed), the files are not, and their deletion is recorded.
    counts = row_counts(store.db)
    assert {table: n for table, n in counts.items() if n} == {"dashai_pending_deletion": len(pending(store))}
    assert set(file_tree(home)) == set(owned)
    recorded = pending(store)
    assert recorded, "the deleting transaction recorded no pending deletion"
    assert all(any(path == r or path.startswith(r + "/") for r in recorded) for path in owned)

    with open_store(home, database=database_url) as reopened:
        assert file_tree(home) == {}
        assert pending(reopened) == []
        assert not any(
            (home / folder).exists() and any((home / folder).iterdir()) for folder in ("datasets", "runs")
        )


def test_killed_before_commit_nothing_is_deleted(store: Store, home: Path, database_url: str | None) -> None:
    dataset_id, _ = build(store)
    counts, tree = row_counts(store.db), file_tree(home)

    assert run_child(home, database_url, dataset_id, "before-commit") == 18

    assert row_counts(store.db) == counts
    assert file_tree(home) == tree
    assert pending(store) == []
    with open_store(home, database=database_url):
        assert datasets.get(dataset_id).name == "doomed"
        assert file_tree(home) == tree
