"""``metrics.logger`` (buffered logging from a training loop), on SQLite, in one run.

* ``metrics.logger`` — N points through ``logger.log``, one call per point, including the
  final flush (the ``with`` block's exit), against one ``metrics.log_many`` of the same
  points (5-tuples) on a fresh run of the same store. Ratio: log_many's time over ours.
* ``metrics.logger.concurrent`` — two processes, each offering RATE points/s through a
  logger for DURATION seconds (paced: at any moment it has logged RATE x elapsed points)
  while a third polls ``metrics.since`` on both runs every 50 ms. A producer's achieved
  rate is its points over the time from its start to its logger's close returning (all
  written). ``value`` is the lower of the two achieved rates, ``baseline`` the offered one.
* ``metrics.logger.latency`` — p99 of one ``logger.log`` call against p99 of one raw
  ``list.append`` of the point checked as ``metrics.log`` checks it (what ``log`` costs
  before its lock and bookkeeping), both timed per call with ``perf_counter_ns``.

With ``DASHAI_BENCH_QUICK=1`` (``run.py --quick``) the sizes and the duration are smaller.
Run standalone: ``python benchmarks/bench_logger.py``. The producers and the poller are
this file run as ``--producer`` / ``--poller``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench_metrics import new_run
from pairs import figure

RATE = 50_000
SPLITS = ("TRAIN", "VALIDATION")


def _quick() -> bool:
    return os.environ.get("DASHAI_BENCH_QUICK") == "1"


def _point(i: int) -> tuple[str, str, str, int, float]:
    return ("loss", SPLITS[i & 1], "STEP", i >> 1, 1.0 / (i + 1))


@contextmanager
def _store(home: Path) -> Iterator[Any]:
    from dashai_store import open_store

    with open_store(home) as store:
        yield store


def bench_logger(workdir: Path) -> dict[str, Any]:
    from dashai_store import metrics

    count, repeats = (20_000, 3) if _quick() else (200_000, 5)
    points = [_point(i) for i in range(count)]
    ours_s: list[float] = []
    base_s: list[float] = []
    with _store(workdir / "home") as store:
        for repeat in range(repeats):
            ours_run, base_run = new_run(store), new_run(store)

            def ours(run_id: int = ours_run) -> None:
                with metrics.logger(run_id) as logger:
                    log = logger.log
                    for name, split, level, step, value in points:
                        log(name, value, split=split, level=level, step=step)

            def base(run_id: int = base_run) -> None:
                metrics.log_many(run_id, points)

            order = [(ours, ours_s), (base, base_s)]
            for fn, samples in order if repeat % 2 == 0 else reversed(order):
                start = time.perf_counter()
                fn()
                samples.append(time.perf_counter() - start)
    return figure(count, ours_s, base_s, "points/s")


def bench_concurrent(workdir: Path) -> dict[str, Any]:
    duration = 3.0 if _quick() else 20.0
    home = workdir / "home"
    with _store(home) as store:
        run_a, run_b = new_run(store), new_run(store)
    me = str(Path(__file__).resolve())

    def spawn(*args: object) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, me, *map(str, args)], stdout=subprocess.PIPE, text=True, env=dict(os.environ)
        )

    start_at = time.time() + 2.0  # all three start together, once imported and open
    poller = spawn("--poller", home, start_at, duration, run_a, run_b)
    producers = [spawn("--producer", home, start_at, duration, run) for run in (run_a, run_b)]
    results = []
    for child in producers:
        out, _ = child.communicate(timeout=duration * 10 + 120)
        if child.returncode != 0:
            raise RuntimeError(f"a producer failed (exit {child.returncode})")
        results.append(json.loads(out))
    polled, _ = poller.communicate(timeout=duration * 10 + 120)
    if poller.returncode != 0:
        raise RuntimeError(f"the poller failed (exit {poller.returncode})")
    seen = json.loads(polled)
    rates = [result["points"] / result["seconds"] for result in results]
    lowest = min(rates)
    return {
        "value": lowest,
        "baseline": float(RATE),
        "ratio": lowest / RATE,
        "unit": "points/s",
        "note": (
            f"{duration:g} s; achieved {', '.join(f'{r:,.0f}' for r in rates)} points/s; "
            f"the poller saw {seen['points']:,} points in {seen['polls']} polls"
        ),
    }


def _producer(home: str, start_at: float, duration: float, run_id: int) -> None:
    from dashai_store import metrics

    with _store(Path(home)):
        logger = metrics.logger(run_id)
        log = logger.log
        time.sleep(max(0.0, start_at - time.time()))
        started = time.perf_counter()
        total = int(RATE * duration)
        i = 0
        while i < total:
            due = min(total, int(RATE * (time.perf_counter() - started)) + 1)
            while i < due:
                name, split, level, step, value = _point(i)
                log(name, value, split=split, level=level, step=step)
                i += 1
            if i < total:
                time.sleep(0.001)
        logger.close()
        seconds = time.perf_counter() - started
        assert logger.points_written == total
    print(json.dumps({"points": total, "seconds": seconds}))


def _poller(home: str, start_at: float, duration: float, *run_ids: int) -> None:
    from dashai_store import metrics

    with _store(Path(home)):
        cursors = dict.fromkeys(run_ids, 0)
        seen = polls = 0
        time.sleep(max(0.0, start_at - time.time()))
        deadline = time.perf_counter() + duration
        while time.perf_counter() < deadline:
            for run_id in run_ids:
                points, cursors[run_id] = metrics.since(run_id, cursors[run_id])
                seen += len(points)
            polls += 1
            time.sleep(0.05)
    print(json.dumps({"points": seen, "polls": polls}))


def bench_latency(workdir: Path) -> dict[str, Any]:
    from dashai_store import metrics

    count = 20_000 if _quick() else 200_000
    points = [_point(i) for i in range(count)]
    clock = time.perf_counter_ns
    check = metrics.checked_point
    with _store(workdir / "home") as store:
        run_id = new_run(store)
        ours_ns: list[int] = []
        with metrics.logger(run_id) as logger:
            log = logger.log
            for name, split, level, step, value in points:
                t0 = clock()
                log(name, value, split=split, level=level, step=step)
                ours_ns.append(clock() - t0)
        base_ns: list[int] = []
        memory: list[Any] = []
        append = memory.append
        for name, split, level, step, value in points:
            t0 = clock()
            append(check(name, value, split, level, step))
            base_ns.append(clock() - t0)
    ours = statistics.quantiles(ours_ns, n=100)[98] / 1000
    base = statistics.quantiles(base_ns, n=100)[98] / 1000
    return {
        "value": ours,
        "baseline": base,
        "ratio": base / ours,
        "unit": "us p99",
        "note": f"p50 {statistics.median(ours_ns) / 1000:.2f} vs {statistics.median(base_ns) / 1000:.2f} us",
    }


FIGURES: dict[str, Callable[[Path], dict[str, Any]]] = {
    "metrics.logger": bench_logger,
    "metrics.logger.concurrent": bench_concurrent,
    "metrics.logger.latency": bench_latency,
}


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--producer":
        _producer(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--poller":
        _poller(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), *map(int, sys.argv[5:]))
    else:  # standalone: run.py's table for this module's figures
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import run

        sys.exit(run.main([arg for name in FIGURES for arg in ("--only", name)]))
