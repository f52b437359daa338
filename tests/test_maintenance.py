"""maintenance.check / gc / mark_interrupted, on SQLite and PostgreSQL.

Rows are planted directly through dashai_store.models and files, so these tests do not
depend on the other facade areas. ``plant_store`` is shared with test_backup/test_cli.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pytest
from helpers import file_tree, plant_dataset, plant_run, plant_session, row_counts

from dashai_store import cascade, errors, files, maintenance, models
from dashai_store.clock import utcnow
from dashai_store.database import Store, run_in_transaction
from dashai_store.enums import RunStatus
from dashai_store.records import InterruptedJobs

OLD = 2 * 3600.0  # seconds: older than the default grace period


def age(path: Path, seconds: float = OLD) -> Path:
    """Make ``path`` look ``seconds`` old (its mtime), as a file left by an old crash is."""
    moment = time.time() - seconds
    os.utime(path, (moment, moment), follow_symlinks=False)
    return path


def age_tree(home: Path, seconds: float = OLD) -> None:
    for path in home.rglob("*"):
        if files.TRASH in path.relative_to(home).parts:
            continue  # emptied by a background thread while we walk
        age(path, seconds)


@dataclass
class Planted:
    """Ids of planted rows and the home-relative files they refer to."""

    ids: dict[str, int] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)
    model_sha: str = ""


def plant_store(suffix: str = "") -> Planted:
    """A small healthy store: every kind of file a row can refer to."""
    now = utcnow()
    p = Planted()
    table = pa.table({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    ds = models.Dataset.get_by_id(plant_dataset(f"iris{suffix}", table=table, status="FINISHED"))
    p.paths["dataset"] = ds.file_path
    session = models.ModelSession.get_by_id(plant_session(ds.id, f"session{suffix}"))
    run = models.Run.get_by_id(
        plant_run(session.id, "run", parameters={"C": 1}, optimizer_name="", status="FINISHED")
    )
    p.paths["run_dir"] = files.layout.run_folder(run.id)
    p.paths["model"] = files.layout.run_model(run.id)
    p.paths["plot"] = files.layout.run_plot(run.id, "history")
    p.model_sha = files.dump_joblib(p.paths["model"], {"weights": [1, 2, 3]})
    files.write_figure(p.paths["plot"], {"data": [], "layout": {"title": {"text": "history"}}})
    run.run_path = p.paths["run_dir"]
    run.plot_history_path = p.paths["plot"]
    run.artifacts = {"model": {"path": p.paths["model"], "sha256": p.model_sha}}
    run.save()
    prediction = models.Prediction.create(
        run=run, dataset=ds, status="FINISHED", created=now, last_modified=now
    )
    p.paths["prediction"] = files.layout.prediction_results(prediction.id)
    files.write_arrow(p.paths["prediction"], pa.table({"y": [0, 1, 1]}))
    prediction.results_path = p.paths["prediction"]
    prediction.save()
    # The notebook starts on the dataset's own file, shared (never the notebook's to delete).
    notebook = models.Notebook.create(dataset=ds, file_path=ds.file_path, created=now, last_modified=now)
    converter = models.Converter.create(
        notebook=notebook,
        converter="DropColumn",
        parameters={"column": "y"},
        position=1,
        status="FINISHED",
        created=now,
        last_modified=now,
    )
    p.paths["snapshot"] = files.layout.notebook_snapshot(notebook.id, converter.id)
    files.write_arrow(p.paths["snapshot"], table.drop_columns(["y"]))
    converter.snapshot_path = p.paths["snapshot"]
    converter.save()
    explainer = models.GlobalExplainer.create(
        run=run, name="g", explainer_name="PermutationFeatureImportance", parameters={}, created=now
    )
    p.paths["explanation"] = files.layout.explainer_explanation("global", explainer.id)
    files.dump_joblib(p.paths["explanation"], {"x": 0.5})
    explainer.explanation_path = p.paths["explanation"]
    explainer.save()
    gen = models.GenerativeSession.create(
        name=f"gen{suffix}", task_name="T", model_name="M", parameters={}, created=now, last_modified=now
    )
    process = models.GenerativeProcess.create(session=gen, created=now, last_modified=now)
    p.paths["image"] = files.layout.generative_payload(gen.id, process.id, "0.png")
    files.write_bytes(p.paths["image"], b"\x89PNG fake")
    models.ProcessData.create(process=process, data=p.paths["image"], data_type="image", is_input=False)
    p.ids.update(
        dataset=ds.id,
        session=session.id,
        run=run.id,
        prediction=prediction.id,
        notebook=notebook.id,
        converter=converter.id,
        explainer=explainer.id,
        generative_session=gen.id,
        process=process.id,
    )
    return p


def rel_set(store: Store, paths: tuple[Path, ...]) -> set[str]:
    return {p.relative_to(store.home).as_posix() for p in paths}


# -- check and gc -----------------------------------------------------------------------------------


def test_managed_roots_cover_every_owned_folder(store: Store) -> None:
    class Row:
        id = 7
        session_id = 3

    for model, folder in cascade.OWNED_FOLDERS.items():
        root = folder(Row()).split("/")[0]
        assert root in maintenance.MANAGED_ROOTS, (model, root)


def test_healthy_store_checks_ok_and_gc_removes_nothing(store: Store) -> None:
    planted = plant_store()
    age_tree(store.home)
    report = maintenance.check()
    assert report.ok, report
    assert report.missing_files == () and report.unowned_files == () and report.pending_deletions == ()
    assert report.integrity_checked is (store.backend == "sqlite")
    before = file_tree(store.home)
    result = maintenance.gc(grace_s=0)
    assert result.removed_files == () and result.removed_temp_files == () and result.finished_deletions == ()
    assert file_tree(store.home) == before
    assert set(planted.paths.values()) - {planted.paths["run_dir"]} <= set(before)


def test_check_finds_each_planted_problem_and_gc_fixes_only_those(store: Store) -> None:
    planted = plant_store()
    home = store.home
    ds_id, nb_id, run_id = planted.ids["dataset"], planted.ids["notebook"], planted.ids["run"]
    # 1. a referenced file deleted behind the store's back
    (home / planted.paths["prediction"]).unlink()
    # 2. files no row owns: beside a dataset file, a reverted step's leftover snapshot,
    #    and a whole folder of a run that no longer exists
    extra = home / f"datasets/{ds_id}/extra.bin"
    extra.write_bytes(b"x" * 100)
    leftover = home / f"notebooks/{nb_id}/999.arrow"
    leftover.write_bytes(b"stale snapshot")
    orphan_run = home / "runs/424242/plots/history.json"
    orphan_run.parent.mkdir(parents=True)
    orphan_run.write_text("{}")
    # 3. a stale temporary file from a crashed write
    temp = home / f"datasets/{ds_id}/.data.arrow.ab12cd34.tmp"
    temp.write_bytes(b"half")
    # 4. a stale pending-deletion record (a crash between COMMIT and unlink)
    doomed = home / "predictions/5000/results.arrow"
    doomed.parent.mkdir(parents=True)
    doomed.write_bytes(b"old results")
    models.PendingDeletion.create(path="predictions/5000", created=utcnow())
    # a file under a referenced folder (run_path) is owned even though no column names it
    notes = home / f"runs/{run_id}/notes.txt"
    notes.write_text("owned by the run's folder")
    age_tree(home)
    # 5. a young unowned file: a writer may be about to commit its row
    fresh = home / f"datasets/{ds_id}/fresh.arrow"
    fresh.write_bytes(b"in flight")

    report = maintenance.check()
    assert not report.ok
    assert [a.split(" ")[0] for a in maintenance.advice(report)] == ["1", "run"]  # missing; gc for the rest
    assert [(m.table, m.row_id, m.column, m.reason) for m in report.missing_files] == [
        ("prediction", planted.ids["prediction"], "results_path", "missing")
    ]
    assert report.missing_files[0].path == home / planted.paths["prediction"]
    assert rel_set(store, report.unowned_files) == {
        f"datasets/{ds_id}/extra.bin",
        f"notebooks/{nb_id}/999.arrow",
        "runs/424242/plots/history.json",
        "predictions/5000/results.arrow",
    }
    assert rel_set(store, report.stale_temp_files) == {f"datasets/{ds_id}/.data.arrow.ab12cd34.tmp"}
    assert rel_set(store, report.pending_deletions) == {"predictions/5000"}
    assert rel_set(store, report.recent_files) == {f"datasets/{ds_id}/fresh.arrow"}
    assert report.integrity_problems == () and report.foreign_key_violations == ()

    counts_before = row_counts(store.db)
    result = maintenance.gc()
    assert rel_set(store, result.finished_deletions) == {"predictions/5000"}
    assert rel_set(store, result.removed_files) == {
        f"datasets/{ds_id}/extra.bin",
        f"notebooks/{nb_id}/999.arrow",
        "runs/424242/plots/history.json",
    }
    assert rel_set(store, result.removed_temp_files) == {f"datasets/{ds_id}/.data.arrow.ab12cd34.tmp"}
    assert {"runs/424242", "runs/424242/plots", "predictions/5000"} >= rel_set(store, result.removed_folders)
    assert "runs/424242" in rel_set(store, result.removed_folders)
    assert result.failed == () and result.bytes_freed >= 100
    # nothing a row refers to was touched, and the young file and owned notes stay
    for name, rel in planted.paths.items():
        if name not in ("prediction", "run_dir"):
            assert (home / rel).is_file(), name
    assert files.load_joblib(planted.paths["model"], planted.model_sha) == {"weights": [1, 2, 3]}
    assert fresh.exists() and notes.exists()
    assert not (home / "predictions/5000").exists() and not (home / "runs/424242").exists()
    counts_after = row_counts(store.db)
    assert counts_after["dashai_pending_deletion"] == 0
    assert {k: v for k, v in counts_after.items() if k != "dashai_pending_deletion"} == {
        k: v for k, v in counts_before.items() if k != "dashai_pending_deletion"
    }
    # what gc cannot fix is still reported; the rest is gone
    after = maintenance.check()
    assert len(after.missing_files) == 1
    assert after.unowned_files == () and after.stale_temp_files == () and after.pending_deletions == ()
    # ... and gc is not what check recommends for it: gc removes files, it cannot bring one back
    (advice,) = maintenance.advice(after)
    assert "missing" in advice and "do NOT run gc" in advice and "`dashai-store gc`" not in advice


def test_gc_frees_a_recorded_deletion_in_place_and_removes_the_folder_it_emptied(store: Store) -> None:
    # Fresh (not aged) on purpose: the folder gc itself emptied goes at once, grace or not.
    doomed = store.home / "predictions/5001/results.arrow"
    doomed.parent.mkdir(parents=True)
    doomed.write_bytes(b"x" * 1234)
    models.PendingDeletion.create(path="predictions/5001/results.arrow", created=utcnow())
    ticks: list[tuple[str, int, int]] = []

    result = maintenance.gc(
        grace_s=3600, progress=lambda phase, done, total: ticks.append((phase, done, total))
    )

    assert rel_set(store, result.finished_deletions) == {"predictions/5001/results.arrow"}
    assert result.bytes_freed == 1234  # removed in place, not moved to the trash for later
    assert not (store.home / "predictions/5001").exists()
    assert "predictions/5001" in rel_set(store, result.removed_folders)
    assert ("pending deletions", 1, 1) in ticks
    assert files.pending_deletions() == []


def test_gc_reports_an_unowned_file_it_cannot_remove_and_goes_on(store: Store) -> None:
    stuck = store.home / "runs/9001/stuck.bin"
    loose = store.home / "runs/9002/loose.bin"
    for path in (stuck, loose):
        path.parent.mkdir(parents=True)
        path.write_bytes(b"junk")
    age_tree(store.home)
    # An immutable file (root cannot unlink it either) stands for one the OS refuses to remove.
    if subprocess.run(["chattr", "+i", str(stuck)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available on this filesystem")
    try:
        result = maintenance.gc()
    finally:
        subprocess.run(["chattr", "-i", str(stuck)], check=True)

    assert [(path, "Operation not permitted" in why) for path, why in result.failed] == [(stuck, True)]
    assert rel_set(store, result.removed_files) == {"runs/9002/loose.bin"}
    assert stuck.exists() and not loose.exists()


def test_gc_never_removes_a_file_a_pending_deletion_names_if_a_row_refers_to_it(store: Store) -> None:
    planted = plant_store()
    home = store.home
    # e.g. a path recorded for deletion and then claimed again by a row
    models.PendingDeletion.create(path=planted.paths["model"], created=utcnow())
    models.PendingDeletion.create(path=f"notebooks/{planted.ids['notebook']}", created=utcnow())
    before = file_tree(home)
    result = maintenance.gc(grace_s=0)
    assert rel_set(store, result.kept_referenced) == {
        planted.paths["model"],
        f"notebooks/{planted.ids['notebook']}",  # holds the converter's referenced snapshot
    }
    assert result.finished_deletions == () and result.removed_files == ()
    assert file_tree(home) == before
    assert files.pending_deletions() == []


def test_gc_dry_run_changes_nothing(store: Store) -> None:
    plant_store()
    home = store.home
    junk = home / "runs/31337/model.joblib"
    junk.parent.mkdir(parents=True)
    junk.write_bytes(b"junk")
    models.PendingDeletion.create(path="explorers/77", created=utcnow())
    age_tree(home)
    before, counts = file_tree(home), row_counts(store.db)
    result = maintenance.gc(dry_run=True)
    assert result.dry_run
    assert rel_set(store, result.removed_files) == {"runs/31337/model.joblib"}
    assert rel_set(store, result.finished_deletions) == {"explorers/77"}
    assert file_tree(home) == before and row_counts(store.db) == counts
    assert junk.parent.is_dir()


def test_gc_keeps_a_referenced_empty_folder_and_the_roots(store: Store) -> None:
    planted = plant_store()
    home = store.home
    run_dir = home / planted.paths["run_dir"]
    for path in sorted(run_dir.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    stale_empty = home / "explainers/local/55"
    stale_empty.mkdir(parents=True)
    age_tree(home)
    result = maintenance.gc()
    assert run_dir.is_dir()  # the run row refers to it
    assert not stale_empty.exists()
    assert (home / "explainers/local").is_dir() or "explainers/local" in rel_set(
        store, result.removed_folders
    )
    assert all((home / root).is_dir() for root in ("datasets", "runs", "notebooks"))


def test_gc_ignores_everything_outside_the_store_folders(store: Store) -> None:
    plant_store()
    home = store.home
    app_file = home / "config.json"  # the application's own files in ~/.DashAI
    app_file.write_text("{}")
    backup = home / "backups" / "db-old.sqlite"
    backup.parent.mkdir(exist_ok=True)
    backup.write_bytes(b"old")
    age_tree(home)
    assert maintenance.check().ok
    maintenance.gc(grace_s=0)
    assert app_file.exists() and backup.exists()


def test_gc_removes_a_link_not_what_it_points_to(store: Store, tmp_path: Path) -> None:
    plant_store()
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me")
    link = store.home / "datasets" / "link.txt"
    link.symlink_to(outside)
    age(link)
    assert rel_set(store, maintenance.check().unowned_files) == {"datasets/link.txt"}
    maintenance.gc()
    assert not os.path.lexists(link) and outside.read_text() == "keep me"


def test_check_reports_rows_pointing_outside_the_home(store: Store) -> None:
    planted = plant_store()
    models.Prediction.update(results_path="../../etc/passwd").where(
        models.Prediction.id == planted.ids["prediction"]
    ).execute()
    (missing,) = maintenance.check().missing_files
    assert (missing.table, missing.column, missing.reason) == (
        "prediction",
        "results_path",
        "outside the home",
    )


def test_check_reports_a_missing_artifact_and_payload(store: Store) -> None:
    planted = plant_store()
    (store.home / planted.paths["model"]).unlink()
    (store.home / planted.paths["image"]).unlink()
    found = {(m.table, m.column) for m in maintenance.check().missing_files}
    assert found == {("run", "artifacts.model"), ("process_data", "data")}


def test_check_reports_foreign_key_violations(store: Store) -> None:
    plant_store()
    now = utcnow()
    if store.backend == "postgresql":
        # Only a restore with triggers disabled can leave an orphan on PostgreSQL.
        with store.db.atomic():
            store.db.execute_sql("SET LOCAL session_replication_role = replica")
            models.Metric.insert(
                run=987654, name="acc", value=1.0, split="TRAIN", level="LAST", step=0, timestamp=now
            ).execute()
    else:
        store.db.pragma("foreign_keys", 0)
        try:
            models.Metric.insert(
                run=987654, name="acc", value=1.0, split="TRAIN", level="LAST", step=0, timestamp=now
            ).execute()
        finally:
            store.db.pragma("foreign_keys", 1)
    report = maintenance.check()
    assert not report.ok
    assert [(v.table, v.parent) for v in report.foreign_key_violations] == [("metric", "run")]


def test_check_reports_integrity_on_sqlite_only(store: Store) -> None:
    report = maintenance.check()
    if store.backend == "sqlite":
        assert report.integrity_checked and report.notes == ()
    else:
        assert not report.integrity_checked and "pg_amcheck" in report.notes[0]


def test_check_and_gc_refuse_a_closed_store(home: Path) -> None:
    with pytest.raises(errors.StoreNotOpen):
        maintenance.check()
    with pytest.raises(errors.StoreNotOpen):
        maintenance.gc()


def test_gc_reports_progress(store: Store) -> None:
    plant_store()
    for i in range(5):
        path = store.home / "datasets" / f"junk{i}.bin"
        path.write_bytes(b"j")
        age(path)
    ticks: list[tuple[str, int, int]] = []
    result = maintenance.gc(progress=lambda phase, done, total: ticks.append((phase, done, total)))
    assert len(result.removed_files) == 5
    assert ("remove", 5, 5) in ticks and any(t[0] == "scan" for t in ticks)


def test_a_long_scan_ticks_every_thousand_files_before_it_knows_the_total(sqlite_store: Store) -> None:
    # A home of thousands of files (a long-lived one with many runs) must show life while
    # the walk goes on: a tick per 1,000 entries with total 0 (unknown), then the total.
    junk = sqlite_store.home / "datasets" / "junk"
    junk.mkdir(parents=True)
    for i in range(2_500):
        (junk / f"{i}.bin").write_bytes(b"")
    ticks: list[tuple[str, int, int]] = []
    maintenance.check(progress=lambda phase, done, total: ticks.append((phase, done, total)))
    scan = [t for t in ticks if t[0] == "scan"]
    assert scan[:2] == [("scan", 1_000, 0), ("scan", 2_000, 0)]
    assert len(scan) == 3 and scan[-1][1] == scan[-1][2] >= 2_500


# -- mark_interrupted -----------------------------------------------------------------------------


def _job_rows(now: object) -> dict[type[models.JobMixin], dict[str, int]]:
    """One row per status in every job-like table."""
    planted = plant_store("-jobs")
    made: dict[type[models.JobMixin], dict[str, int]] = {}
    for model in maintenance.JOB_MODELS:
        made[model] = {}
        for status in RunStatus:
            if model is models.Dataset:
                row = models.Dataset.create(
                    name=f"d-{status.name}", status=status.name, created=now, last_modified=now
                )
            elif model is models.Run:
                row = models.Run.create(
                    model_session=planted.ids["session"],
                    name="r",
                    model_name="M",
                    parameters={},
                    optimizer_name="",
                    optimizer_parameters={},
                    goal_metric="acc",
                    status=status.name,
                    created=now,
                    last_modified=now,
                )
            elif model is models.Prediction:
                row = models.Prediction.create(
                    run=planted.ids["run"], status=status.name, created=now, last_modified=now
                )
            elif model is models.Converter:
                row = models.Converter.create(
                    notebook=planted.ids["notebook"],
                    converter="C",
                    parameters={},
                    position=10 + status.value,
                    status=status.name,
                    created=now,
                    last_modified=now,
                )
            elif model is models.Explorer:
                row = models.Explorer.create(
                    notebook=planted.ids["notebook"],
                    exploration_type="Describe",
                    columns=[],
                    parameters={},
                    status=status.name,
                    created=now,
                    last_modified=now,
                )
            elif model is models.GlobalExplainer:
                row = models.GlobalExplainer.create(
                    run=planted.ids["run"],
                    name="g",
                    explainer_name="E",
                    parameters={},
                    status=status.name,
                    created=now,
                )
            elif model is models.LocalExplainer:
                row = models.LocalExplainer.create(
                    run=planted.ids["run"],
                    dataset=planted.ids["dataset"],
                    name="l",
                    explainer_name="E",
                    parameters={},
                    fit_parameters={},
                    scope={},
                    status=status.name,
                    created=now,
                )
            elif model is models.GenerativeProcess:
                row = models.GenerativeProcess.create(
                    session=planted.ids["generative_session"],
                    status=status.name,
                    created=now,
                    last_modified=now,
                )
            else:  # pragma: no cover - a new job table must be added above
                raise AssertionError(f"no planting for {model}")
            made[model][status.name] = row.id
    return made


def test_job_models_are_every_job_table() -> None:
    assert {m._meta.table_name for m in maintenance.JOB_MODELS} == {
        "dataset",
        "run",
        "prediction",
        "converter",
        "explorer",
        "global_explainer",
        "local_explainer",
        "generative_process",
    }


def test_mark_interrupted_moves_only_running_rows_in_every_job_table(store: Store) -> None:
    made = _job_rows(utcnow())
    result = maintenance.mark_interrupted()
    assert isinstance(result, InterruptedJobs)
    expected = {
        (model._meta.table_name, ids[status])
        for model, ids in made.items()
        for status in ("DELIVERED", "STARTED")
    }
    assert set(result.jobs) == expected
    assert result.total == 16 and result.by_table()["run"] == 2
    for model, ids in made.items():
        for status, row_id in ids.items():
            row = model.get_by_id(row_id)
            if status in ("DELIVERED", "STARTED"):
                assert row.status == "ERROR"
                assert (
                    row.error
                    == f"interrupted: the process running this job ended (found {status} at startup)"
                )
                assert row.end_time is not None
            else:
                assert row.status == status and row.error is None
    assert maintenance.mark_interrupted().total == 0


WORKER = textwrap.dedent(
    """
    import sys, time
    from dashai_store import open_store, lifecycle
    from dashai_store.database import writes
    from dashai_store.enums import RunStatus
    from dashai_store.models import Run

    home, url, run_id = sys.argv[1], sys.argv[2] or None, int(sys.argv[3])
    with open_store(home, database=url):
        @writes
        def start():
            lifecycle.move(Run, run_id, RunStatus.DELIVERED, job_id="huey-1")
            lifecycle.move(Run, run_id, RunStatus.STARTED)
        start()
        print("started", flush=True)
        time.sleep(60)  # "training": killed before it ends
    """
)


def test_mark_interrupted_fails_a_run_left_started_by_a_killed_worker(
    store: Store, database_url: str | None
) -> None:
    planted = plant_store()
    run_id = planted.ids["run"]
    models.Run.update(status="NOT_STARTED").where(models.Run.id == run_id).execute()
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(store.home), database_url or "", str(run_id)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stdout is not None
        line = worker.stdout.readline()
        assert line.strip() == "started", worker.stderr.read() if worker.stderr else ""
        worker.send_signal(signal.SIGKILL)
        assert worker.wait(timeout=10) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert models.Run.get_by_id(run_id).status == "STARTED"
    result = maintenance.mark_interrupted()
    assert result.jobs == (("run", run_id),)
    row = models.Run.get_by_id(run_id)
    assert row.status == "ERROR" and row.huey_id == "huey-1"
    assert row.error == "interrupted: the process running this job ended (found STARTED at startup)"


def test_mark_interrupted_is_one_transaction(store: Store) -> None:
    # A failure inside the outer transaction leaves every row as it was.
    made = _job_rows(utcnow())

    def doomed() -> None:
        maintenance.mark_interrupted()
        raise errors.ValidationError("abort")

    with pytest.raises(errors.ValidationError):
        run_in_transaction(doomed)
    assert models.Run.get_by_id(made[models.Run]["STARTED"]).status == "STARTED"


def test_query_helpers_do_not_leak_peewee_errors(store: Store) -> None:
    store.db.execute_sql("DROP TABLE dashai_pending_deletion")
    with pytest.raises(errors.StoreError):
        maintenance.check()
    with pytest.raises(errors.StoreError):
        maintenance.gc()
