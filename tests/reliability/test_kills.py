"""Issue 14: SIGKILL during the adoption, a backup, a restore and gc; seeded, replayable.

Each workload runs a real subprocess and kills it at a random moment within the time an
uninterrupted run took (``DASHAI_CRASH_SEED`` replays a run; the seed is printed and in
the figures; ``DASHAI_HOSTILE_KILLS`` kills per workload, default 4). After each kill:

* adoption (half the kills at its own steps, ``DASHAI_STORE_TEST_KILL_ADOPTION``; a
  legacy home whose rebuild spills the page cache, so a kill can leave
  ``db.sqlite-journal`` hot): the next start adopts, every legacy row is there, the
  database passes integrity_check, and no staging folder is left;
* backup: the live store still checks ok, ``check`` lists what the kill left in
  ``partial_backups`` (nothing else), ``gc`` removes it, and the destination is either
  absent or a whole backup that opens and loads every row's file;
* restore (half the kills at its own steps, ``DASHAI_STORE_TEST_KILL_RESTORE``):
  ``db.sqlite`` is whole (the old database or the restored one, never none), the
  store opens, and a second restore completes;
* gc: every row's file still loads, and a second gc leaves ``check`` ok.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from helpers import LEGACY_BULK_METRICS, add_legacy_bulk_metrics, plant_session

from dashai_store import datasets, maintenance, open_store, runs
from dashai_store.legacy import adoption
from dashai_store.maintenance import restore as restoring

from ._support import PYTHON, REPO, env_int, seed_from, sqlite_problems

KILLS = env_int("DASHAI_HOSTILE_KILLS", 4)
SEED = seed_from("DASHAI_CRASH_SEED")
FIXTURE = REPO.parent / "shared" / "fixtures" / "dashai-legacy-home"
if not FIXTURE.is_dir():
    FIXTURE = Path("/work/shared/fixtures/dashai-legacy-home")
BULK_METRICS = LEGACY_BULK_METRICS


def _run(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [PYTHON, *args], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _timed(args: list[str]) -> float:
    started = time.monotonic()
    proc = _run(args)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    return time.monotonic() - started


def _kill_at(args: list[str], env: str, point: str) -> str:
    """Run ``args`` with the test kill point ``env=point``; it must die by SIGKILL there."""
    proc = subprocess.run(
        [PYTHON, *args], cwd=REPO, capture_output=True, text=True, timeout=300, env={**os.environ, env: point}
    )
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr
    return f"at {point}"


def _kill_within(args: list[str], rng: random.Random, duration: float) -> str:
    """Start ``args``, SIGKILL it after a random part of ``duration``; 'killed' or 'finished'."""
    proc = _run(args)
    time.sleep(rng.uniform(0.0, duration * 1.1))
    finished = proc.poll() is not None
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    return "finished before the kill" if finished else "killed"


def _populate(home: Path) -> dict[str, int]:
    with open_store(home):
        table = pa.table({"x": list(range(50_000)), "y": [i % 2 for i in range(50_000)]})
        ds = datasets.create("kept", table)
        session = plant_session(ds.id)
        for i in range(6):
            run = runs.create(session, f"r{i}", "SVC", {})
            runs.save_model(run.id, {"version": i, "weights": list(range(5000))})
        for i in range(30):
            datasets.create(f"more-{i}", table)
        return {"datasets": len(datasets.list()), "runs": len(runs.list())}


def _loads_everything(home: Path) -> dict[str, int]:
    with open_store(home, migrate=False):
        for d in datasets.list():
            datasets.load_table(d.id)
        for r in runs.list():
            runs.load_model(r.id)
        return {"datasets": len(datasets.list()), "runs": len(runs.list())}


# -- adoption ------------------------------------------------------------------------------------


def _legacy_home(target: Path) -> Path:
    shutil.copytree(FIXTURE, target)
    for path in [target, *target.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    add_legacy_bulk_metrics(target)
    return target


@pytest.mark.skipif(not FIXTURE.is_dir(), reason="legacy DashAI fixture not available")
def test_an_adoption_killed_at_random_moments_is_finished_by_the_next_start(
    tmp_path: Path, figures: Any
) -> None:
    rng = random.Random(f"{SEED}-adoption")
    print(f"kills (adoption): seed={SEED} kills={KILLS}")
    pristine = _legacy_home(tmp_path / "pristine")
    metrics = BULK_METRICS + int(
        sqlite3.connect(FIXTURE / "db.sqlite").execute("SELECT COUNT(*) FROM metric").fetchone()[0]
    )
    first = tmp_path / "first"
    shutil.copytree(pristine, first)
    duration = _timed(["scripts/migrate.py", "--home", str(first)])
    outcomes: Counter[str] = Counter()
    for i in range(KILLS):
        home = tmp_path / f"home{i}"
        shutil.copytree(pristine, home)
        args = ["scripts/migrate.py", "--home", str(home)]
        if rng.random() < 0.5:  # half at one of the adoption's own steps
            outcome = _kill_at(args, adoption.KILL_ENV, rng.choice(adoption.KILL_POINTS))
        else:
            outcome = _kill_within(args, rng, duration)
        hot = (home / "db.sqlite-journal").is_file() and (home / "db.sqlite-journal").stat().st_size > 0
        outcomes[outcome + (" (hot journal)" if hot else "")] += 1
        again = _run(["scripts/migrate.py", "--home", str(home)])
        out, _ = again.communicate(timeout=300)
        assert again.returncode == 0, out
        assert sqlite_problems(home / "db.sqlite") == []
        conn = sqlite3.connect(home / "db.sqlite")
        try:
            assert conn.execute("SELECT COUNT(*) FROM metric").fetchone()[0] == metrics
            assert conn.execute("SELECT COUNT(*) FROM dataset").fetchone()[0] == 3
        finally:
            conn.close()
        assert not (home / ".dashai-adoption").exists()
        with open_store(home):
            assert datasets.load_table(1).num_rows == 150
        shutil.rmtree(home)
    figures("seed (DASHAI_CRASH_SEED)", SEED)
    figures("kills", KILLS)
    figures("uninterrupted adoption (s)", round(duration, 2))
    figures("kills by outcome", dict(sorted(outcomes.items())))


# -- backup --------------------------------------------------------------------------------------


def test_a_backup_killed_at_random_moments_leaves_what_gc_removes(tmp_path: Path, figures: Any) -> None:
    rng = random.Random(f"{SEED}-backup")
    print(f"kills (backup): seed={SEED} kills={KILLS}")
    home = tmp_path / "home"
    expected = _populate(home)
    duration = _timed(["-m", "dashai_store", "backup", str(tmp_path / "whole"), "--home", str(home)])
    outcomes: Counter[str] = Counter()
    for i in range(KILLS):
        dest = tmp_path / "out" / f"bk{i}"
        outcome = _kill_within(
            ["-m", "dashai_store", "backup", str(dest), "--home", str(home)], rng, duration
        )
        with open_store(home):
            report = maintenance.check()
            left = report.partial_backups
            assert report.ok or _only_partial(report), report
            gone = maintenance.gc()
            assert set(left) <= set(gone.removed_folders)
            assert maintenance.check().ok
        assert not list(dest.parent.glob(f".{dest.name}.partial-*"))
        if dest.exists():
            assert _loads_everything(dest) == expected
            outcome += ", backup whole"
        outcomes[outcome + (f", {len(left)} partial folder(s) left" if left else "")] += 1
    assert _loads_everything(home) == expected
    figures("seed (DASHAI_CRASH_SEED)", SEED)
    figures("kills", KILLS)
    figures("uninterrupted backup (s)", round(duration, 2))
    figures("kills by outcome", dict(sorted(outcomes.items())))


def _only_partial(report: Any) -> bool:
    return bool(report.partial_backups) and not (
        report.integrity_problems
        or report.foreign_key_violations
        or report.missing_files
        or report.unowned_files
        or report.stale_temp_files
        or report.pending_deletions
    )


# -- restore -------------------------------------------------------------------------------------


def test_a_restore_killed_at_random_moments_leaves_a_home_that_opens(tmp_path: Path, figures: Any) -> None:
    rng = random.Random(f"{SEED}-restore")
    print(f"kills (restore): seed={SEED} kills={KILLS}")
    home = tmp_path / "home"
    expected = _populate(home)
    backup = home / "backups" / "full"
    with open_store(home):
        maintenance.backup(backup)
        datasets.create("after the backup", pa.table({"x": [1]}))
    later = dict(expected, datasets=expected["datasets"] + 1)
    args = ["-m", "dashai_store", "restore", str(backup), "--home", str(home)]
    pristine = tmp_path / "pristine.sqlite"
    shutil.copyfile(home / "db.sqlite", pristine)
    duration = _timed(args)
    outcomes: Counter[str] = Counter()
    for _ in range(KILLS):
        for suffix in ("", "-wal", "-shm"):
            (home / f"db.sqlite{suffix}").unlink(missing_ok=True)
        shutil.copyfile(pristine, home / "db.sqlite")
        # Half the kills at a random moment, half at one of the restore's own steps.
        if rng.random() < 0.5:
            outcome = _kill_at(args, restoring.KILL_ENV, rng.choice(restoring.KILL_POINTS))
        else:
            outcome = _kill_within(args, rng, duration)
        assert (home / "db.sqlite").is_file(), "a killed restore left no database"
        assert sqlite_problems(home / "db.sqlite") == []
        found = _loads_everything(home)
        assert found in (expected, later), found
        outcomes[f"{outcome}: {'restored' if found == expected else 'old database'}"] += 1
        again = _run(args)
        out, _ = again.communicate(timeout=120)
        assert again.returncode == 0, out
        assert _loads_everything(home) == expected
    figures("seed (DASHAI_CRASH_SEED)", SEED)
    figures("kills", KILLS)
    figures("uninterrupted restore (s)", round(duration, 2))
    figures("kills by outcome", dict(sorted(outcomes.items())))


# -- gc ------------------------------------------------------------------------------------------


def test_gc_killed_at_random_moments_never_takes_a_referenced_file(tmp_path: Path, figures: Any) -> None:
    rng = random.Random(f"{SEED}-gc")
    print(f"kills (gc): seed={SEED} kills={KILLS}")
    home = tmp_path / "home"
    expected = _populate(home)
    outcomes: Counter[str] = Counter()
    duration = 0.0
    for i in range(KILLS + 1):
        for j in range(300):  # garbage: unowned files in a folder no row owns
            junk = home / "datasets" / f"{900_000 + j}" / f"junk{i}.bin"
            junk.parent.mkdir(parents=True, exist_ok=True)
            junk.write_bytes(b"x" * 4096)
        args = ["-m", "dashai_store", "gc", "--home", str(home), "--grace", "0"]
        if i == 0:
            duration = _timed(args)
            continue
        outcome = _kill_within(args, rng, duration)
        assert sqlite_problems(home / "db.sqlite") == []
        assert _loads_everything(home) == expected
        with open_store(home):
            maintenance.gc(grace_s=0)
            assert maintenance.check(grace_s=0).ok
        outcomes[outcome] += 1
    figures("seed (DASHAI_CRASH_SEED)", SEED)
    figures("kills", KILLS)
    figures("uninterrupted gc (s)", round(duration, 2))
    figures("kills by outcome", dict(sorted(outcomes.items())))
