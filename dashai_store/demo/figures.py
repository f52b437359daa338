"""The Plotly figures the walkthrough stores: the explorer's histogram, a run's four
optimisation plots, the explainers' bar charts.

(The report's own charts, drawn from what the store gives back, are in ``report.charts``.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .model import L2_PENALTIES, LEARNING_RATES

__all__ = [
    "contribution_figure",
    "histogram_figure",
    "importances",
    "optimisation_plots",
    "permutation_importance_figure",
]


def histogram_figure(values: Sequence[float], column: str, bins: int = 24) -> dict[str, Any]:
    """The explorer's histogram of a standardised column, as a Plotly figure dict."""
    low, high = min(values), max(values)
    width = (high - low) / bins or 1.0
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - low) / width))] += 1
    centres = [low + (i + 0.5) * width for i in range(bins)]
    return {
        "data": [{"type": "bar", "x": centres, "y": counts, "name": column, "marker": {"color": "#00cc96"}}],
        "layout": {
            "title": {"text": f"{column} after StandardScaler (explorer)"},
            "xaxis": {"title": {"text": f"{column} (standardised)"}},
            "yaxis": {"title": {"text": "rows"}},
            "bargap": 0.05,
        },
    }


def importances(trials: Sequence[dict[str, Any]], names: Sequence[str]) -> dict[str, float]:
    """Each parameter's share of the objective's variance explained by its marginal means."""
    objective = [t["value"] for t in trials]
    mean = sum(objective) / len(objective)
    raw = {}
    for name in names:
        groups: dict[Any, list[float]] = {}
        for t in trials:
            groups.setdefault(t["params"][name], []).append(t["value"])
        raw[name] = sum(len(g) * (sum(g) / len(g) - mean) ** 2 for g in groups.values())
    total = sum(raw.values()) or 1.0
    return {name: value / total for name, value in raw.items()}


def optimisation_plots(trials: Sequence[dict[str, Any]], goal: str) -> dict[str, Any]:
    """The four figures an Optuna-style optimiser gives a run, as Plotly figures."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    numbers = [t["number"] for t in trials]
    values = [t["value"] for t in trials]
    best = [min(values[: i + 1]) for i in range(len(values))]
    history = go.Figure(
        [
            go.Scatter(x=numbers, y=values, mode="markers", name="Objective value"),
            go.Scatter(x=numbers, y=best, mode="lines", name="Best value", line={"shape": "hv"}),
        ],
        layout={
            "title": {"text": "Optimization history"},
            "xaxis": {"title": {"text": "trial"}},
            "yaxis": {"title": {"text": f"validation {goal}"}},
        },
    )
    slice_fig = make_subplots(rows=1, cols=2, subplot_titles=("lr", "l2"), shared_yaxes=True)
    for col, name in ((1, "lr"), (2, "l2")):
        slice_fig.add_trace(
            go.Scatter(
                x=[t["params"][name] for t in trials],
                y=values,
                mode="markers",
                marker={"color": numbers, "colorscale": "Viridis", "size": 9, "showscale": col == 2},
                name=name,
                showlegend=False,
            ),
            row=1,
            col=col,
        )
    slice_fig.update_xaxes(type="log", row=1, col=1)
    slice_fig.update_layout(title={"text": "Slice plot"}, yaxis={"title": {"text": f"validation {goal}"}})
    z = [
        [next(t["value"] for t in trials if t["params"] == {"lr": lr, "l2": l2}) for lr in LEARNING_RATES]
        for l2 in L2_PENALTIES
    ]
    contour = go.Figure(
        [
            go.Contour(
                x=list(LEARNING_RATES),
                y=list(L2_PENALTIES),
                z=z,
                colorscale="Viridis",
                reversescale=True,
                colorbar={"title": {"text": goal}},
                contours={"coloring": "heatmap"},
            ),
            go.Scatter(
                x=[t["params"]["lr"] for t in trials],
                y=[t["params"]["l2"] for t in trials],
                mode="markers",
                marker={"color": "white", "line": {"color": "black", "width": 1}},
                name="trials",
            ),
        ],
        layout={
            "title": {"text": "Contour plot (lr x l2)"},
            "xaxis": {"title": {"text": "lr"}, "type": "log"},
            "yaxis": {"title": {"text": "l2"}},
        },
    )
    shares = importances(trials, ("lr", "l2"))
    importance = go.Figure(
        go.Bar(x=list(shares.values()), y=list(shares), orientation="h", marker={"color": "#636efa"}),
        layout={
            "title": {"text": "Hyperparameter importances"},
            "xaxis": {"title": {"text": "share of the objective's variance"}},
        },
    )
    return {"history": history, "slice": slice_fig, "contour": contour, "importance": importance}


def permutation_importance_figure(importances: dict[str, float]) -> Any:
    """The global explainer's plot: each column's accuracy drop, smallest first."""
    import plotly.graph_objects as go

    ordered = sorted(importances.items(), key=lambda kv: kv[1])
    return go.Figure(
        go.Bar(
            x=[v for _, v in ordered],
            y=[k for k, _ in ordered],
            orientation="h",
            marker={"color": "#ab63fa"},
        ),
        layout={
            "title": {"text": "Permutation importance (validation accuracy drop)"},
            "xaxis": {"title": {"text": "accuracy drop"}},
        },
    )


def contribution_figure(customer_id: Any, names: Sequence[str], values: Sequence[float]) -> Any:
    """A local explainer's plot for one row: each feature's contribution to the logit."""
    import plotly.graph_objects as go

    return go.Figure(
        go.Bar(x=list(names), y=list(values)),
        layout={"title": {"text": f"customer {customer_id}: contribution to the churn logit"}},
    )
