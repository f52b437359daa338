"""The demo's report: one self-contained HTML page (plotly.js inlined, no network needed).

:func:`write_report` renders a :class:`ReportData` (which ``dashai_store.demo`` fills with
what it reads back from the store) into ``report.html``:

* the run's metric curves (loss and accuracy per epoch, TRAIN and VALIDATION; div
  ``metric-curves``) and its LAST metrics;
* the generative session's parameter timeline: one step chart per numeric parameter over
  the snapshots, the processes marked at the snapshot each ran with (div
  ``parameter-timeline``), and a table of every snapshot's changes;
* the four optimisation plots as stored (``plot-history``, ``plot-slice``,
  ``plot-contour``, ``plot-importance``), the explorer's histogram, the explainers' plots;
* the generative processes with their payloads (the image inlined as a data: URI), the
  notebook's lineage, counts, timings, the check's verdict;
* the summary as JSON in ``<script type="application/json" id="demo-data">``.

plotly.js is written once, inline, by the first figure (``include_plotlyjs=True``); the
other figures reuse it. The page loads nothing from anywhere.
"""

from __future__ import annotations

import base64
import html
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ProcessView", "ReportData", "render_report", "write_report"]

SPLIT_COLOURS = {"TRAIN": "#636efa", "VALIDATION": "#EF553B", "TEST": "#00cc96"}


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


# -- figures -----------------------------------------------------------------------------------


def metric_curves_figure(history: list[dict[str, Any]]) -> Any:
    """Loss and accuracy per epoch, one trace per (split, metric), from STEP points."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    names = sorted({row["name"] for row in history}, key=lambda n: (n != "loss", n))
    figure = make_subplots(rows=1, cols=max(1, len(names)), subplot_titles=names, horizontal_spacing=0.08)
    for col, name in enumerate(names, 1):
        for split in ("TRAIN", "VALIDATION", "TEST"):
            points = sorted(
                (row["step"], row["value"])
                for row in history
                if row["name"] == name and row["split"] == split
            )
            if not points:
                continue
            figure.add_trace(
                go.Scatter(
                    x=[step for step, _ in points],
                    y=[value for _, value in points],
                    mode="lines+markers",
                    marker={"size": 4},
                    line={"color": SPLIT_COLOURS[split], "width": 2.5},
                    name=f"{split} {name}",
                    legendgroup=split,
                ),
                row=1,
                col=col,
            )
        figure.update_xaxes(title_text="epoch", row=1, col=col)
    figure.update_layout(
        margin={"t": 40, "b": 40, "l": 50, "r": 20},
        legend={"orientation": "h", "y": -0.18},
        template="plotly_white",
    )
    return figure


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def numeric_keys(snapshots: list[tuple[int, str, dict[str, Any]]]) -> list[str]:
    """The parameters with a number in some snapshot, in order of first appearance."""
    keys: list[str] = []
    for _, _, parameters in snapshots:
        keys.extend(k for k, v in parameters.items() if _is_number(v) and k not in keys)
    return keys


def parameter_timeline_figure(
    snapshots: list[tuple[int, str, dict[str, Any]]], processes: list[ProcessView]
) -> Any:
    """One step chart per numeric parameter over the snapshots; processes as dotted lines."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    keys = numeric_keys(snapshots) or ["(no numeric parameter)"]
    xs = list(range(1, len(snapshots) + 1))
    figure = make_subplots(
        rows=len(keys), cols=1, shared_xaxes=True, subplot_titles=keys, vertical_spacing=0.28 / len(keys)
    )
    palette = ("#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3")
    for row, key in enumerate(keys, 1):
        values = [p.get(key) if _is_number(p.get(key)) else None for _, _, p in snapshots]
        figure.add_trace(
            go.Scatter(
                x=xs,
                y=values,
                mode="lines+markers",
                line={"shape": "hv", "color": palette[(row - 1) % len(palette)], "width": 2.5},
                marker={"size": 8},
                name=key,
                hovertext=[f"snapshot {sid} at {when}" for sid, when, _ in snapshots],
                connectgaps=False,
            ),
            row=row,
            col=1,
        )
    position = {sid: i for i, (sid, _, _) in enumerate(snapshots, 1)}
    ran: dict[int, list[int]] = {}
    for process in processes:
        x = position.get(process.snapshot_id or -1)
        if x is None:
            continue
        ran.setdefault(x, []).append(process.id)
        figure.add_shape(
            type="line", x0=x, x1=x, xref="x", yref="paper", y0=0, y1=1,
            line={"color": "#888", "dash": "dot", "width": 1.5},
        )  # fmt: skip
    ticks = [
        f"#{i} (id {sid})" + "".join(f"<br>process {pid}" for pid in ran.get(i, []))
        for i, (sid, _, _) in enumerate(snapshots, 1)
    ]
    figure.update_xaxes(tickvals=xs, ticktext=ticks, row=len(keys), col=1)
    figure.update_xaxes(title_text="parameter snapshot", row=len(keys), col=1)
    figure.update_layout(
        showlegend=False, margin={"t": 40, "b": 60, "l": 50, "r": 20}, template="plotly_white"
    )
    return figure


def _figure(value: Any) -> Any:
    import plotly.graph_objects as go

    return value if isinstance(value, go.Figure) else go.Figure(value)


# -- html ----------------------------------------------------------------------------------------


class _Figures:
    """Renders figures in document order; the first carries plotly.js inline."""

    def __init__(self) -> None:
        self.first = True

    def __call__(self, figure: Any, div_id: str, height: int) -> str:
        import plotly.io as pio

        figure = _figure(figure)
        figure.update_layout(height=height)
        text = str(
            pio.to_html(
                figure,
                full_html=False,
                include_plotlyjs=self.first,  # True once: inline, never a CDN
                include_mathjax=False,
                div_id=div_id,
                default_width="100%",
                default_height=f"{height}px",
                config={"displaylogo": False, "responsive": True},
            )
        )
        self.first = False
        return f'<div class="figure">{text}</div>'


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _table(header: list[str], rows: list[list[Any]], raw: bool = False) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell if raw else _e(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _change_text(added: dict[str, Any], removed: dict[str, Any], changed: dict[str, list[Any]]) -> str:
    parts = [f"+{k}={_json_text(v)}" for k, v in added.items()]
    parts += [f"-{k}" for k in removed]
    parts += [f"{k}: {_json_text(old)} → {_json_text(new)}" for k, (old, new) in changed.items()]
    return ", ".join(parts) or "(none)"


def _payload_html(data_type: str, value: Any) -> str:
    if data_type == "image" and isinstance(value, bytes):
        encoded = base64.b64encode(value).decode("ascii")
        return (
            f'<img class="payload" alt="generated image ({len(value)} bytes)" '
            f'src="data:image/png;base64,{encoded}">'
        )
    if data_type == "bytes" and isinstance(value, bytes):
        return f"<code>{len(value)} bytes</code>"
    if data_type == "json":
        return f"<code>{_e(_json_text(value))}</code>"
    return f"<q>{_e(value)}</q>"


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #222;
       background: #fafafa; }
main { max-width: 1240px; margin: 0 auto; padding: 16px 20px 40px; }
h1 { font-size: 22px; margin: 4px 0; } h2 { font-size: 17px; margin: 22px 0 8px; }
.sub { color: #666; font-size: 13px; margin-bottom: 10px; }
.cards { display: flex; flex-wrap: wrap; gap: 8px; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 6px 12px; font-size: 13px; }
.card b { display: block; font-size: 18px; }
.ok { color: #1a7f37; } .bad { color: #b42318; }
.figure { background: #fff; border: 1px solid #ddd; border-radius: 6px; margin: 6px 0; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 10px; }
.grid3 { display: grid; grid-template-columns: 1fr 1fr 1fr; gap: 10px; }
table { border-collapse: collapse; background: #fff; font-size: 13px; margin: 6px 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
img.payload { width: 288px; height: 192px; image-rendering: pixelated; border: 1px solid #ccc; }
code { font-size: 12px; }
"""


def render_report(data: ReportData) -> str:
    """The report's HTML text."""
    figures = _Figures()
    f = data.facts
    parts: list[str] = []
    verdict = (
        '<span class="ok">check: ok</span>'
        if data.check_ok
        else f'<span class="bad">check: {len(data.check_problems)} problem(s)</span>'
    )
    total = sum(seconds for _, seconds in data.timings)
    parts.append(f"<h1>{_e(data.title)}</h1>")
    parts.append(
        f'<div class="sub">{_e(data.generated)} · {_e(data.backend)} store at <code>{_e(data.home)}</code> · '
        f"dashai_store {_e(data.versions.get('dashai_store', '?'))} · {verdict} · "
        f"{total:.2f} s of work</div>"
    )
    cards = [
        ("dataset rows", f"{f.get('dataset_rows')} → {f.get('saved_rows')}"),
        ("converters", f"{f.get('converters')} (+1 undone)"),
        ("trials", f.get("trials")),
        ("metric points", f.get("metric_points")),
        ("test accuracy", f"{f.get('test_accuracy', float('nan')):.3f}"),
        ("predictions", f.get("prediction_rows")),
        ("parameter snapshots", len(data.snapshots)),
        ("processes", len(data.processes)),
    ]
    parts.append(
        '<div class="cards">'
        + "".join(f'<div class="card"><b>{_e(v)}</b>{_e(k)}</div>' for k, v in cards)
        + "</div>"
    )

    parts.append(f"<h2>Run {data.ids.get('run')}: metric curves (STEP, per epoch)</h2>")
    parts.append(figures(metric_curves_figure(data.metric_history), "metric-curves", 380))
    splits = sorted(data.last_metrics)
    names = sorted({n for values in data.last_metrics.values() for n in values})
    parts.append(
        _table(
            ["LAST", *names],
            [[s, *(f"{data.last_metrics[s].get(n, float('nan')):.4f}" for n in names)] for s in splits],
        )
    )

    parts.append(f"<h2>Generative session {data.ids.get('generative_session')}: parameter timeline</h2>")
    timeline = parameter_timeline_figure(data.snapshots, data.processes)
    rows = max(1, len(numeric_keys(data.snapshots)))
    parts.append(figures(timeline, "parameter-timeline", 110 + 130 * rows))
    ran_with: dict[int, list[str]] = {}
    for process in data.processes:
        ran_with.setdefault(process.snapshot_id or -1, []).append(str(process.id))
    changes = {sid: (a, r, c) for sid, a, r, c in data.changes}
    parts.append(
        _table(
            ["#", "snapshot", "modified (UTC)", "change", "parameters", "processes"],
            [
                [
                    i,
                    sid,
                    when,
                    _change_text(*changes.get(sid, ({}, {}, {}))),
                    _json_text(params),
                    ", ".join(ran_with.get(sid, [])),
                ]
                for i, (sid, when, params) in enumerate(data.snapshots, 1)
            ],
        )
    )

    parts.append("<h2>Generative processes</h2>")
    process_rows = []
    for process in data.processes:
        process_rows.append(
            [
                _e(process.id),
                _e(process.status),
                _e(process.snapshot_id),
                "<br>".join(_payload_html(t, v) for t, v in process.inputs),
                "<br>".join(_payload_html(t, v) for t, v in process.outputs),
            ]
        )
    parts.append(_table(["process", "status", "snapshot", "inputs", "outputs"], process_rows, raw=True))

    parts.append(f"<h2>Run {data.ids.get('run')}: optimisation plots (as stored with runs.save_plot)</h2>")
    parts.append('<div class="grid">')
    for kind in ("history", "slice", "contour", "importance"):
        if kind in data.run_plots:
            parts.append(figures(data.run_plots[kind], f"plot-{kind}", 340))
    parts.append("</div>")

    parts.append("<h2>Explorer and explainers</h2>")
    parts.append('<div class="grid">')
    if data.explorer_figure is not None:
        parts.append(figures(data.explorer_figure, "explorer-histogram", 320))
    if data.explainer_figure is not None:
        parts.append(figures(data.explainer_figure, "explainer-global", 320))
    parts.append("</div>")
    if data.local_figures:
        parts.append('<div class="grid3">')
        for i, local in enumerate(data.local_figures, 1):
            parts.append(figures(local, f"explainer-local-{i}", 300))
        parts.append("</div>")

    lineage = f.get("lineage") or {}
    parts.append(
        f"<h2>Notebook {data.ids.get('notebook')} lineage of dataset {data.ids.get('saved_dataset')} "
        f"({_e(f.get('saved_dataset_name'))})</h2>"
    )
    parts.append(
        f'<div class="sub">from dataset {_e(lineage.get("source_dataset_id"))} '
        f"({_e(lineage.get('source_dataset_name'))}); a FilterRange step (kept "
        f"{_e(f.get('undone_filter_rows'))} rows) was undone before DropNulls</div>"
    )
    parts.append(
        _table(
            ["position", "converter", "parameters"],
            [[s["position"], s["converter"], _json_text(s["parameters"])] for s in lineage.get("steps", [])],
        )
    )

    parts.append("<h2>Store</h2>")
    check_html = (
        '<p class="ok">maintenance.check(grace_s=0): ok — integrity, foreign keys, every row\'s file '
        "present, no unowned file</p>"
        if data.check_ok
        else '<p class="bad">maintenance.check found problems:</p><ul>'
        + "".join(f"<li>{_e(p)}</li>" for p in data.check_problems)
        + "</ul>"
    )
    parts.append(check_html)
    applied = data.migration.get("applied") or []
    parts.append(
        f'<div class="sub">migration: {len(applied)} step(s) applied '
        f"({_e(', '.join(applied) or 'already up to date')}), head {_e(data.migration.get('head'))}</div>"
    )
    parts.append('<div class="grid">')
    parts.append(_table(["table", "rows"], [[t, n] for t, n in data.counts.items()]))
    parts.append(
        _table(
            ["phase", "seconds"],
            [[name, f"{seconds:.3f}"] for name, seconds in data.timings] + [["total", f"{total:.3f}"]],
        )
    )
    parts.append("</div>")
    parts.append(_table(["package", "version"], [[k, v] for k, v in data.versions.items()]))

    document = {
        "title": data.title,
        "home": data.home,
        "backend": data.backend,
        "ids": data.ids,
        "counts": data.counts,
        "facts": data.facts,
        "timings_s": dict(data.timings),
        "check_ok": data.check_ok,
        "check_problems": data.check_problems,
        "figures": [
            "metric-curves",
            "parameter-timeline",
            *(f"plot-{k}" for k in data.run_plots),
            *(["explorer-histogram"] if data.explorer_figure is not None else []),
            *(["explainer-global"] if data.explainer_figure is not None else []),
            *(f"explainer-local-{i}" for i in range(1, len(data.local_figures) + 1)),
        ],
    }
    # "</" would end the script element early; JSON allows the escaped solidus.
    embedded = json.dumps(document, ensure_ascii=False, default=str).replace("</", "<\\/")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_e(data.title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(parts)
        + f'\n<script type="application/json" id="demo-data">{embedded}</script>\n'
        "</main>\n</body>\n</html>\n"
    )


def write_report(path: str | os.PathLike[str], data: ReportData) -> Path:
    """Write the report to ``path`` atomically (a temporary name, then a rename)."""
    target = Path(path)
    text = render_report(data)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
    return target
