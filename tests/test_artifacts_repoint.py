"""A late promotion of a replaced joblib save never repoints the row at the losing file.

``artifacts.save_joblib`` stages a replacement under a new name, commits, then promotes it
in a second transaction (``_repoint`` + a link over the final name). Between the two,
another save of the same row can commit and promote first. When the first save's
promotion arrives after that, the row no longer names its staged file, and it must
leave the row (and so the final file) to the save that won: otherwise the row would name
``model.joblib`` with the winner's checksum while the loser's bytes sit there, and the
model would no longer load.

The interleaving is made deterministic by calling the late promotion's repoint step by
hand with the staged name the first save used.
"""

from __future__ import annotations

from typing import Any

from helpers import plant_dataset, plant_run, plant_session

from dashai_store import artifacts, explainers, files, models, runs
from dashai_store.database import Store


def _run_with_model(obj: Any) -> int:
    run_id = plant_run(plant_session(plant_dataset()))
    runs.save_model(run_id, obj)
    return run_id


def test_a_late_promotion_of_a_replaced_model_leaves_the_winner(store: Store) -> None:
    run_id = _run_with_model({"model": "winner"})
    before = models.Run.get_by_id(run_id).artifacts
    final = files.layout.run_model(run_id)
    loser_staged = f"runs/{run_id}/model.loser.joblib"

    promoted = artifacts._repoint(models.Run, run_id, "model", None, loser_staged, final)

    assert promoted is False
    assert models.Run.get_by_id(run_id).artifacts == before
    assert runs.load_model(run_id) == {"model": "winner"}


def test_the_promotion_of_the_current_save_repoints_the_row(store: Store) -> None:
    run_id = _run_with_model({"model": "first"})
    row = models.Run.get_by_id(run_id)
    staged = f"runs/{run_id}/model.staged.joblib"
    entry = {**row.artifacts["model"], "path": staged}
    models.Run.update(artifacts={**row.artifacts, "model": entry}).where(models.Run.id == run_id).execute()

    final = files.layout.run_model(run_id)

    promoted = artifacts._repoint(models.Run, run_id, "model", None, staged, final)

    assert promoted is True
    assert models.Run.get_by_id(run_id).artifacts["model"] == {**entry, "path": final}


def test_a_late_promotion_checks_the_path_column_too(store: Store) -> None:
    run_id = _run_with_model({"model": "m"})
    explainer = explainers.create_global(run_id, "shap", "KernelShap", {})
    explainers.save_explanation("global", explainer.id, {"explanation": "winner"})
    model = models.GlobalExplainer
    row = model.get_by_id(explainer.id)
    loser_staged = f"{row.explanation_path}.loser"
    # The artifacts entry names the loser's staged file but the path column does not:
    # a row half-agreeing with the late promotion is still not repointed.
    entry = {**row.artifacts["explanation"], "path": loser_staged}
    model.update(artifacts={**row.artifacts, "explanation": entry}).where(model.id == explainer.id).execute()
    before = model.get_by_id(explainer.id)

    promoted = artifacts._repoint(
        model, explainer.id, "explanation", "explanation_path", loser_staged, row.explanation_path
    )

    assert promoted is False
    after = model.get_by_id(explainer.id)
    assert (after.artifacts, after.explanation_path) == (before.artifacts, before.explanation_path)


def test_a_late_promotion_for_a_deleted_row_does_nothing(store: Store) -> None:
    run_id = _run_with_model({"model": "m"})
    runs.delete(run_id)

    promoted = artifacts._repoint(
        models.Run, run_id, "model", None, "runs/x/model.staged.joblib", files.layout.run_model(run_id)
    )

    assert promoted is False
