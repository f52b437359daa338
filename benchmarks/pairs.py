"""The one way a benchmark times its two sides: alternately, in the same process and run."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


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


def figure(amount: float, ours_s: list[float], base_s: list[float], unit: str) -> dict[str, Any]:
    """Rates (``amount`` per median second) and the median of the per-repeat ratios.

    The two sides of one repeat run back to back, so they share the machine's state of the
    moment (other processes, caches); the ratio of each such pair is steadier on a busy
    machine than the ratio of two medians taken over different moments.
    """
    ratios = [base / ours for ours, base in zip(ours_s, base_s, strict=True)]
    return {
        "value": amount / statistics.median(ours_s),
        "baseline": amount / statistics.median(base_s),
        "ratio": statistics.median(ratios),
        "unit": unit,
    }
