"""The README is a tested document: every code block runs as written.

Python blocks run in a subprocess with ``HOME`` pointed at an empty scratch folder (so
``~/.DashAI`` is a new store); the pytest example runs under pytest with the installed
plugin. Bash blocks run with ``bash -e`` in a scratch folder holding ``.venv`` (this test
run's interpreter), ``scripts/`` and ``benchmarks/``, with ``HOME/.DashAI`` a copy of the
legacy DashAI home; the quick start, which installs, runs in a copy of the checkout. A
block is exempt only with a ``<!-- readme-test: not run (why) -->`` line right above it,
and the exempt blocks are pinned below. Links point only at files of the repository.
"""

from __future__ import annotations

import re
import shutil
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
        ".mlflow-venv",
    )
    copy = tmp_path / "checkout"
    shutil.copytree(REPO, copy, ignore=ignore)
    return copy


@pytest.mark.parametrize("index", range(len(RUN)))
def test_readme_block_runs_as_written(index: int, tmp_path: Path) -> None:
    lang, body = RUN[index]
    work, env = sandbox(tmp_path)
    if lang == "python" and "dashai_fresh_store" in body:
        (work / "test_readme_example.py").write_text(body)
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_readme_example.py"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert re.search(r"\b(\d+) passed\b", result.stdout), result.stdout
        return
    if lang == "python":
        result = subprocess.run(
            [sys.executable, "-c", body], cwd=work, env=env, capture_output=True, text=True, timeout=300
        )
    elif INSTALLS in body:
        work = clean_copy(tmp_path / "checkout")
        result = subprocess.run(
            ["bash", "-e", "-c", body], cwd=work, env=env, capture_output=True, text=True, timeout=900
        )
    else:
        shutil.copytree(LEGACY_FIXTURE, Path(env["HOME"]) / ".DashAI", symlinks=True)
        result = subprocess.run(
            ["bash", "-e", "-c", body], cwd=work, env=env, capture_output=True, text=True, timeout=600
        )
    assert result.returncode == 0, (
        f"README {lang} block {index}:\n{body}\n" + result.stdout[-3000:] + result.stderr[-3000:]
    )
    if INSTALLS in body and "dashai-store demo" in body:
        assert (work / "dashai-demo" / "report.html").is_file()
