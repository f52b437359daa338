"""scripts/migrate.py as the app runs it at every start: a real subprocess, exit codes,
its output, the read-only modes, and the cheap path (no pyarrow, plotly or joblib)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from migration_fixtures.support import (
    BASE,
    EXPECTED_TABLES,
    HEAD,
    MIGRATE_SCRIPT,
    PYTHON,
    REPO,
    TIMEOUT_S,
    connect,
    run_script,
    table_names,
    target_args,
    version_rows,
)

from dashai_store import __version__

HEAVY = ("pyarrow", "plotly", "joblib")


def _state(home: Path, url: str | None) -> tuple[list[str], list[tuple[object, ...]]]:
    db = connect(home, url)
    try:
        tables = table_names(db)
        return tables, version_rows(db) if "dashai_schema_migration" in tables else []
    finally:
        db.close()


def test_a_fresh_migrate_then_a_second_run_that_changes_nothing(home: Path, database_url: str | None) -> None:
    target = target_args(home, database_url)
    first = run_script(*target)
    assert first.returncode == 0, first.stdout + first.stderr
    lines = first.stdout.strip().splitlines()
    assert [re.sub(r" in \d+\.\d ms$", "", line) for line in lines[:-1]] == [f"applied {i}" for i in BASE]
    assert lines[-1] == f"schema version: {HEAD} ({len(BASE)} step(s) applied)"
    tables, versions = _state(home, database_url)
    assert tables == list(EXPECTED_TABLES)
    assert [v[1] for v in versions] == BASE
    db_bytes = (home / "db.sqlite").read_bytes() if database_url is None else b""

    second = run_script(*target)
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.strip().splitlines() == [f"schema version: {HEAD} (up to date)"]
    assert _state(home, database_url) == (tables, versions)
    if database_url is None:
        assert (home / "db.sqlite").read_bytes() == db_bytes
        assert not (home / "backups").exists()

    check = run_script(*target, "--check")
    assert check.returncode == 0 and "schema matches the models" in check.stdout, check.stdout


def test_dashai_home_is_the_default_home(home: Path) -> None:
    env = {**os.environ, "DASHAI_HOME": str(home)}
    proc = subprocess.run(
        [PYTHON, str(MIGRATE_SCRIPT)], capture_output=True, text=True, timeout=TIMEOUT_S, cwd=REPO, env=env
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (home / "db.sqlite").exists()


# -- the cheap path -----------------------------------------------------------------------------


def imported_modules(*args: str) -> tuple[int, set[str]]:
    """Run ``python -X importtime ARGS``; its exit code and every module it imported."""
    proc = subprocess.run(
        [PYTHON, "-X", "importtime", *args], capture_output=True, text=True, timeout=TIMEOUT_S, cwd=REPO
    )
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return proc.returncode, modules


def heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if m.split(".")[0] in HEAVY}


def test_the_import_probe_sees_a_heavy_import() -> None:
    code, modules = imported_modules("-c", "import joblib")
    assert code == 0 and "joblib" in heavy(modules)


@pytest.mark.parametrize("mode", [[], ["--status"], ["--check"], ["--history"]])
def test_an_up_to_date_start_imports_no_heavy_library(
    home: Path, database_url: str | None, mode: list[str]
) -> None:
    target = target_args(home, database_url)
    assert run_script(*target).returncode == 0
    code, modules = imported_modules(str(MIGRATE_SCRIPT), *target, *mode)
    assert code == 0
    assert "dashai_store.migrator" in modules  # the probe did see the script's imports
    assert heavy(modules) == set()


# -- the read-only modes --------------------------------------------------------------------------


def test_status_and_dry_run_on_a_fresh_store_write_nothing(home: Path, database_url: str | None) -> None:
    absent = home / "not-yet"
    target = target_args(absent, database_url)
    status = run_script(*target, "--status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "current version: (none)" in status.stdout
    assert all(f"pending: {i}" in status.stdout for i in BASE)
    assert f"{len(BASE)} step(s) pending" in status.stdout
    dry = run_script(*target, "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert all(f"would apply: {i}" in dry.stdout for i in BASE)
    assert not absent.exists()  # not even the home folder
    assert _state(home, database_url) == ([], [])


def test_status_and_dry_run_on_a_migrated_store(home: Path, database_url: str | None) -> None:
    target = target_args(home, database_url)
    assert run_script(*target).returncode == 0
    before = _state(home, database_url)
    for mode in ("--status", "--dry-run"):
        proc = run_script(*target, mode)
        assert proc.returncode == 0, proc.stdout
        assert f"current version: {HEAD}" in proc.stdout
        assert proc.stdout.strip().splitlines()[-1] == "up to date"
    assert _state(home, database_url) == before


def test_status_and_dry_run_refuse_a_database_not_made_by_dashai_store(
    home: Path, database_url: str | None
) -> None:
    db = connect(home, database_url)
    try:
        db.execute_sql("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        db.execute_sql("INSERT INTO notes (id, body) VALUES (1, 'keep me')")
    finally:
        db.close()
    before = _state(home, database_url)
    target = target_args(home, database_url)
    for mode in ("--status", "--dry-run"):
        proc = run_script(*target, mode)
        assert proc.returncode == 1, f"{mode}: {proc.stdout}{proc.stderr}"
        assert "refused:" in proc.stdout
        assert "up to date" not in proc.stdout
    assert _state(home, database_url) == before


def test_status_lists_steps_the_code_does_not_know_and_exits_3(home: Path, database_url: str | None) -> None:
    target = target_args(home, database_url)
    assert run_script(*target).returncode == 0
    db = connect(home, database_url)
    try:
        db.execute_sql(
            "INSERT INTO dashai_schema_migration "
            "(sequence, id, checksum, applied_at, library_version, duration_ms) "
            "VALUES (9999, '9999_future', '', '2100-01-01', '99.0', 0)"
        )
    finally:
        db.close()
    proc = run_script(*target, "--status")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "unknown step (newer code): 9999_future" in proc.stdout
    assert "refused: the database is newer than this code" in proc.stdout


def test_history_lists_the_applied_steps(home: Path, database_url: str | None) -> None:
    target = target_args(home, database_url)
    assert run_script(*target, "--history").stdout == ""
    assert run_script(*target).returncode == 0
    proc = run_script(*target, "--history")
    assert proc.returncode == 0
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == len(BASE)
    for sequence, (step_id, line) in enumerate(zip(BASE, lines, strict=True), start=1):
        assert re.match(rf"\s*{sequence} {step_id}\s+\d{{4}}-\d\d-\d\dT", line), line
        assert line.endswith(f"dashai_store {__version__}")


def test_check_fails_on_drift_and_on_a_store_not_migrated(home: Path, database_url: str | None) -> None:
    target = target_args(home, database_url)
    fresh = run_script(*target, "--check")
    assert fresh.returncode == 1 and "not applied" in fresh.stdout, fresh.stdout
    assert not (home / "db.sqlite").exists()
    assert run_script(*target).returncode == 0
    db = connect(home, database_url)
    try:
        db.execute_sql("DROP INDEX run_status")
    finally:
        db.close()
    proc = run_script(*target, "--check")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith("drift: table run: index/unique") and "run_status" in lines[0]
    assert lines[-1] == "1 difference(s)"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--status", "--check"], "not allowed with"),
        (["--dry-run", "--history"], "not allowed with"),
        (["--frobnicate"], "unrecognized arguments"),
        (["--lock-timeout", "soon"], "invalid float value"),
        (["positional"], "unrecognized arguments"),
        (["--database", "mysql://u@h/db"], "not a PostgreSQL URL"),
        (["--database", "postgresql://u@h"], "names no database"),
    ],
)
def test_bad_usage_exits_2(home: Path, args: list[str], message: str) -> None:
    proc = run_script("--home", str(home), *args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert list(home.iterdir()) == []


def test_help_exits_0_and_documents_the_exit_codes() -> None:
    proc = run_script("--help")
    assert proc.returncode == 0
    for text in ("--home", "--database", "--status", "--check", "--dry-run", "--history", "3 the database"):
        assert text in proc.stdout
