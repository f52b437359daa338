"""Adopting a legacy DashAI (SQLAlchemy/Alembic) home in place, on a copy of the fixture.

The fixture (``../shared/fixtures/dashai-legacy-home``, described beside it) is read-only;
every test works on a copy in ``tmp_path``. SQLite only: a legacy home is a SQLite file.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import LEGACY_BULK_METRICS, add_legacy_bulk_metrics
from migration_fixtures.support import BASE

from dashai_store import (
    datasets,
    errors,
    explainers,
    explorers,
    generative,
    maintenance,
    metrics,
    notebooks,
    open_store,
    plugins,
    predictions,
    runs,
)
from dashai_store import legacy as legacy_package
from dashai_store.legacy import adoption
from dashai_store.legacy.convert import figure_from_pickle, infer_old_root, normalise_json, rebase, to_utc
from dashai_store.schema import drift

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO.parent / "shared" / "fixtures" / "dashai-legacy-home"
if not FIXTURE.is_dir():  # the checkout may sit elsewhere; the shared folder does not move
    FIXTURE = Path("/work/shared/fixtures/dashai-legacy-home")

pytestmark = pytest.mark.skipif(not FIXTURE.is_dir(), reason="legacy DashAI fixture not available")

LEGACY_COUNTS = {
    "dataset": 3,
    "model_session": 2,
    "run": 5,
    "metric": 1992,
    "prediction": 2,
    "notebook": 2,
    "converter": 3,
    "explorer": 2,
    "generative_session": 2,
    "parameter_history": 4,
    "generative_process": 3,
    "process_data": 7,
    "plugin": 3,
    "tag": 7,
    "global_explainer": 2,
    "local_explainer": 1,
}


@pytest.fixture
def legacy_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    shutil.copytree(FIXTURE, home)
    for folder, dirs, names in os.walk(home):  # the fixture is read-only
        for name in [*dirs, *names]:
            os.chmod(Path(folder) / name, 0o755 if name in dirs else 0o644)
    os.chmod(home, 0o755)
    monkeypatch.delenv(adoption.FAIL_ENV, raising=False)
    monkeypatch.delenv("DASHAI_LEGACY_TIMEZONE", raising=False)
    return home


def snapshot(home: Path) -> dict[str, bytes]:
    """Every file of the home but the backups and the migration lock, with its bytes."""
    return {
        p.relative_to(home).as_posix(): p.read_bytes()
        for p in sorted(home.rglob("*"))
        if p.is_file() and "backups" not in p.relative_to(home).parts and not p.name.endswith(".lock")
    }


def all_paths(home: Path) -> set[str]:
    return {p.relative_to(home).as_posix() for p in home.rglob("*")}


def run_migrate(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / "migrate.py"), "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )


def counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in LEGACY_COUNTS}
    finally:
        conn.close()


# -- detection and the dry run -----------------------------------------------------------------------


def test_the_dry_run_prints_the_plan_and_writes_nothing(legacy_home: Path) -> None:
    before, names = snapshot(legacy_home), all_paths(legacy_home)
    proc = run_migrate(legacy_home, "--dry-run")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "legacy DashAI database (Alembic revision d0e5a6c7b8d1" in out
    assert "table metric: 1992 row(s): 1992 adopted" in out
    assert "table global_explainer: 2 row(s): 1 adopted with their ids, 1 quarantined" in out
    assert "lastest_version -> latest_version" in out
    assert "old root of the stored paths: /home/alice/.DashAI" in out
    assert "missing-file: run 1 plot_contour_path" in out
    assert "orphan: global_explainer 2: run_id = 7" in out
    assert out.count("double-encoded-json") == 5  # 2 sessions' splits, runs 1, 2 and 4
    assert "runs/1 -> runs/1/model.joblib" in out
    assert "dry run: nothing was written" in out
    assert snapshot(legacy_home) == before  # db.sqlite byte for byte
    assert all_paths(legacy_home) == names  # no backup, no lock, no journal, no staging


def test_status_and_check_name_the_legacy_database(legacy_home: Path) -> None:
    before = snapshot(legacy_home)
    status = run_migrate(legacy_home, "--status")
    assert status.returncode == 0 and "0000_adopt_dashai_legacy" in status.stdout
    check = run_migrate(legacy_home, "--check")
    assert check.returncode == 1 and "scripts/migrate.py" in check.stdout
    with pytest.raises(errors.SchemaError, match=r"scripts/migrate\.py"):
        open_store(legacy_home, migrate=False)
    assert snapshot(legacy_home) == before


# -- the adoption ---------------------------------------------------------------------------------------


def test_adoption_keeps_every_row_with_its_id_and_yields_exactly_this_schema(legacy_home: Path) -> None:
    db_path = legacy_home / "db.sqlite"
    legacy = sqlite3.connect(db_path)
    legacy_ids = {
        t: [r[0] for r in legacy.execute(f'SELECT id FROM "{t}" ORDER BY id')] for t in LEGACY_COUNTS
    }
    legacy.close()
    proc = run_migrate(legacy_home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "applied 0000_adopt_dashai_legacy" in proc.stdout

    report_path = next((legacy_home / "backups").glob("legacy-adoption-*.json"))
    report = json.loads(report_path.read_text())
    quarantined = {(q["table"], q["row_id"]) for q in report["quarantined"]}
    assert quarantined == {("global_explainer", 2)}
    orphan = report["quarantined"][0]
    assert orphan["row"]["run_id"] == 7 and orphan["row"]["name"] == "Dependencia parcial altura"

    after = counts(db_path)
    for table, legacy_count in LEGACY_COUNTS.items():
        kept = legacy_count - sum(1 for t, _ in quarantined if t == table)
        assert after[table] == kept == report["tables"][table]["adopted"], table
    conn = sqlite3.connect(db_path)
    try:
        for table, ids in legacy_ids.items():
            adopted = [r[0] for r in conn.execute(f'SELECT id FROM "{table}" ORDER BY id')]
            assert adopted == [i for i in ids if (table, i) not in quarantined], table
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "alembic_version" not in tables and not any(t.startswith("_dashai_legacy") for t in tables)
        seq = dict(conn.execute("SELECT name, seq FROM sqlite_sequence").fetchall())
        assert seq["global_explainer"] == 2  # the quarantined id is never handed out again
        assert seq["run"] == 5 and seq["metric"] == 1992
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(BASE)
        versions = conn.execute(
            "SELECT sequence, id FROM dashai_schema_migration ORDER BY sequence"
        ).fetchall()
        assert versions == [(0, "0000_adopt_dashai_legacy"), *enumerate(BASE, start=1)]
        splits = json.loads(conn.execute("SELECT splits FROM model_session WHERE id = 1").fetchone()[0])
        assert splits["train"] == 0.6 and splits["seed"] == 42
        cols = conn.execute("SELECT input_columns FROM model_session WHERE id = 2").fetchone()[0]
        assert "región" in cols  # JSON re-encoded as this store writes it
        plugin = conn.execute("SELECT latest_version FROM plugin WHERE id = 1").fetchone()
        assert plugin == ("1.2.0",)
    finally:
        conn.close()

    with open_store(legacy_home) as store:
        assert drift(store.db) == []
        new = runs.create(1, "after adoption", "SVC", {})
        assert new.id == 6
        assert explainers.create_global(new.id, "g", "KernelShap", {}).id == 3  # not the orphan's 2


def test_the_adopted_data_works_through_the_facade(legacy_home: Path) -> None:
    original = {
        p: (legacy_home / p).read_bytes() for p in ("images/a8af82f3-8ba7-4ca4-a550-9c39f2e8c8c6.png",)
    }
    with open_store(legacy_home):  # open_store adopts a legacy home too
        assert [d.name for d in datasets.list()] == ["iris", "datos_ñandú", "customer_reviews"]
        assert [datasets.load_table(i).num_rows for i in (1, 2, 3)] == [150, 60, 40]
        assert predictions.load_results(1).num_rows > 0
        assert predictions.get(2).results_path is None

        history = metrics.history(2, name="F1", split="TRAIN", level="STEP")
        assert any(p.value == float("inf") for p in history)
        assert [p.step for p in history] == sorted(p.step for p in history)
        assert len(metrics.history(1)) == 309

        assert [(c.converter, c.position, c.status.name) for c in notebooks.converters(1)] == [
            ("StandardScaler", 1, "FINISHED"),
            ("PCA", 2, "ERROR"),
        ]
        assert notebooks.get(1).current_position == 1
        assert notebooks.load_table(1).num_rows == 150
        assert "región" not in notebooks.load_table(2).column_names  # after the OneHotEncoder
        assert set(explorers.load_result(1)) >= {"SepalLengthCm"}
        assert explorers.load_result(2, as_figure=False)["data"][0]["type"] == "histogram"

        snapshots = generative.parameter_history(1)
        assert [s.parameters["num_inference_steps"] for s in snapshots] == [15, 20]
        assert generative.get_process(1).parameter_history_id == snapshots[-1].id
        images = [p for p in generative.payloads(1) if p.data_type.value == "image"]
        assert images and images[0].file_path is not None
        assert images[0].file_path.read_bytes() == original["images/a8af82f3-8ba7-4ca4-a550-9c39f2e8c8c6.png"]
        assert len([p for p in generative.payloads(3) if p.data_type.value == "image"]) == 2

        by_name = {p.name: p for p in plugins.list()}
        assert {t.name for t in by_name["dashai-tabular-classification-package"].tags} == {
            "DashAI",
            "Package",
            "Task",
            "Model",
        }
        assert by_name["dashai-balanced-accuracy"].latest_version == "0.3.0"

        assert runs.load_model(1)["n_estimators"] == 87  # sha256 recorded at adoption
        for run_id, kinds in ((1, ("history", "slice", "importance")), (2, ("history", "slice"))):
            for kind in kinds:
                assert runs.load_plot(run_id, kind, as_figure=False)["data"][0]["type"] == "scatter"
        assert runs.get(1).split_indexes["test_indexes"][:2] == [1, 6]
        assert runs.get(3).split_indexes is None

        assert explainers.load_explanation("global", 1)["features"][0] == "SepalLengthCm"
        assert explainers.load_plot("global", 1, as_figure=False)[0]["data"][0]["type"] == "bar"
        assert set(explainers.load_explanation("local", 1)) == {0, 1, 2}
        assert len(explainers.load_plot("local", 1, as_figure=False)) == 3
        with pytest.raises(errors.NotFound):
            explainers.get("global", 2)

        report = maintenance.check(grace_s=0)
        assert report.integrity_problems == () and report.foreign_key_violations == ()
        assert [(m.table, m.row_id, m.column) for m in report.missing_files] == [
            ("run", 1, "plot_contour_path")
        ]
        assert report.unowned_files == () and report.stale_temp_files == () and report.pending_deletions == ()
    # Adopted originals, and the set-aside orphan's files (issue 14), are kept in backups/.
    kept = next((legacy_home / "backups").glob("legacy-files-*"))
    assert not (legacy_home / "explanations" / "global_explanation_2.pickle").exists()
    assert (kept / "explanations" / "global_explanation_2.pickle").is_file()
    assert (kept / "runs" / "1").is_file() and (kept / "images").is_dir()


def test_timestamps_are_converted_from_the_legacy_zone_to_utc(legacy_home: Path) -> None:
    proc = run_migrate(legacy_home, DASHAI_LEGACY_TIMEZONE="America/Santiago")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    conn = sqlite3.connect(legacy_home / "db.sqlite")
    try:
        assert conn.execute("SELECT delivery_time FROM run WHERE id = 1").fetchone()[0] == (
            "2026-04-22 09:58:09.041331"  # 05:58:09 in Chile (UTC-4 in April)
        )
        assert (
            conn.execute("SELECT timestamp FROM metric WHERE id = 1").fetchone()[0]
            == "2026-04-22 09:58:14.294804"
        )
    finally:
        conn.close()


# -- failure, second run, idempotent finish ---------------------------------------------------------


def test_metric_levels_and_splits_of_later_steps_are_adopted(legacy_home: Path) -> None:
    """DashAI logs EPOCH, FOLD, OUTER_FOLD, LAST_OUTER and FULL: step 0002 allows them,
    and the adoption keeps such rows (any letter case) instead of quarantining them."""
    new_rows = [
        (1993, 4, "FULL", "EPOCH", "MAE", 0.5, 1),
        (1994, 4, "TRAIN", "OUTER_FOLD", "MAE", 0.25, 2),
        (1995, 4, "full", "last_outer", "RMSE", 0.125, 3),
        (1996, 4, "VALIDATION", "FOLD", "RMSE", 1.5, 4),
    ]
    with sqlite3.connect(legacy_home / "db.sqlite") as conn:
        conn.executemany(
            "INSERT INTO metric (id, run_id, split, level, name, value, step, timestamp) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, '2026-04-22 06:54:31.056239')",
            new_rows,
        )
    proc = run_migrate(legacy_home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "applied 0002_widen_metric_enums" in proc.stdout
    report = json.loads(next((legacy_home / "backups").glob("legacy-adoption-*.json")).read_text())
    assert not any(q["table"] == "metric" for q in report["quarantined"])
    with sqlite3.connect(legacy_home / "db.sqlite") as conn:
        adopted = conn.execute("SELECT id, split, level FROM metric WHERE id > 1992 ORDER BY id").fetchall()
        assert adopted == [
            (1993, "FULL", "EPOCH"),
            (1994, "TRAIN", "OUTER_FOLD"),
            (1995, "FULL", "LAST_OUTER"),
            (1996, "VALIDATION", "FOLD"),
        ]
        assert conn.execute("SELECT COUNT(*) FROM metric").fetchone()[0] == LEGACY_COUNTS["metric"] + 4
        versions = [r[0] for r in conn.execute("SELECT id FROM dashai_schema_migration ORDER BY sequence")]
        assert versions == ["0000_adopt_dashai_legacy", *BASE]
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):  # the CHECKs are enforced again
            conn.execute(
                "INSERT INTO metric (run_id, split, level, name, value, step, timestamp) "
                "VALUES (4, 'HOLDOUT', 'EPOCH', 'MAE', 1.0, 9, '2026-01-01 00:00:00')"
            )
    with open_store(legacy_home) as store:
        assert drift(store.db) == []
        [point] = metrics.history(4, level="EPOCH")
        assert (point.split.name, point.value, point.step) == ("FULL", 0.5, 1)
        metrics.log(4, "MAE", 0.75, split="FULL", level="FOLD", step=5)


def test_a_failure_in_the_last_step_leaves_the_home_exactly_as_it_was(legacy_home: Path) -> None:
    before, names = snapshot(legacy_home), all_paths(legacy_home)
    proc = run_migrate(legacy_home, **{adoption.FAIL_ENV: "before-commit"})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "failed and was rolled back" in proc.stdout and "failure injected" in proc.stdout
    assert snapshot(legacy_home) == before  # the database byte for byte, every legacy file
    backups = list((legacy_home / "backups").glob("db-*-legacy-d0e5a6c7b8d1.sqlite"))
    assert len(backups) == 1 and str(backups[0]) in proc.stdout
    assert counts(backups[0]) == LEGACY_COUNTS
    assert all_paths(legacy_home) - names == {
        "backups",
        f"backups/{backups[0].name}",
        "db.sqlite.migrate.lock",
    }
    retry = run_migrate(legacy_home)  # the failure changed nothing: a retry adopts
    assert retry.returncode == 0, retry.stdout + retry.stderr


def test_a_failure_in_process_raises_a_migration_error_naming_the_backup(legacy_home: Path) -> None:
    before = snapshot(legacy_home)
    adoption.fail_at = "before-commit"
    try:
        with pytest.raises(errors.MigrationError) as caught:
            open_store(legacy_home)
    finally:
        adoption.fail_at = None
    assert caught.value.step == "0000_adopt_dashai_legacy"
    assert caught.value.backup is not None and Path(caught.value.backup).is_file()
    assert snapshot(legacy_home) == before


def test_a_second_run_is_a_no_op(legacy_home: Path) -> None:
    assert run_migrate(legacy_home).returncode == 0
    before, names = snapshot(legacy_home), all_paths(legacy_home)
    proc = run_migrate(legacy_home)
    assert proc.returncode == 0 and "(up to date)" in proc.stdout, proc.stdout
    assert "legacy" not in proc.stdout
    assert all_paths(legacy_home) == names
    assert {k: v for k, v in snapshot(legacy_home).items() if not k.startswith("db.sqlite")} == {
        k: v for k, v in before.items() if not k.startswith("db.sqlite")
    }


def test_file_moves_a_crash_interrupted_after_commit_are_finished_at_the_next_start(
    legacy_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []
    monkeypatch.setattr(adoption, "finish_pending", lambda home: calls.append(home) or False)
    with open_store(legacy_home):  # committed; the moves "crashed"
        pass
    monkeypatch.undo()
    assert calls and legacy_package.has_pending(legacy_home)
    assert not (legacy_home / "datasets" / "1" / "data.arrow").exists()
    with open_store(legacy_home):
        assert datasets.load_table(1).num_rows == 150
        assert runs.load_model(1)["max_depth"] == 6
        report = maintenance.check(grace_s=0)
        assert [(m.table, m.row_id) for m in report.missing_files] == [
            ("run", 1)
        ] and not report.unowned_files
    assert not legacy_package.has_pending(legacy_home)
    assert not (legacy_home / ".dashai-adoption").exists()


def test_a_database_that_only_looks_legacy_is_refused_with_no_write(tmp_path: Path) -> None:
    home = tmp_path / "odd"
    home.mkdir()
    conn = sqlite3.connect(home / "db.sqlite")
    conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
    conn.execute("CREATE TABLE dataset (id INTEGER PRIMARY KEY, name TEXT)")
    conn.commit()
    conn.close()
    before = all_paths(home), (home / "db.sqlite").read_bytes()
    proc = run_migrate(home, "--dry-run")
    assert proc.returncode == 1 and "table model_session is missing" in proc.stdout
    with pytest.raises(errors.SchemaError, match="Nothing was written"):
        open_store(home)
    assert (all_paths(home), (home / "db.sqlite").read_bytes()) == before


# -- the conversions ---------------------------------------------------------------------------------------


def test_conversions() -> None:
    assert normalise_json('"{\\"a\\": 1}"') == ('{"a": 1}', True, False)
    assert normalise_json('["regi\\u00f3n"]') == ('["región"]', False, False)
    assert normalise_json("null") == (None, False, False)
    assert normalise_json("not json")[2] is True
    assert normalise_json('"plain text"') == ('"plain text"', False, False)
    root = ("home", "alice", ".DashAI")
    assert rebase("/home/alice/.DashAI/runs/1", root) == "runs/1"
    assert rebase("/elsewhere/x", root) is None
    assert rebase("x.png", root) == "x.png"
    assert rebase("../escape", root) is None
    win = ("Users", "Ana", ".DashAI")
    assert rebase("C:\\Users\\Ana\\.DashAI\\datasets\\1", win) == "datasets/1"
    assert infer_old_root(["/srv/x/.DashAI/a", "/srv/x/.DashAI/b"], Path("/nonexistent")) == (
        "srv",
        "x",
        ".DashAI",
    )
    assert to_utc("2026-01-01 00:00:00", None) is not None
    import pickle

    assert figure_from_pickle(pickle.dumps({"data": [], "layout": {}})) == '{"data": [], "layout": {}}'
    assert figure_from_pickle(pickle.dumps(Path("x"))) is None  # a class outside the allowlist
    assert figure_from_pickle(pickle.dumps({"not": "a figure"})) is None


# -- issue 14: kills during the adoption, rows set aside -------------------------------------------


BULK_METRICS = LEGACY_BULK_METRICS
_bulk = add_legacy_bulk_metrics  # the adoption's transaction then leaves a hot journal


@pytest.mark.parametrize("point", adoption.KILL_POINTS)
def test_an_adoption_killed_at_each_point_is_finished_by_the_next_start(
    legacy_home: Path, point: str
) -> None:
    """Before: a kill with ``db.sqlite-journal`` hot left every later start failing with
    "attempt to write a readonly database" (the survey and status read through read-only
    connections, which cannot roll a hot journal back)."""
    _bulk(legacy_home)
    proc = run_migrate(legacy_home, **{adoption.KILL_ENV: point})
    assert proc.returncode == -9, proc.stdout + proc.stderr
    again = run_migrate(legacy_home)
    assert again.returncode == 0, again.stdout + again.stderr
    expected = {t: n - (1 if t == "global_explainer" else 0) for t, n in LEGACY_COUNTS.items()}
    expected["metric"] += BULK_METRICS
    assert counts(legacy_home / "db.sqlite") == expected
    assert sqlite3.connect(legacy_home / "db.sqlite").execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert not (legacy_home / ".dashai-adoption").exists()
    with open_store(legacy_home):
        assert datasets.load_table(1).num_rows == 150
        assert runs.load_model(1)["max_depth"] == 6


def test_a_hot_journal_is_rolled_back_by_status_and_the_dry_run(legacy_home: Path) -> None:
    _bulk(legacy_home)
    proc = run_migrate(legacy_home, **{adoption.KILL_ENV: "rebuilt"})
    assert proc.returncode == -9
    assert (legacy_home / "db.sqlite-journal").read_bytes()[:8] == bytes.fromhex("d9d505f920a163d7")  # hot
    status = run_migrate(legacy_home, "--status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "legacy DashAI database" in status.stdout
    assert run_migrate(legacy_home, "--dry-run").returncode == 0
    assert run_migrate(legacy_home).returncode == 0


def _set_aside_home(legacy_home: Path) -> tuple[int, str]:
    """A legacy dataset with an unknown status value, whose folder sits in datasets/."""
    conn = sqlite3.connect(legacy_home / "db.sqlite")
    try:
        row = conn.execute("SELECT id, file_path FROM dataset ORDER BY id DESC LIMIT 1").fetchone()
        conn.execute("UPDATE dataset SET status = 'WEIRD' WHERE id = ?", (row[0],))
        conn.commit()
    finally:
        conn.close()
    from dashai_store.legacy.convert import infer_old_root, rebase

    conn = sqlite3.connect(legacy_home / "db.sqlite")
    try:
        paths = [r[0] for r in conn.execute("SELECT file_path FROM dataset")]
    finally:
        conn.close()
    rel = rebase(row[1], infer_old_root(iter(paths), legacy_home))
    assert rel is not None and (legacy_home / rel).exists()
    return int(row[0]), rel


def test_files_of_rows_set_aside_go_to_the_backups_never_to_gc(legacy_home: Path) -> None:
    """Before: the set-aside dataset's folder stayed in datasets/, counted as unowned, and
    ``gc`` removed it; no copy was kept."""
    dataset_id, rel = _set_aside_home(legacy_home)
    legacy_bytes = {
        p.relative_to(legacy_home / rel).as_posix(): p.read_bytes()
        for p in (legacy_home / rel).rglob("*")
        if p.is_file()
    }
    with open_store(legacy_home):
        assert all(d.id != dataset_id for d in datasets.list())
        maintenance.gc(grace_s=0)
    report_path = next((legacy_home / "backups").glob("legacy-adoption-*.json"))
    report = json.loads(report_path.read_text())
    (entry,) = [q for q in report["quarantined"] if q["table"] == "dataset"]
    assert entry["row_id"] == dataset_id and entry["row"]["status"] == "WEIRD"
    assert entry["files"] == [rel]
    kept = next((legacy_home / "backups").glob("legacy-files-*")) / rel
    assert {
        p.relative_to(kept).as_posix(): p.read_bytes() for p in kept.rglob("*") if p.is_file()
    } == legacy_bytes
