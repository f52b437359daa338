"""The report's data, read back from the store the walkthrough wrote (not from its memory)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..check import problems
from ..summary import versions
from ..walkthrough import Walk
from .data import ProcessView, ReportData

if TYPE_CHECKING:
    from ...records import CheckReport

__all__ = ["read_report_data"]


def _process_views(walk: Walk) -> list[ProcessView]:
    from ... import generative

    views = []
    for pid in walk.processes:
        process = generative.get_process(pid)
        payloads = generative.payloads(pid)
        views.append(
            ProcessView(
                id=pid,
                snapshot_id=process.parameter_history_id,
                status=process.status.name,
                inputs=[(p.data_type.value, p.value) for p in payloads if p.is_input],
                outputs=[(p.data_type.value, p.value) for p in payloads if not p.is_input],
            )
        )
    return views


def read_report_data(
    walk: Walk,
    *,
    home: Path,
    backend: str,
    check: CheckReport,
    counts: dict[str, int],
    timings: Sequence[tuple[str, float]],
    migration: dict[str, Any],
) -> ReportData:
    """Everything the report shows about ``walk``, from the store bound to the facade."""
    from ... import explainers, explorers, generative, metrics, runs

    run_id = walk.ids["run"]
    sid = walk.ids["generative_session"]
    history = metrics.history_table(run_id, level="STEP").to_pylist()
    snapshots = generative.parameter_history(sid)
    process_views = _process_views(walk)
    return ReportData(
        title=f"DashAI store demo, walkthrough {walk.prefix or '#1 '}".strip(),
        generated=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        home=str(home),
        backend=backend,
        versions=versions(),
        migration=migration,
        ids=dict(walk.ids),
        facts=dict(walk.facts),
        counts=counts,
        timings=list(timings),
        metric_history=history,
        last_metrics=metrics.latest(run_id),
        trials=list(walk.trials),
        run_plots={kind: runs.load_plot(run_id, kind, as_figure=False) for kind in runs.PLOT_KINDS},
        snapshots=[(s.id, s.modified_at.isoformat(timespec="milliseconds"), s.parameters) for s in snapshots],
        changes=[
            (c.snapshot_id, c.added, c.removed, {k: list(v) for k, v in c.changed.items()})
            for c in generative.parameter_changes(sid)
        ],
        processes=process_views,
        explorer_figure=explorers.load_result(walk.ids["explorer"]),
        explainer_figure=explainers.load_plot("global", walk.ids["global_explainer"], as_figure=False),
        local_figures=explainers.load_plot("local", walk.ids["local_explainer"], as_figure=False),
        check_ok=check.ok,
        check_problems=problems(check),
        check_backend=check.backend,
    )
