"""The dashai-store command, run as a user would type it (real subprocesses)."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest
from helpers import file_tree, row_counts
from migration_fixtures.support import BASE, HEAD
from test_maintenance import age, age_tree, plant_store

from dashai_store import models
from dashai_store.cli import EXIT_FAILED, EXIT_NO_STORE, EXIT_NOT_FOUND, EXIT_OK, EXIT_TOO_NEW, EXIT_USAGE
from dashai_store.clock import utcnow
from dashai_store.database import Store

BIN = Path(sys.executable).parent
SCRIPT = str(BIN / "dashai-store")
COMMANDS = ("migrate", "status", "check", "gc", "backup", "export-metrics")


def run_cli(*args: str, module: bool = False, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``dashai-store ARGS`` (or ``python -m dashai_store ARGS``) in a clean environment."""
    command = [sys.executable, "-m", "dashai_store", *args] if module else [SCRIPT, *args]
    env = {k: v for k, v in os.environ.items() if k != "DASHAI_HOME"}
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)


def run_many(commands: list[list[str]]) -> list[subprocess.CompletedProcess[str]]:
    """Several independent commands at once (they only read, or fail before writing)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(commands)) as pool:
        return list(pool.map(lambda args: run_cli(*args), commands))


def target(store: Store, database_url: str | None) -> list[str]:
    return ["--home", str(store.home), *(["--database", database_url] if database_url else [])]


# -- help and usage -----------------------------------------------------------------------------


def test_help_lists_every_command_and_the_exit_codes() -> None:
    started = time.perf_counter()
    result = run_cli("--help")
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    for command in COMMANDS:
        assert command in result.stdout
    assert "Exit codes" in result.stdout
    assert elapsed < 5  # generous for a loaded machine; the import check below is the real guard


def test_help_imports_no_heavy_module() -> None:
    code = (
        "import sys\n"
        "from dashai_store import cli\n"
        "assert cli.main(['--help']) == 0\n"
        "names = ('pyarrow', 'joblib', 'plotly', 'dashai_store.maintenance')\n"
        "heavy = [m for m in names if m in sys.modules]\n"
        "print(heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_home_and_database(command: str) -> None:
    result = run_cli(command, "--help")
    assert result.returncode == 0, result.stderr
    assert "--home" in result.stdout and "--database" in result.stdout
    if command != "migrate":
        assert "--json" in result.stdout


@pytest.mark.parametrize(
    "args", [(), ("frobnicate",), ("export-metrics", "abc", "--output", "x.csv"), ("gc", "--grace", "soon")]
)
def test_bad_usage_exits_2(args: tuple[str, ...]) -> None:
    assert run_cli(*args).returncode == EXIT_USAGE


# -- migrate and status ---------------------------------------------------------------------------


def test_migrate_then_status(tmp_path: Path, database_url: str | None) -> None:
    home = tmp_path / "new-home"
    db_args = ["--database", database_url] if database_url else []
    result = run_cli("migrate", "--home", str(home), *db_args, module=True)
    assert result.returncode == EXIT_OK, result.stderr + result.stdout
    assert f"schema version: {HEAD}" in result.stdout
    assert all(f"applied {i}" in result.stderr for i in BASE)  # per-step progress
    again = run_cli("migrate", "--home", str(home), *db_args, "--status")
    assert again.returncode == EXIT_OK and "up to date" in again.stdout
    status = run_cli("status", "--home", str(home), *db_args, "--json")
    assert status.returncode == EXIT_OK, status.stderr
    document = json.loads(status.stdout)
    assert document["schema"] == {"head": HEAD, "pending": [], "unknown": [], "up_to_date": True}
    assert document["tables"]["run"] == 0 and document["backend"] == (
        "postgresql" if database_url else "sqlite"
    )


def test_status_counts_rows(store: Store, database_url: str | None) -> None:
    plant_store()
    result = run_cli("status", *target(store, database_url), "--json")
    assert result.returncode == EXIT_OK, result.stderr
    document = json.loads(result.stdout)
    assert document["tables"] == row_counts(store.db)
    assert document["home"] == str(store.home)
    assert document["files"]["count"] == len(file_tree(store.home))  # all under the store's folders
    assert document["database_bytes"] > 0
    text = run_cli("status", *target(store, database_url))
    assert text.returncode == EXIT_OK and HEAD in text.stdout and "dataset" in text.stdout


# -- check, gc, backup ----------------------------------------------------------------------------


def test_check_and_gc_from_the_command_line(store: Store, database_url: str | None) -> None:
    planted = plant_store()
    age_tree(store.home)
    clean = run_cli("check", *target(store, database_url))
    assert clean.returncode == EXIT_OK, clean.stdout + clean.stderr
    assert clean.stdout.strip().endswith("ok")
    junk = age(_write(store.home / "datasets" / str(planted.ids["dataset"]) / "junk.bin", b"junk"))
    models.PendingDeletion.create(path="runs/777", created=utcnow())

    found = run_cli("check", *target(store, database_url), "--json")
    assert found.returncode == EXIT_FAILED
    report = json.loads(found.stdout)
    assert report["ok"] is False
    assert report["unowned_files"] == [f"datasets/{planted.ids['dataset']}/junk.bin"]
    assert report["pending_deletions"] == ["runs/777"]  # check reports, does not finish them

    dry = run_cli("gc", *target(store, database_url), "--dry-run", "--json")
    assert dry.returncode == EXIT_OK and json.loads(dry.stdout)["removed_files"] == report["unowned_files"]
    assert junk.exists()

    before = file_tree(store.home)
    gc = run_cli("gc", *target(store, database_url), "--json")
    assert gc.returncode == EXIT_OK, gc.stderr
    done = json.loads(gc.stdout)
    assert done["removed_files"] == report["unowned_files"] and done["finished_deletions"] == ["runs/777"]
    assert not junk.exists()
    del before[f"datasets/{planted.ids['dataset']}/junk.bin"]
    assert file_tree(store.home) == before
    assert run_cli("check", *target(store, database_url)).returncode == EXIT_OK


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_backup_from_the_command_line(store: Store, database_url: str | None, tmp_path: Path) -> None:
    plant_store()
    dest = tmp_path / "backup"
    result = run_cli("backup", str(dest), *target(store, database_url), "--json")
    assert result.returncode == EXIT_OK, result.stderr
    document = json.loads(result.stdout)
    assert document["ok"] and document["path"] == str(dest)
    assert "backup: files" in result.stderr  # progress
    if database_url:
        assert document["database"] is None and "pg_dump" in document["note"]
        return
    assert "backup: database" in result.stderr
    checked = run_cli("check", "--home", str(dest), "--grace", "0")
    assert checked.returncode == EXIT_OK, checked.stdout
    status = json.loads(run_cli("status", "--home", str(dest), "--json").stdout)
    assert status["tables"] == row_counts(store.db)
    again = run_cli("backup", str(dest), *target(store, database_url))
    assert again.returncode == EXIT_USAGE and "not an empty folder" in again.stderr


# -- export-metrics -------------------------------------------------------------------------------


def _log_metrics(run_id: int) -> list[tuple[str, str, str, int, float]]:
    points = [
        ("accuracy", "VALIDATION", "LAST", 0, 0.75),
        ("loss", "TRAIN", "STEP", 0, 1.5),
        ("loss", "TRAIN", "STEP", 1, math.nan),
        ("loss", "TRAIN", "STEP", 2, math.inf),
    ]
    now = utcnow()
    models.Metric.insert_many(
        [
            {"run": run_id, "name": n, "split": s, "level": lv, "step": st, "value": v, "timestamp": now}
            for n, s, lv, st, v in points
        ]
    ).execute()
    return points


def test_export_metrics_as_csv_and_arrow(store: Store, database_url: str | None, tmp_path: Path) -> None:
    run_id = plant_store().ids["run"]
    points = _log_metrics(run_id)

    out_csv = tmp_path / "m.csv"
    result = run_cli(
        "export-metrics", str(run_id), "--output", str(out_csv), *target(store, database_url), "--json"
    )
    assert result.returncode == EXIT_OK, result.stderr
    assert json.loads(result.stdout) == {"run_id": run_id, "rows": 4, "format": "csv", "output": str(out_csv)}
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text())))
    got = {(r["name"], r["split"], r["level"], int(r["step"])): float(r["value"]) for r in rows}
    assert set(got) == {p[:4] for p in points}
    assert got[("loss", "TRAIN", "STEP", 0)] == 1.5 and math.isnan(got[("loss", "TRAIN", "STEP", 1)])
    assert got[("loss", "TRAIN", "STEP", 2)] == math.inf

    out_arrow = tmp_path / "m.arrow"
    arrow = run_cli(
        "export-metrics", str(run_id), "--format", "arrow", "-o", str(out_arrow), *target(store, database_url)
    )
    assert arrow.returncode == EXIT_OK, arrow.stderr
    table = pa.ipc.open_file(pa.memory_map(str(out_arrow))).read_all()
    assert table.num_rows == 4 and {"name", "split", "level", "step", "value", "timestamp"} <= set(
        table.column_names
    )
    values = dict(zip(table.column("step").to_pylist(), table.column("value").to_pylist(), strict=False))
    assert math.isnan(values[1]) and values[2] == math.inf

    stdout = run_cli("export-metrics", str(run_id), "--output", "-", *target(store, database_url))
    assert stdout.returncode == EXIT_OK and stdout.stdout.splitlines()[0].startswith('"id"')
    assert len(stdout.stdout.splitlines()) == 5


def test_export_metrics_of_an_unknown_run_exits_5(
    store: Store, database_url: str | None, tmp_path: Path
) -> None:
    out = tmp_path / "m.csv"
    result = run_cli(
        "export-metrics", "999999", "--output", str(out), *target(store, database_url), module=True
    )
    assert result.returncode == EXIT_NOT_FOUND
    assert "run 999999 does not exist" in result.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == [store.home]


# -- bad homes --------------------------------------------------------------------------------------


def _bad_home_commands(home: Path, tmp_path: Path) -> list[list[str]]:
    h = ["--home", str(home)]
    return [
        ["status", *h],
        ["check", *h],
        ["gc", *h],
        ["backup", str(tmp_path / "bk"), *h],
        ["export-metrics", "1", "--output", str(tmp_path / "m.csv"), *h],
    ]


def test_a_home_that_is_a_file_exits_4(tmp_path: Path) -> None:
    home = tmp_path / "home-file"
    home.write_text("not a folder")
    commands = [*_bad_home_commands(home, tmp_path), ["migrate", "--home", str(home)]]
    for args, result in zip(commands, run_many(commands), strict=True):
        assert result.returncode == EXIT_NO_STORE, (args, result.stderr)
        assert "is not a folder" in result.stderr
    assert home.read_text() == "not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home-file"]


def test_a_missing_home_exits_4_and_is_not_created(tmp_path: Path) -> None:
    home = tmp_path / "nowhere"
    commands = _bad_home_commands(home, tmp_path)
    for args, result in zip(commands, run_many(commands), strict=True):
        assert result.returncode == EXIT_NO_STORE, (args, result.stderr)
        assert "no store at" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_database_that_is_not_sqlite_exits_4_untouched(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    garbage = b"this is not a database at all, just some text" * 20
    (home / "db.sqlite").write_bytes(garbage)
    commands = [*_bad_home_commands(home, tmp_path), ["migrate", "--home", str(home)]]
    for args, result in zip(commands, run_many(commands), strict=True):
        assert result.returncode == EXIT_NO_STORE, (args, result.stderr)
        assert "is not a SQLite database" in result.stderr
    assert (home / "db.sqlite").read_bytes() == garbage
    assert sorted(p.name for p in home.iterdir()) == ["db.sqlite"]


def test_an_unreachable_postgres_exits_4(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    url = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"
    for args in (["status"], ["check"]):
        result = run_cli(*args, "--home", str(home), "--database", url)
        assert result.returncode == EXIT_NO_STORE, result.stderr
        assert "Traceback" not in result.stderr


def test_a_database_from_a_newer_version_exits_3(sqlite_store: Store) -> None:
    sqlite_store.db.execute_sql(
        "INSERT INTO dashai_schema_migration "
        "(sequence, id, checksum, applied_at, library_version, duration_ms) "
        "VALUES (9999, '9999_future', '', '2100-01-01', '99.0', 0)"
    )
    home = ["--home", str(sqlite_store.home)]
    assert run_cli("check", *home).returncode == EXIT_TOO_NEW
    status = run_cli("status", *home)
    assert status.returncode == EXIT_TOO_NEW
    assert "up to date" not in status.stdout
    assert "made by a newer dashai_store (unknown steps: 9999_future)" in status.stdout
    document = json.loads(run_cli("status", "--json", *home).stdout)
    assert document["schema"]["up_to_date"] is False
    assert document["schema"]["unknown"] == ["9999_future"]
    assert run_cli("migrate", *home).returncode == EXIT_TOO_NEW


def test_the_grace_default_is_the_library_default() -> None:
    from dashai_store import maintenance
    from dashai_store.cli import build_parser

    for command in ("check", "gc"):
        assert build_parser().parse_args([command]).grace == maintenance.GRACE_S
