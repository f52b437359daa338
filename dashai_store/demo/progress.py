"""The walkthrough's phases timed, and reported as they end (``demo: <phase> <s> s`` on stderr)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["PhaseClock", "Progress", "stderr_progress"]

Progress = Callable[[str, float], None]
"""``progress(phase, seconds)`` after each phase of the walkthrough."""


class PhaseClock:
    """Times named phases in order; tells ``progress`` as each one ends."""

    def __init__(self, progress: Progress | None) -> None:
        self.timings: list[tuple[str, float]] = []
        self.progress = progress

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time the block as phase ``name``."""
        started = time.perf_counter()
        yield
        seconds = time.perf_counter() - started
        self.timings.append((name, seconds))
        if self.progress is not None:
            self.progress(name, seconds)


def stderr_progress(name: str, seconds: float) -> None:
    """The command's progress: one line per phase on stderr."""
    print(f"demo: {name} {seconds:.2f} s", file=sys.stderr, flush=True)
