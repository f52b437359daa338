"""Issue 14, class 2: a home whose database is lost never silently becomes an empty store.

Before: truncating (or deleting) ``db.sqlite`` in a home with data made ``open_store``
create an empty store; ``check()`` then found every file unowned and ``gc()`` removed every
dataset and model. Now ``open_store``, ``scripts/migrate.py`` and the CLI refuse with
DatabaseLost (exit code 7) naming the backups; ``new_store=True`` starts empty anyway and
gc keeps the older files.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest

from dashai_store import datasets, errors, maintenance, open_store, runs
from dashai_store.maintenance.lost import NEW_STORE_MARK

REPO = Path(__file__).resolve().parents[1]


def _home_with_data(home: Path) -> list[Path]:
    """A store with a dataset and a model, a full backup, every file two hours old."""
    from helpers import plant_session

    with open_store(home):
        ds = datasets.create("d", pa.table({"x": [1, 2, 3], "y": [0, 1, 0]}))
        session = plant_session(ds.id)
        run = runs.create(session, "r", "SVC", {})
        runs.save_model(run.id, {"w": 1})
        maintenance.backup(home / "backups" / "full-1")
    data = [home / f"datasets/{ds.id}/data.arrow", home / f"runs/{run.id}/model.joblib"]
    old = time.time() - 7200
    for folder, dirs, names in os.walk(home):
        for name in dirs + names:
            os.utime(Path(folder) / name, (old, old))
    return data


def _lose(home: Path, how: str) -> None:
    for suffix in ("-wal", "-shm"):
        (home / f"db.sqlite{suffix}").unlink(missing_ok=True)
    if how == "truncated":
        (home / "db.sqlite").write_bytes(b"")
    else:
        (home / "db.sqlite").unlink()


@pytest.mark.parametrize("how", ["truncated", "deleted"])
def test_a_lost_database_is_refused_naming_the_backups(tmp_path: Path, how: str) -> None:
    home = tmp_path / "home"
    data = _home_with_data(home)
    _lose(home, how)
    before = sorted(p.name for p in home.iterdir())
    with pytest.raises(errors.DatabaseLost) as raised:
        open_store(home)
    message = str(raised.value)
    assert "full-1" in message and "dashai-store restore" in message and "new_store=True" in message
    assert raised.value.backups == (home / "backups" / "full-1",)
    with pytest.raises(errors.DatabaseLost):
        open_store(home, migrate=False)
    assert sorted(p.name for p in home.iterdir()) == before  # nothing written
    if how == "truncated":
        assert (home / "db.sqlite").stat().st_size == 0
    assert all(p.is_file() for p in data)


def test_a_new_store_over_lost_files_never_lets_gc_remove_them(tmp_path: Path) -> None:
    """The routine of the maintenance docstring, on a new store made explicitly."""
    home = tmp_path / "home"
    data = _home_with_data(home)
    _lose(home, "truncated")
    with open_store(home, new_store=True):
        assert (home / NEW_STORE_MARK).is_file()
        report = maintenance.check()
        assert {home / p for p in report.unowned_files} >= set(data)
        assert any("lost database" in a for a in maintenance.advice(report))
        result = maintenance.gc()
        assert result.removed_files == ()
        assert {p for p, _ in result.failed} >= set(data)
    assert all(p.is_file() for p in data)
    # a file written after the new store was made is the new store's to judge
    late = home / "datasets" / "77" / "junk.bin"
    late.parent.mkdir(parents=True)
    late.write_bytes(b"x")
    with open_store(home):
        assert late in maintenance.gc(grace_s=0).removed_files


def test_a_home_with_no_files_still_starts_empty(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "datasets").mkdir(parents=True)  # folders, but no file: nothing to lose
    with open_store(home):
        assert datasets.list() == []
    assert not (home / NEW_STORE_MARK).exists()


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=120, env=dict(os.environ)
    )


def test_the_command_line_exits_7_and_names_the_backups(tmp_path: Path) -> None:
    home = tmp_path / "home"
    data = _home_with_data(home)
    _lose(home, "deleted")
    for args in (
        ("scripts/migrate.py", "--home", str(home)),
        ("-m", "dashai_store", "check", "--home", str(home)),
        ("-m", "dashai_store", "gc", "--home", str(home)),
    ):
        proc = _run(*args)
        assert proc.returncode == 7, (args, proc.stdout, proc.stderr)
        said = proc.stdout + proc.stderr
        assert "full-1" in said and "dashai-store restore" in said, said
    assert not (home / "db.sqlite").exists() and all(p.is_file() for p in data)
    _lose_again = _run("scripts/migrate.py", "--home", str(home), "--new-store")
    assert _lose_again.returncode == 0, _lose_again.stdout
    proc = _run("-m", "dashai_store", "gc", "--home", str(home))
    assert all(p.is_file() for p in data), proc.stdout


def test_restoring_a_backup_into_a_home_whose_database_was_lost(tmp_path: Path) -> None:
    home = tmp_path / "home"
    data = _home_with_data(home)
    _lose(home, "deleted")
    proc = _run("-m", "dashai_store", "restore", "full-1", "--home", str(home))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open_store(home):
        assert maintenance.check(grace_s=0).ok
        assert [d.name for d in datasets.list()] == ["d"]
        assert runs.load_model(runs.list()[0].id) == {"w": 1}
    assert all(p.is_file() for p in data)
