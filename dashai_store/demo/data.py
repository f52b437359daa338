"""The walkthrough's generated data: a synthetic churn problem and its train/validation/test split."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["PLANS", "ROWS", "SEED", "make_customers", "split_indexes"]

SEED = 20240611
ROWS = 500
PLANS = ("basic", "plus", "pro")


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


def split_indexes(count: int, seed: int) -> dict[str, list[int]]:
    """Row indexes of a seeded 60/20/20 train/validation/test split, each sorted."""
    order = list(range(count))
    random.Random(seed).shuffle(order)
    train_end, val_end = int(count * 0.6), int(count * 0.8)
    return {
        "train": sorted(order[:train_end]),
        "validation": sorted(order[train_end:val_end]),
        "test": sorted(order[val_end:]),
    }
