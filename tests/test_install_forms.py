"""Every install form works: editable, a wheel in a clean venv, a normal install run from the
checkout root. Each runs tests/install_smoke.py: the demo, ``python -m dashai_store migrate``,
a facade round trip and the adoption of a copy of the legacy DashAI home. The PyInstaller
bundle built from the wheel venv is tests/test_pyinstaller_bundle.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from installed import LEGACY_FIXTURE, REPO, WheelVenv, clean_env, source_packages, wheel_packages

SMOKE = REPO / "tests" / "install_smoke.py"
EXPECTED = ["OK demo", "OK migrate", "OK facade", "OK adopt"]

pytestmark = pytest.mark.slow


def assert_smoke(result: subprocess.CompletedProcess[str], imported_from: Path) -> None:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    imported = Path(lines[0].removeprefix("IMPORTED ")).resolve()
    assert imported_from in imported.parents, f"imported {imported}, expected under {imported_from}"
    for expected in EXPECTED:
        assert any(line.startswith(expected) for line in lines), f"missing {expected!r} in:\n{result.stdout}"


def test_the_wheel_ships_every_package_of_the_source_tree(wheel_venv: WheelVenv) -> None:
    expected = source_packages()
    assert {"dashai_store", "dashai_store.legacy", "dashai_store.migrations"} <= expected
    assert not expected - wheel_packages(wheel_venv.wheel), "missing from the wheel"


def test_wheel_in_a_clean_venv(wheel_venv: WheelVenv, tmp_path: Path) -> None:
    result = wheel_venv.run(str(SMOKE), str(tmp_path / "work"), str(LEGACY_FIXTURE), cwd=tmp_path)
    assert_smoke(result, wheel_venv.root)


def test_normal_install_run_from_the_checkout_root(wheel_venv: WheelVenv, tmp_path: Path) -> None:
    # From the checkout root, Python imports the source tree, not the installed wheel:
    # its migrations/ sits beside the package rather than inside it.
    code = f"import runpy; runpy.run_path({str(SMOKE)!r}, run_name='__main__')"
    result = wheel_venv.run("-c", code, str(tmp_path / "work"), str(LEGACY_FIXTURE), cwd=REPO)
    assert_smoke(result, REPO / "dashai_store")


def test_editable_install(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SMOKE), str(tmp_path / "work"), str(LEGACY_FIXTURE)],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert_smoke(result, REPO / "dashai_store")
