"""What the database itself enforces, on SQLite and PostgreSQL: cascades, ids that are
never reused, the append-only parameter history and the enum CHECKs. Rows are inserted
through the Peewee models; the refusals are provoked with raw SQL too, because the
database (not Python) must be the one saying no.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import peewee
import pytest
from helpers import row_counts
from migration_fixtures.support import Seeded, now, seed

from dashai_store import cascade, errors, models
from dashai_store.database import Store, run_in_transaction


def count(model: type[models.BaseModel], **where: Any) -> int:
    query = model.select()
    for column, value in where.items():
        query = query.where(getattr(model, column) == value)
    return int(query.count())


def raw(store: Store, statement: str, *params: object) -> None:
    """Run one raw statement with the backend's parameter marker (``?`` or ``%s``)."""
    store.db.execute_sql(statement.replace("?", store.db.param), params)


def delete_through_store(model: type[models.BaseModel], row_id: int) -> int:
    return run_in_transaction(lambda: cascade.delete_rows(model, [row_id]))


# -- cascades ------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["store", "raw"])
def test_deleting_a_dataset_cascades_to_everything_built_on_it(store: Store, how: str) -> None:
    s = seed()
    if how == "store":
        assert delete_through_store(models.Dataset, s.dataset) == 1
    else:
        raw(store, "DELETE FROM dataset WHERE id = ?", s.dataset)
    assert count(models.Dataset, id=s.dataset) == 0
    for model in (
        models.ModelSession,
        models.Run,
        models.Metric,
        models.Notebook,
        models.Converter,
        models.Explorer,
        models.GlobalExplainer,
        models.LocalExplainer,
        models.Prediction,  # its run belonged to the dataset's model session
    ):
        assert count(model) == 0, model.__name__
    # Rows that do not hang from the dataset stay.
    assert count(models.Dataset, id=s.other_dataset) == 1
    assert count(models.GenerativeSession) == 1 and count(models.ParameterHistory) == 2
    assert count(models.GenerativeProcess) == 1 and count(models.ProcessData) == 1
    assert count(models.Plugin) == 1 and count(models.Tag) == 1


@pytest.mark.parametrize("how", ["store", "raw"])
def test_deleting_a_run_cascades_to_its_metrics_predictions_and_explainers(store: Store, how: str) -> None:
    s = seed()
    if how == "store":
        assert delete_through_store(models.Run, s.run) == 1
    else:
        raw(store, "DELETE FROM run WHERE id = ?", s.run)
    assert count(models.Metric, run=s.run) == 0
    assert count(models.Prediction) == 0
    assert count(models.GlobalExplainer) == 0
    assert count(models.LocalExplainer) == 0
    # Siblings and parents stay.
    assert count(models.Metric, run=s.other_run) == 6
    assert count(models.Run, id=s.other_run) == 1
    assert count(models.ModelSession) == 1
    assert count(models.Dataset) == 2
    assert count(models.Notebook) == 1 and count(models.Converter) == 1 and count(models.Explorer) == 1


def test_deleting_a_prediction_input_dataset_removes_the_prediction(store: Store) -> None:
    s = seed()
    delete_through_store(models.Dataset, s.other_dataset)
    assert count(models.Prediction) == 0
    assert count(models.Run) == 2 and count(models.Metric) == 12


def test_deleting_a_notebook_cascades_to_converters_and_explorers(store: Store) -> None:
    s = seed()
    delete_through_store(models.Notebook, s.notebook)
    assert count(models.Converter) == 0 and count(models.Explorer) == 0
    assert count(models.Dataset, id=s.dataset) == 1


def test_deleting_a_plugin_cascades_to_its_tags(store: Store) -> None:
    s = seed()
    raw(store, "DELETE FROM plugin WHERE id = ?", s.plugin)
    assert count(models.Tag) == 0


def test_a_child_of_a_missing_parent_is_refused(store: Store) -> None:
    s = seed()
    before = row_counts(store.db)
    with pytest.raises(errors.IntegrityError):
        run_in_transaction(
            lambda: models.Metric.create(
                run=s.run + 1000, name="x", value=1.0, split="TRAIN", level="LAST", step=0, timestamp=now()
            )
        )
    assert row_counts(store.db) == before


# -- ids are never reused ------------------------------------------------------------------------


def _new_dataset(name: str) -> int:
    t = now()
    return int(models.Dataset.create(name=name, file_path=None, created=t, last_modified=t).id)


def test_ids_are_not_reused_after_the_highest_row_is_deleted(store: Store) -> None:
    ids = [_new_dataset(f"d{i}") for i in range(3)]
    assert ids == sorted(ids)
    raw(store, "DELETE FROM dataset WHERE id = ?", ids[-1])
    assert _new_dataset("after highest") == ids[-1] + 1
    raw(store, "DELETE FROM dataset")
    assert _new_dataset("after all") == ids[-1] + 2


def test_metric_and_run_ids_are_not_reused(store: Store) -> None:
    s = seed()
    highest_metric = max(s.metrics)
    raw(store, "DELETE FROM run WHERE id = ?", s.other_run)  # removes the highest metrics too
    t = now()
    run = models.Run.create(
        model_session=s.model_session,
        name="again",
        model_name="m",
        parameters={},
        optimizer_name="o",
        optimizer_parameters={},
        goal_metric="g",
        created=t,
        last_modified=t,
    )
    assert run.id > s.other_run
    metric = models.Metric.create(
        run=run, name="a", value=1.0, split="TEST", level="LAST", step=0, timestamp=t
    )
    assert metric.id > highest_metric


def test_sqlite_tables_use_autoincrement(sqlite_store: Store) -> None:
    names = {m._meta.table_name for m in models.ALL_MODELS}
    for name in names:
        [sql] = sqlite_store.db.execute_sql(
            "SELECT sql FROM sqlite_master WHERE name = ?", (name,)
        ).fetchone()
        assert "AUTOINCREMENT" in sql.upper(), name


# -- parameter_history is append-only ------------------------------------------------------------


def _history(store: Store) -> list[tuple[object, ...]]:
    return [tuple(r) for r in store.db.execute_sql("SELECT * FROM parameter_history ORDER BY id").fetchall()]


APPEND_ONLY_VIOLATIONS = (
    "UPDATE parameter_history SET parameters = '{}' WHERE id = ?",
    "UPDATE parameter_history SET modified_at = modified_at WHERE id = ?",
    "DELETE FROM parameter_history WHERE id = ?",
    "DELETE FROM parameter_history",
)


def test_parameter_history_rows_cannot_be_changed_by_raw_sql(store: Store) -> None:
    s = seed()
    before = _history(store)
    for statement in APPEND_ONLY_VIOLATIONS:
        params = (s.parameter_history[0],) if "?" in statement else ()
        with pytest.raises(peewee.IntegrityError, match="append-only"):
            raw(store, statement, *params)
        assert _history(store) == before, statement
        with pytest.raises(errors.IntegrityError, match="append-only"):
            run_in_transaction(lambda statement=statement, params=params: raw(store, statement, *params))
        assert _history(store) == before, statement


def test_parameter_history_cannot_be_emptied_or_changed_through_the_models(store: Store) -> None:
    s = seed()
    before = _history(store)
    ph = models.ParameterHistory
    with pytest.raises(errors.IntegrityError, match="append-only"):
        run_in_transaction(lambda: ph.delete().execute())
    with pytest.raises(errors.IntegrityError, match="append-only"):
        run_in_transaction(lambda: ph.update(session=s.generative_session).execute())
    assert _history(store) == before


def test_parameter_history_cannot_be_truncated_on_postgres(store: Store) -> None:
    # Row-level triggers do not fire on TRUNCATE; a statement-level one must refuse it.
    if store.backend != "postgresql":
        pytest.skip("TRUNCATE exists only on PostgreSQL")
    seed()
    before = _history(store)
    with pytest.raises(errors.IntegrityError, match="append-only"):
        run_in_transaction(lambda: raw(store, "TRUNCATE parameter_history CASCADE"))
    assert _history(store) == before


def test_deleting_the_session_cascades_its_parameter_history(store: Store) -> None:
    s = seed()
    assert delete_through_store(models.GenerativeSession, s.generative_session) == 1
    assert _history(store) == []
    assert count(models.GenerativeProcess) == 0 and count(models.ProcessData) == 0


def test_deleting_the_session_by_raw_sql_cascades_its_parameter_history(store: Store) -> None:
    s = seed()
    t = now()
    other = models.GenerativeSession.create(
        name="other", task_name="t", model_name="m", parameters={}, created=t, last_modified=t
    )
    kept = models.ParameterHistory.create(session=other, parameters={"k": 1}, modified_at=t)
    raw(store, "DELETE FROM generative_session WHERE id = ?", s.generative_session)
    assert [r[0] for r in _history(store)] == [kept.id]


# -- enums are checked by the database -------------------------------------------------------------


def _bad_rows(s: Seeded) -> dict[str, Callable[[], object]]:
    t = now()
    job = {"created": t, "last_modified": t}
    return {
        "dataset status": lambda: models.Dataset.create(name="bad", status="DONE", **job),
        "run status (lower case)": lambda: models.Run.create(
            model_session=s.model_session,
            name="bad",
            model_name="m",
            parameters={},
            optimizer_name="o",
            optimizer_parameters={},
            goal_metric="g",
            status="finished",
            **job,
        ),
        "prediction status": lambda: models.Prediction.create(run=s.run, status="", **job),
        "metric split": lambda: models.Metric.create(
            run=s.run, name="a", value=1.0, split="HOLDOUT", level="LAST", step=9, timestamp=t
        ),
        "metric level": lambda: models.Metric.create(
            run=s.run, name="a", value=1.0, split="TRAIN", level="GENERATION", step=9, timestamp=t
        ),
        "plugin status": lambda: models.Plugin.create(
            name="p2",
            author="a",
            installed_version="1",
            latest_version="1",
            status="BROKEN",
            summary="s",
            description="d",
            description_content_type="text/plain",
            **job,
        ),
        "tag name": lambda: models.Tag.create(plugin=s.plugin, name="Widget"),
        "process data type": lambda: models.ProcessData.create(
            process=s.generative_process, data="x", data_type="video", is_input=False
        ),
        "explorer status update": lambda: models.Explorer.update(status="PAUSED").execute(),
        "converter status update": lambda: models.Converter.update(status=None).execute(),
    }


def test_a_bad_enum_value_is_rejected_by_the_database(store: Store) -> None:
    s = seed()
    before = row_counts(store.db)
    status_sql = "SELECT status FROM explorer UNION ALL SELECT status FROM converter"
    status_before = sorted(r[0] for r in store.db.execute_sql(status_sql).fetchall())
    for case, insert in _bad_rows(s).items():
        with pytest.raises(errors.IntegrityError):
            run_in_transaction(insert)
            pytest.fail(f"{case}: accepted")
        assert row_counts(store.db) == before, case
    assert sorted(r[0] for r in store.db.execute_sql(status_sql).fetchall()) == status_before


BAD_UPDATES = (
    ("UPDATE run SET status = ?", "BOGUS"),
    ("UPDATE dataset SET status = ?", "not_started"),
    ("UPDATE metric SET split = ?", "train"),
    ("UPDATE metric SET level = ?", "GENERATION"),
    ("UPDATE plugin SET status = ?", "UNINSTALLED"),
    ("UPDATE tag SET name = ?", "dashai"),
    ("UPDATE process_data SET data_type = ?", "IMAGE"),
    ("UPDATE prediction SET status = ?", "DONE"),
    ("UPDATE global_explainer SET status = ?", "DONE"),
    ("UPDATE local_explainer SET status = ?", "DONE"),
    ("UPDATE generative_process SET status = ?", "DONE"),
)


def test_a_bad_enum_value_is_rejected_for_raw_sql(store: Store) -> None:
    seed()
    for statement, value in BAD_UPDATES:
        with pytest.raises(peewee.IntegrityError):
            raw(store, statement, value)
            pytest.fail(f"{statement} with {value!r}: accepted")


def test_every_enum_value_is_accepted(store: Store) -> None:
    """The CHECKs are not simply rejecting everything: each member name is accepted."""
    from dashai_store.enums import DataType, LevelEnum, PluginStatus, PluginTag, RunStatus, SplitEnum, names

    s = seed()
    for status in names(RunStatus):
        raw(store, "UPDATE run SET status = ? WHERE id = ?", status, s.run)
        raw(store, "UPDATE dataset SET status = ? WHERE id = ?", status, s.dataset)
    for step, (split, level) in enumerate((sp, lv) for sp in names(SplitEnum) for lv in names(LevelEnum)):
        models.Metric.create(
            run=s.run, name="all", value=1.0, split=split, level=level, step=step, timestamp=now()
        )
    for status in names(PluginStatus):
        raw(store, "UPDATE plugin SET status = ? WHERE id = ?", status, s.plugin)
    models.Tag.delete().execute()
    for tag in names(PluginTag):
        models.Tag.create(plugin=s.plugin, name=tag)
    for data_type in names(DataType):
        models.ProcessData.create(process=s.generative_process, data="x", data_type=data_type, is_input=True)
    assert count(models.Tag) == len(PluginTag)
