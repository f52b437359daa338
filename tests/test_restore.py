"""dashai-store backups / restore: listing backups and putting one back, on real files (SQLite).

The legacy round trip uses a copy of the real legacy DashAI fixture: adopt it, restore the
pre-adoption backup, and the home must be the old DashAI home again (its database row for
row, every file its rows name at its old path), then adopt cleanly a second time.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from helpers import file_tree, plant_dataset
from test_cli import run_cli

from dashai_store import errors, maintenance, models, open_store
from dashai_store.cli import EXIT_FAILED, EXIT_OK, EXIT_TOO_NEW, EXIT_USAGE
from dashai_store.database import current
from dashai_store.maintenance import restore as restoring
from dashai_store.migrator import default_steps
from dashai_store.preflight import check_and_back_up

FIXTURE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "dashai-legacy-home"
if not FIXTURE.is_dir():  # the checkout may sit elsewhere; the shared folder does not move
    FIXTURE = Path("/work/shared/fixtures/dashai-legacy-home")
needs_fixture = pytest.mark.skipif(not FIXTURE.is_dir(), reason="legacy DashAI fixture not available")
FAKE_ROOT = "/home/alice/.DashAI/"


@pytest.fixture(autouse=True)
def _no_injected_failure() -> Iterator[None]:
    yield
    restoring.fail_at = None


HEAD = default_steps()[-1].id  # the schema version a fresh store is at


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def dataset_names(db_path: Path) -> list[str]:
    with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
        return [r[0] for r in conn.execute("SELECT name FROM dataset ORDER BY id")]


def pre_migration_backup(home: Path, version: str | None = None) -> Path:
    """A backup exactly as the migration runner writes it (its own preflight function)."""
    stamp = datetime.now(timezone.utc).strftime(restoring.STAMP_FORMAT)
    name = f"db-{stamp}-{version or HEAD}.sqlite"
    return check_and_back_up(current().db, home / "db.sqlite", home, name, action="migrated")


@pytest.fixture
def home_with_backup(home: Path) -> tuple[Path, Path]:
    """A store whose backup holds dataset "before"; the live database has "after" too."""
    with open_store(home):
        plant_dataset("before")
        backup = pre_migration_backup(home)
        plant_dataset("after")
    return home, backup


def legacy_copy(tmp_path: Path) -> Path:
    home = tmp_path / "legacy"
    shutil.copytree(FIXTURE, home)
    for folder, dirs, names in os.walk(home):  # the fixture is read-only
        for name in [*dirs, *names]:
            os.chmod(Path(folder) / name, 0o755 if name in dirs else 0o644)
    os.chmod(home, 0o755)
    return home


def legacy_rows(db_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                "ORDER BY name"
            )
        ]
        return {t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}


def legacy_paths(db_path: Path) -> set[str]:
    """Every home-relative file path the legacy database names (absolute under the fake root)."""
    found: set[str] = set()
    for table, rows in legacy_rows(db_path).items():
        for row in rows:
            for value in row:
                if isinstance(value, str) and value.startswith(FAKE_ROOT):
                    found.add(value[len(FAKE_ROOT) :])
                elif table == "process_data" and isinstance(value, str) and value.endswith(".png"):
                    found.add(value if "/" in value else f"images/{value}")
    return found


def home_files(home: Path) -> dict[str, bytes]:
    tree = file_tree(home)
    return {rel: data for rel, data in tree.items() if not rel.startswith("backups/") and "lock" not in rel}


# -- listing ------------------------------------------------------------------------------------------------


def test_backups_lists_every_kind_with_time_version_and_size(home: Path, tmp_path: Path) -> None:
    with open_store(home):
        plant_dataset("one")
        pre = pre_migration_backup(home)
        full = maintenance.backup(home / "backups" / "manual")
    assert maintenance.backups(tmp_path / "nowhere") == ()
    (home / "backups" / "notes.txt").write_text("not a backup")
    (home / "backups" / ".db-20260101T000000000000Z-x.sqlite.tmp").write_bytes(b"half")
    entries = {e.kind: e for e in maintenance.backups(home)}
    assert set(entries) == {"pre-migration", "full backup"}
    assert entries["pre-migration"].path == pre and entries["pre-migration"].version == HEAD
    assert entries["pre-migration"].size == pre.stat().st_size
    assert entries["full backup"].path == full.path and entries["full backup"].version == HEAD
    assert entries["full backup"].files == full.files and entries["full backup"].size > full.bytes
    for entry in entries.values():
        assert (
            entry.created is not None
            and abs((datetime.now(timezone.utc) - entry.created).total_seconds()) < 600
        )

    result = run_cli("backups", "--home", str(home), "--json")
    assert result.returncode == EXIT_OK, result.stderr
    listed = json.loads(result.stdout)["backups"]
    assert {b["kind"] for b in listed} == {"pre-migration", "full backup"}
    text = run_cli("backups", "--home", str(home))
    assert "pre-migration" in text.stdout and "backups/manual" in text.stdout


@needs_fixture
def test_backups_lists_a_legacy_backup_with_its_files(tmp_path: Path) -> None:
    home = legacy_copy(tmp_path)
    with open_store(home):
        pass
    (entry,) = maintenance.backups(home)
    assert entry.kind == "legacy" and entry.version == "d0e5a6c7b8d1"
    assert entry.legacy_files is not None and entry.legacy_files.name.startswith("legacy-files-")
    assert entry.legacy_report is not None and entry.legacy_report.is_file()
    assert entry.files > 20 and entry.size > entry.database.stat().st_size


# -- restoring a database backup --------------------------------------------------------------------------


def test_restore_puts_the_backup_in_place_and_keeps_the_current_database(
    home_with_backup: tuple[Path, Path],
) -> None:
    home, backup = home_with_backup
    before = digest(home / "db.sqlite")
    result = restoring.restore(backup, home=home)
    assert result.kind == "pre-migration" and result.version == HEAD
    assert dataset_names(home / "db.sqlite") == ["before"]
    assert result.previous is not None and result.previous.parent == home / "backups"
    assert result.previous.name.endswith("-before-restore.sqlite")
    assert digest(result.previous) == before and dataset_names(result.previous) == ["before", "after"]
    assert not (home / "db.sqlite-wal").exists()
    assert backup.is_file()  # the backup itself stays
    with open_store(home):
        assert [d.name for d in models.Dataset.select()] == ["before"]
    # the database set aside is itself restorable: the restore can be undone
    assert "before-restore" in {e.kind for e in maintenance.backups(home)}
    restoring.restore(result.previous.name, home=home)
    assert dataset_names(home / "db.sqlite") == ["before", "after"]


def test_restore_accepts_a_valid_database_outside_backups(
    home_with_backup: tuple[Path, Path], tmp_path: Path
) -> None:
    home, backup = home_with_backup
    elsewhere = tmp_path / "kept" / "copy.sqlite"
    elsewhere.parent.mkdir()
    shutil.copyfile(backup, elsewhere)
    result = run_cli("restore", str(elsewhere), "--home", str(home), "--json")
    assert result.returncode == EXIT_OK, result.stderr
    assert json.loads(result.stdout)["kind"] == "database"
    assert dataset_names(home / "db.sqlite") == ["before"]


def test_restore_of_a_full_backup_brings_back_missing_files(home: Path, tmp_path: Path) -> None:
    with open_store(home):
        ds_id = plant_dataset("kept", table=pa.table({"x": [1, 2, 3]}))
        path = models.Dataset.get_by_id(ds_id).file_path
        full = maintenance.backup(tmp_path / "full")
    lost = home / path
    original = lost.read_bytes()
    lost.unlink()
    result = restoring.restore(full.path, home=home)
    assert result.kind == "full backup" and path in result.placed
    assert lost.read_bytes() == original
    with open_store(home):
        assert maintenance.check(grace_s=0).ok


def test_backups_lists_newest_first_and_counts_the_files_a_restore_set_aside(
    home: Path, tmp_path: Path
) -> None:
    with open_store(home):
        plant_dataset("kept", table=pa.table({"x": list(range(1000))}))
        full = maintenance.backup(tmp_path / "full")
    restoring.restore(full.path, home=home)
    aside = next(e for e in maintenance.backups(home) if e.kind == restoring.KIND_BEFORE_RESTORE)
    assert (aside.files, aside.size) == (0, aside.database.stat().st_size)
    # What a legacy restore sets aside beside the database counts with it.
    stamp = aside.database.name.removeprefix("db-").removesuffix("-before-restore.sqlite")
    files_aside = home / "backups" / f"files-{stamp}-before-restore" / "runs" / "1"
    files_aside.parent.mkdir(parents=True)
    files_aside.write_bytes(b"x" * 321)
    older = home / "backups" / "db-20200101T000000000000Z-0001_initial.sqlite"
    shutil.copyfile(aside.database, older)
    time.sleep(1.1)  # a full backup's time is kept to the second
    with open_store(home):  # the newest, with a name that sorts first: order is by time
        newest = maintenance.backup(home / "backups" / "a-manual")

    listed = maintenance.backups(home)

    again = next(e for e in listed if e.kind == restoring.KIND_BEFORE_RESTORE)
    assert (again.files, again.size) == (1, aside.size + 321)
    created = [e.created for e in listed]
    assert None not in created and created == sorted(created, reverse=True)  # type: ignore[type-var]
    assert (listed[0].path, listed[-1].path) == (newest.path, older)


# -- refusals: nothing changes ------------------------------------------------------------------------------


@contextmanager
def unchanged(home: Path) -> Iterator[None]:
    db_before = digest(home / "db.sqlite")
    tree_before = home_files(home)
    listed_before = maintenance.backups(home)
    yield
    assert digest(home / "db.sqlite") == db_before
    assert home_files(home) == tree_before
    assert maintenance.backups(home) == listed_before
    assert not [p for p in home.iterdir() if p.name.endswith(".tmp")]


def test_restore_refuses_bad_input_with_a_typed_error(
    home_with_backup: tuple[Path, Path], tmp_path: Path
) -> None:
    home, _backup = home_with_backup
    text = tmp_path / "notes.sqlite"
    text.write_text("hello, not a database\n" * 10)
    folder = tmp_path / "folder"
    folder.mkdir()
    foreign = tmp_path / "foreign.sqlite"
    with closing(sqlite3.connect(foreign)) as conn:
        conn.execute("CREATE TABLE t (x)")
    cases: list[tuple[Path, type[errors.StoreError], str]] = [
        (tmp_path / "absent.sqlite", errors.NotFound, "does not exist"),
        (text, errors.ValidationError, "not a SQLite database"),
        (folder, errors.ValidationError, "folder"),
        (foreign, errors.ValidationError, "neither a dashai_store nor a DashAI"),
    ]
    for path, error, words in cases:
        with unchanged(home):
            with pytest.raises(error, match=words):
                restoring.restore(path, home=home)
            result = run_cli("restore", str(path), "--home", str(home))
        assert result.returncode == EXIT_USAGE, (path, result.stderr)
        assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_restore_refuses_a_corrupt_backup(home_with_backup: tuple[Path, Path]) -> None:
    home, backup = home_with_backup
    corrupt = home / "backups" / backup.name.replace(HEAD, f"{HEAD}-damaged")
    shutil.copyfile(backup, corrupt)
    with closing(sqlite3.connect(corrupt)) as conn:  # an index that no longer matches its table
        conn.execute("CREATE INDEX damaged ON dataset (name)")
        conn.commit()
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute(
            "UPDATE sqlite_master SET sql = 'CREATE INDEX damaged ON dataset (id)' WHERE name = 'damaged'"
        )
        conn.commit()
    with unchanged(home):
        with pytest.raises(errors.FileIntegrityError, match="integrity check"):
            restoring.restore(corrupt, home=home)
        result = run_cli("restore", str(corrupt), "--home", str(home))
    assert result.returncode == EXIT_FAILED, result.stderr
    assert "nothing was changed" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_restore_refuses_a_backup_from_a_newer_version(home_with_backup: tuple[Path, Path]) -> None:
    home, backup = home_with_backup
    newer = home / "backups" / backup.name.replace(HEAD, "0099_future")
    shutil.copyfile(backup, newer)
    with closing(sqlite3.connect(newer)) as conn:
        conn.execute(
            "INSERT INTO dashai_schema_migration VALUES (99, '0099_future', '', '2030-01-01', '9.9', 1.0)"
        )
        conn.commit()
    with unchanged(home):
        with pytest.raises(errors.SchemaTooNew, match="0099_future"):
            restoring.restore(newer, home=home)
        result = run_cli("restore", newer.name, "--home", str(home))
    assert result.returncode == EXIT_TOO_NEW, result.stderr


HOLD_STORE = """
import sys, time
from dashai_store import open_store, datasets
with open_store(sys.argv[1]):
    datasets.list()
    print("ready", flush=True)
    time.sleep(60)
"""

HOLD_LOCK = """
import sys, time
from pathlib import Path
from dashai_store.locks import file_lock
with file_lock(Path(sys.argv[1]) / "db.sqlite.migrate.lock", 5, "migration"):
    print("ready", flush=True)
    time.sleep(60)
"""


@pytest.mark.parametrize("holder", [HOLD_STORE, HOLD_LOCK], ids=["store-open", "migration-lock"])
def test_restore_refuses_while_another_process_uses_the_store(
    home_with_backup: tuple[Path, Path], holder: str
) -> None:
    home, backup = home_with_backup
    process = subprocess.Popen(
        [sys.executable, "-c", holder, str(home)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        with unchanged(home):
            with pytest.raises(errors.StoreBusy, match=r"(?i)nothing was restored"):
                restoring.restore(backup, home=home)
            result = run_cli("restore", str(backup), "--home", str(home))
        assert result.returncode == EXIT_FAILED and "restored" in result.stderr
    finally:
        process.kill()
        process.wait()
    restoring.restore(backup, home=home)  # once the other process is gone
    assert dataset_names(home / "db.sqlite") == ["before"]


def test_a_failure_after_the_aside_step_puts_the_current_database_back(
    home_with_backup: tuple[Path, Path],
) -> None:
    home, backup = home_with_backup
    for point in ("after-aside", "after-files"):
        restoring.fail_at = point
        with unchanged(home):
            with pytest.raises(RuntimeError, match=point):
                restoring.restore(backup, home=home)
        assert not list((home / "backups").glob("*before-restore*"))
    restoring.fail_at = None
    assert dataset_names(home / "db.sqlite") == ["before", "after"]


def test_a_failure_keeps_the_wal_with_its_database(home_with_backup: tuple[Path, Path]) -> None:
    """A database left with a -wal (its process was killed) goes aside, and back, with it."""
    home, backup = home_with_backup
    script = (
        "import os, sys, sqlite3\n"
        "c = sqlite3.connect(sys.argv[1])\n"
        "c.execute('PRAGMA journal_mode=wal'); c.execute('PRAGMA wal_autocheckpoint=0')\n"
        "c.execute(\"UPDATE dataset SET name = 'renamed' WHERE name = 'after'\"); c.commit()\n"
        "os._exit(0)\n"  # no close: the committed change stays in the -wal
    )
    subprocess.run([sys.executable, "-c", script, str(home / "db.sqlite")], check=True)
    assert (home / "db.sqlite-wal").stat().st_size > 0
    restoring.fail_at = "after-aside"
    with pytest.raises(RuntimeError):
        restoring.restore(backup, home=home)
    assert dataset_names(home / "db.sqlite") == ["before", "renamed"]
    restoring.fail_at = None
    result = restoring.restore(backup, home=home)
    assert result.previous is not None and dataset_names(result.previous) == ["before", "renamed"]


# -- the way back to the old DashAI -----------------------------------------------------------------------


@needs_fixture
def test_legacy_round_trip_gives_back_the_old_dashai_home(tmp_path: Path) -> None:
    home = legacy_copy(tmp_path)
    original_rows = legacy_rows(FIXTURE / "db.sqlite")
    original_files = home_files(FIXTURE)
    referenced = legacy_paths(FIXTURE / "db.sqlite")
    present = {rel for rel in referenced if (FIXTURE / rel).exists()}
    assert len(referenced) == 24 and referenced - present == {"runs/contour_plot_1.pickle"}
    assert (FIXTURE / "runs" / "1").is_file()

    with open_store(home):  # the adoption: runs/1 becomes a folder of the new layout
        plant_dataset("made after the adoption")
    assert (home / "runs" / "1").is_dir()
    (legacy,) = [e for e in maintenance.backups(home) if e.kind == "legacy"]

    result = run_cli("restore", str(legacy.path), "--home", str(home), "--json")
    assert result.returncode == EXIT_OK, result.stderr
    report = json.loads(result.stdout)
    assert report["kind"] == "legacy" and report["version"] == "d0e5a6c7b8d1"
    assert "runs/1" in report["set_aside"]

    assert legacy_rows(home / "db.sqlite") == original_rows  # the alembic database, row for row
    for rel in present:
        assert (home / rel).exists(), rel  # a file, or a dataset's folder
    assert (home / "runs" / "1").read_bytes() == (FIXTURE / "runs" / "1").read_bytes()
    restored = home_files(home)
    assert {rel: restored.get(rel) for rel in original_files} == original_files
    previous = Path(report["previous"])
    assert "made after the adoption" in dataset_names(previous)  # kept, not lost
    aside = Path(report["set_aside_folder"])
    assert (aside / "runs" / "1" / "model.joblib").is_file()

    # The next start adopts the old home again, cleanly: nothing to gc, nothing missing but
    # the file the fixture lacks from the start.
    with open_store(home):
        check = maintenance.check(grace_s=0)
        assert [m.path for m in check.missing_files] == [home / "runs" / "contour_plot_1.pickle"]
        assert check.unowned_files == () and check.stale_temp_files == ()
        assert not any("`dashai-store gc`" in line for line in maintenance.advice(check))
        assert models.Run.select().count() == 5


@needs_fixture
def test_legacy_restore_failure_leaves_the_adopted_home_as_it_was(tmp_path: Path) -> None:
    home = legacy_copy(tmp_path)
    with open_store(home):
        pass
    (legacy,) = maintenance.backups(home)
    for point in ("after-aside", "after-files"):
        restoring.fail_at = point
        with unchanged(home):
            with pytest.raises(RuntimeError):
                restoring.restore(legacy.path, home=home)
    restoring.fail_at = None
    with open_store(home):
        assert models.Run.select().count() == 5
        assert maintenance.check(grace_s=0).unowned_files == ()


@needs_fixture
def test_check_never_sends_missing_files_to_gc(tmp_path: Path) -> None:
    """The old hand-typed way back: cp the adoption backup over db.sqlite. The next start adopts
    it a second time with its files gone (they were moved into the layout); check must not
    recommend gc, which would then remove the real files it finds unowned."""
    home = legacy_copy(tmp_path)
    with open_store(home):
        pass
    (legacy,) = maintenance.backups(home)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{home / 'db.sqlite'}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(legacy.path, home / "db.sqlite")
    with open_store(home):
        report = maintenance.check(grace_s=0)
    assert report.missing_files and not report.ok
    advice = maintenance.advice(report)
    missing_advice = [a for a in advice if "missing" in a]
    assert missing_advice and "do NOT run gc" in missing_advice[0]
    result = run_cli("check", "--home", str(home), "--grace", "0", "--json")
    assert result.returncode == EXIT_FAILED
    advice_lines = json.loads(result.stdout)["advice"]
    assert any("missing" in line and "do NOT run gc" in line for line in advice_lines)


@pytest.mark.parametrize("point", restoring.KILL_POINTS)
def test_a_restore_killed_at_each_step_leaves_a_database_that_opens(
    home_with_backup: tuple[Path, Path], point: str
) -> None:
    """Issue 14: before, a kill after the current database was renamed aside left the
    home with no database at all (the next start made an empty store)."""
    home, backup = home_with_backup
    proc = subprocess.run(
        [sys.executable, "-m", "dashai_store", "restore", str(backup), "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, restoring.KILL_ENV: point},
    )
    assert proc.returncode == -9, proc.stdout + proc.stderr
    assert (home / "db.sqlite").is_file()
    assert dataset_names(home / "db.sqlite") == ["before", "after"]  # the old one, whole
    with open_store(home):
        assert maintenance.check(grace_s=0).ok
    assert run_cli("restore", str(backup), "--home", str(home)).returncode == EXIT_OK
    assert dataset_names(home / "db.sqlite") == ["before"]
    assert not list(home.glob(".db.sqlite.restore-*.tmp"))  # the killed one's copy is gone too
