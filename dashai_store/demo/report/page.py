"""The report page: its sections assembled, the summary embedded as JSON, written atomically."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ...files.io import atomic_write
from .data import ReportData
from .markup import CSS, FigureRenderer, escape
from .sections import SECTIONS

__all__ = ["render_report", "write_report"]


def _figure_ids(data: ReportData) -> list[str]:
    """The div ids of the page's figures, in page order."""
    return [
        "metric-curves",
        "parameter-timeline",
        *(f"plot-{k}" for k in data.run_plots),
        *(["explorer-histogram"] if data.explorer_figure is not None else []),
        *(["explainer-global"] if data.explainer_figure is not None else []),
        *(f"explainer-local-{i}" for i in range(1, len(data.local_figures) + 1)),
    ]


def _embedded_document(data: ReportData) -> str:
    """The summary for scripts and tests: ``<script type="application/json" id="demo-data">``."""
    document: dict[str, Any] = {
        "title": data.title,
        "home": data.home,
        "backend": data.backend,
        "ids": data.ids,
        "counts": data.counts,
        "facts": data.facts,
        "timings_s": dict(data.timings),
        "check_ok": data.check_ok,
        "check_problems": data.check_problems,
        "figures": _figure_ids(data),
    }
    # "</" would end the script element early; JSON allows the escaped solidus.
    return json.dumps(document, ensure_ascii=False, default=str).replace("</", "<\\/")


def render_report(data: ReportData) -> str:
    """The report's HTML text."""
    figures = FigureRenderer()
    parts = [part for section in SECTIONS for part in section(data, figures)]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(data.title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(parts)
        + f'\n<script type="application/json" id="demo-data">{_embedded_document(data)}</script>\n'
        "</main>\n</body>\n</html>\n"
    )


def write_report(path: str | os.PathLike[str], data: ReportData) -> Path:
    """Write the report to ``path`` atomically (a temporary name, then a rename)."""
    target = Path(path)
    atomic_write(target, render_report(data).encode("utf-8"))
    return target
