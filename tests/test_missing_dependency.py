"""A Python without dashai_store or its dependencies: exit 6 and one line, no traceback.

The interpreter is real; the missing module is emulated the way Python itself reports
one (``sys.modules[name] = None`` makes ``import name`` raise ModuleNotFoundError), so
the test needs no second Python installation.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dashai_store.cli import EXIT_MISSING_DEPENDENCY

REPO = Path(__file__).resolve().parents[1]


def run_without(module: str, code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    program = f"import sys, runpy\nsys.modules[{module!r}] = None\nsys.argv = ['prog', *sys.argv[1:]]\n{code}"
    return subprocess.run(
        [sys.executable, "-c", program, "--home", str(tmp_path / "home")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )


@pytest.mark.parametrize("missing", ["peewee", "pyarrow"])
def test_the_command_names_the_python_and_what_to_install(missing: str, tmp_path: Path) -> None:
    # `status` imports peewee; `demo` needs pyarrow as well.
    command = "status" if missing == "peewee" else "demo"
    result = run_without(
        missing,
        f"sys.argv = ['dashai-store', {command!r}, *sys.argv[1:]]\n"
        "runpy.run_module('dashai_store', run_name='__main__')",
        tmp_path,
    )
    assert result.returncode == EXIT_MISSING_DEPENDENCY, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"{missing} is not installed for this Python ({sys.executable})" in lines[0]
    assert "pip install" in lines[0]


@pytest.mark.parametrize("missing", ["dashai_store", "peewee"])
def test_migrate_script_without_the_package_exits_6(missing: str, tmp_path: Path) -> None:
    script = str(REPO / "scripts" / "migrate.py")
    result = run_without(missing, f"runpy.run_path({script!r}, run_name='__main__')", tmp_path)
    assert result.returncode == EXIT_MISSING_DEPENDENCY, result.stderr
    assert "Traceback" not in result.stderr
    assert f"{missing} is not installed for this Python ({sys.executable})" in result.stderr
    assert not (tmp_path / "home").exists()  # nothing written


def test_an_unrelated_missing_module_is_not_blamed_on_the_install() -> None:
    from dashai_store.cli import missing_dependency

    assert missing_dependency(ModuleNotFoundError("x", name="numpy_financial")) is None
    message = missing_dependency(ModuleNotFoundError("x", name="playhouse.migrate"))
    assert message is not None and message.startswith("playhouse is not installed")
