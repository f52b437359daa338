"""Build tests/bundle_app with PyInstaller, with no extra flags, and run the bundle.

dashai_store's hook (``dashai_store/_pyinstaller``, announced by the ``pyinstaller40``
entry point) must bring in everything the app uses: the migrations and their sources, the
facade modules imported lazily, playhouse, psycopg2, pyarrow, joblib and plotly with its
data files. The command below names the app and where to put the build, nothing else.

PyInstaller cannot analyse setuptools' editable installs (pyinstaller/pyinstaller#7524:
the package is served by a meta-path finder its module graph does not consult), so the
library is first installed normally into a scratch ``--target`` folder put on
``PYTHONPATH`` — the way a desktop app installs it before bundling.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dashai_store.migrator import default_steps

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "tests" / "bundle_app" / "app.py"
PG_URL = os.environ.get("DASHAI_TEST_POSTGRES_URL", "")
FORBIDDEN = ("--hidden-import", "--hiddenimport", "--collect", "--copy-metadata", "--add-data", "--paths")


@pytest.mark.slow
def test_bundle_builds_and_runs_with_no_extra_flags(
    tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    pytest.importorskip("PyInstaller", reason="PyInstaller is not installed (pip install '.[bundle]')")
    site = tmp_path / "site"
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(REPO)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    installed = time.perf_counter()
    command = [
        sys.executable,
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
    env = {**os.environ, "PYTHONPATH": str(site)}
    build = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    built = time.perf_counter()
    assert build.returncode == 0, build.stderr[-4000:]
    # The hook that ran is the installed library's, found through the entry point.
    assert re.search(r"Processing .*hook 'hook-dashai_store\.py' from '.*_pyinstaller'", build.stderr)

    executable = tmp_path / "dist" / "bundle_app" / "bundle_app"
    args = [str(executable), str(tmp_path / "work")] + ([PG_URL] if PG_URL else [])
    # The bundle must not lean on this interpreter's site-packages or the scratch install.
    clean_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    result = subprocess.run(args, env=clean_env, capture_output=True, text=True, timeout=300)
    ran = time.perf_counter()
    timings = {
        "pip_install_s": round(installed - started, 1),
        "pyinstaller_build_s": round(built - installed, 1),
        "bundle_run_s": round(ran - built, 1),
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
