"""What every install form must do: run as ``python install_smoke.py WORK LEGACY_HOME``.

Used by tests/test_install_forms.py with the interpreter of each form (editable, a wheel
in a clean venv, a normal install run from the checkout root). Prints which copy of
dashai_store it imported and one ``OK`` line per check; exits non-zero on the first failure.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path


def fail(message: str) -> None:
    raise SystemExit(f"FAILED {message}")


def command(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m dashai_store ARGS`` with this interpreter, from this working directory."""
    result = subprocess.run([sys.executable, "-m", "dashai_store", *args], capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"dashai-store {' '.join(args)} exited {result.returncode}: {result.stderr[-2000:]}")
    return result


def main(work: Path, legacy: Path) -> None:
    import dashai_store

    print(f"IMPORTED {dashai_store.__file__}", flush=True)

    command("demo", "--home", str(work / "demo"), "--quiet")
    if not (work / "demo" / "report.html").is_file():
        fail("the demo wrote no report")
    print("OK demo", flush=True)

    command("migrate", "--home", str(work / "migrated"))
    command("migrate", "--home", str(work / "migrated"), "--check")
    print("OK migrate", flush=True)

    import pyarrow as pa

    from dashai_store import datasets, metrics, model_sessions, open_store, runs

    with open_store(work / "facade"):
        table = pa.table({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
        dataset = datasets.create("iris", table)
        session = model_sessions.create(
            dataset.id,
            "clf",
            "TabularClassificationTask",
            ["x"],
            ["y"],
            {"train": 0.6, "validation": 0.2, "test": 0.2},
        )
        run = runs.create(session.id, "run-1", "LogisticRegression", {"C": 1.0})
        metrics.log_many(run.id, [("loss", "TRAIN", "STEP", step, 1 / (step + 1)) for step in range(10)])
        if not datasets.load_table(dataset.id).equals(table):
            fail("dataset round trip")
        if metrics.history_table(run.id, name="loss").num_rows != 10:
            fail("metric round trip")
    print("OK facade", flush=True)

    home = work / "legacy-home"
    shutil.copytree(legacy, home, symlinks=True)
    with sqlite3.connect(legacy / "db.sqlite") as original:
        expected = original.execute("SELECT COUNT(*) FROM dataset").fetchone()[0]
    command("migrate", "--home", str(home))
    with open_store(home, migrate=False):
        adopted = len(datasets.list())
    if adopted != expected:
        fail(f"adopted {adopted} of {expected} legacy datasets")
    command("status", "--home", str(home))
    print(f"OK adopt {adopted} datasets", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve())
