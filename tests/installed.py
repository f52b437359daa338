"""What users install: a wheel built from this checkout, in a clean virtual environment.

The test venv holds an editable install, whose import finder fills in whatever a normal
install leaves out (a subpackage missing from the wheel went unnoticed that way). The
session fixture ``wheel_venv`` (tests/conftest.py) builds the wheel once, checks that it
ships every package of the source tree, and installs it with its dependencies into a new
venv that has no path back to the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LEGACY_FIXTURE = REPO.parent / "shared" / "fixtures" / "dashai-legacy-home"
INSTALL_TIMEOUT_S = 900


@dataclass(frozen=True)
class WheelVenv:
    wheel: Path
    root: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    def run(self, *args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.python), *args],
            cwd=cwd,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def clean_env() -> dict[str, str]:
    """This environment without anything that points Python at the checkout or a venv."""
    drop = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "PYTHONSAFEPATH")
    return {key: value for key, value in os.environ.items() if key not in drop}


def source_packages() -> set[str]:
    """Every package of the source tree, named as it installs (migrations/ -> dashai_store.migrations)."""
    names = set()
    for init in sorted((REPO / "dashai_store").rglob("__init__.py")):
        names.add(".".join(init.parent.relative_to(REPO).parts))
    for init in sorted((REPO / "migrations").rglob("__init__.py")):
        names.add(".".join(("dashai_store", *init.parent.relative_to(REPO).parts)))
    return {name for name in names if "__pycache__" not in name}


def wheel_packages(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {
            ".".join(Path(name).parent.parts) for name in archive.namelist() if name.endswith("/__init__.py")
        }


def clean_copy(target: Path) -> Path:
    """The checkout's sources without build output, venvs or caches, as a clean clone has them.

    setuptools builds in place and leaves ``build/lib`` behind; a file deleted from the
    sources since then would still be packed into the next wheel built from the checkout.
    """
    ignore = shutil.ignore_patterns(
        ".git",
        ".venv",
        "build",
        "dist",
        "*.egg-info",
        "__pycache__",
        ".*_cache",
        "dashai-demo*",
        ".peers-venv",  # the benchmarks' MLflow/Optuna venv (hundreds of MB)
    )
    shutil.copytree(REPO, target, ignore=ignore)
    return target


def build_wheel_venv(work: Path) -> WheelVenv:
    dist = work / "dist"
    source = clean_copy(work / "source")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dist), str(source)],
        check=True,
        capture_output=True,
        timeout=INSTALL_TIMEOUT_S,
        env=clean_env(),
    )
    (wheel,) = dist.glob("dashai_store-*.whl")
    root = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, timeout=INSTALL_TIMEOUT_S)
    venv = WheelVenv(wheel=wheel, root=root)
    extras = "[postgres]" if os.environ.get("DASHAI_TEST_POSTGRES_URL") else ""
    install = subprocess.run(
        [str(venv.python), "-m", "pip", "install", "--quiet", f"{wheel}{extras}"],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
        env=clean_env(),
        cwd=work,
    )
    if install.returncode != 0:
        raise RuntimeError(f"pip install {wheel.name} failed:\n{install.stderr[-3000:]}")
    return venv
