"""The main job, ``dashai-store demo``: the whole product, end to end, on data it generates.

    $ dashai-store demo                     # a fresh ./dashai-demo under the current folder
    $ dashai-store demo --home /tmp/d --json

One walkthrough, deterministic (fixed seed, no network), in a few seconds:

1. migrate a new store (SQLite ``<home>/db.sqlite``, or ``--database postgresql://...``);
2. import a generated dataset (500 customers: numeric, dictionary-encoded categorical,
   free-text and label columns, some missing values) from a ``pyarrow.Table``;
3. a notebook: drop a column, standardise one with ``pyarrow.compute``, a row filter that
   is undone, another filter, an explorer (a histogram); saved as a new dataset that
   records its lineage;
4. a model session on the saved dataset and a run: a hyperparameter search (TRIAL
   metrics) and the training of a pure-Python logistic regression (STEP metrics per epoch
   for TRAIN and VALIDATION, then LAST metrics), the four optimisation plots (history,
   slice, contour, importance) as Plotly figures, the model saved with joblib and loaded
   back (same predictions);
5. a prediction over the saved dataset, stored as an Arrow table;
6. a generative session: parameter updates (one a no-op), a restore, and three processes
   with text inputs and outputs, one of them also an image (a PNG written here with
   ``zlib`` and ``struct``);
7. a plugin with tags (re-registered: stale tags go), upgraded;
8. a global explainer (permutation importance and its plot) and a local one;
9. ``maintenance.check(grace_s=0)``: every row's file present, no file unowned;

then writes ``<home>/report.html`` (self-contained: plotly.js is inlined) with the run's
metric curves and the generative session's parameter timeline, read back from the store.

The home: ``--home DIR`` or ``./dashai-demo``; ``~/.DashAI`` is never used unless given.
A folder that does not exist or is empty is used; so is an earlier demo home (it holds
``dashai-demo.json``), which gets one more walkthrough with numbered names. Any other
non-empty folder is refused (:class:`DemoHomeRefused`) and left untouched.
"""

from __future__ import annotations

import json
import math
import os
import platform
import random
import struct
import sys
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    import pyarrow as pa

    from .records import CheckReport

__all__ = [
    "DEFAULT_HOME_NAME",
    "MARKER",
    "ROWS",
    "SEED",
    "ChurnModel",
    "DemoFailed",
    "DemoHomeRefused",
    "DemoSummary",
    "choose_home",
    "png_bytes",
    "run",
    "summary_document",
    "summary_lines",
]

DEFAULT_HOME_NAME = "dashai-demo"
MARKER = "dashai-demo.json"
REPORT_NAME = "report.html"
SEED = 20240611
ROWS = 500

# The search grid of the run's optimiser (12 trials) and the final training's length.
LEARNING_RATES = (0.03, 0.1, 0.3, 1.0)
L2_PENALTIES = (0.0, 0.01, 0.1)
TRIAL_EPOCHS = 25
EPOCHS = 40
PLANS = ("basic", "plus", "pro")

Progress = Callable[[str, float], None]
"""``progress(phase, seconds)`` after each phase of the walkthrough."""


class DemoHomeRefused(Exception):
    """The demo home cannot be used (not a folder, or someone else's non-empty folder)."""


class DemoFailed(Exception):
    """A walkthrough's own cross-check failed (e.g. a table did not read back as written)."""


# -- the home ----------------------------------------------------------------------------------


def choose_home(home: str | os.PathLike[str] | None, cwd: Path | None = None) -> Path:
    """The absolute home for a walkthrough: ``home`` or ``<cwd>/dashai-demo``, if usable.

    Usable: missing, an empty folder, or an earlier demo home (it holds :data:`MARKER`).
    Anything else raises :class:`DemoHomeRefused` naming the folder; nothing is written.
    """
    base = cwd if cwd is not None else Path.cwd()
    path = Path(home).expanduser() if home is not None else base / DEFAULT_HOME_NAME
    if not path.is_absolute():
        path = base / path
    path = Path(os.path.abspath(path))
    if not path.exists():
        return path
    if not path.is_dir():
        raise DemoHomeRefused(f"{path} exists and is not a folder")
    if (path / MARKER).is_file():
        return path
    try:
        empty = next(path.iterdir(), None) is None
    except OSError as exc:
        raise DemoHomeRefused(f"cannot read {path}: {exc}") from exc
    if not empty:
        raise DemoHomeRefused(
            f"{path} is not empty and is not a demo home (it has no {MARKER}); the demo writes a "
            "store there, so give --home a new or empty folder"
        )
    return path


def _read_marker(home: Path) -> dict[str, Any]:
    try:
        value = json.loads((home / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"walkthroughs": []}
    if not isinstance(value, dict) or not isinstance(value.get("walkthroughs"), list):
        return {"walkthroughs": []}
    return value


def _write_marker(home: Path, marker: dict[str, Any]) -> None:
    # Written through a temporary name: an interrupted walkthrough still leaves a valid
    # marker, so the folder stays recognisable as a demo home.
    tmp = home / f".{MARKER}.tmp"
    tmp.write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, home / MARKER)


# -- generated data --------------------------------------------------------------------------


def _gauss_clip(rng: random.Random, mu: float, sigma: float, low: float, high: float) -> float:
    return min(high, max(low, rng.gauss(mu, sigma)))


def make_customers(rows: int = ROWS, seed: int = SEED) -> pa.Table:
    """A synthetic churn problem: who leaves (``churned`` = "yes") depends on income, age,
    visits and plan, plus noise. ``income`` misses ~4% of its values; ``notes`` is free text
    with no signal (the notebook drops it); ``plan`` is dictionary-encoded (categorical)."""
    import pyarrow as pa

    rng = random.Random(seed)
    ids, ages, incomes, visits, plans, notes, labels = [], [], [], [], [], [], []
    plan_effect = {"basic": 0.7, "plus": 0.0, "pro": -0.8}
    for index in range(rows):
        age = round(_gauss_clip(rng, 44.0, 13.0, 18.0, 90.0), 1)
        income = round(_gauss_clip(rng, 52_000.0, 16_000.0, 8_000.0, 160_000.0), 2)
        visit = min(30, max(0, int(rng.gauss(6.0, 3.0))))
        plan = rng.choices(PLANS, weights=(5, 3, 2))[0]
        latent = (
            -1.6 * (income - 52_000.0) / 16_000.0
            + 0.9 * (age - 44.0) / 13.0
            - 0.7 * (visit - 6.0) / 3.0
            + plan_effect[plan]
            + rng.gauss(0.0, 0.8)
        )
        ids.append(index + 1)
        ages.append(age)
        incomes.append(None if rng.random() < 0.04 else income)
        visits.append(visit)
        plans.append(plan)
        notes.append(f"ticket-{rng.randrange(16**6):06x}")
        labels.append("yes" if latent > 0 else "no")
    return pa.table(
        {
            "customer_id": pa.array(ids, pa.int64()),
            "age": pa.array(ages, pa.float64()),
            "income": pa.array(incomes, pa.float64()),
            "visits": pa.array(visits, pa.int32()),
            "plan": pa.array(plans, pa.string()).dictionary_encode(),
            "notes": pa.array(notes, pa.string()),
            "churned": pa.array(labels, pa.string()),
        }
    )


def png_bytes(width: int, height: int, pixel: Callable[[int, int], tuple[int, int, int]]) -> bytes:
    """An 8-bit RGB PNG built with zlib and struct only; ``pixel(x, y) -> (r, g, b)``."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    raw = b"".join(
        b"\x00" + bytes(channel for x in range(width) for channel in pixel(x, y)) for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _dusk_image(parameters: dict[str, Any], width: int = 96, height: int = 64) -> bytes:
    """The "generated" picture: a sea at dusk whose sun and palette follow the parameters."""
    rng = random.Random(json.dumps(parameters, sort_keys=True))
    sun_x, sun_y = rng.uniform(0.25, 0.75) * width, height * 0.42
    warmth = float(parameters.get("temperature", 0.7))
    horizon = int(height * 0.58)

    def pixel(x: int, y: int) -> tuple[int, int, int]:
        if y < horizon:
            t = y / horizon
            r, g, b = 40 + 200 * t * min(1.0, warmth), 30 + 90 * t, 110 - 50 * t
            d = math.hypot(x - sun_x, y - sun_y)
            if d < 7:
                r, g, b = 255, 214, 120
            elif d < 11:
                glow = (11 - d) / 4
                r, g, b = r + (255 - r) * glow, g + (180 - g) * glow, b + (90 - b) * glow
        else:
            t = (y - horizon) / (height - horizon)
            wave = 12 * math.sin(x / 3.0 + y * 1.7)
            r, g, b = 20 + 30 * (1 - t) + wave, 50 + 40 * (1 - t), 90 + 60 * (1 - t) + wave
            if abs(x - sun_x) < 6 - 4 * t and (y % 3) == 0:
                r, g, b = 230, 160, 90
        return tuple(max(0, min(255, int(c))) for c in (r, g, b))  # type: ignore[return-value]

    return png_bytes(width, height, pixel)


_VOCABULARY = (
    "customers with low income and few visits churn most; the pro plan keeps people; "
    "age raises the risk a little; validation loss settles after a few dozen epochs; "
    "the model is a logistic regression on standardised features"
).split()


def _generate_text(prompt: str, parameters: dict[str, Any]) -> str:
    """A tiny deterministic "language model": seeded by the prompt and the parameters."""
    rng = random.Random(f"{parameters.get('seed')}|{prompt}")
    count = max(4, int(parameters.get("max_new_tokens", 48)) // 6)
    temperature = float(parameters.get("temperature", 0.7))
    top = max(2, int(len(_VOCABULARY) * float(parameters.get("top_p", 0.9))))
    start = rng.randrange(len(_VOCABULARY))
    words = []
    for i in range(count):
        jump = int(rng.expovariate(1.0 / max(temperature, 0.05)) * 3)
        words.append(_VOCABULARY[(start + i + jump) % top])
    return " ".join(words).capitalize() + "."


# -- the model --------------------------------------------------------------------------------


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass
class ChurnModel:
    """A logistic regression in plain Python: what the run trains, saves and loads back.

    Features: the numeric columns standardised with the training split's mean and standard
    deviation, and the categorical ones one-hot encoded. joblib pickles it by reference to
    this module, so loading it needs ``dashai_store`` importable (as any app model needs its
    class).
    """

    numeric: list[str]
    categorical: dict[str, list[str]]
    positive: str
    negative: str
    means: list[float] = field(default_factory=list)
    scales: list[float] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    bias: float = 0.0

    @property
    def feature_names(self) -> list[str]:
        return [*self.numeric, *(f"{c}={v}" for c, values in self.categorical.items() for v in values)]

    def fit_scaling(self, rows: Sequence[dict[str, Any]]) -> None:
        self.means, self.scales = [], []
        for column in self.numeric:
            values = [float(r[column]) for r in rows]
            mean = sum(values) / len(values)
            var = sum((v - mean) ** 2 for v in values) / len(values)
            self.means.append(mean)
            self.scales.append(math.sqrt(var) or 1.0)
        self.weights = [0.0] * len(self.feature_names)
        self.bias = 0.0

    def encode(self, row: dict[str, Any]) -> list[float]:
        x = [(float(row[c]) - m) / s for c, m, s in zip(self.numeric, self.means, self.scales, strict=True)]
        for column, values in self.categorical.items():
            x.extend(1.0 if row[column] == v else 0.0 for v in values)
        return x

    def probability(self, x: Sequence[float]) -> float:
        return _sigmoid(self.bias + sum(w * v for w, v in zip(self.weights, x, strict=True)))

    def predict_proba(self, rows: Sequence[dict[str, Any]]) -> list[float]:
        return [self.probability(self.encode(r)) for r in rows]

    def predict(self, rows: Sequence[dict[str, Any]]) -> list[str]:
        return [self.positive if p >= 0.5 else self.negative for p in self.predict_proba(rows)]


def _epoch(model: ChurnModel, xs: Sequence[list[float]], ys: Sequence[int], lr: float, l2: float) -> None:
    """One full-batch gradient step on the L2-regularised log loss."""
    n, d = len(xs), len(model.weights)
    grad, grad_b = [0.0] * d, 0.0
    w, b = model.weights, model.bias
    for x, y in zip(xs, ys, strict=True):
        z = b
        for j in range(d):
            z += w[j] * x[j]
        err = _sigmoid(z) - y
        grad_b += err
        for j in range(d):
            grad[j] += err * x[j]
    model.weights = [w[j] - lr * (grad[j] / n + l2 * w[j]) for j in range(d)]
    model.bias = b - lr * grad_b / n


def _evaluate(model: ChurnModel, xs: Sequence[list[float]], ys: Sequence[int]) -> tuple[float, float]:
    """(mean log loss, accuracy)."""
    loss = correct = 0.0
    for x, y in zip(xs, ys, strict=True):
        p = min(1 - 1e-12, max(1e-12, model.probability(x)))
        loss -= math.log(p) if y else math.log(1 - p)
        correct += (p >= 0.5) == bool(y)
    return loss / len(xs), correct / len(xs)


# -- the summary ---------------------------------------------------------------------------


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
        return self.check_ok


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
        "versions": _versions(),
    }


def _versions() -> dict[str, str]:
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


def summary_lines(summary: DemoSummary) -> list[str]:
    """The short human-readable summary the command prints."""
    f = summary.facts
    t = dict(summary.timings)
    migration = summary.migration
    applied = migration["applied"]
    rows = [
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
    lines = [f"dashai-store demo: walkthrough {summary.walkthrough} in {summary.home} ({summary.backend})"]
    width = max(len(text) for _, text, _ in rows)
    lines.extend(f"  {name:<11} {text:<{width}} {seconds:6.2f} s" for name, text, seconds in rows)
    lines.extend(f"  problem: {p}" for p in summary.check_problems)
    lines.append(f"rows: {', '.join(f'{table} {n}' for table, n in summary.counts.items() if n)}")
    lines.append(f"report: {summary.report}")
    lines.append(f"total: {summary.total_seconds:.2f} s" + ("" if summary.ok else " -- check found problems"))
    return lines


# -- the walkthrough ---------------------------------------------------------------------------


class _Clock:
    def __init__(self, progress: Progress | None) -> None:
        self.timings: list[tuple[str, float]] = []
        self.progress = progress

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        seconds = time.perf_counter() - started
        self.timings.append((name, seconds))
        if self.progress is not None:
            self.progress(name, seconds)


def _migrate(home: Path, database: str | None) -> dict[str, Any]:
    """Bring the database to the current schema, as ``scripts/migrate.py`` does at app start."""
    from .migrator import Migrator, open_target

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
    from . import datasets, errors

    while True:
        prefix = "" if walkthrough == 1 else f"#{walkthrough} "
        try:
            datasets.get_by_name(f"{prefix}customers")
        except errors.NotFound:
            return walkthrough, prefix
        walkthrough += 1


def _drop_column(table: pa.Table, p: dict[str, Any]) -> pa.Table:
    return table.drop_columns([p["column"]])


def _standardise(table: pa.Table, p: dict[str, Any]) -> pa.Table:
    import pyarrow.compute as pc

    column = p["column"]
    values = table.column(column)
    mean = pc.mean(values)
    std = pc.stddev(values, ddof=1)
    scaled = pc.divide(pc.subtract(values, mean), std)
    return table.set_column(table.schema.get_field_index(column), column, scaled)


def _filter_range(table: pa.Table, p: dict[str, Any]) -> pa.Table:
    import pyarrow.compute as pc

    values = table.column(p["column"])
    return table.filter(pc.and_(pc.greater_equal(values, p["min"]), pc.less_equal(values, p["max"])))


def _drop_nulls(table: pa.Table, p: dict[str, Any]) -> pa.Table:
    import pyarrow.compute as pc

    mask = None
    for column in p["columns"]:
        valid = pc.is_valid(table.column(column))
        mask = valid if mask is None else pc.and_(mask, valid)
    return table.filter(mask)


CONVERTERS: dict[str, Callable[[Any, dict[str, Any]], Any]] = {
    "DropColumn": _drop_column,
    "StandardScaler": _standardise,
    "FilterRange": _filter_range,
    "DropNulls": _drop_nulls,
}
"""The converter functions the demo's notebook registers (``notebooks.run_pending``)."""


def _histogram_figure(values: Sequence[float], column: str, bins: int = 24) -> dict[str, Any]:
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


def _importances(trials: Sequence[dict[str, Any]], names: Sequence[str]) -> dict[str, float]:
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


def _optimisation_plots(trials: Sequence[dict[str, Any]], goal: str) -> dict[str, Any]:
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
    shares = _importances(trials, ("lr", "l2"))
    importance = go.Figure(
        go.Bar(x=list(shares.values()), y=list(shares), orientation="h", marker={"color": "#636efa"}),
        layout={
            "title": {"text": "Hyperparameter importances"},
            "xaxis": {"title": {"text": "share of the objective's variance"}},
        },
    )
    return {"history": history, "slice": slice_fig, "contour": contour, "importance": importance}


def _split(count: int, seed: int) -> dict[str, list[int]]:
    order = list(range(count))
    random.Random(seed).shuffle(order)
    train_end, val_end = int(count * 0.6), int(count * 0.8)
    return {
        "train": sorted(order[:train_end]),
        "validation": sorted(order[train_end:val_end]),
        "test": sorted(order[val_end:]),
    }


def run(
    home: str | os.PathLike[str] | None = None,
    *,
    database: str | None = None,
    seed: int = SEED,
    rows: int = ROWS,
    cwd: Path | None = None,
    progress: Progress | None = None,
) -> DemoSummary:
    """Run one walkthrough in ``home`` (see the module docstring) and write the report.

    Raises :class:`DemoHomeRefused` before writing anything if the home cannot be used;
    a failure of the store raises its :mod:`dashai_store.errors` type.
    """
    started = time.perf_counter()
    home_path = choose_home(home, cwd)
    home_path.mkdir(parents=True, exist_ok=True)
    marker = _read_marker(home_path)
    _write_marker(home_path, marker)  # claim the folder first: an interrupted walkthrough can be rerun
    clock = _Clock(progress)
    with clock.phase("data"):
        table = make_customers(rows, seed)
    with clock.phase("migrate"):
        migration = _migrate(home_path, database)
    from .store import open_store

    with open_store(home_path, database=database, migrate=False) as store:
        walkthrough, prefix = _free_prefix(len(marker["walkthroughs"]) + 1)
        walk = _Walkthrough(prefix, seed, clock)
        walk.run(table)
        with clock.phase("check"):
            check = _check()
        counts = _counts()
        backend, url = store.backend, store.url
        report_data = walk.report_data(
            home=home_path,
            backend=backend,
            check=check,
            counts=counts,
            timings=clock.timings,
            migration=migration,
        )
    with clock.phase("report"):
        from .report import write_report

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
        check_problems=tuple(_problems(check)),
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
    _write_marker(home_path, marker)
    return summary


def _check() -> CheckReport:
    from . import maintenance

    # grace_s=0: judge every file now, young or not; the walkthrough has committed all it wrote.
    return maintenance.check(grace_s=0.0)


def _problems(report: CheckReport) -> list[str]:
    problems = [*report.integrity_problems]
    problems += [
        f"foreign key: {v.table} row {v.row_id} -> {v.parent}" for v in report.foreign_key_violations
    ]
    problems += [
        f"missing file: {m.table} {m.row_id} {m.column} {m.path} ({m.reason})" for m in report.missing_files
    ]
    problems += [f"unowned file: {p}" for p in report.unowned_files]
    problems += [f"stale temporary file: {p}" for p in report.stale_temp_files]
    problems += [f"pending deletion: {p}" for p in report.pending_deletions]
    return problems


def _counts() -> dict[str, int]:
    from .database import reads
    from .models import DOMAIN_MODELS

    @reads
    def count() -> dict[str, int]:
        return {m._meta.table_name: int(m.select().count()) for m in DOMAIN_MODELS}

    return count()


class _Walkthrough:
    """The steps of one walkthrough; keeps the ids it made and the facts it reports."""

    def __init__(self, prefix: str, seed: int, clock: _Clock) -> None:
        self.prefix = prefix
        self.seed = seed
        self.clock = clock
        self.ids: dict[str, int] = {}
        self.facts: dict[str, Any] = {}
        self.trials: list[dict[str, Any]] = []
        self.processes: list[int] = []
        self.rows: list[dict[str, Any]] = []
        self.split: dict[str, list[int]] = {}
        self.model: ChurnModel | None = None

    def run(self, table: pa.Table) -> None:
        phases: tuple[tuple[str, Callable[[], None]], ...] = (
            ("dataset", lambda: self.dataset(table)),
            ("notebook", self.notebook),
            ("model session", self.model_session),
            ("training", self.training),
            ("plots", self.plots),
            ("model", self.model_round_trip),
            ("prediction", self.prediction),
            ("generative", self.generative),
            ("plugin", self.plugin),
            ("explainers", self.explainers),
        )
        for name, step in phases:
            with self.clock.phase(name):
                step()

    # -- data ------------------------------------------------------------------------------

    def dataset(self, table: pa.Table) -> None:
        from . import datasets

        record = datasets.create(f"{self.prefix}customers", table)
        loaded = datasets.load_table(record.id)
        if not loaded.equals(table):
            raise DemoFailed(f"dataset {record.id} does not read back as written")
        self.ids["dataset"] = record.id
        self.facts.update(
            dataset_name=record.name, dataset_rows=loaded.num_rows, dataset_columns=loaded.num_columns
        )

    def notebook(self) -> None:
        from . import explorers, notebooks

        nb = notebooks.create(self.ids["dataset"], name=f"{self.prefix}cleaning")
        self.ids["notebook"] = nb.id
        notebooks.add_converter(nb.id, "DropColumn", {"column": "notes"})
        notebooks.add_converter(nb.id, "StandardScaler", {"column": "income"})
        # A filter that turns out too strict: it is applied, looked at, and undone.
        notebooks.add_converter(nb.id, "FilterRange", {"column": "age", "min": 60, "max": 90})
        done = notebooks.run_pending(nb.id, CONVERTERS)
        if [c.status.name for c in done] != ["FINISHED"] * 3:
            raise DemoFailed(f"notebook {nb.id}: converters ended {[c.status.name for c in done]}")
        too_strict = notebooks.load_table(nb.id).num_rows
        after_undo = notebooks.undo(nb.id)
        notebooks.add_converter(nb.id, "DropNulls", {"columns": ["income"]})
        (last,) = notebooks.run_pending(nb.id, CONVERTERS)
        if last.status.name != "FINISHED":
            raise DemoFailed(f"converter {last.id} ended {last.status.name}: {last.error}")
        current = notebooks.load_table(nb.id)
        income = current.column("income").to_pylist()
        explorer = explorers.create(nb.id, "Histogram", ["income"], {"bins": 24}, name="income histogram")
        explorers.deliver(explorer.id, job_id=f"demo-explorer-{explorer.id}")
        explorers.start(explorer.id)
        explorers.save_result(explorer.id, _histogram_figure(income, "income"))
        explorers.finish(explorer.id)
        self.ids["explorer"] = explorer.id
        saved = notebooks.save_as_dataset(nb.id, f"{self.prefix}customers (clean)")
        self.ids["saved_dataset"] = saved.id
        lineage = saved.lineage or {}
        self.facts.update(
            converters=len(lineage.get("steps", [])),
            undone_filter_rows=too_strict,
            undo_to_step=after_undo.current_position,
            saved_dataset_name=saved.name,
            saved_rows=current.num_rows,
            saved_columns=current.column_names,
            lineage=lineage,
            income_mean_after=round(sum(income) / len(income), 12),
        )

    # -- training ---------------------------------------------------------------------------

    def model_session(self) -> None:
        from . import datasets, model_sessions

        session = model_sessions.create(
            self.ids["saved_dataset"],
            f"{self.prefix}churn",
            "TabularClassificationTask",
            ["age", "income", "visits", "plan"],
            ["churned"],
            {"train": 0.6, "validation": 0.2, "test": 0.2, "seed": self.seed, "shuffle": True},
            train_metrics=["loss", "accuracy"],
            validation_metrics=["loss", "accuracy"],
            test_metrics=["loss", "accuracy"],
        )
        self.ids["model_session"] = session.id
        self.rows = datasets.load_table(self.ids["saved_dataset"]).to_pylist()
        self.split = _split(len(self.rows), self.seed)

    def _trained(self) -> ChurnModel:
        if self.model is None:  # pragma: no cover - the phases run in order
            raise DemoFailed("the model is not trained yet")
        return self.model

    def _xy(self, model: ChurnModel, split: str) -> tuple[list[list[float]], list[int]]:
        rows = [self.rows[i] for i in self.split[split]]
        return [model.encode(r) for r in rows], [int(r["churned"] == model.positive) for r in rows]

    def _new_model(self) -> ChurnModel:
        model = ChurnModel(
            numeric=["age", "income", "visits"],
            categorical={"plan": list(PLANS)},
            positive="yes",
            negative="no",
        )
        model.fit_scaling([self.rows[i] for i in self.split["train"]])
        return model

    def training(self) -> None:
        from . import metrics, runs

        run = runs.create(
            self.ids["model_session"],
            f"{self.prefix}logistic regression",
            "ChurnLogisticRegression",
            {
                "epochs": EPOCHS,
                "lr": {"optimize": True, "grid": list(LEARNING_RATES)},
                "l2": {"optimize": True, "grid": list(L2_PENALTIES)},
            },
            optimizer_name="GridSearch",
            optimizer_parameters={
                "n_trials": len(LEARNING_RATES) * len(L2_PENALTIES),
                "epochs": TRIAL_EPOCHS,
            },
            goal_metric="loss",
            split_indexes=self.split,
            description="pure-Python logistic regression; grid search on the validation loss",
        )
        self.ids["run"] = run.id
        runs.deliver(run.id, job_id=f"demo-run-{run.id}")
        runs.start(run.id)
        base = self._new_model()
        train_x, train_y = self._xy(base, "train")
        val_x, val_y = self._xy(base, "validation")
        test_x, test_y = self._xy(base, "test")
        grid = [(lr, l2) for l2 in L2_PENALTIES for lr in LEARNING_RATES]
        for number, (lr, l2) in enumerate(grid, 1):
            model = self._new_model()
            for _ in range(TRIAL_EPOCHS):
                _epoch(model, train_x, train_y, lr, l2)
            loss, accuracy = _evaluate(model, val_x, val_y)
            self.trials.append({"number": number, "params": {"lr": lr, "l2": l2}, "value": loss})
            metrics.log_many(
                run.id,
                [
                    ("loss", "VALIDATION", "TRIAL", number, loss),
                    ("accuracy", "VALIDATION", "TRIAL", number, accuracy),
                ],
            )
        best = min(self.trials, key=lambda t: t["value"])["params"]
        model = self._new_model()
        cursor = tailed = 0
        for epoch in range(1, EPOCHS + 1):
            _epoch(model, train_x, train_y, best["lr"], best["l2"])
            train_loss, train_acc = _evaluate(model, train_x, train_y)
            val_loss, val_acc = _evaluate(model, val_x, val_y)
            metrics.log_many(
                run.id,
                [
                    ("loss", "TRAIN", "STEP", epoch, train_loss),
                    ("accuracy", "TRAIN", "STEP", epoch, train_acc),
                    ("loss", "VALIDATION", "STEP", epoch, val_loss),
                    ("accuracy", "VALIDATION", "STEP", epoch, val_acc),
                ],
            )
            if epoch % 10 == 0:  # what a live chart does: poll for the points logged since
                points, cursor = metrics.since(run.id, cursor)
                tailed += len(points)
        last = []
        for split, xs, ys in (
            ("TRAIN", train_x, train_y),
            ("VALIDATION", val_x, val_y),
            ("TEST", test_x, test_y),
        ):
            loss, accuracy = _evaluate(model, xs, ys)
            last += [("loss", split, "LAST", EPOCHS, loss), ("accuracy", split, "LAST", EPOCHS, accuracy)]
        metrics.log_many(run.id, last)
        self.model = model
        latest = metrics.latest(run.id)
        self.facts.update(
            trials=len(self.trials),
            best_parameters=best,
            epochs=EPOCHS,
            metric_points=metrics.history_table(run.id).num_rows,
            tailed_points=tailed,
            last_metrics=latest,
            test_accuracy=latest["TEST"]["accuracy"],
            split_sizes={k: len(v) for k, v in self.split.items()},
        )

    def plots(self) -> None:
        from . import runs

        for kind, figure in _optimisation_plots(self.trials, "loss").items():
            runs.save_plot(self.ids["run"], kind, figure)
        record = runs.get(self.ids["run"])
        self.facts["plots"] = [k for k in runs.PLOT_KINDS if getattr(record, f"plot_{k}_path") is not None]

    def model_round_trip(self) -> None:
        from . import runs

        run_id = self.ids["run"]
        model = self._trained()
        runs.save_model(run_id, model)
        loaded = runs.load_model(run_id)
        test_rows = [self.rows[i] for i in self.split["test"]]
        if not isinstance(loaded, ChurnModel) or loaded.predict_proba(test_rows) != model.predict_proba(
            test_rows
        ):
            raise DemoFailed(f"run {run_id}: the loaded model does not predict as the trained one")
        record = runs.finish(run_id)
        self.facts.update(
            round_trip_rows=len(test_rows),
            model_sha256=(record.artifacts or {})["model"]["sha256"],
            run_status=record.status.name,
        )

    def prediction(self) -> None:
        import pyarrow as pa

        from . import predictions, runs

        prediction = predictions.create(self.ids["run"], self.ids["saved_dataset"])
        self.ids["prediction"] = prediction.id
        predictions.deliver(prediction.id, job_id=f"demo-prediction-{prediction.id}")
        predictions.start(prediction.id)
        model = runs.load_model(self.ids["run"])
        probabilities = model.predict_proba(self.rows)
        results = pa.table(
            {
                "customer_id": pa.array([r["customer_id"] for r in self.rows], pa.int64()),
                "churned": pa.array([r["churned"] for r in self.rows], pa.string()),
                "predicted": pa.array(
                    [model.positive if p >= 0.5 else model.negative for p in probabilities]
                ),
                "probability": pa.array(probabilities, pa.float64()),
            }
        )
        predictions.save_results(prediction.id, results)
        predictions.finish(prediction.id)
        back = predictions.load_results(prediction.id)
        if not back.equals(results):
            raise DemoFailed(f"prediction {prediction.id}: the results do not read back as written")
        agree = sum(
            a == b
            for a, b in zip(
                back.column("churned").to_pylist(), back.column("predicted").to_pylist(), strict=True
            )
        )
        self.facts.update(prediction_rows=back.num_rows, prediction_accuracy=agree / back.num_rows)

    # -- generative -----------------------------------------------------------------------------

    def _process(self, session_id: int, prompt: str, *, image: bool = False) -> int:
        from . import generative

        process = generative.create_process(session_id, [("str", prompt)])
        generative.deliver(process.id, job_id=f"demo-generative-{process.id}")
        generative.start(process.id)
        snapshot = generative.get_snapshot(process.parameter_history_id or 0)
        outputs: list[tuple[str, Any]] = [("str", _generate_text(prompt, snapshot.parameters))]
        if image:
            outputs.insert(0, ("image", _dusk_image(snapshot.parameters)))
            outputs.append(("json", {"width": 96, "height": 64, "format": "png"}))
        generative.add_outputs(process.id, outputs)
        generative.finish(process.id)
        self.processes.append(process.id)
        return process.id

    def generative(self) -> None:
        from . import generative

        session = generative.create_session(
            f"{self.prefix}assistant",
            "TextToTextGenerationTask",
            "tiny-template-lm",
            {"temperature": 0.7, "max_new_tokens": 48, "top_p": 0.9, "seed": 7},
            description="a deterministic stand-in for a language model",
        )
        sid = session.id
        self.ids["generative_session"] = sid
        self._process(sid, "Why do customers churn?")
        first_update = generative.update_parameters(sid, {"temperature": 1.1})
        generative.update_parameters(sid, {"max_new_tokens": 96, "stop": ["\n\n"]})
        current = generative.parameter_history(sid)[-1]
        if generative.update_parameters(sid, {"temperature": 1.1}).id != current.id:
            raise DemoFailed(f"generative session {sid}: a no-op update wrote a snapshot")
        self._process(sid, "Which plan keeps customers?")
        generative.update_parameters(sid, {"temperature": 0.4, "top_p": 0.6})
        generative.restore_parameters(sid, first_update.id)
        self._process(sid, "Draw the sea at dusk.", image=True)
        history = generative.parameter_history(sid)
        payload_count = sum(len(generative.payloads(pid)) for pid in self.processes)
        self.facts.update(
            snapshots=len(history),
            parameter_updates=3,
            processes=len(self.processes),
            payloads=payload_count,
            restored_snapshot=first_update.id,
        )

    # -- plugins, explainers ---------------------------------------------------------------------

    def plugin(self) -> None:
        from . import plugins

        name = f"{self.prefix}dashai-churn-models".replace("#", "n").replace(" ", "-")
        plugins.register(
            name,
            author="DashAI demo",
            version="1.2.0",
            summary="churn models",
            tags=["DashAI", "Model", "Task"],
        )
        # The index is read again: a newer version, one tag dropped, one added.
        record = plugins.register(
            name,
            author="DashAI demo",
            version="1.3.0",
            summary="churn models and explainers",
            tags=["Model", "Explainer"],
        )
        record = plugins.upgrade(record.id)
        found = [p.id for p in plugins.list(status="INSTALLED", tags=["Explainer"])]
        if record.id not in found:
            raise DemoFailed(f"plugin {record.id} is not listed as an INSTALLED Explainer")
        self.ids["plugin"] = record.id
        self.facts.update(
            plugin_name=record.name,
            plugin_version=record.installed_version,
            plugin_tags=[t.value for t in record.tags],
        )

    def explainers(self) -> None:
        import plotly.graph_objects as go

        from . import explainers

        run_id = self.ids["run"]
        model = self._trained()
        val_rows = [self.rows[i] for i in self.split["validation"]]
        labels = [r["churned"] for r in val_rows]

        def accuracy(rows: Sequence[dict[str, Any]]) -> float:
            hits = sum(p == y for p, y in zip(model.predict(rows), labels, strict=True))
            return float(hits) / len(rows)

        explainer = explainers.create_global(
            run_id,
            "permutation importance",
            "PermutationFeatureImportance",
            {"repeats": 5, "seed": self.seed},
        )
        self.ids["global_explainer"] = explainer.id
        explainers.deliver("global", explainer.id, job_id=f"demo-explainer-{explainer.id}")
        explainers.start("global", explainer.id)
        rng = random.Random(self.seed)
        baseline = accuracy(val_rows)
        importances = {}
        for column in ("income", "age", "visits", "plan"):
            drops = []
            for _ in range(5):
                shuffled = [r[column] for r in val_rows]
                rng.shuffle(shuffled)
                rows = [{**r, column: v} for r, v in zip(val_rows, shuffled, strict=True)]
                drops.append(baseline - accuracy(rows))
            importances[column] = sum(drops) / len(drops)
        explanation = {"baseline_accuracy": baseline, "importances": importances}
        explainers.save_explanation("global", explainer.id, explanation)
        ordered = sorted(importances.items(), key=lambda kv: kv[1])
        figure = go.Figure(
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
        explainers.save_plot("global", explainer.id, figure)
        explainers.finish("global", explainer.id)
        if explainers.load_explanation("global", explainer.id) != explanation:
            raise DemoFailed(f"global explainer {explainer.id}: the explanation does not read back")

        instances = [self.rows[i] for i in self.split["test"][:3]]
        local = explainers.create_local(
            run_id,
            self.ids["saved_dataset"],
            "contributions",
            "LinearContributions",
            {},
            {"reference": "training means"},
            {"customer_ids": [r["customer_id"] for r in instances]},
        )
        self.ids["local_explainer"] = local.id
        explainers.deliver("local", local.id)
        explainers.start("local", local.id)
        names = model.feature_names
        contributions = []
        local_figures = []
        for row in instances:
            values = [w * x for w, x in zip(model.weights, model.encode(row), strict=True)]
            contributions.append(
                {"customer_id": row["customer_id"], "contributions": dict(zip(names, values, strict=True))}
            )
            local_figures.append(
                go.Figure(
                    go.Bar(x=names, y=values),
                    layout={
                        "title": {"text": f"customer {row['customer_id']}: contribution to the churn logit"}
                    },
                )
            )
        explainers.save_explanation("local", local.id, contributions)
        explainers.save_plot("local", local.id, local_figures)
        explainers.finish("local", local.id)
        self.facts.update(
            explained_features=len(importances), local_instances=len(instances), importances=importances
        )

    # -- the report's data, read back from the store ------------------------------------------------

    def report_data(
        self,
        *,
        home: Path,
        backend: str,
        check: CheckReport,
        counts: dict[str, int],
        timings: Sequence[tuple[str, float]],
        migration: dict[str, Any],
    ) -> Any:
        from . import explainers, explorers, generative, metrics, runs
        from .report import ProcessView, ReportData

        run_id = self.ids["run"]
        sid = self.ids["generative_session"]
        history = metrics.history_table(run_id, level="STEP").to_pylist()
        snapshots = generative.parameter_history(sid)
        process_views = []
        for pid in self.processes:
            process = generative.get_process(pid)
            payloads = generative.payloads(pid)
            process_views.append(
                ProcessView(
                    id=pid,
                    snapshot_id=process.parameter_history_id,
                    status=process.status.name,
                    inputs=[(p.data_type.value, p.value) for p in payloads if p.is_input],
                    outputs=[(p.data_type.value, p.value) for p in payloads if not p.is_input],
                )
            )
        return ReportData(
            title=f"DashAI store demo, walkthrough {self.prefix or '#1 '}".strip(),
            generated=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            home=str(home),
            backend=backend,
            versions=_versions(),
            migration=migration,
            ids=dict(self.ids),
            facts=dict(self.facts),
            counts=counts,
            timings=list(timings),
            metric_history=history,
            last_metrics=metrics.latest(run_id),
            trials=list(self.trials),
            run_plots={kind: runs.load_plot(run_id, kind, as_figure=False) for kind in runs.PLOT_KINDS},
            snapshots=[
                (s.id, s.modified_at.isoformat(timespec="milliseconds"), s.parameters) for s in snapshots
            ],
            changes=[
                (c.snapshot_id, c.added, c.removed, {k: list(v) for k, v in c.changed.items()})
                for c in generative.parameter_changes(sid)
            ],
            processes=process_views,
            explorer_figure=explorers.load_result(self.ids["explorer"]),
            explainer_figure=explainers.load_plot("global", self.ids["global_explainer"], as_figure=False),
            local_figures=explainers.load_plot("local", self.ids["local_explainer"], as_figure=False),
            check_ok=check.ok,
            check_problems=_problems(check),
            check_backend=check.backend,
        )


def stderr_progress(name: str, seconds: float) -> None:
    print(f"demo: {name} {seconds:.2f} s", file=sys.stderr, flush=True)
