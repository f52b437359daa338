"""What the report shows, as plain values (no store access while rendering)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ProcessView", "ReportData"]


@dataclass(frozen=True, kw_only=True)
class ProcessView:
    """A generative process as the report shows it: ``(data_type, value)`` payloads."""

    id: int
    snapshot_id: int | None
    status: str
    inputs: list[tuple[str, Any]]
    outputs: list[tuple[str, Any]]


@dataclass(frozen=True, kw_only=True)
class ReportData:
    """Everything the report shows; figures are Plotly figure dicts (as stored)."""

    title: str
    generated: str
    home: str
    backend: str
    versions: dict[str, str]
    migration: dict[str, Any]
    ids: dict[str, int]
    facts: dict[str, Any]
    counts: dict[str, int]
    timings: list[tuple[str, float]]
    metric_history: list[dict[str, Any]]
    """Rows of ``metrics.history_table`` (name, split, level, step, value, ...)."""
    last_metrics: dict[str, dict[str, float]]
    trials: list[dict[str, Any]]
    run_plots: dict[str, Any]
    snapshots: list[tuple[int, str, dict[str, Any]]]
    """(snapshot id, modified_at, parameters), oldest first."""
    changes: list[tuple[int, dict[str, Any], dict[str, Any], dict[str, list[Any]]]]
    """(snapshot id, added, removed, changed as [old, new]), oldest first."""
    processes: list[ProcessView]
    explorer_figure: Any
    explainer_figure: Any
    local_figures: list[Any] = field(default_factory=list)
    check_ok: bool
    check_problems: list[str]
    check_backend: str

    @property
    def total_seconds(self) -> float:
        """The walkthrough's work so far: the sum of its phases."""
        return sum(seconds for _, seconds in self.timings)
