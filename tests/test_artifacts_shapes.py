"""A run whose ``artifacts`` JSON has an unexpected shape: check, gc, backup and delete still work.

``artifacts`` is ``{"<name>": {"path", "sha256"}, ...}`` when the store writes it, but a
hand-edited or foreign row can hold any JSON. The maintenance commands walk every row's
artifact paths; one odd row must not stop them (they are what a user runs when something
is wrong), and a file a row names through a malformed entry is never treated as owned by
that entry (the run's own folder still owns it).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from helpers import plant_dataset, plant_run, plant_session

from dashai_store import files, maintenance, models, open_store, runs
from dashai_store.database import Store

SHAPES: list[Any] = [
    [1, 2],
    "runs/1/model.joblib",
    5,
    {"model": "runs/1/model.joblib"},
    {"model": {"path": 5}},
    {"model": ["runs/1/model.joblib"]},
    {"model": {"path": None}},
    {"model": None, "other": {"path": "runs/1/model.joblib"}},
]


@pytest.mark.parametrize("shape", SHAPES, ids=[repr(s) for s in SHAPES])
def test_maintenance_and_delete_survive_an_odd_artifacts_value(store: Store, shape: Any) -> None:
    run_id = plant_run(plant_session(plant_dataset()))
    runs.save_model(run_id, {"weights": [1, 2, 3]})
    models.Run.update(artifacts=shape).where(models.Run.id == run_id).execute()
    model_file = store.home / files.layout.run_model(run_id)

    report = maintenance.check(grace_s=0)
    assert model_file not in report.unowned_files  # the run's folder owns it
    assert not report.missing_files
    assert maintenance.gc(grace_s=0).removed_files == ()
    assert model_file.exists()

    with tempfile.TemporaryDirectory() as outside:
        target = Path(outside) / "backup"
        maintenance.backup(target)
        assert (target / files.layout.run_model(run_id)).read_bytes() == model_file.read_bytes()
        if store.backend == "sqlite":  # PostgreSQL's backup holds the files only (pg_dump the rows)
            with open_store(target):
                assert [r.id for r in runs.list()] == [run_id]

    runs.delete(run_id)
    assert not model_file.exists()
    assert runs.list() == []


def test_a_well_formed_entry_elsewhere_in_the_row_still_counts(store: Store) -> None:
    run_id = plant_run(plant_session(plant_dataset()))
    runs.save_model(run_id, {"weights": [1]})
    good = models.Run.get_by_id(run_id).artifacts["model"]
    models.Run.update(artifacts={"junk": "x", "model": good}).where(models.Run.id == run_id).execute()
    (store.home / good["path"]).unlink()

    report = maintenance.check(grace_s=0)

    assert [m.path for m in report.missing_files] == [store.home / good["path"]]
