"""A fresh store per test is cheap: a copy of a migrated template vs migrating from scratch.

``testing.fresh_store`` times ``with dashai_store.testing.fresh_store(home=...): pass`` —
what the ``dashai_fresh_store`` fixture costs a test: copy the template's db.sqlite into a
new home, open it (verifying it is up to date), bind the facade, close — against the same
open/close of a new home that is migrated from scratch (``open_store(home)``). Medians of
REPEATS runs after a warm-up (the warm-up builds the per-process template, a one-off).
``ratio`` is ``t_migrate / t_fresh_store``: how many times cheaper the copy is.

Run standalone: ``python benchmarks/bench_testing.py`` prints the figure, and the same
comparison on PostgreSQL (a new schema per store) when ``DASHAI_TEST_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

REPEATS = 30


def _median_time(fn: Callable[[int], None], repeats: int = REPEATS) -> float:
    fn(-1)  # warm-up
    samples = []
    for i in range(repeats):
        start = time.perf_counter()
        fn(i)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def bench_fresh_store(workdir: Path) -> dict[str, Any]:
    """Median time of a fresh SQLite store from the template vs one migrated from scratch."""
    from dashai_store import open_store
    from dashai_store.testing import fresh_store

    root = workdir / "bench-testing"

    def copy(i: int) -> None:
        with fresh_store(home=root / f"copy-{i}"):
            pass

    def migrate(i: int) -> None:
        with open_store(root / f"migrate-{i}"):
            pass

    value = _median_time(copy)
    baseline = _median_time(migrate)
    return {"value": value, "baseline": baseline, "ratio": baseline / value, "unit": "s"}


def postgres_comparison(url: str, repeats: int = 10) -> tuple[float, float]:
    """(fresh_store, migrate into a new schema) medians on PostgreSQL, schema drop included."""
    from dashai_store import open_store
    from dashai_store.database import connect_postgres
    from dashai_store.testing import fresh_store

    def copy(_i: int) -> None:
        with fresh_store(url):
            pass

    admin = connect_postgres(url)

    def migrate(_i: int) -> None:
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        admin.execute_sql(f'CREATE SCHEMA "{schema}"')
        sep = "&" if "?" in url else "?"
        try:
            with (
                tempfile.TemporaryDirectory() as home,
                open_store(home, database=f"{url}{sep}options={quote(f'-csearch_path={schema}')}"),
            ):
                pass
        finally:
            admin.execute_sql(f'DROP SCHEMA "{schema}" CASCADE')

    try:
        return _median_time(copy, repeats), _median_time(migrate, repeats)
    finally:
        admin.close()


FIGURES: dict[str, Callable[[Path], dict[str, Any]]] = {
    "testing.fresh_store": bench_fresh_store,
}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-testing-") as tmp:
        for name, figure in FIGURES.items():
            r = figure(Path(tmp))
            print(
                f"{name}: fresh_store {r['value'] * 1e3:.2f} ms, migrate from scratch "
                f"{r['baseline'] * 1e3:.2f} ms, ratio {r['ratio']:.1f}x"
            )
    url = os.environ.get("DASHAI_TEST_POSTGRES_URL")
    if url:
        copy, migrate = postgres_comparison(url)
        print(
            f"testing.fresh_store (PostgreSQL): fresh_store {copy * 1e3:.1f} ms, migrate into a new "
            f"schema {migrate * 1e3:.1f} ms, ratio {migrate / copy:.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
