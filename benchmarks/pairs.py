"""The one way a benchmark times its two sides: alternately, in the same process and run."""

from __future__ import annotations

import time
from collections.abc import Callable


def alternate(
    ours: Callable[[], object], base: Callable[[], object], repeats: int
) -> tuple[list[float], list[float]]:
    """Seconds of ``repeats`` calls of each side; which side goes first alternates.

    The machine is shared and noisy: pairing the sides back to back, and swapping their
    order every repeat, keeps a slow moment from landing on one side only.
    """
    ours_s: list[float] = []
    base_s: list[float] = []
    for repeat in range(repeats):
        order = [(ours, ours_s), (base, base_s)]
        for fn, samples in order if repeat % 2 == 0 else reversed(order):
            start = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - start)
    return ours_s, base_s
