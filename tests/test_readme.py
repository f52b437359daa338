"""The README is a tested document: every code block runs as written.

Python blocks run in a subprocess with ``HOME`` pointed at an empty scratch folder (so
``~/.DashAI`` is a new store); the pytest example runs under pytest with the installed
plugin. Bash blocks run in document order with ``bash -e``, as a reader following the
README on one machine: in a scratch folder holding ``.venv`` (this test run's
interpreter), ``scripts/`` and ``benchmarks/``, with ``HOME/.DashAI`` a copy of the legacy
DashAI home (status, backups, the adoption's dry run, the adoption, the way back). The
quick start, which installs, runs in a clean copy of the checkout. A
block is exempt only with a ``<!-- readme-test: not run (why) -->`` line right above it,
and the exempt blocks are pinned below. Links point only at files of the repository.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from installed import LEGACY_FIXTURE, REPO, clean_copy, clean_env

README = REPO / "README.md"
TEXT = README.read_text(encoding="utf-8")
BLOCK = re.compile(
    r"(?:<!-- readme-test: (?P<skip>[^>]*) -->\n)?```(?P<lang>\w+)\n(?P<body>.*?)```", re.DOTALL
)
BLOCKS = [(m["lang"], m["body"], m["skip"]) for m in BLOCK.finditer(TEXT)]
RUN = [(lang, body) for lang, body, skip in BLOCKS if skip is None]
EXEMPT = {body.strip().splitlines()[0] for _lang, body, skip in BLOCKS if skip is not None}
INSTALLS = "pip install"


def test_only_the_test_command_and_the_full_benchmark_run_are_exempt() -> None:
    assert EXEMPT == {
        "bash scripts/test.sh",
        ".venv/bin/python benchmarks/run.py            # the table; exit status 1 if a target is missed",
    }
    assert {lang for lang, _ in RUN} == {"bash", "python"}
    ci = (REPO / ".ci" / "run").read_text()
    assert "bash scripts/test.sh" in ci  # CI runs the README's test command verbatim


def test_links_point_at_files_of_the_repository() -> None:
    targets = re.findall(r"\]\(([^)\s]+)\)", TEXT)
    local = [t for t in targets if not re.match(r"[a-z]+://", t) and not t.startswith("#")]
    assert local, "expected links to docs"
    for target in local:
        path = (REPO / target.split("#")[0]).resolve()
        assert REPO in path.parents and path.exists(), (
            f"README links to {target}, not a file of the repository"
        )
    assert "shared/" not in TEXT


def sandbox(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    work = tmp_path / "work"
    work.mkdir()
    (work / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    for folder in ("scripts", "benchmarks"):
        (work / folder).symlink_to(REPO / folder, target_is_directory=True)
    home = tmp_path / "home"
    home.mkdir()
    return work, {**clean_env(), "HOME": str(home)}


def checkout_copy(tmp_path: Path) -> Path:
    ignore = shutil.ignore_patterns(
        ".git",
        ".venv",
        "*.egg-info",
        "build",
        "dist",
        "__pycache__",
        ".*_cache",
        "dashai-demo",
        ".peers-venv",  # the benchmarks' MLflow/Optuna venv (hundreds of MB)
    )
    copy = tmp_path / "checkout"
    shutil.copytree(REPO, copy, ignore=ignore)
    return copy


PYTHON_BLOCKS = [body for lang, body in RUN if lang == "python"]
BASH_BLOCKS = [body for lang, body in RUN if lang == "bash" and INSTALLS not in body]
INSTALL_BLOCKS = [body for lang, body in RUN if lang == "bash" and INSTALLS in body]


@pytest.mark.parametrize("index", range(len(PYTHON_BLOCKS)))
def test_python_block_runs_as_written(index: int, tmp_path: Path) -> None:
    body = PYTHON_BLOCKS[index]
    work, env = sandbox(tmp_path)
    if "dashai_fresh_store" in body:
        (work / "test_readme_example.py").write_text(body)
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_readme_example.py"]
    else:
        command = [sys.executable, "-c", body]
    result = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (
        f"README python block:\n{body}\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    )
    if "dashai_fresh_store" in body:
        assert re.search(rf"\b{body.count('def test_')} passed\b", result.stdout), result.stdout


def test_bash_blocks_run_in_order_on_a_legacy_home(tmp_path: Path) -> None:
    assert len(BASH_BLOCKS) >= 4
    work, env = sandbox(tmp_path)
    home = Path(env["HOME"]) / ".DashAI"
    shutil.copytree(LEGACY_FIXTURE, home, symlinks=True)
    for body in BASH_BLOCKS:
        result = subprocess.run(
            ["bash", "-e", "-c", body], cwd=work, env=env, capture_output=True, text=True, timeout=600
        )
        assert result.returncode == 0, (
            f"README bash block:\n{body}\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    # The narrative ends where it began: the old DashAI's database, its files at their old paths.
    (revision,) = (
        sqlite3.connect(home / "db.sqlite").execute("SELECT version_num FROM alembic_version").fetchone()
    )
    assert revision
    assert (home / "runs" / "1").is_file() == (LEGACY_FIXTURE / "runs" / "1").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(INSTALL_BLOCKS)))
def test_install_block_runs_in_a_clean_copy_of_the_checkout(index: int, tmp_path: Path) -> None:
    body = INSTALL_BLOCKS[index]
    _work, env = sandbox(tmp_path)
    work = clean_copy(tmp_path / "checkout")
    result = subprocess.run(
        ["bash", "-e", "-c", body], cwd=work, env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, (
        f"README install block:\n{body}\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    )
    if "dashai-store demo" in body:
        assert (work / "dashai-demo" / "report.html").is_file()
