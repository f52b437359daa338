"""Hostile files: each gives a typed error naming the file, and the database stays consistent.

A database file that is not SQLite at all is covered by
``tests/test_migrator.py::test_a_file_that_is_not_sqlite_is_a_clear_error``; here a
truncated one. The read-only home and the full disk run in subprocesses: one drops to
the ``nobody`` user (root ignores permission bits), one sets ``RLIMIT_FSIZE`` with
``SIGXFSZ`` ignored, so writes past the limit fail with EFBIG like on a full disk.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from helpers import file_tree, row_counts

from dashai_store import datasets, errors, maintenance, model_sessions, notebooks, open_store, runs
from dashai_store.database import Store

from ._support import PYTHON, REPO, sqlite_problems, store_problems


def _base() -> dict[str, int]:
    table = pa.table({"x": pa.array(range(1000), pa.int64()), "y": pa.array([i % 2 for i in range(1000)])})
    ds = datasets.create("d", table)
    session = model_sessions.create(
        ds.id, "s", "TabularClassificationTask", ["x"], ["y"], {"train": 0.6, "validation": 0.2, "test": 0.2}
    )
    r1 = runs.create(session.id, "r1", "SVC", {})
    r2 = runs.create(session.id, "r2", "SVC", {})
    runs.save_model(r1.id, {"model": 1})
    runs.save_model(r2.id, {"model": 2})
    return {"dataset": ds.id, "session": session.id, "r1": r1.id, "r2": r2.id}


def _unchanged(store: Store, action: Any, error: type[errors.StoreError], names: Path) -> errors.StoreError:
    rows, tree = row_counts(store.db), file_tree(store.home)
    with pytest.raises(error) as caught:
        action()
    assert str(names) in str(caught.value), caught.value
    assert row_counts(store.db) == rows
    assert file_tree(store.home) == tree
    return caught.value


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_a_damaged_arrow_file(store: Store, damage: str) -> None:
    ids = _base()
    path = datasets.get(ids["dataset"]).file_path
    assert path is not None
    data = path.read_bytes()
    path.write_bytes(
        {"truncated": data[: len(data) // 2], "garbage": os.urandom(len(data)), "empty": b""}[damage]
    )
    _unchanged(store, lambda: datasets.load_table(ids["dataset"]), errors.FileIntegrityError, path)
    _unchanged(store, lambda: datasets.schema(ids["dataset"]), errors.FileIntegrityError, path)
    # A notebook step over it fails with the file named, and its row says ERROR.
    nb = notebooks.create(ids["dataset"], "nb")
    step = notebooks.add_converter(nb.id, "noop")
    with pytest.raises(errors.FileIntegrityError, match=str(path)):
        notebooks.apply(step.id, lambda table, params: table)
    assert notebooks.get_converter(step.id).status.name == "ERROR"
    assert store_problems(grace_s=0) == []


@pytest.mark.parametrize("damage", ["swapped", "corrupt", "truncated"])
def test_a_swapped_or_corrupt_model_file(store: Store, damage: str) -> None:
    ids = _base()
    one = store.home / "runs" / str(ids["r1"]) / "model.joblib"
    two = store.home / "runs" / str(ids["r2"]) / "model.joblib"
    if damage == "swapped":
        a, b = one.read_bytes(), two.read_bytes()
        one.write_bytes(b)
        two.write_bytes(a)
    elif damage == "corrupt":
        data = bytearray(one.read_bytes())
        data[len(data) // 2] ^= 0xFF
        one.write_bytes(bytes(data))
    else:
        one.write_bytes(one.read_bytes()[:10])
    _unchanged(store, lambda: runs.load_model(ids["r1"]), errors.FileIntegrityError, one)
    if damage == "swapped":
        _unchanged(store, lambda: runs.load_model(ids["r2"]), errors.FileIntegrityError, two)
    # Saving a new model repairs it.
    runs.save_model(ids["r1"], {"model": "new"})
    assert runs.load_model(ids["r1"]) == {"model": "new"}


def test_a_truncated_sqlite_database(home: Path) -> None:
    with open_store(home):
        _base()
    db = home / "db.sqlite"
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 3])
    before = db.read_bytes()
    with pytest.raises(errors.StoreError) as caught:
        with open_store(home):
            datasets.list()
    assert str(db) in str(caught.value), caught.value
    assert db.read_bytes() == before  # refused without writing


# -- a read-only home (as nobody) --------------------------------------------------------------------

_AS_NOBODY = """
import json, os, sys
# The interpreter's own files may not be readable by nobody: import first, then drop.
import platform
import pyarrow as pa, pyarrow.ipc, pyarrow.compute, pyarrow.csv, pyarrow.parquet
from dashai_store import datasets, errors, open_store, maintenance, files, runs, models
from dashai_store import migrator, locks, store, cascade, lifecycle
# Every module, the lazily imported ones and the migration steps too: the checkout itself
# may be unreadable to nobody (a clone in a 0700 temporary folder).
import importlib, pkgutil, dashai_store
for module in pkgutil.walk_packages(dashai_store.__path__, "dashai_store."):
    if not module.name.startswith(("dashai_store.demo", "dashai_store._pyinstaller")):
        importlib.import_module(module.name)
migrator.default_steps()
os.setgid(65534)
os.setuid(65534)

home, case = sys.argv[1], sys.argv[2]
out = {}
try:
    with open_store(home):
        out["opened"] = True
        try:
            datasets.create("new", pa.table({"x": [1, 2, 3]}))
            out["created"] = True
        except errors.StoreError as exc:
            out["error"] = [type(exc).__name__, str(exc)]
except errors.StoreError as exc:
    out["error"] = [type(exc).__name__, str(exc)]
print(json.dumps(out))
"""


@pytest.fixture
def shared_home() -> Iterator[Path]:
    """A home the ``nobody`` user can reach (pytest's tmp dirs are private to root)."""
    top = Path(tempfile.mkdtemp(prefix="dashai-ro-"))
    top.chmod(0o755)
    try:
        yield top / "home"
    finally:
        shutil.rmtree(top)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to the nobody user")
@pytest.mark.parametrize("case", ["whole home", "data folder"])
def test_a_read_only_home(shared_home: Path, case: str) -> None:
    with open_store(shared_home) as store:
        _base()
        rows = row_counts(store.db)
    if case == "data folder":  # the database is writable, the datasets folder is not
        for path in (shared_home, shared_home / "db.sqlite"):
            os.chown(path, 65534, 65534)
    proc = subprocess.run(
        [PYTHON, "-c", _AS_NOBODY, str(shared_home), case],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert "error" in out and "created" not in out, out
    _kind, message = out["error"]
    assert str(shared_home) in message, message  # the file or folder is named
    if case == "data folder":
        assert out.get("opened") and str(shared_home / "datasets") in message, message
    assert sqlite_problems(shared_home / "db.sqlite") == []
    with open_store(shared_home) as store:
        assert row_counts(store.db) == rows
        assert store_problems(grace_s=0) == []


# -- a full disk (a file-size limit) -------------------------------------------------------------------

_FULL_DISK = """
import json, resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
import pyarrow as pa
from dashai_store import datasets, errors, metrics, open_store

home, run_id, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
out = {}
with open_store(home):
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        datasets.create("big", pa.table({"x": pa.array(range(2_000_000))}))
        out["dataset"] = "created"
    except errors.StoreError as exc:
        out["dataset"] = [type(exc).__name__, str(exc)]
    try:
        metrics.log_many(run_id, [("loss", "TRAIN", "STEP", s, 0.5) for s in range(300_000)])
        out["metrics"] = "logged"
    except errors.StoreError as exc:
        out["metrics"] = [type(exc).__name__, str(exc)]
print(json.dumps(out))
"""


def test_a_full_disk(home: Path) -> None:
    with open_store(home) as store:
        ids = _base()
        rows = row_counts(store.db)
        tree = file_tree(home)
    limit = max(p.stat().st_size for p in home.rglob("*") if p.is_file()) + 512 * 1024
    proc = subprocess.run(
        [PYTHON, "-c", _FULL_DISK, str(home), str(ids["r1"]), str(limit)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    _kind, message = out["dataset"]
    assert str(home / "datasets") in message and "File too large" in message, message
    kind, message = out["metrics"]
    assert kind in ("DatabaseError", "StoreError"), out
    assert "full" in message.lower() or "disk" in message.lower() or "I/O" in message, message
    assert str(home / "db.sqlite") in message, message  # the error names the file
    assert sqlite_problems(home / "db.sqlite") == []
    with open_store(home) as store:
        assert row_counts(store.db) == rows  # nothing half-committed
        assert file_tree(home) == tree  # no half file, no temporary left
        assert store_problems(grace_s=0) == []
        maintenance.gc(grace_s=0)
