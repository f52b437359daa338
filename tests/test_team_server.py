"""Issue 16, part 4: a team server for real (PostgreSQL plus one shared files folder).

A populated desktop (SQLite) home is copied into a fresh PostgreSQL schema and a shared
folder with ``dashai-store copy``; then two client processes, each in its own working
directory, open the store with the database URL and the shared folder as home and work
at once: training runs (create, start, log metrics, save the model, finish), notebooks
(converters applied, a revert), deletes of their own and of each other's rows. Each
client journals what the store reported committed. Afterwards every row a client created
and nobody deleted is there with its files, every deleted one is gone, the copied rows
are intact, and ``maintenance.check()`` is clean. A second test starts both clients at
once on an unmigrated schema: the migration lock lets one migrate, the other waits.

Run as a script (``python tests/test_team_server.py client ...``) this file is the client.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CLIENT_SECONDS = float(os.environ.get("DASHAI_TEAM_SECONDS", "").strip() or 8)


# -- the client (a separate process) ---------------------------------------------------------------


def _double(table: Any, parameters: dict[str, Any]) -> Any:
    import pyarrow.compute as pc

    return table.set_column(0, "x", pc.multiply(table.column("x"), 2))


def client_main(shared: str, url: str, name: str, other_journal: str, seconds: float, seed: int) -> None:
    """Work on the team store for ``seconds``; journal every call that returned."""
    import pyarrow as pa

    from dashai_store import datasets, errors, metrics, model_sessions, notebooks, open_store, runs

    rng = random.Random(seed)
    journal = open("journal.jsonl", "a", encoding="utf-8")

    def note(*entry: Any) -> None:
        journal.write(json.dumps(entry) + "\n")
        journal.flush()
        os.fsync(journal.fileno())

    def theirs(kind: str) -> list[int]:
        try:
            lines = Path(other_journal).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        found = []
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # the other client is writing that line
            if entry[0] == "created" and entry[1] == kind:
                found.append(int(entry[2]))
        return found

    with open_store(shared, database=url):  # the first client to start migrates
        note("opened", os.getcwd())
        table = pa.table({"x": list(range(200)), "y": [i % 2 for i in range(200)]})
        dataset = datasets.create(f"{name}-data", table)
        note("created", "dataset", dataset.id)
        session = model_sessions.create(
            dataset.id, f"{name}-session", "TabularClassificationTask", ["x"], ["y"],
            {"train": 0.6, "validation": 0.2, "test": 0.2},
        )  # fmt: skip
        note("created", "model_session", session.id)
        mine: dict[str, list[int]] = {"run": [], "notebook": []}
        deadline = time.monotonic() + seconds
        i = 0
        while time.monotonic() < deadline:
            i += 1
            action = rng.choice(["train", "train", "notebook", "delete-own", "delete-theirs"])
            if action == "train":
                run = runs.create(session.id, f"{name}-run-{i}", "SVC", {"C": i})
                runs.deliver(run.id)
                runs.start(run.id)
                points = [("loss", "TRAIN", "STEP", s, 1.0 / (s + i)) for s in range(50)]
                metrics.log_many(run.id, points)
                runs.save_model(run.id, {"client": name, "i": i})
                runs.finish(run.id)
                mine["run"].append(run.id)
                note("created", "run", run.id, {"client": name, "i": i}, len(points))
            elif action == "notebook":
                notebook = notebooks.create(dataset.id, f"{name}-nb-{i}")
                for _ in range(2):
                    step = notebooks.add_converter(notebook.id, "double")
                    notebooks.apply(step.id, _double)
                notebooks.revert(notebook.id, 1)
                mine["notebook"].append(notebook.id)
                note("created", "notebook", notebook.id, i)
            else:
                kind = rng.choice(["run", "notebook"])
                pool = mine[kind] if action == "delete-own" else theirs(kind)
                if not pool:
                    continue
                victim = rng.choice(pool)
                try:
                    (runs.delete if kind == "run" else notebooks.delete)(victim)
                except errors.NotFound:
                    continue  # deleted already (by the other client, or by us)
                if victim in mine[kind]:
                    mine[kind].remove(victim)
                note("deleted", kind, victim)
        note("done", i)
    journal.close()


# -- the tests -------------------------------------------------------------------------------------

if __name__ != "__main__":
    import pytest
    from conftest import PgSchema
    from home_copy_support import populate, rows_of

    from dashai_store import errors, maintenance, metrics, notebooks, open_store, runs
    from dashai_store.versions import VERSION_TABLE

    def _start_client(workdir: Path, shared: Path, url: str, name: str, other: Path, seed: int) -> Any:
        workdir.mkdir(parents=True, exist_ok=True)
        args = [sys.executable, str(Path(__file__).resolve()), "client", str(shared), url, name]
        args += [str(other / "journal.jsonl"), str(CLIENT_SECONDS), str(seed)]
        out = subprocess.PIPE
        return subprocess.Popen(args, cwd=workdir, stdout=out, stderr=subprocess.STDOUT, text=True)

    def _journal(workdir: Path) -> list[list[Any]]:
        return [json.loads(line) for line in (workdir / "journal.jsonl").read_text().splitlines()]

    def _run_clients(tmp_path: Path, shared: Path, url: str) -> tuple[list[list[Any]], list[list[Any]]]:
        a_dir, b_dir = tmp_path / "client-a", tmp_path / "client-b"
        seed = random.SystemRandom().randrange(1, 2**31)
        print(f"team clients seed={seed}")
        procs = [
            _start_client(a_dir, shared, url, "a", b_dir, seed),
            _start_client(b_dir, shared, url, "b", a_dir, seed + 1),
        ]
        for proc in procs:
            out, _ = proc.communicate(timeout=300)
            assert proc.returncode == 0, out
        a, b = _journal(a_dir), _journal(b_dir)
        assert a[0] == ["opened", str(a_dir)] and b[0] == ["opened", str(b_dir)]
        assert a[-1][0] == "done" and b[-1][0] == "done"
        return a, b

    def test_a_copied_desktop_home_serves_two_clients_at_once(pg_schema: PgSchema, tmp_path: Path) -> None:
        desktop = tmp_path / "desktop"
        populate(desktop)
        shared = tmp_path / "shared"
        command = [sys.executable, "-m", "dashai_store", "copy", "--home", str(desktop)]
        command += ["--to-home", str(shared), "--to-database", pg_schema.url, "--quiet"]
        copied = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert copied.returncode == 0, copied.stderr
        before = rows_of(desktop, None)
        a, b = _run_clients(tmp_path, shared, pg_schema.url)
        entries = a + b
        deleted = {(e[1], e[2]) for e in entries if e[0] == "deleted"}
        created = [e for e in entries if e[0] == "created"]
        assert any(e[1] == "run" for e in created) and any(e[1] == "notebook" for e in created)
        mine_a = {(e[1], e[2]) for e in a if e[0] == "created"}
        crossed = [e for e in b if e[0] == "deleted" and (e[1], e[2]) in mine_a]
        print(f"created {len(created)}, deleted {len(deleted)} ({len(crossed)} of a's rows by b)")
        assert deleted
        with open_store(shared, database=pg_schema.url, migrate=False):
            for entry in created:
                kind, row_id = entry[1], entry[2]
                if (kind, row_id) in deleted:
                    getter = runs.get if kind == "run" else notebooks.get
                    with pytest.raises(errors.NotFound):
                        getter(row_id)
                elif kind == "run":
                    assert runs.load_model(row_id) == entry[3]
                    assert len(metrics.history(row_id, name="loss")) == entry[4]
                elif kind == "notebook":
                    assert notebooks.get(row_id).current_position == 1
                    assert notebooks.load_table(row_id).column("x").to_pylist()[:3] == [0, 2, 4]
            report = maintenance.check(grace_s=0)
        assert report.ok, report
        after = rows_of(shared, pg_schema.url)
        for table, rows in before.items():  # every copied row, as it was copied
            by_id = {row[0]: row for row in after[table]}
            assert [by_id.get(row[0]) for row in rows] == rows, table

    def test_two_clients_starting_at_once_on_an_unmigrated_schema(
        pg_schema: PgSchema, tmp_path: Path
    ) -> None:
        shared = tmp_path / "shared"
        _run_clients(tmp_path, shared, pg_schema.url)  # both exit 0: one migrated, one waited
        with open_store(shared, database=pg_schema.url, migrate=False) as store:
            steps = [r[0] for r in store.db.execute_sql(f"SELECT id FROM {VERSION_TABLE}").fetchall()]
            assert len(steps) == len(set(steps)) > 0
            assert maintenance.check(grace_s=0).ok


if __name__ == "__main__":
    if sys.argv[1:2] == ["client"]:
        shared_, url_, name_, other_, seconds_, seed_ = sys.argv[2:8]
        client_main(shared_, url_, name_, other_, float(seconds_), int(seed_))
