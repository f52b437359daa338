"""What a walkthrough did, as the command prints it: text lines or one JSON document."""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._version import __version__

__all__ = ["DemoSummary", "summary_document", "summary_lines", "versions"]


@dataclass(frozen=True, kw_only=True)
class DemoSummary:
    """What a walkthrough did: ids of what it made, facts about them, timings, the check."""

    home: Path
    backend: str
    database: str
    walkthrough: int
    seed: int
    migration: dict[str, Any]
    ids: dict[str, int]
    facts: dict[str, Any]
    counts: dict[str, int]
    timings: tuple[tuple[str, float], ...]
    total_seconds: float
    check_ok: bool
    check_problems: tuple[str, ...]
    report: Path
    report_bytes: int

    @property
    def ok(self) -> bool:
        """The walkthrough left a clean store (the check found no problem)."""
        return self.check_ok


def versions() -> dict[str, str]:
    """The versions of dashai_store, Python and the libraries the walkthrough used."""
    import joblib
    import peewee
    import plotly
    import pyarrow

    return {
        "dashai_store": __version__,
        "python": platform.python_version(),
        "peewee": str(peewee.__dict__["__version__"]),
        "pyarrow": pyarrow.__version__,
        "plotly": plotly.__version__,
        "joblib": joblib.__version__,
    }


def summary_document(summary: DemoSummary) -> dict[str, Any]:
    """The ``--json`` document."""
    return {
        "ok": summary.ok,
        "home": str(summary.home),
        "backend": summary.backend,
        "database": summary.database,
        "walkthrough": summary.walkthrough,
        "seed": summary.seed,
        "migration": summary.migration,
        "ids": summary.ids,
        "facts": summary.facts,
        "counts": summary.counts,
        "check": {"ok": summary.check_ok, "problems": list(summary.check_problems)},
        "timings_s": {name: round(seconds, 4) for name, seconds in summary.timings},
        "total_s": round(summary.total_seconds, 3),
        "report": str(summary.report),
        "report_bytes": summary.report_bytes,
        "versions": versions(),
    }


def _area_rows(summary: DemoSummary) -> list[tuple[str, str, float]]:
    """(area, what it did, seconds) for each line of the text summary."""
    f = summary.facts
    t = dict(summary.timings)
    migration = summary.migration
    applied = migration["applied"]
    return [
        (
            "migrate",
            f"{len(applied)} step(s) applied ({', '.join(applied) or 'already up to date'}), "
            f"head {migration['head']}",
            t["migrate"],
        ),
        (
            "dataset",
            f"{f['dataset_name']!r}: {f['dataset_rows']} rows x {f['dataset_columns']} columns",
            t["dataset"],
        ),
        (
            "notebook",
            f"{f['converters']} converters + 1 undo -> {f['saved_dataset_name']!r} ({f['saved_rows']} rows, "
            f"{len(f['saved_columns'])} columns), 1 explorer",
            t["notebook"],
        ),
        (
            "run",
            f"{f['trials']} trials, best lr={f['best_parameters']['lr']} l2={f['best_parameters']['l2']}; "
            f"{f['epochs']} epochs, {f['metric_points']} metric points; "
            f"test accuracy {f['test_accuracy']:.3f}",
            t["training"],
        ),
        ("plots", f"{len(f['plots'])} optimisation plots ({', '.join(f['plots'])})", t["plots"]),
        ("model", f"joblib round trip: same predictions on {f['round_trip_rows']} rows", t["model"]),
        ("prediction", f"{f['prediction_rows']} rows predicted, results stored as Arrow", t["prediction"]),
        (
            "generative",
            f"{f['snapshots']} parameter snapshots ({f['parameter_updates']} updates + 1 restore; "
            "a no-op wrote none), "
            f"{f['processes']} processes, {f['payloads']} payloads (1 image)",
            t["generative"],
        ),
        (
            "plugin",
            f"{f['plugin_name']!r} {f['plugin_version']} tags {', '.join(f['plugin_tags'])}",
            t["plugin"],
        ),
        (
            "explainers",
            f"global ({f['explained_features']} features) and local ({f['local_instances']} rows)",
            t["explainers"],
        ),
        ("check", "ok" if summary.check_ok else "PROBLEMS", t["check"]),
        ("report", f"{summary.report_bytes / 1e6:.1f} MB, self-contained", t["report"]),
    ]


def summary_lines(summary: DemoSummary) -> list[str]:
    """The short human-readable summary the command prints."""
    rows = _area_rows(summary)
    lines = [f"dashai-store demo: walkthrough {summary.walkthrough} in {summary.home} ({summary.backend})"]
    width = max(len(text) for _, text, _ in rows)
    lines.extend(f"  {name:<11} {text:<{width}} {seconds:6.2f} s" for name, text, seconds in rows)
    lines.extend(f"  problem: {p}" for p in summary.check_problems)
    lines.append(f"rows: {', '.join(f'{table} {n}' for table, n in summary.counts.items() if n)}")
    lines.append(f"report: {summary.report}")
    lines.append(f"total: {summary.total_seconds:.2f} s" + ("" if summary.ok else " -- check found problems"))
    return lines
