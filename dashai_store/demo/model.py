"""The toy model the run trains: a logistic regression in plain Python, and its search grid."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "EPOCHS",
    "L2_PENALTIES",
    "LEARNING_RATES",
    "TRIAL_EPOCHS",
    "ChurnModel",
    "evaluate",
    "train_epoch",
]

# The search grid of the run's optimiser (12 trials) and the final training's length.
LEARNING_RATES = (0.03, 0.1, 0.3, 1.0)
L2_PENALTIES = (0.0, 0.01, 0.1)
TRIAL_EPOCHS = 25
EPOCHS = 40


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
    ``dashai_store.demo.ChurnModel``, so loading it needs ``dashai_store`` importable (as
    any app model needs its class).
    """

    # Pickles name the class by its public home, not by this module: a model saved by any
    # demo loads whatever the package's inner layout, and its bytes (the artifact's sha256)
    # stay those of every earlier walkthrough. dashai_store.demo re-exports the class.
    __module__ = "dashai_store.demo"

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
        """The numeric columns, then one ``column=value`` per category."""
        return [*self.numeric, *(f"{c}={v}" for c, values in self.categorical.items() for v in values)]

    def fit_scaling(self, rows: Sequence[dict[str, Any]]) -> None:
        """Learn the numeric columns' means and deviations from ``rows``; zero the weights."""
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
        """The feature vector of one row."""
        x = [(float(row[c]) - m) / s for c, m, s in zip(self.numeric, self.means, self.scales, strict=True)]
        for column, values in self.categorical.items():
            x.extend(1.0 if row[column] == v else 0.0 for v in values)
        return x

    def probability(self, x: Sequence[float]) -> float:
        """The positive class's probability for a feature vector."""
        return _sigmoid(self.bias + sum(w * v for w, v in zip(self.weights, x, strict=True)))

    def predict_proba(self, rows: Sequence[dict[str, Any]]) -> list[float]:
        """The positive class's probability for each row."""
        return [self.probability(self.encode(r)) for r in rows]

    def predict(self, rows: Sequence[dict[str, Any]]) -> list[str]:
        """The predicted label of each row."""
        return [self.positive if p >= 0.5 else self.negative for p in self.predict_proba(rows)]


def train_epoch(
    model: ChurnModel, xs: Sequence[list[float]], ys: Sequence[int], lr: float, l2: float
) -> None:
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


def evaluate(model: ChurnModel, xs: Sequence[list[float]], ys: Sequence[int]) -> tuple[float, float]:
    """(mean log loss, accuracy)."""
    loss = correct = 0.0
    for x, y in zip(xs, ys, strict=True):
        p = min(1 - 1e-12, max(1e-12, model.probability(x)))
        loss -= math.log(p) if y else math.log(1 - p)
        correct += (p >= 0.5) == bool(y)
    return loss / len(xs), correct / len(xs)
