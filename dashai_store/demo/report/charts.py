"""The report's own charts, drawn from the store's data: metric curves, parameter timeline."""

from __future__ import annotations

from typing import Any

from .data import ProcessView

__all__ = ["SPLIT_COLOURS", "metric_curves_figure", "numeric_keys", "parameter_timeline_figure"]

SPLIT_COLOURS = {"TRAIN": "#636efa", "VALIDATION": "#EF553B", "TEST": "#00cc96"}
_PALETTE = ("#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3")


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
    for row, key in enumerate(keys, 1):
        values = [p.get(key) if _is_number(p.get(key)) else None for _, _, p in snapshots]
        figure.add_trace(
            go.Scatter(
                x=xs,
                y=values,
                mode="lines+markers",
                line={"shape": "hv", "color": _PALETTE[(row - 1) % len(_PALETTE)], "width": 2.5},
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
