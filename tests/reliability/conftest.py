"""Figures of the reliability tests, printed in the terminal summary (visible without -s).

A test records with the ``figures`` fixture: ``figures("kill points tried", 50)``. The
summary lists every figure under the test that recorded it, and the figures are also
written as JSON to ``<basetemp>/reliability-figures.json`` (and to
``$DASHAI_RELIABILITY_FIGURES`` when set, for CI artifacts).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

_FIGURES: dict[str, dict[str, Any]] = {}
_DURATIONS: dict[str, float] = {}

Record = Callable[[str, Any], None]


@pytest.fixture
def figures(request: pytest.FixtureRequest, record_property: Callable[[str, object], None]) -> Record:
    """``figures(name, value)``: keep a figure for the summary (and the JUnit XML)."""
    bucket = _FIGURES.setdefault(request.node.nodeid, {})

    def record(name: str, value: Any) -> None:
        bucket[name] = value
        record_property(name, value)

    return record


@pytest.fixture(autouse=True)
def _timed(request: pytest.FixtureRequest) -> Iterator[None]:
    started = time.monotonic()
    yield
    _DURATIONS[request.node.nodeid] = time.monotonic() - started


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not _DURATIONS:
        return
    tr = terminalreporter
    tr.section("reliability figures")
    per_module: dict[str, float] = {}
    for nodeid, seconds in _DURATIONS.items():
        module = nodeid.split("::")[0]
        per_module[module] = per_module.get(module, 0.0) + seconds
    for nodeid, values in _FIGURES.items():
        if values:
            shown = ", ".join(f"{k}={v}" for k, v in values.items())
            tr.write_line(f"{nodeid}: {shown}")
    for module, seconds in sorted(per_module.items()):
        tr.write_line(f"{module}: {seconds:.1f} s (test time, fixtures included)")
    payload = {"figures": _FIGURES, "module_seconds": per_module, "test_seconds": _DURATIONS}
    targets = []
    basetemp = getattr(config, "_tmp_path_factory", None)
    if basetemp is not None:
        try:
            targets.append(Path(basetemp.getbasetemp()) / "reliability-figures.json")
        except Exception:  # no base temp was created (e.g. every test was deselected)
            pass
    if os.environ.get("DASHAI_RELIABILITY_FIGURES"):
        targets.append(Path(os.environ["DASHAI_RELIABILITY_FIGURES"]))
    for target in targets:
        target.write_text(json.dumps(payload, indent=2, default=str))
        tr.write_line(f"figures written to {target}")
