"""One walkthrough from start to end: the home, the schema, the steps, the check, the report."""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .check import check_store, problems, row_counts
from .data import ROWS, SEED, make_customers
from .home import choose_home, read_marker, write_marker
from .progress import PhaseClock, Progress
from .summary import DemoSummary
from .walkthrough import Walk, walk_through

__all__ = ["REPORT_NAME", "run"]

REPORT_NAME = "report.html"


def _migrate(home: Path, database: str | None) -> dict[str, Any]:
    """Bring the database to the current schema, as ``scripts/migrate.py`` does at app start."""
    from ..database import open_target
    from ..migrator import Migrator

    home.mkdir(parents=True, exist_ok=True)
    home_path, db = open_target(str(home), database)
    try:
        result = Migrator(home_path, db).migrate()
    finally:
        db.close()
    return {
        "applied": [step.id for step in result.applied],
        "head": result.head,
        "backup": str(result.backup) if result.backup else None,
    }


def _free_prefix(walkthrough: int) -> tuple[int, str]:
    """The walkthrough number and the prefix of its names (none for the first)."""
    from .. import datasets, errors

    while True:
        prefix = "" if walkthrough == 1 else f"#{walkthrough} "
        try:
            datasets.get_by_name(f"{prefix}customers")
        except errors.NotFound:
            return walkthrough, prefix
        walkthrough += 1


def run(
    home: str | os.PathLike[str] | None = None,
    *,
    database: str | None = None,
    seed: int = SEED,
    rows: int = ROWS,
    cwd: Path | None = None,
    progress: Progress | None = None,
) -> DemoSummary:
    """Run one walkthrough in ``home`` (see :mod:`dashai_store.demo`) and write the report.

    Raises :class:`DemoHomeRefused` before writing anything if the home cannot be used;
    a failure of the store raises its :mod:`dashai_store.errors` type (a database a newer
    dashai_store migrated: :class:`~dashai_store.errors.SchemaTooNew`, nothing written to it).
    """
    started = time.perf_counter()
    home_path = choose_home(home, cwd)
    home_path.mkdir(parents=True, exist_ok=True)
    marker = read_marker(home_path)
    write_marker(home_path, marker)  # claim the folder first: an interrupted walkthrough can be rerun
    clock = PhaseClock(progress)
    with clock.phase("data"):
        table = make_customers(rows, seed)
    with clock.phase("migrate"):
        migration = _migrate(home_path, database)
    from ..store import open_store
    from .report import read_report_data, write_report

    with open_store(home_path, database=database, migrate=False) as store:
        walkthrough, prefix = _free_prefix(len(marker["walkthroughs"]) + 1)
        walk = Walk(prefix=prefix, seed=seed, table=table)
        walk_through(walk, clock)
        with clock.phase("check"):
            check = check_store()
        counts = row_counts()
        backend, url = store.backend, store.url
        report_data = read_report_data(
            walk,
            home=home_path,
            backend=backend,
            check=check,
            counts=counts,
            timings=clock.timings,
            migration=migration,
        )
    with clock.phase("report"):
        report = write_report(home_path / REPORT_NAME, report_data)
    total = time.perf_counter() - started
    summary = DemoSummary(
        home=home_path,
        backend=backend,
        database=url,
        walkthrough=walkthrough,
        seed=seed,
        migration=migration,
        ids=walk.ids,
        facts=walk.facts,
        counts=counts,
        timings=tuple(clock.timings),
        total_seconds=total,
        check_ok=check.ok,
        check_problems=tuple(problems(check)),
        report=report,
        report_bytes=report.stat().st_size,
    )
    marker["walkthroughs"].append(
        {
            "number": walkthrough,
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "backend": backend,
            "database": url,
            "ok": summary.ok,
            "ids": walk.ids,
            "total_s": round(total, 3),
        }
    )
    write_marker(home_path, marker)
    return summary
