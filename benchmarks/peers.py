"""The peers' venv: where the figures against MLflow and Optuna run, both sides in one process.

Neither MLflow nor Optuna is ever a dependency of the library. They live in the
benchmark's own venv, ``benchmarks/.peers-venv/`` (git-ignored; override with
``DASHAI_BENCH_PEERS_VENV``), created on first use with ``python -m venv``, then
``pip install`` of the store's own dependencies (read from this interpreter's installed
``dashai-store`` metadata: the store itself is not installed there, ``peers_side.py`` puts
this checkout first on ``sys.path``), then per peer: ``mlflow-skinny sqlalchemy alembic``
(full ``mlflow`` only if that does not import) and ``optuna``. A peer that cannot be
installed makes its figures ``{"skipped": "<peer>: not installed: <reason>"}``; the others
run on. ``DASHAI_BENCH_PEERS_INSTALL=0`` forbids installing anything.

:func:`figure` runs one figure of ``peers_side.py`` in that venv and returns its result.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SIDE = HERE / "peers_side.py"
READY = "dashai-bench-ready.json"  # {"store": [...], "<peer>": "<packages>"} once each imports
#: Per peer: the package sets tried in order, and the import that proves one works.
PEERS: dict[str, tuple[tuple[tuple[str, ...], ...], str]] = {
    "mlflow": (
        (("mlflow-skinny", "sqlalchemy", "alembic"), ("mlflow",)),
        "from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore",
    ),
    "optuna": ((("optuna",),), "import optuna.storages"),
}


class NotInstalled(Exception):
    pass


def venv_dir() -> Path:
    return Path(os.environ.get("DASHAI_BENCH_PEERS_VENV") or HERE / ".peers-venv")


def _python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _tail(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip() and "WARNING: Location" not in line]
    return lines[-1].strip() if lines else "no output"


def _pip(python: Path, packages: tuple[str, ...]) -> str | None:
    """``pip install`` into the venv; None on success, else the reason."""
    pip = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--retries", "1", "--timeout", "30", *packages],
        capture_output=True,
        text=True,
        check=False,
    )
    return f"pip install {' '.join(packages)}: {_tail(pip.stderr)}" if pip.returncode else None


def store_requirements() -> list[str]:
    """The store's own dependencies (no extras), from this interpreter's installed metadata."""
    try:
        required = metadata.requires("dashai-store") or []
    except metadata.PackageNotFoundError as exc:
        raise NotInstalled(
            "dashai-store is not installed in this interpreter: its dependencies are unknown"
        ) from exc
    return [line for line in required if "extra ==" not in line]


def _ready(venv: Path) -> dict[str, Any]:
    try:
        ready: dict[str, Any] = json.loads((venv / READY).read_text())
    except (OSError, ValueError):
        return {}
    return ready if _python(venv).exists() else {}


def _base_venv(venv: Path) -> dict[str, Any]:
    """The venv with the store's dependencies installed; its READY record."""
    ready = _ready(venv)
    requirements = store_requirements()
    if ready.get("store") == requirements:
        return ready
    if os.environ.get("DASHAI_BENCH_PEERS_INSTALL") == "0":
        raise NotInstalled(f"no ready venv at {venv} and DASHAI_BENCH_PEERS_INSTALL=0")
    print(f"    creating {venv} (once) ...", file=sys.stderr, flush=True)
    shutil.rmtree(venv, ignore_errors=True)
    made = subprocess.run(
        [sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True, check=False
    )
    if made.returncode:
        raise NotInstalled(f"python -m venv failed: {_tail(made.stderr)}")
    reason = _pip(_python(venv), tuple(requirements))
    if reason:
        shutil.rmtree(venv, ignore_errors=True)  # a later run (with network) tries again
        raise NotInstalled(reason)
    ready = {"store": requirements}
    (venv / READY).write_text(json.dumps(ready))
    return ready


def peer_python(peer: str) -> Path:
    """The peers' venv's interpreter with ``peer`` importable; NotInstalled if impossible."""
    venv = venv_dir()
    ready = _base_venv(venv)
    python = _python(venv)
    if peer in ready:
        return python
    if os.environ.get("DASHAI_BENCH_PEERS_INSTALL") == "0":
        raise NotInstalled(f"{peer} is not in {venv} and DASHAI_BENCH_PEERS_INSTALL=0")
    choices, probe = PEERS[peer]
    reasons = []
    for packages in choices:
        reason = _pip(python, packages)
        if reason:
            reasons.append(reason)
            continue
        probed = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=False)
        if probed.returncode == 0:
            ready[peer] = " ".join(packages)
            (venv / READY).write_text(json.dumps(ready))
            return python
        reasons.append(f"{' '.join(packages)} installed but {probe!r} failed: {_tail(probed.stderr)}")
    raise NotInstalled("; ".join(reasons))


# Reasons a peer could not be installed, kept for the rest of the run: its other figures
# skip at once instead of trying (and timing out) again.
_MISSING: dict[str, str] = {}


def figure(peer: str, name: str, workdir: Path) -> dict[str, Any]:
    """Figure ``name`` measured by ``peers_side.py`` in the peers' venv, or ``{"skipped": ...}``."""
    if peer not in _MISSING:
        try:
            python = peer_python(peer)
        except NotInstalled as exc:
            _MISSING[peer] = f"{peer}: not installed: {exc}"
    if peer in _MISSING:
        return {"skipped": _MISSING[peer]}
    side = subprocess.run(
        [str(python), str(SIDE), name, "--workdir", str(workdir / "peers")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONNOUSERSITE": "1"},
        timeout=1800,
        check=False,
    )
    if side.returncode:
        raise RuntimeError(f"peers_side.py {name} exited {side.returncode}: {side.stderr.strip()[-3000:]}")
    result: dict[str, Any] = json.loads(side.stdout.strip().splitlines()[-1])
    return result
