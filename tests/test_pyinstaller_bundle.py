"""Build tests/bundle_app with PyInstaller from the wheel venv, with no extra flags, and run
the bundle twice on the same homes.

dashai_store's hook (``dashai_store/_pyinstaller``, announced by the ``pyinstaller40``
entry point) must bring in everything the app uses: the migrations and their sources, the
facade modules imported lazily, playhouse, psycopg2, pyarrow, joblib and plotly with its
data files. The command below names the app and where to put the build, nothing else.

The bundle is built from what users install: the wheel of this checkout in a clean venv
(the ``wheel_venv`` fixture), never the editable install of the test venv, whose import
finder would fill in a subpackage the wheel leaves out (pyinstaller/pyinstaller#7524:
PyInstaller cannot analyse editable installs at all).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from installed import LEGACY_FIXTURE, WheelVenv, clean_env

from dashai_store.migrator import default_steps

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "tests" / "bundle_app" / "app.py"
PG_URL = os.environ.get("DASHAI_TEST_POSTGRES_URL", "")
FORBIDDEN = ("--hidden-import", "--hiddenimport", "--collect", "--copy-metadata", "--add-data", "--paths")


@pytest.mark.slow
def test_bundle_from_the_wheel_builds_with_no_extra_flags_and_starts_twice(
    wheel_venv: WheelVenv, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    started = time.perf_counter()
    pip = wheel_venv.run("-m", "pip", "install", "--quiet", "pyinstaller>=6", cwd=tmp_path, timeout=600)
    assert pip.returncode == 0, pip.stderr[-3000:]
    installed = time.perf_counter()
    command = [
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--onedir",
        "--name",
        "bundle_app",
        "--distpath",
        str(tmp_path / "dist"),
        "--workpath",
        str(tmp_path / "build"),
        "--specpath",
        str(tmp_path),
        str(APP),
    ]
    assert not [arg for arg in command if arg.startswith(FORBIDDEN)]
    build = wheel_venv.run(*command, cwd=tmp_path, timeout=900)
    built = time.perf_counter()
    assert build.returncode == 0, build.stderr[-4000:]
    # The hook that ran is the installed library's, found through the entry point.
    assert re.search(r"Processing .*hook 'hook-dashai_store\.py' from '.*_pyinstaller'", build.stderr)
    assert str(REPO) not in re.findall(r"from '([^']*_pyinstaller)'", build.stderr)[0]

    executable = tmp_path / "dist" / "bundle_app" / "bundle_app"
    work, legacy = tmp_path / "work", tmp_path / "legacy-home"
    shutil.copytree(LEGACY_FIXTURE, legacy, symlinks=True)
    first = [str(executable), str(work), str(legacy)] + ([PG_URL] if PG_URL else [])
    # The bundle must not lean on this interpreter's site-packages or the wheel venv; it
    # runs from a folder of its own, as a desktop app does.
    result = subprocess.run(first, env=clean_env(), capture_output=True, text=True, timeout=300, cwd=tmp_path)
    ran = time.perf_counter()
    again = subprocess.run(
        [str(executable), str(work), str(legacy), "--again"],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    timings = {
        "pip_install_pyinstaller_s": round(installed - started, 1),
        "pyinstaller_build_s": round(built - installed, 1),
        "bundle_first_start_s": round(ran - built, 1),
        "bundle_second_start_s": round(time.perf_counter() - ran, 1),
    }
    record_property("bundle_timings", timings)
    print(f"bundle timings: {timings}")
    out = result.stdout
    assert result.returncode == 0, out[-4000:] + result.stderr[-4000:]

    assert "frozen=True" in out
    expected = [
        "OK migrate fresh",
        "OK migrate previous",
        "OK arrow dataset",
        "OK metrics",
        "OK joblib model",
        "OK plotly figure plotly.graph_objs._figure.Figure",
        "OK migrate upgrade",
        "OK demo",
        "OK adopt",
    ]
    if PG_URL:
        expected.append("OK migrate postgresql")
    for line in [*expected, "ALL OK"]:
        assert re.search(rf"^{re.escape(line)}", out, flags=re.MULTILINE), f"missing {line!r} in:\n{out}"

    # The migration output lists every registered step: applied, then in --history.
    for step in default_steps():
        assert re.search(rf"^applied {re.escape(step.id)} in ", out, flags=re.MULTILINE), step.id
        assert re.search(rf"^\s*{step.sequence} {re.escape(step.id)} ", out, flags=re.MULTILINE), step.id
        # The hook ships the migration sources, so the bundle records the same checksum
        # as a source install (an empty one would print '-').
        assert f"checksum {step.id} {step.checksum}" in out

    assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-4000:]
    for line in ("OK demo", "OK again", "ALL OK"):
        assert re.search(rf"^{re.escape(line)}", again.stdout, flags=re.MULTILINE), f"missing {line!r}"
