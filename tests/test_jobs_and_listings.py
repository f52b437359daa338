"""Rows by job id (jobs.find / set_job_id) on every job table, explainers' listings
(all, by run, by dataset, paged) and ExplainerJob replayed; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pyarrow as pa
from helpers import assert_refused, plant_dataset, plant_run, plant_session

from dashai_store import errors, explainers, jobs, models, runs
from dashai_store.clock import utcnow
from dashai_store.database import Store, run_in_transaction
from dashai_store.enums import RunStatus


def plant_everything() -> dict[str, int]:
    """One row of every job table, each NOT_STARTED (planted: other areas own their facades)."""

    def insert() -> dict[str, int]:
        now = utcnow()
        table = pa.table({"x": [1.0, 2.0], "y": [0, 1]})
        dataset = plant_dataset("iris", table=table, status="FINISHED")
        run = plant_run(plant_session(dataset), "svm")
        notebook = models.Notebook.create(dataset=dataset, file_path="x", created=now, last_modified=now).id
        session = models.GenerativeSession.create(
            name="g", task_name="t", model_name="m", parameters={}, created=now, last_modified=now
        ).id
        stamps = {"created": now, "last_modified": now}
        return {
            "run": run,
            "dataset": plant_dataset("other"),
            "explorer": models.Explorer.create(
                notebook=notebook,
                name="scatter",
                exploration_type="Scatter",
                columns=[],
                parameters={},
                **stamps,
            ).id,
            "global_explainer": models.GlobalExplainer.create(
                run=run, name="shap", explainer_name="KernelShap", parameters={}, created=now
            ).id,
            "local_explainer": models.LocalExplainer.create(
                run=run,
                dataset=dataset,
                name="lime",
                explainer_name="Lime",
                parameters={},
                fit_parameters={},
                scope={},
                created=now,
            ).id,
            "converter": models.Converter.create(
                notebook=notebook, converter="StandardScaler", parameters={}, position=1, **stamps
            ).id,
            "prediction": models.Prediction.create(run=run, **stamps).id,
            "generative_process": models.GenerativeProcess.create(session=session, **stamps).id,
        }

    return run_in_transaction(insert)


NAMES = {
    "run": "svm",
    "dataset": "other",
    "explorer": "scatter",
    "global_explainer": "shap",
    "local_explainer": "lime",
    "converter": "StandardScaler",
    "prediction": None,
    "generative_process": None,
}


def test_every_job_table_is_found_by_its_job_id(store: Store) -> None:
    rows = plant_everything()
    for kind, row_id in rows.items():
        written = jobs.set_job_id(kind, row_id, f"huey-{kind}")  # type: ignore[arg-type]
        found = jobs.find(f"huey-{kind}")
        assert found == written, kind
        assert found is not None and (found.entity_type, found.entity_id, found.name) == (
            kind,
            row_id,
            NAMES[kind],
        )
        assert found.status is RunStatus.NOT_STARTED and found.job_id == f"huey-{kind}"
        has_last_modified = kind not in ("global_explainer", "local_explainer")
        assert (found.last_modified is not None) == has_last_modified, kind
    assert jobs.find("huey-nobody") is None


def test_a_job_id_written_at_delivery_or_start_is_found(store: Store) -> None:
    rows = plant_everything()
    explainers.deliver("global", rows["global_explainer"])
    assert explainers.start("global", rows["global_explainer"], job_id="huey-g").huey_id == "huey-g"
    runs.deliver(rows["run"], job_id="huey-r")
    found_run, found_explainer = jobs.find("huey-r"), jobs.find("huey-g")
    assert found_run is not None and found_run.status is RunStatus.DELIVERED
    assert found_explainer is not None and found_explainer.entity_type == "global_explainer"
    assert found_explainer.status is RunStatus.STARTED


def test_find_uses_the_job_id_indexes(store: Store) -> None:
    """Every job table's huey_id has an index (the migration made it; the drift check
    compares it with the models), so the lookup never scans a table."""
    sql = (
        "SELECT name FROM sqlite_master WHERE type = 'index'"
        if store.backend == "sqlite"
        else "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
    )
    names = {row[0] for row in store.db.execute_sql(sql).fetchall()}
    assert {f"{kind}_huey_id" for kind in NAMES} <= names


def test_bad_job_lookups_are_refused_and_change_nothing(store: Store) -> None:
    rows = plant_everything()
    models.Prediction.update(status="FINISHED").where(models.Prediction.id == rows["prediction"]).execute()
    cases: list[tuple[str, Callable[[], Any], type[errors.StoreError]]] = [
        ("find an int", partial(jobs.find, 42), errors.ValidationError),
        ("find blank", partial(jobs.find, ""), errors.ValidationError),
        ("find NUL", partial(jobs.find, "a\x00b"), errors.ValidationError),
        ("unknown kind", partial(jobs.set_job_id, "model_session", 1, "h"), errors.ValidationError),
        ("unknown row", partial(jobs.set_job_id, "run", 999, "h"), errors.NotFound),
        ("row id a str", partial(jobs.set_job_id, "run", "1", "h"), errors.ValidationError),
        ("blank job id", partial(jobs.set_job_id, "run", rows["run"], " "), errors.ValidationError),
        (
            "job ended",
            partial(jobs.set_job_id, "prediction", rows["prediction"], "h"),
            errors.InvalidTransition,
        ),
    ]
    for case, call, error in cases:
        assert_refused(store, case, call, error)


# -- explainers: listings -------------------------------------------------------------------------------


def test_explainers_are_listed_all_by_run_by_dataset_and_paged(store: Store) -> None:
    rows = plant_everything()
    run, dataset = rows["run"], models.Run.get_by_id(rows["run"]).model_session.dataset_id
    other_run = run_in_transaction(lambda: plant_run(plant_session(dataset, "s2"), "knn"))
    other_dataset = run_in_transaction(lambda: plant_dataset("wine"))
    g2 = explainers.create_global(other_run, "g2", "KernelShap", {})
    l2 = explainers.create_local(other_run, other_dataset, "l2", "Lime", {}, {}, [0])
    l3 = explainers.create_local(run, other_dataset, "l3", "Lime", {}, {}, [1])
    g1, l1 = rows["global_explainer"], rows["local_explainer"]
    assert [e.id for e in explainers.list_global()] == [g1, g2.id]
    assert [e.id for e in explainers.list_global(other_run)] == [g2.id]
    assert [e.id for e in explainers.list_local()] == [l1, l2.id, l3.id]
    assert [e.id for e in explainers.list_local(dataset_id=other_dataset)] == [l2.id, l3.id]
    assert [e.id for e in explainers.list_local(run, other_dataset)] == [l3.id]
    assert [e.id for e in explainers.list_local(limit=2, offset=1)] == [l2.id, l3.id]
    assert [e.id for e in explainers.list_global(limit=1)] == [g1]
    cases: list[tuple[str, Callable[[], Any], type[errors.StoreError]]] = [
        ("unknown run", partial(explainers.list_global, 999), errors.NotFound),
        ("unknown dataset", partial(explainers.list_local, dataset_id=999), errors.NotFound),
        ("run id a str", partial(explainers.list_local, "1"), errors.ValidationError),
        ("negative limit", partial(explainers.list_global, limit=-1), errors.ValidationError),
        ("offset negative", partial(explainers.list_local, offset=-2), errors.ValidationError),
    ]
    for case, call, error in cases:
        assert_refused(store, case, call, error)


def test_explainer_job_replayed(store: Store) -> None:
    """upload_global_explainer, then ExplainerJob: delivered, started with its job id,
    the split indexes ModelJob wrote read back, explanation saved, finished; found by id."""
    rows = plant_everything()
    run = rows["run"]
    runs.deliver(run)
    runs.start(run, job_id="huey-model")
    runs.set_split_indexes(run, '{"train_indexes": [0], "test_indexes": [1]}')
    runs.finish(run)
    e = explainers.create_global(run, "importance", "PermutationFeatureImportance", {"n": 3})
    explainers.deliver("global", e.id)
    explainers.start("global", e.id, job_id="huey-explainer")
    assert runs.get(run).split_indexes == {"train_indexes": [0], "test_indexes": [1]}
    explainers.save_explanation("global", e.id, {"importances": {"x": 0.5}})
    explainers.finish("global", e.id)
    found = jobs.find("huey-explainer")
    assert found is not None and (found.entity_type, found.entity_id) == ("global_explainer", e.id)
    assert found.status is RunStatus.FINISHED
    assert [x.id for x in explainers.list_global(run)] == [rows["global_explainer"], e.id]
