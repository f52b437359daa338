"""The app's import line loads what it uses, nothing heavier (issue 17's ``startup.import``).

DashAI imports the store with one line at every start; a module it reaches only for a rare
call (pickled plot uploads: ``pickle`` and ``files.plots``; Arrow, Plotly, joblib) is
imported inside the function that needs it. ``python -X importtime`` lists what a fresh
interpreter really imported.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

APP_IMPORT = "from dashai_store import open_store, datasets, model_sessions, runs, metrics, notebooks"
DEFERRED = (
    "pickle",
    "dashai_store.files.plots",
    "dashai_store.backends.postgres",  # a desktop store is SQLite
    "pyarrow",
    "plotly",
    "joblib",
    "numpy",
    "pandas",
)
# Standard modules Peewee does not import and the line does not need until a file is written
# or a busy write retried: shutil (with bz2 and lzma), tempfile, random.
DEFERRED_STDLIB = ("shutil", "tempfile", "random", "bz2", "lzma")


def _imported(code: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parent,
        check=True,
    )
    return {
        line.rsplit("|", 1)[1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def test_the_probe_sees_a_deferred_module() -> None:
    assert "pickle" in _imported("import pickle")


def test_the_app_import_line_defers_what_it_does_not_use() -> None:
    imported = _imported(APP_IMPORT)
    assert "dashai_store.runs" in imported
    assert {name for name in imported if name in DEFERRED or name.split(".")[0] in DEFERRED} == set()


def test_the_app_import_line_adds_no_file_tools_to_what_peewee_imports() -> None:
    imported = _imported(APP_IMPORT)
    peewee_own = _imported("import peewee")
    assert {name for name in DEFERRED_STDLIB if name in imported and name not in peewee_own} == set()
