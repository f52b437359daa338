"""Steps: a model session, a run (grid search, then training), its plots, its model saved."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..data import PLANS, split_indexes
from ..exceptions import DemoFailed
from ..figures import optimisation_plots
from ..model import EPOCHS, L2_PENALTIES, LEARNING_RATES, TRIAL_EPOCHS, ChurnModel, evaluate, train_epoch
from .state import Walk

__all__ = ["model_round_trip", "model_session", "plots", "training"]


def model_session(walk: Walk) -> None:
    """A model session on the saved dataset; its rows and their split for the run."""
    from ... import datasets, model_sessions

    session = model_sessions.create(
        walk.ids["saved_dataset"],
        f"{walk.prefix}churn",
        "TabularClassificationTask",
        ["age", "income", "visits", "plan"],
        ["churned"],
        {"train": 0.6, "validation": 0.2, "test": 0.2, "seed": walk.seed, "shuffle": True},
        train_metrics=["loss", "accuracy"],
        validation_metrics=["loss", "accuracy"],
        test_metrics=["loss", "accuracy"],
    )
    walk.ids["model_session"] = session.id
    walk.rows = datasets.load_table(walk.ids["saved_dataset"]).to_pylist()
    walk.split = split_indexes(len(walk.rows), walk.seed)


def _new_model(walk: Walk) -> ChurnModel:
    model = ChurnModel(
        numeric=["age", "income", "visits"],
        categorical={"plan": list(PLANS)},
        positive="yes",
        negative="no",
    )
    model.fit_scaling(walk.split_rows("train"))
    return model


@dataclass(frozen=True)
class _Encoded:
    """A split as the model sees it: feature vectors and 0/1 labels."""

    xs: list[list[float]]
    ys: list[int]


def _encode(walk: Walk, model: ChurnModel, split: str) -> _Encoded:
    rows = walk.split_rows(split)
    return _Encoded([model.encode(r) for r in rows], [int(r["churned"] == model.positive) for r in rows])


def _create_run(walk: Walk) -> int:
    from ... import runs

    run = runs.create(
        walk.ids["model_session"],
        f"{walk.prefix}logistic regression",
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
        split_indexes=walk.split,
        description="pure-Python logistic regression; grid search on the validation loss",
    )
    walk.ids["run"] = run.id
    runs.deliver(run.id, job_id=f"demo-run-{run.id}")
    runs.start(run.id)
    return run.id


def _grid_search(walk: Walk, run_id: int, train: _Encoded, validation: _Encoded) -> dict[str, Any]:
    """One trial per grid point (TRIAL metrics); returns the best trial's parameters."""
    from ... import metrics

    grid = [(lr, l2) for l2 in L2_PENALTIES for lr in LEARNING_RATES]
    for number, (lr, l2) in enumerate(grid, 1):
        model = _new_model(walk)
        for _ in range(TRIAL_EPOCHS):
            train_epoch(model, train.xs, train.ys, lr, l2)
        loss, accuracy = evaluate(model, validation.xs, validation.ys)
        walk.trials.append({"number": number, "params": {"lr": lr, "l2": l2}, "value": loss})
        metrics.log_many(
            run_id,
            [
                ("loss", "VALIDATION", "TRIAL", number, loss),
                ("accuracy", "VALIDATION", "TRIAL", number, accuracy),
            ],
        )
    best: dict[str, Any] = min(walk.trials, key=lambda t: t["value"])["params"]
    return best


def _train(walk: Walk, run_id: int, best: dict[str, Any], train: _Encoded, validation: _Encoded) -> int:
    """The final training (STEP metrics per epoch); returns how many points a live tail saw."""
    from ... import metrics

    model = _new_model(walk)
    cursor = tailed = 0
    for epoch in range(1, EPOCHS + 1):
        train_epoch(model, train.xs, train.ys, best["lr"], best["l2"])
        train_loss, train_acc = evaluate(model, train.xs, train.ys)
        val_loss, val_acc = evaluate(model, validation.xs, validation.ys)
        metrics.log_many(
            run_id,
            [
                ("loss", "TRAIN", "STEP", epoch, train_loss),
                ("accuracy", "TRAIN", "STEP", epoch, train_acc),
                ("loss", "VALIDATION", "STEP", epoch, val_loss),
                ("accuracy", "VALIDATION", "STEP", epoch, val_acc),
            ],
        )
        if epoch % 10 == 0:  # what a live chart does: poll for the points logged since
            points, cursor = metrics.since(run_id, cursor)
            tailed += len(points)
    walk.model = model
    return tailed


def training(walk: Walk) -> None:
    """A run: grid search, training, then LAST metrics on every split."""
    from ... import metrics

    run_id = _create_run(walk)
    base = _new_model(walk)
    splits = {split: _encode(walk, base, split) for split in ("train", "validation", "test")}
    best = _grid_search(walk, run_id, splits["train"], splits["validation"])
    tailed = _train(walk, run_id, best, splits["train"], splits["validation"])
    model = walk.trained()
    last = []
    for split, name in (("TRAIN", "train"), ("VALIDATION", "validation"), ("TEST", "test")):
        loss, accuracy = evaluate(model, splits[name].xs, splits[name].ys)
        last += [("loss", split, "LAST", EPOCHS, loss), ("accuracy", split, "LAST", EPOCHS, accuracy)]
    metrics.log_many(run_id, last)
    latest = metrics.latest(run_id)
    walk.facts.update(
        trials=len(walk.trials),
        best_parameters=best,
        epochs=EPOCHS,
        metric_points=metrics.history_table(run_id).num_rows,
        tailed_points=tailed,
        last_metrics=latest,
        test_accuracy=latest["TEST"]["accuracy"],
        split_sizes={k: len(v) for k, v in walk.split.items()},
    )


def plots(walk: Walk) -> None:
    """The run's four optimisation plots, saved."""
    from ... import runs

    for kind, figure in optimisation_plots(walk.trials, "loss").items():
        runs.save_plot(walk.ids["run"], kind, figure)
    record = runs.get(walk.ids["run"])
    walk.facts["plots"] = [k for k in runs.PLOT_KINDS if getattr(record, f"plot_{k}_path") is not None]


def model_round_trip(walk: Walk) -> None:
    """Save the model with joblib, load it back: it must predict the same; finish the run."""
    from ... import runs

    run_id = walk.ids["run"]
    model = walk.trained()
    runs.save_model(run_id, model)
    loaded = runs.load_model(run_id)
    test_rows = walk.split_rows("test")
    if not isinstance(loaded, ChurnModel) or loaded.predict_proba(test_rows) != model.predict_proba(
        test_rows
    ):
        raise DemoFailed(f"run {run_id}: the loaded model does not predict as the trained one")
    record = runs.finish(run_id)
    walk.facts.update(
        round_trip_rows=len(test_rows),
        model_sha256=(record.artifacts or {})["model"]["sha256"],
        run_status=record.status.name,
    )
