"""The report's sections, one function each, in page order (see :data:`SECTIONS`).

A section returns its HTML fragments; :func:`~.page.render_report` joins them. Every
section gets the page's one :class:`~.markup.FigureRenderer`, so that plotly.js is inlined
by whichever figure comes first on the page.
"""

from __future__ import annotations

from collections.abc import Callable

from .charts import metric_curves_figure, numeric_keys, parameter_timeline_figure
from .data import ReportData
from .markup import FigureRenderer, change_text, escape, json_text, payload_html, table

__all__ = ["SECTIONS", "Section"]

Section = Callable[[ReportData, FigureRenderer], list[str]]

RUN_PLOT_KINDS = ("history", "slice", "contour", "importance")


def header(data: ReportData, figures: FigureRenderer) -> list[str]:
    """Title, where and when, the check's verdict, and cards with the headline numbers."""
    f = data.facts
    verdict = (
        '<span class="ok">check: ok</span>'
        if data.check_ok
        else f'<span class="bad">check: {len(data.check_problems)} problem(s)</span>'
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
    return [
        f"<h1>{escape(data.title)}</h1>",
        f'<div class="sub">{escape(data.generated)} · {escape(data.backend)} store at '
        f"<code>{escape(data.home)}</code> · "
        f"dashai_store {escape(data.versions.get('dashai_store', '?'))} · {verdict} · "
        f"{data.total_seconds:.2f} s of work</div>",
        '<div class="cards">'
        + "".join(f'<div class="card"><b>{escape(v)}</b>{escape(k)}</div>' for k, v in cards)
        + "</div>",
    ]


def metric_curves(data: ReportData, figures: FigureRenderer) -> list[str]:
    """The run's STEP curves (div ``metric-curves``) and its LAST metrics."""
    splits = sorted(data.last_metrics)
    names = sorted({n for values in data.last_metrics.values() for n in values})
    return [
        f"<h2>Run {data.ids.get('run')}: metric curves (STEP, per epoch)</h2>",
        figures(metric_curves_figure(data.metric_history), "metric-curves", 380),
        table(
            ["LAST", *names],
            [[s, *(f"{data.last_metrics[s].get(n, float('nan')):.4f}" for n in names)] for s in splits],
        ),
    ]


def parameter_timeline(data: ReportData, figures: FigureRenderer) -> list[str]:
    """The generative session's parameters over its snapshots (div ``parameter-timeline``)
    and a table of every snapshot's change and the processes that ran with it."""
    timeline = parameter_timeline_figure(data.snapshots, data.processes)
    rows = max(1, len(numeric_keys(data.snapshots)))
    ran_with: dict[int, list[str]] = {}
    for process in data.processes:
        ran_with.setdefault(process.snapshot_id or -1, []).append(str(process.id))
    changes = {sid: (a, r, c) for sid, a, r, c in data.changes}
    return [
        f"<h2>Generative session {data.ids.get('generative_session')}: parameter timeline</h2>",
        figures(timeline, "parameter-timeline", 110 + 130 * rows),
        table(
            ["#", "snapshot", "modified (UTC)", "change", "parameters", "processes"],
            [
                [
                    i,
                    sid,
                    when,
                    change_text(*changes.get(sid, ({}, {}, {}))),
                    json_text(params),
                    ", ".join(ran_with.get(sid, [])),
                ]
                for i, (sid, when, params) in enumerate(data.snapshots, 1)
            ],
        ),
    ]


def generative_processes(data: ReportData, figures: FigureRenderer) -> list[str]:
    """Each generative process with its payloads (an image inlined)."""
    process_rows = [
        [
            escape(process.id),
            escape(process.status),
            escape(process.snapshot_id),
            "<br>".join(payload_html(t, v) for t, v in process.inputs),
            "<br>".join(payload_html(t, v) for t, v in process.outputs),
        ]
        for process in data.processes
    ]
    return [
        "<h2>Generative processes</h2>",
        table(["process", "status", "snapshot", "inputs", "outputs"], process_rows, raw=True),
    ]


def optimisation_plots(data: ReportData, figures: FigureRenderer) -> list[str]:
    """The run's four optimisation plots as stored (divs ``plot-<kind>``)."""
    return [
        f"<h2>Run {data.ids.get('run')}: optimisation plots (as stored with runs.save_plot)</h2>",
        '<div class="grid">',
        *(
            figures(data.run_plots[kind], f"plot-{kind}", 340)
            for kind in RUN_PLOT_KINDS
            if kind in data.run_plots
        ),
        "</div>",
    ]


def explorer_and_explainers(data: ReportData, figures: FigureRenderer) -> list[str]:
    """The explorer's histogram, the global explainer's plot, the local explainer's plots."""
    parts = ["<h2>Explorer and explainers</h2>", '<div class="grid">']
    if data.explorer_figure is not None:
        parts.append(figures(data.explorer_figure, "explorer-histogram", 320))
    if data.explainer_figure is not None:
        parts.append(figures(data.explainer_figure, "explainer-global", 320))
    parts.append("</div>")
    if data.local_figures:
        parts.append('<div class="grid3">')
        parts.extend(
            figures(local, f"explainer-local-{i}", 300) for i, local in enumerate(data.local_figures, 1)
        )
        parts.append("</div>")
    return parts


def lineage(data: ReportData, figures: FigureRenderer) -> list[str]:
    """The saved dataset's lineage: its source and the notebook's converter steps."""
    f = data.facts
    steps = f.get("lineage") or {}
    return [
        f"<h2>Notebook {data.ids.get('notebook')} lineage of dataset {data.ids.get('saved_dataset')} "
        f"({escape(f.get('saved_dataset_name'))})</h2>",
        f'<div class="sub">from dataset {escape(steps.get("source_dataset_id"))} '
        f"({escape(steps.get('source_dataset_name'))}); a FilterRange step (kept "
        f"{escape(f.get('undone_filter_rows'))} rows) was undone before DropNulls</div>",
        table(
            ["position", "converter", "parameters"],
            [[s["position"], s["converter"], json_text(s["parameters"])] for s in steps.get("steps", [])],
        ),
    ]


def store(data: ReportData, figures: FigureRenderer) -> list[str]:
    """The check's verdict, the migration, row counts, phase timings, versions."""
    check_html = (
        '<p class="ok">maintenance.check(grace_s=0): ok — integrity, foreign keys, every row\'s file '
        "present, no unowned file</p>"
        if data.check_ok
        else '<p class="bad">maintenance.check found problems:</p><ul>'
        + "".join(f"<li>{escape(p)}</li>" for p in data.check_problems)
        + "</ul>"
    )
    applied = data.migration.get("applied") or []
    timings = [[name, f"{seconds:.3f}"] for name, seconds in data.timings]
    return [
        "<h2>Store</h2>",
        check_html,
        f'<div class="sub">migration: {len(applied)} step(s) applied '
        f"({escape(', '.join(applied) or 'already up to date')}), "
        f"head {escape(data.migration.get('head'))}</div>",
        '<div class="grid">',
        table(["table", "rows"], [[t, n] for t, n in data.counts.items()]),
        table(["phase", "seconds"], [*timings, ["total", f"{data.total_seconds:.3f}"]]),
        "</div>",
        table(["package", "version"], [[k, v] for k, v in data.versions.items()]),
    ]


SECTIONS: tuple[Section, ...] = (
    header,
    metric_curves,
    parameter_timeline,
    generative_processes,
    optimisation_plots,
    explorer_and_explainers,
    lineage,
    store,
)
"""The sections in page order."""
