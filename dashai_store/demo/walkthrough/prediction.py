"""Step: a prediction over the saved dataset, its results stored as an Arrow table."""

from __future__ import annotations

from ..exceptions import DemoFailed
from .state import Walk

__all__ = ["prediction"]


def prediction(walk: Walk) -> None:
    """Predict every saved row with the stored model; the results must read back equal."""
    import pyarrow as pa

    from ... import predictions, runs

    record = predictions.create(walk.ids["run"], walk.ids["saved_dataset"])
    walk.ids["prediction"] = record.id
    predictions.deliver(record.id, job_id=f"demo-prediction-{record.id}")
    predictions.start(record.id)
    model = runs.load_model(walk.ids["run"])
    probabilities = model.predict_proba(walk.rows)
    results = pa.table(
        {
            "customer_id": pa.array([r["customer_id"] for r in walk.rows], pa.int64()),
            "churned": pa.array([r["churned"] for r in walk.rows], pa.string()),
            "predicted": pa.array([model.positive if p >= 0.5 else model.negative for p in probabilities]),
            "probability": pa.array(probabilities, pa.float64()),
        }
    )
    predictions.save_results(record.id, results)
    predictions.finish(record.id)
    back = predictions.load_results(record.id)
    if not back.equals(results):
        raise DemoFailed(f"prediction {record.id}: the results do not read back as written")
    agree = sum(
        a == b
        for a, b in zip(back.column("churned").to_pylist(), back.column("predicted").to_pylist(), strict=True)
    )
    walk.facts.update(prediction_rows=back.num_rows, prediction_accuracy=agree / back.num_rows)
