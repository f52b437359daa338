"""SIGKILL at random moments: the store opens, loses nothing committed, keeps no half file.

Two workloads, ``DASHAI_KILL_POINTS`` kills in total (default 50), seeded
(``DASHAI_CRASH_SEED`` replays a run; the seed is printed and in the figures):

* ``worker_crash.py`` on one home reused across kill points (SQLite, and a share on
  PostgreSQL): it logs metrics, saves models and plots, applies and reverts notebook
  steps, creates and deletes runs and datasets, and journals every call that returned.
  After each kill: integrity_check and foreign_key_check are clean (read with the plain
  driver, before the store touches the file), the store opens, every journaled
  transaction is there, every Arrow file under a final name is readable, every JSON file
  parses, every model loads with its checksum, and ``check()`` after ``gc(grace_s=0)``
  reports nothing.
* ``scripts/migrate.py`` (through the fixtures' wrapper) applying the test-only rebuild of
  ``run``, the parent of metrics, predictions and explainers, on a database with
  thousands of rows: after each kill the database is consistent, at the old or the new
  version with every row intact, and a second run of the runner completes.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from dashai_store.migrations import REGISTRY
from migration_fixtures import next_rebuild_run

from dashai_store import datasets, errors, maintenance, model_sessions, notebooks, open_store, runs
from dashai_store.maintenance import is_temp_name

from ._support import (
    PYTHON,
    REPO,
    env_float,
    env_int,
    metric_value,
    read_json_lines,
    seed_from,
    spawn,
    sqlite_problems,
    store_problems,
)

KILL_POINTS = env_int("DASHAI_KILL_POINTS", 50)
WINDOW_S = env_float("DASHAI_KILL_WINDOW_S", 0.8)
SEED = seed_from("DASHAI_CRASH_SEED")
MANAGED = ("datasets", "notebooks", "runs", "predictions", "explorers", "explainers", "generative")


def _shares() -> dict[str, int]:
    """Kill points per workload: a fifth to the migration, a fifth to PostgreSQL."""
    migration = max(1, KILL_POINTS // 5)
    postgres = max(1, KILL_POINTS // 5) if os.environ.get("DASHAI_TEST_POSTGRES_URL") else 0
    return {"sqlite": KILL_POINTS - migration - postgres, "postgresql": postgres, "migration": migration}


# -- the journal, replayed ------------------------------------------------------------------------


class Expectations:
    """What the journal says must be in the store, with in-flight operations resolved."""

    def __init__(self) -> None:
        self.runs: set[int] = set()
        self.gone_runs: set[int] = set()
        self.points: dict[int, set[tuple[str, int]]] = {}
        self.bulks: dict[int, set[tuple[str, int, int]]] = {}
        self.models: dict[int, int] = {}
        self.plots: set[int] = set()
        self.steps: dict[int, tuple[int, int]] = {}  # converter id -> (notebook, position)
        self.datasets: dict[int, int] = {}
        self.gone_datasets: set[int] = set()
        self.transactions = 0

    def replay(self, entries: list[list[Any]]) -> None:
        for entry in entries:
            kind, args = entry[0], entry[1:]
            if kind == "begin":
                continue
            self.transactions += 1
            if kind == "run":
                self.runs.add(args[0])
            elif kind == "run_deleted":
                rid = args[0]
                self.runs.discard(rid)
                self.gone_runs.add(rid)
                self.points.pop(rid, None)
                self.bulks.pop(rid, None)
                self.models.pop(rid, None)
                self.plots.discard(rid)
            elif kind == "metric":
                self.points.setdefault(args[0], set()).add((args[1], args[2]))
            elif kind == "bulk":
                self.bulks.setdefault(args[0], set()).add((args[1], args[2], args[3]))
            elif kind == "model":
                self.models[args[0]] = max(args[1], self.models.get(args[0], 0))
            elif kind == "plot":
                self.plots.add(args[0])
            elif kind == "step":
                self.steps[args[1]] = (args[0], args[2])
            elif kind == "revert":
                self.steps = {c: v for c, v in self.steps.items() if v[0] != args[0]}
            elif kind == "dataset":
                self.datasets[args[0]] = args[1]
            elif kind == "dataset_deleted":
                self.datasets.pop(args[0], None)
                self.gone_datasets.add(args[0])


def _resolve_in_flight(journal: Path) -> tuple[str | None, list[Any] | None]:
    """The operation the kill interrupted; a deletion or revert that did commit (it is
    visible in the store) is appended to the journal as committed, so later rounds
    expect it. Returns the interrupted operation's name and its journal line if it
    turned out committed."""
    entries = read_json_lines(journal)
    last_begin = next((i for i in range(len(entries) - 1, -1, -1) if entries[i][0] == "begin"), None)
    if last_begin is None:
        return None, None
    op, *target = entries[last_begin][1:]
    done = any(e[0] == op for e in entries[last_begin + 1 :])
    if done:
        return None, None  # the op finished and was journaled; the kill came between ops
    resolved: list[Any] | None = None
    if op == "run_deleted":
        try:
            runs.get(target[0])
        except errors.NotFound:
            resolved = ["run_deleted", target[0]]
    elif op == "dataset_deleted":
        try:
            datasets.get(target[0])
        except errors.NotFound:
            resolved = ["dataset_deleted", target[0]]
    elif op == "revert" and notebooks.get(target[0]).current_position == 0:
        resolved = ["revert", target[0]]
    if resolved is not None:
        with journal.open("a") as handle:
            handle.write(json.dumps(resolved) + "\n")
    return op, resolved


def _verify_journal(journal: Path, home: Path, db: Any) -> int:
    """Every journaled transaction is in the store; returns how many were checked."""
    exp = Expectations()
    exp.replay(read_json_lines(journal))
    param = db.param
    for rid in exp.runs:
        runs.get(rid)  # NotFound fails the test
    for rid in exp.gone_runs - exp.runs:
        with pytest.raises(errors.NotFound):
            runs.get(rid)
        assert not (home / "runs" / str(rid)).exists(), f"run {rid} was deleted but its folder is left"
    for rid, keys in exp.points.items():
        rows = db.execute_sql(
            f"SELECT name, step, value FROM metric WHERE run_id = {param} AND split = 'TRAIN'", (rid,)
        ).fetchall()
        stored = {(n, s): v for n, s, v in rows}
        for name, step in keys:
            assert stored.get((name, step)) == metric_value(rid, name, step), f"run {rid}: {name}@{step} lost"
    for rid, batches in exp.bulks.items():
        for name, first, count in batches:
            rows = db.execute_sql(
                f"SELECT step, value FROM metric WHERE run_id = {param} AND name = {param}"
                f" AND split = 'VALIDATION' AND step >= {param} AND step < {param}",
                (rid, name, first, first + count),
            ).fetchall()
            assert len(rows) == count, f"run {rid}: bulk {first}+{count} has {len(rows)} points"
            assert all(v == metric_value(rid, name, s) for s, v in rows), f"run {rid}: bulk values differ"
    for rid, version in exp.models.items():
        model = runs.load_model(rid)
        assert model["run"] == rid and model["version"] >= version, (rid, version, model["version"])
    for rid in exp.plots:
        assert runs.load_plot(rid, "history", as_figure=False)["layout"]["title"]["text"] == str(rid)
    for converter_id, (notebook_id, position) in exp.steps.items():
        step = notebooks.get_converter(converter_id)
        assert step.status.name == "FINISHED" and step.position == position, step
        table = notebooks.load_table(notebook_id, step=position)
        assert table.column("x")[0].as_py() == position
    for dataset_id, rows in exp.datasets.items():
        assert datasets.load_table(dataset_id).num_rows == rows
    for dataset_id in exp.gone_datasets:
        with pytest.raises(errors.NotFound):
            datasets.get(dataset_id)
        assert not (home / "datasets" / str(dataset_id)).exists()
    return exp.transactions


def _verify_files(home: Path) -> int:
    """Every file under a final name is whole: Arrow readable, JSON parsed, models load."""
    import pyarrow.ipc as ipc

    checked = 0
    for root in MANAGED:
        for path in sorted((home / root).rglob("*")):
            if not path.is_file() or is_temp_name(path.name):
                continue
            if path.suffix == ".arrow":
                with pa.memory_map(str(path)) as source:
                    ipc.open_file(source).read_all()
            elif path.suffix == ".json":
                json.loads(path.read_bytes())
            checked += 1
    for run in runs.list():
        if run.artifacts and "model" in run.artifacts:
            runs.load_model(run.id)  # checksum verified before unpickling
    return checked


# -- the worker workload ----------------------------------------------------------------------------


def _read_ready(proc: subprocess.Popen[str], stderr: Path) -> None:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "ready", f"the worker did not start: {stderr.read_text()[-3000:]}"


def _kill_rounds(
    home: Path, url: str | None, backend: str, points: int, rng: random.Random, tmp: Path
) -> dict[str, Any]:
    table = pa.table({"x": pa.array(range(1000), pa.int64()), "y": pa.array([1] * 1000)})
    with open_store(home, database=url):
        ds = datasets.create("base", table)
        session = model_sessions.create(
            ds.id,
            "s",
            "TabularClassificationTask",
            ["x"],
            ["y"],
            {"train": 0.6, "validation": 0.2, "test": 0.2},
        )
        nb = notebooks.create(ds.id, "nb")
    journal = tmp / f"journal-{backend}.jsonl"
    stderr = tmp / f"worker-{backend}.err"
    interrupted: Counter[str] = Counter()
    files_checked = transactions = 0
    for _ in range(points):
        cfg = {
            "home": str(home),
            "url": url,
            "seed": rng.randrange(2**31),
            "journal": str(journal),
            "session_id": session.id,
            "notebook_id": nb.id,
        }
        with stderr.open("w") as err:
            proc = spawn("worker_crash.py", json.dumps(cfg), stdout=subprocess.PIPE, stderr=err)
        try:
            _read_ready(proc, stderr)
            time.sleep(rng.uniform(0.01, WINDOW_S))
            assert proc.poll() is None, f"the worker died on its own: {stderr.read_text()[-3000:]}"
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait()
            assert proc.stdout is not None
            proc.stdout.close()
        if url is None:
            problems = sqlite_problems(home / "db.sqlite")
            assert problems == [], problems
        with open_store(home, database=url, migrate=False) as store:
            op, _resolved = _resolve_in_flight(journal)
            interrupted[op or "between operations"] += 1
            files_checked += _verify_files(home)
            transactions = _verify_journal(journal, home, store.db)
            maintenance.gc(grace_s=0)
            problems = store_problems(grace_s=0)
            assert problems == [], problems
    return {
        "kill points": points,
        "transactions verified (last round)": transactions,
        "files checked": files_checked,
        "kills by operation": dict(sorted(interrupted.items())),
    }


def test_a_worker_killed_at_random_moments_loses_nothing_committed(
    home: Path, database_url: str | None, backend: str, tmp_path: Path, figures: Any
) -> None:
    points = _shares()[backend]
    if points == 0:
        pytest.skip("no PostgreSQL server")
    rng = random.Random(f"{SEED}-{backend}")
    print(f"crash: backend={backend} seed={SEED} kill points={points}")
    figures("seed (DASHAI_CRASH_SEED)", SEED)
    result = _kill_rounds(home, database_url, backend, points, rng, tmp_path)
    for name, value in result.items():
        figures(name, value)
    assert result["transactions verified (last round)"] > points  # the worker really worked


# -- the migration runner -----------------------------------------------------------------------------

RUNS = 60_000
WRAPPER = REPO / "tests" / "migration_fixtures" / "migrate_with.py"


def _populate(home: Path) -> dict[str, int]:
    from dashai_store import metrics

    table = pa.table({"x": pa.array(range(10), pa.int64()), "y": pa.array([1] * 10)})
    with open_store(home) as store:
        ds = datasets.create("d", table)
        session = model_sessions.create(
            ds.id,
            "s",
            "TabularClassificationTask",
            ["x"],
            ["y"],
            {"train": 0.6, "validation": 0.2, "test": 0.2},
        )
        now = "2024-01-01 00:00:00"
        store.db.execute_sql("BEGIN IMMEDIATE")
        store.db.cursor().executemany(
            "INSERT INTO run (model_session_id, name, model_name, parameters, optimizer_name,"
            " optimizer_parameters, goal_metric, status, created, last_modified)"
            " VALUES (?, ?, 'SVC', '{}', '', '{}', '', 'NOT_STARTED', ?, ?)",
            [(session.id, f"run {i}", now, now) for i in range(RUNS)],
        )
        store.db.execute_sql("COMMIT")
        first = runs.list(session.id)[0].id
        metrics.log_many(first, [("loss", "TRAIN", "STEP", s, 0.5) for s in range(20_000)])
        return _fingerprint(store.db)


def _fingerprint(db: Any) -> dict[str, int]:
    out = {}
    for table in ("dataset", "model_session", "run", "metric"):
        count, total = db.execute_sql(f'SELECT COUNT(*), COALESCE(SUM(id), 0) FROM "{table}"').fetchone()
        out[f"{table} rows"] = count
        out[f"{table} id sum"] = total
    out["run name length"] = db.execute_sql("SELECT SUM(LENGTH(name)) FROM run").fetchone()[0]
    return out


def _migrate_proc(home: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [PYTHON, str(WRAPPER), "next_rebuild_run", "--home", str(home)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )


def _state(home: Path) -> tuple[list[str], dict[str, int], list[str]]:
    import sqlite3

    conn = sqlite3.connect(f"file:{home / 'db.sqlite'}?mode=ro", uri=True)
    try:
        versions = [r[0] for r in conn.execute("SELECT id FROM dashai_schema_migration ORDER BY sequence")]
        tables = sorted(
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            if r[0] != "sqlite_sequence"
        )
        from dashai_store.database import connect_sqlite

        db = connect_sqlite(home / "db.sqlite")
        try:
            fingerprint = _fingerprint(db)
        finally:
            db.close()
    finally:
        conn.close()
    return versions, fingerprint, tables


def test_the_migration_runner_killed_at_random_moments(home: Path, tmp_path: Path, figures: Any) -> None:
    points = _shares()["migration"]
    rng = random.Random(f"{SEED}-migration")
    print(f"crash (migration): seed={SEED} kill points={points}")
    expected = _populate(home)
    pristine = tmp_path / "pristine.sqlite"
    shutil.copy(home / "db.sqlite", pristine)  # closed: no WAL left, the file is whole
    _, _, tables_before = _state(home)

    def reset() -> None:
        for suffix in ("", "-wal", "-shm"):
            (home / f"db.sqlite{suffix}").unlink(missing_ok=True)
        shutil.rmtree(home / "backups", ignore_errors=True)
        shutil.copy(pristine, home / "db.sqlite")

    started = time.monotonic()
    proc = _migrate_proc(home)
    out, _ = proc.communicate(timeout=120)
    duration = time.monotonic() - started
    assert proc.returncode == 0, out
    assert _state(home)[0] == [*(m.ID for m in REGISTRY), next_rebuild_run.ID]

    step_s = float(re.search(rf"applied {next_rebuild_run.ID} in ([0-9.]+) ms", out).group(1)) / 1000  # type: ignore[union-attr]

    outcomes: Counter[str] = Counter()
    for i in range(points):
        reset()
        proc = _migrate_proc(home)
        head = ""
        if i % 2:
            # Half the kills anywhere in the run, half aimed at the step itself: after the
            # runner printed its backup, within the measured step time.
            assert proc.stdout is not None
            head = proc.stdout.readline()
            time.sleep(rng.uniform(0.0, step_s * 1.5))
        else:
            time.sleep(rng.uniform(0.0, duration * 1.1))
        exited = proc.poll() is not None
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=60)
        out = head + out
        problems = sqlite_problems(home / "db.sqlite")
        assert problems == [], problems
        versions, fingerprint, tables = _state(home)
        assert fingerprint == expected, "rows were lost or changed by a killed migration"
        assert tables == tables_before, f"a killed rebuild left {set(tables) ^ set(tables_before)}"
        assert versions in (
            [m.ID for m in REGISTRY],
            [*(m.ID for m in REGISTRY), next_rebuild_run.ID],
        ), versions
        if f"applied {next_rebuild_run.ID}" in out:
            assert versions[-1] == next_rebuild_run.ID, "the runner reported a step that is not there"
        backups = list((home / "backups").glob("*.sqlite")) if (home / "backups").exists() else []
        outcome = (
            "finished before the kill"
            if exited
            else "after commit"
            if len(versions) == len(REGISTRY) + 1
            else "after the backup"
            if backups
            else "before the backup"
        )
        outcomes[outcome] += 1
        for backup in backups:  # a kill during the copy must not leave a half backup under its name
            assert sqlite_problems(backup) == [], backup
        # The next start completes the migration.
        again = _migrate_proc(home)
        out, _ = again.communicate(timeout=120)
        assert again.returncode == 0, out
        assert _state(home)[0] == [*(m.ID for m in REGISTRY), next_rebuild_run.ID]
        assert _state(home)[1] == expected
    figures("seed (DASHAI_CRASH_SEED)", SEED)
    figures("kill points", points)
    figures("uninterrupted migration (s)", round(duration, 2))
    figures("rebuild step (s)", step_s)
    figures("kills by phase", dict(sorted(outcomes.items())))


# -- a model replaced at the worst moment (deterministic) ----------------------------------------------

_REPLACE_CHILD = """
import os, sys
from dashai_store import open_store, runs
from dashai_store.database import run_in_transaction

home, url, run_id, when = sys.argv[1], sys.argv[2] or None, int(sys.argv[3]), sys.argv[4]
store = open_store(home, database=url)

def work():
    if when == "after-commit":
        store.after_commit(lambda: os._exit(17))  # runs before the model's promotion
    runs.save_model(run_id, {"version": 2})
    if when == "before-commit":
        os._exit(18)  # the new file is on disk, the transaction never commits

run_in_transaction(work)
"""


@pytest.mark.parametrize("when, code, version", [("before-commit", 18, 1), ("after-commit", 17, 2)])
def test_a_model_replacement_cut_short_leaves_a_loadable_model(
    store: Any, home: Path, database_url: str | None, when: str, code: int, version: int
) -> None:
    """Before the fix, save_model overwrote model.joblib inside the transaction: a kill
    before COMMIT left the committed row's checksum naming bytes that were gone."""
    table = pa.table({"x": pa.array([1, 2], pa.int64()), "y": pa.array([0, 1])})
    ds = datasets.create("d", table)
    session = model_sessions.create(
        ds.id, "s", "TabularClassificationTask", ["x"], ["y"], {"train": 0.6, "validation": 0.2, "test": 0.2}
    )
    run = runs.create(session.id, "r", "SVC", {})
    runs.save_model(run.id, {"version": 1})
    proc = subprocess.run(
        [PYTHON, "-c", _REPLACE_CHILD, str(home), database_url or "", str(run.id), when],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == code, proc.stderr
    with open_store(home, database=database_url, migrate=False):
        assert runs.load_model(run.id) == {"version": version}
        maintenance.gc(grace_s=0)
        assert store_problems(grace_s=0) == []
        assert runs.load_model(run.id) == {"version": version}
        runs.save_model(run.id, {"version": 3})  # and the next save promotes normally
        assert runs.get(run.id).artifacts["model"]["path"] == f"runs/{run.id}/model.joblib"
        assert runs.load_model(run.id) == {"version": 3}
        assert sorted(p.name for p in (home / "runs" / str(run.id)).iterdir()) == ["model.joblib"]
