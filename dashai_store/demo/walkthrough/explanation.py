"""Step: a global explainer (permutation importance and its plot) and a local one."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from ..exceptions import DemoFailed
from ..figures import contribution_figure, permutation_importance_figure
from ..model import ChurnModel
from .state import Walk

__all__ = ["explainers"]

_COLUMNS = ("income", "age", "visits", "plan")
_REPEATS = 5


def _permutation_importances(walk: Walk, model: ChurnModel) -> dict[str, Any]:
    """Validation accuracy, and its mean drop when each column is shuffled (seeded)."""
    val_rows = walk.split_rows("validation")
    labels = [r["churned"] for r in val_rows]

    def accuracy(rows: Sequence[dict[str, Any]]) -> float:
        hits = sum(p == y for p, y in zip(model.predict(rows), labels, strict=True))
        return float(hits) / len(rows)

    rng = random.Random(walk.seed)
    baseline = accuracy(val_rows)
    importances = {}
    for column in _COLUMNS:
        drops = []
        for _ in range(_REPEATS):
            shuffled = [r[column] for r in val_rows]
            rng.shuffle(shuffled)
            rows = [{**r, column: v} for r, v in zip(val_rows, shuffled, strict=True)]
            drops.append(baseline - accuracy(rows))
        importances[column] = sum(drops) / len(drops)
    return {"baseline_accuracy": baseline, "importances": importances}


def _global_explainer(walk: Walk, model: ChurnModel) -> dict[str, float]:
    from ... import explainers

    explainer = explainers.create_global(
        walk.ids["run"],
        "permutation importance",
        "PermutationFeatureImportance",
        {"repeats": _REPEATS, "seed": walk.seed},
    )
    walk.ids["global_explainer"] = explainer.id
    explainers.deliver("global", explainer.id, job_id=f"demo-explainer-{explainer.id}")
    explainers.start("global", explainer.id)
    explanation = _permutation_importances(walk, model)
    explainers.save_explanation("global", explainer.id, explanation)
    explainers.save_plot("global", explainer.id, permutation_importance_figure(explanation["importances"]))
    explainers.finish("global", explainer.id)
    if explainers.load_explanation("global", explainer.id) != explanation:
        raise DemoFailed(f"global explainer {explainer.id}: the explanation does not read back")
    importances: dict[str, float] = explanation["importances"]
    return importances


def _local_explainer(walk: Walk, model: ChurnModel) -> int:
    """Each feature's contribution to the logit for three test rows; returns the row count."""
    from ... import explainers

    instances = walk.split_rows("test")[:3]
    local = explainers.create_local(
        walk.ids["run"],
        walk.ids["saved_dataset"],
        "contributions",
        "LinearContributions",
        {},
        {"reference": "training means"},
        {"customer_ids": [r["customer_id"] for r in instances]},
    )
    walk.ids["local_explainer"] = local.id
    explainers.deliver("local", local.id)
    explainers.start("local", local.id)
    names = model.feature_names
    contributions = []
    figures = []
    for row in instances:
        values = [w * x for w, x in zip(model.weights, model.encode(row), strict=True)]
        contributions.append(
            {"customer_id": row["customer_id"], "contributions": dict(zip(names, values, strict=True))}
        )
        figures.append(contribution_figure(row["customer_id"], names, values))
    explainers.save_explanation("local", local.id, contributions)
    explainers.save_plot("local", local.id, figures)
    explainers.finish("local", local.id)
    return len(instances)


def explainers(walk: Walk) -> None:
    """Both explainers on the trained model."""
    model = walk.trained()
    importances = _global_explainer(walk, model)
    instances = _local_explainer(walk, model)
    walk.facts.update(explained_features=len(importances), local_instances=instances, importances=importances)
