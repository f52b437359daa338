"""The README's Python examples run as written (with the home pointed at a temp folder)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_the_readme_has_python_examples() -> None:
    assert BLOCKS


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = BLOCKS[index]
    if "dashai_fresh_store" in source:
        pytest.skip("a pytest test body, exercised by tests/test_testing_fixture.py")
    monkeypatch.setenv("DASHAI_HOME", str(tmp_path / "home"))
    source = source.replace('"~/.DashAI"', repr(str(tmp_path / "home")))
    exec(compile(source, f"README.md python block {index}", "exec"), {"__name__": "readme"})
