"""explainers: global and local explainers, their lifecycle, files, and their cascades."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import pyarrow as pa
import pytest
from helpers import file_tree, plant_dataset, plant_run, plant_session, row_counts

from dashai_store import cascade, errors, explainers, files, models
from dashai_store.database import Store, run_in_transaction
from dashai_store.enums import RunStatus

# -- rows made directly with the models (datasets.py and runs.py are written elsewhere) ------


def make_dataset(name: str) -> int:
    table = pa.table({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    return run_in_transaction(lambda: plant_dataset(name, table=table, status="FINISHED"))


def make_run(dataset_id: int, name: str = "run") -> int:
    def insert() -> int:
        session_id = plant_session(dataset_id, f"session-{name}-{dataset_id}")
        return plant_run(session_id, name, parameters={"C": 1.0}, optimizer_name="")

    return run_in_transaction(insert)


@pytest.fixture
def setup(store: Store) -> tuple[int, int]:
    """(dataset_id, run_id) of a dataset and a run trained on it."""
    dataset_id = make_dataset("iris")
    return dataset_id, make_run(dataset_id)


def figure(title: str = "importance") -> go.Figure:
    return go.Figure(data=[go.Bar(x=["a", "b"], y=[0.7, 0.3])], layout={"title": {"text": title}})


def explainer_files(home: Path) -> set[str]:
    return {path for path in file_tree(home) if path.startswith("explainers/")}


def filled(kind: explainers.Kind, explainer_id: int) -> None:
    """Give an explainer both of its files."""
    explainers.save_explanation(kind, explainer_id, {"weights": [0.1, 0.9], "kind": kind})
    explainers.save_plot(kind, explainer_id, figure())


# -- create, get, list ---------------------------------------------------------------------------


def test_create_and_get_global(setup: tuple[int, int]) -> None:
    _, run_id = setup
    e = explainers.create_global(run_id, "importance", "PermutationFeatureImportance", {"n_repeats": 5})
    assert (e.run_id, e.name, e.explainer_name) == (run_id, "importance", "PermutationFeatureImportance")
    assert e.parameters == {"n_repeats": 5}
    assert e.status is RunStatus.NOT_STARTED
    assert e.explanation_path is None and e.plot_path is None
    assert explainers.get("global", e.id) == e


def test_create_and_get_local(setup: tuple[int, int]) -> None:
    dataset_id, run_id = setup
    scope = {"instances": [0, 2]}
    e = explainers.create_local(run_id, dataset_id, "lime", "LimeExplainer", {"k": 3}, {"sample": 100}, scope)
    assert (e.run_id, e.dataset_id) == (run_id, dataset_id)
    assert e.parameters == {"k": 3}
    assert e.fit_parameters == {"sample": 100}
    assert e.scope == scope
    assert e.plots_path is None
    assert explainers.get("local", e.id) == e
    # the same id in the other table is another explainer (or none)
    with pytest.raises(errors.NotFound, match=f"global explainer {e.id} does not exist"):
        explainers.get("global", e.id)


def test_lists_by_run_and_dataset(setup: tuple[int, int]) -> None:
    dataset_id, run_id = setup
    other_dataset = make_dataset("wine")
    other_run = make_run(dataset_id, "other")
    g1 = explainers.create_global(run_id, "g1", "KernelShap", {})
    g2 = explainers.create_global(run_id, "g2", "PartialDependence", {})
    explainers.create_global(other_run, "g3", "KernelShap", {})
    l1 = explainers.create_local(run_id, dataset_id, "l1", "Lime", {}, {}, [0])
    l2 = explainers.create_local(run_id, other_dataset, "l2", "Lime", {}, {}, [1])
    explainers.create_local(other_run, dataset_id, "l3", "Lime", {}, {}, [2])
    assert [e.id for e in explainers.list_global(run_id)] == [g1.id, g2.id]
    assert [e.id for e in explainers.list_local(run_id)] == [l1.id, l2.id]
    assert [e.id for e in explainers.list_local(run_id, dataset_id=other_dataset)] == [l2.id]
    assert [e.id for e in explainers.list_local(run_id, dataset_id)] == [l1.id]
    with pytest.raises(errors.NotFound, match="run 999 does not exist"):
        explainers.list_global(999)
    with pytest.raises(errors.NotFound, match="dataset 999 does not exist"):
        explainers.list_local(run_id, 999)


# -- lifecycle -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["global", "local"])
def test_lifecycle(setup: tuple[int, int], kind: explainers.Kind) -> None:
    dataset_id, run_id = setup
    if kind == "global":
        e: explainers.ExplainerRecord = explainers.create_global(run_id, "e", "KernelShap", {})
    else:
        e = explainers.create_local(run_id, dataset_id, "e", "Lime", {}, {}, {"instances": [0]})
    delivered = explainers.deliver(kind, e.id, job_id="huey-7")
    assert delivered.status is RunStatus.DELIVERED
    assert delivered.huey_id == "huey-7" and delivered.delivery_time is not None
    started = explainers.start(kind, e.id)
    assert started.status is RunStatus.STARTED and started.start_time is not None
    with pytest.raises(errors.InvalidTransition, match="STARTED"):
        explainers.deliver(kind, e.id)
    finished = explainers.finish(kind, e.id)
    assert finished.status is RunStatus.FINISHED and finished.end_time is not None
    assert explainers.get(kind, e.id) == finished
    again = explainers.reset(kind, e.id)
    assert again.status is RunStatus.NOT_STARTED and again.end_time is None
    explainers.deliver(kind, e.id)
    failed = explainers.fail(kind, e.id, "shap ran out of memory")
    assert failed.status is RunStatus.ERROR
    assert failed.error == "shap ran out of memory"
    with pytest.raises(errors.InvalidTransition):
        explainers.finish(kind, e.id)


def test_global_and_local_lifecycles_are_separate_tables(setup: tuple[int, int]) -> None:
    dataset_id, run_id = setup
    g = explainers.create_global(run_id, "g", "KernelShap", {})
    loc = explainers.create_local(run_id, dataset_id, "l", "Lime", {}, {}, [0])
    assert g.id == loc.id  # each table has its own ids
    explainers.deliver("global", g.id)
    assert explainers.get("global", g.id).status is RunStatus.DELIVERED
    assert explainers.get("local", loc.id).status is RunStatus.NOT_STARTED


# -- files -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["global", "local"])
def test_explanation_round_trip_with_recorded_checksum(
    setup: tuple[int, int], store: Store, kind: explainers.Kind
) -> None:
    dataset_id, run_id = setup
    if kind == "global":
        e: explainers.ExplainerRecord = explainers.create_global(run_id, "e", "KernelShap", {})
    else:
        e = explainers.create_local(run_id, dataset_id, "e", "Lime", {}, {}, [0])
    explanation = {"features": ["x"], "values": [[0.25, float("nan")]], "base": 0.5}
    saved = explainers.save_explanation(kind, e.id, explanation)
    relative = f"explainers/{kind}/{e.id}/explanation.joblib"
    assert saved.explanation_path == store.home / relative
    assert saved.explanation_path.is_file()
    model = models.GlobalExplainer if kind == "global" else models.LocalExplainer
    artifacts = model.get_by_id(e.id).artifacts
    assert artifacts == {
        "explanation": {"path": relative, "sha256": files.sha256_file(store.home / relative)}
    }
    loaded = explainers.load_explanation(kind, e.id)
    assert loaded["features"] == ["x"] and loaded["values"][0][0] == 0.25
    assert loaded["values"][0][1] != loaded["values"][0][1]  # NaN survived
    # saving again replaces the file and its checksum
    explainers.save_explanation(kind, e.id, [1, 2, 3])
    assert explainers.load_explanation(kind, e.id) == [1, 2, 3]
    assert explainer_files(store.home) == {relative}


@pytest.mark.parametrize("kind", ["global", "local"])
def test_altered_explanation_is_refused(setup: tuple[int, int], store: Store, kind: explainers.Kind) -> None:
    dataset_id, run_id = setup
    if kind == "global":
        e: explainers.ExplainerRecord = explainers.create_global(run_id, "e", "KernelShap", {})
    else:
        e = explainers.create_local(run_id, dataset_id, "e", "Lime", {}, {}, [0])
    saved = explainers.save_explanation(kind, e.id, {"ok": True})
    assert saved.explanation_path is not None
    # A perfectly loadable joblib file, just not the one the store wrote.
    import joblib

    joblib.dump({"ok": False, "payload": "swapped"}, saved.explanation_path)
    with pytest.raises(errors.FileIntegrityError, match="refusing to unpickle"):
        explainers.load_explanation(kind, e.id)
    saved.explanation_path.write_bytes(b"\x80\x04garbage")
    with pytest.raises(errors.FileIntegrityError, match="refusing to unpickle"):
        explainers.load_explanation(kind, e.id)
    saved.explanation_path.unlink()
    with pytest.raises(errors.NotFound, match="does not exist"):
        explainers.load_explanation(kind, e.id)


def test_explanation_without_recorded_checksum_is_refused(setup: tuple[int, int], store: Store) -> None:
    """A row pointing at a pickle the store never vouched for (e.g. an adopted DashAI row)."""
    _, run_id = setup
    e = explainers.create_global(run_id, "legacy", "KernelShap", {})
    relative = f"explainers/global/{e.id}/explanation.joblib"
    import joblib

    (store.home / relative).parent.mkdir(parents=True)
    joblib.dump({"x": 1}, store.home / relative)
    run_in_transaction(
        lambda: (
            models.GlobalExplainer.update(explanation_path=relative)
            .where(models.GlobalExplainer.id == e.id)
            .execute()
        )
    )
    with pytest.raises(errors.FileIntegrityError, match="no recorded checksum"):
        explainers.load_explanation("global", e.id)


def test_nothing_saved_yet_is_not_found(setup: tuple[int, int]) -> None:
    _, run_id = setup
    e = explainers.create_global(run_id, "e", "KernelShap", {})
    with pytest.raises(errors.NotFound, match=f"global explainer {e.id} has no saved explanation"):
        explainers.load_explanation("global", e.id)
    with pytest.raises(errors.NotFound, match=f"global explainer {e.id} has no saved plot"):
        explainers.load_plot("global", e.id)
    with pytest.raises(errors.NotFound, match="global explainer 999 does not exist"):
        explainers.save_explanation("global", 999, {"x": 1})


def test_plots_round_trip(setup: tuple[int, int], store: Store) -> None:
    dataset_id, run_id = setup
    g = explainers.create_global(run_id, "g", "KernelShap", {})
    loc = explainers.create_local(run_id, dataset_id, "l", "Lime", {}, {}, {"instances": [0, 1]})

    saved = explainers.save_plot("global", g.id, figure("global view"))
    assert saved.plot_path == store.home / f"explainers/global/{g.id}/plot.json"
    back = explainers.load_plot("global", g.id)
    assert isinstance(back, go.Figure)
    assert back.layout.title.text == "global view"
    assert list(back.data[0].y) == [0.7, 0.3]
    raw = explainers.load_plot("global", g.id, as_figure=False)
    assert raw["layout"]["title"]["text"] == "global view"

    # local: one figure per explained instance, given as figure, dict and JSON text
    per_instance = [figure("instance 0"), figure("instance 1").to_dict(), figure("instance 2").to_json()]
    saved_local = explainers.save_plot("local", loc.id, per_instance)
    assert saved_local.plots_path == store.home / f"explainers/local/{loc.id}/plot.json"
    figures = explainers.load_plot("local", loc.id)
    assert [f.layout.title.text for f in figures] == ["instance 0", "instance 1", "instance 2"]
    assert all(isinstance(f, go.Figure) for f in figures)

    # a single figure is accepted for a local explainer too and replaces the list
    explainers.save_plot("local", loc.id, {"data": [], "layout": {"title": {"text": "one"}}})
    assert explainers.load_plot("local", loc.id).layout.title.text == "one"


def test_corrupt_plot_file_is_a_file_integrity_error(setup: tuple[int, int], store: Store) -> None:
    _, run_id = setup
    g = explainers.create_global(run_id, "g", "KernelShap", {})
    saved = explainers.save_plot("global", g.id, figure())
    assert saved.plot_path is not None
    saved.plot_path.write_text("{not json")
    with pytest.raises(errors.FileIntegrityError):
        explainers.load_plot("global", g.id)


# -- deletion and cascades ---------------------------------------------------------------------------


def test_delete_global_and_local_with_files(setup: tuple[int, int], store: Store) -> None:
    dataset_id, run_id = setup
    g = explainers.create_global(run_id, "g", "KernelShap", {})
    keep = explainers.create_global(run_id, "keep", "KernelShap", {})
    loc = explainers.create_local(run_id, dataset_id, "l", "Lime", {}, {}, [0])
    for kind, explainer_id in (("global", g.id), ("global", keep.id), ("local", loc.id)):
        filled(kind, explainer_id)  # type: ignore[arg-type]
    assert (store.home / f"explainers/global/{g.id}").is_dir()

    explainers.delete_global(g.id)
    explainers.delete_local(loc.id)
    assert not (store.home / f"explainers/global/{g.id}").exists()
    assert not (store.home / f"explainers/local/{loc.id}").exists()
    assert explainer_files(store.home) == {
        f"explainers/global/{keep.id}/explanation.joblib",
        f"explainers/global/{keep.id}/plot.json",
    }
    assert files.pending_deletions() == []
    with pytest.raises(errors.NotFound, match=f"global explainer {g.id} does not exist"):
        explainers.get("global", g.id)
    with pytest.raises(errors.NotFound, match=f"local explainer {loc.id} does not exist"):
        explainers.delete_local(loc.id)
    assert explainers.load_explanation("global", keep.id) == {"weights": [0.1, 0.9], "kind": "global"}


def test_a_rolled_back_delete_keeps_the_files(setup: tuple[int, int], store: Store) -> None:
    _, run_id = setup
    g = explainers.create_global(run_id, "g", "KernelShap", {})
    filled("global", g.id)
    before = file_tree(store.home)

    def delete_then_fail() -> None:
        explainers.delete_global(g.id)
        raise RuntimeError("the caller's transaction fails after the delete")

    with pytest.raises(RuntimeError):
        run_in_transaction(delete_then_fail)
    assert file_tree(store.home) == before
    assert explainers.get("global", g.id).id == g.id
    assert explainers.load_explanation("global", g.id)["kind"] == "global"


def test_files_saved_in_a_rolled_back_transaction_are_discarded(setup: tuple[int, int], store: Store) -> None:
    _, run_id = setup
    g = explainers.create_global(run_id, "g", "KernelShap", {})
    before = file_tree(store.home)

    def save_then_fail() -> None:
        explainers.save_explanation("global", g.id, {"x": 1})
        explainers.save_plot("global", g.id, figure())
        assert explainer_files(store.home) == {
            f"explainers/global/{g.id}/explanation.joblib",
            f"explainers/global/{g.id}/plot.json",
        }
        raise RuntimeError("the job fails before its transaction commits")

    with pytest.raises(RuntimeError):
        run_in_transaction(save_then_fail)
    assert file_tree(store.home) == before
    assert explainers.get("global", g.id) == g


def test_deleting_the_run_removes_its_explainers_and_files(setup: tuple[int, int], store: Store) -> None:
    dataset_id, run_id = setup
    other_run = make_run(dataset_id, "other")
    g = explainers.create_global(run_id, "g", "KernelShap", {})
    loc = explainers.create_local(run_id, dataset_id, "l", "Lime", {}, {}, [0])
    survivor = explainers.create_global(other_run, "s", "KernelShap", {})
    for kind, explainer_id in (("global", g.id), ("local", loc.id), ("global", survivor.id)):
        filled(kind, explainer_id)  # type: ignore[arg-type]

    run_in_transaction(lambda: cascade.delete_rows(models.Run, [run_id]))

    assert models.GlobalExplainer.select().where(models.GlobalExplainer.run == run_id).count() == 0
    assert models.LocalExplainer.select().where(models.LocalExplainer.run == run_id).count() == 0
    assert not (store.home / f"explainers/global/{g.id}").exists()
    assert not (store.home / f"explainers/local/{loc.id}").exists()
    assert explainer_files(store.home) == {
        f"explainers/global/{survivor.id}/explanation.joblib",
        f"explainers/global/{survivor.id}/plot.json",
    }
    assert [e.id for e in explainers.list_global(other_run)] == [survivor.id]
    assert files.pending_deletions() == []


def test_deleting_the_dataset_removes_its_local_explainers_and_files(
    setup: tuple[int, int], store: Store
) -> None:
    dataset_id, run_id = setup
    explained = make_dataset("explained")
    other = make_dataset("other")
    on_explained = explainers.create_local(run_id, explained, "a", "Lime", {}, {}, [0])
    on_other = explainers.create_local(run_id, other, "b", "Lime", {}, {}, [1])
    g = explainers.create_global(run_id, "g", "KernelShap", {})
    for kind, explainer_id in (("local", on_explained.id), ("local", on_other.id), ("global", g.id)):
        filled(kind, explainer_id)  # type: ignore[arg-type]

    run_in_transaction(lambda: cascade.delete_rows(models.Dataset, [explained]))

    assert [e.id for e in explainers.list_local(run_id)] == [on_other.id]
    assert not (store.home / f"explainers/local/{on_explained.id}").exists()
    assert not (store.home / f"datasets/{explained}").exists()
    # the run (trained on another dataset) and its global explainer are untouched
    assert explainer_files(store.home) == {
        f"explainers/local/{on_other.id}/explanation.joblib",
        f"explainers/local/{on_other.id}/plot.json",
        f"explainers/global/{g.id}/explanation.joblib",
        f"explainers/global/{g.id}/plot.json",
    }
    assert explainers.load_explanation("local", on_other.id)["kind"] == "local"

    # deleting the run's own dataset takes the whole run, so every explainer of it goes
    run_in_transaction(lambda: cascade.delete_rows(models.Dataset, [dataset_id]))
    assert models.GlobalExplainer.select().count() == 0
    assert models.LocalExplainer.select().count() == 0
    assert explainer_files(store.home) == set()
    assert files.pending_deletions() == []


# -- bad input ----------------------------------------------------------------------------------------


class Unpicklable:
    def __reduce__(self) -> Any:
        raise TypeError("this explanation holds an open socket")


def test_bad_input_is_typed_and_writes_nothing(setup: tuple[int, int], store: Store) -> None:
    dataset_id, run_id = setup
    g = explainers.create_global(run_id, "g", "KernelShap", {})
    loc = explainers.create_local(run_id, dataset_id, "l", "Lime", {}, {}, [0])
    filled("global", g.id)
    counts, tree = row_counts(store.db), file_tree(store.home)
    before_g, before_l = explainers.get("global", g.id), explainers.get("local", loc.id)

    refused: list[tuple[type[errors.StoreError], str, Any]] = [
        (errors.NotFound, "run 999 does not exist", lambda: explainers.create_global(999, "g", "K", {})),
        (errors.NotFound, "run 999", lambda: explainers.create_local(999, dataset_id, "l", "L", {}, {}, [0])),
        (errors.NotFound, "dataset 999", lambda: explainers.create_local(run_id, 999, "l", "L", {}, {}, [0])),
        (
            errors.ValidationError,
            "run id must be an int",
            lambda: explainers.create_global("1", "g", "K", {}),
        ),
        (errors.ValidationError, "name", lambda: explainers.create_global(run_id, "", "K", {})),
        (errors.ValidationError, "explainer_name", lambda: explainers.create_global(run_id, "g", None, {})),
        (errors.ValidationError, "must be a dict", lambda: explainers.create_global(run_id, "g", "K", [1])),
        (
            errors.ValidationError,
            "not JSON-serialisable",
            lambda: explainers.create_global(run_id, "g", "K", {"f": object()}),
        ),
        (
            errors.ValidationError,
            "keys must be str",
            lambda: explainers.create_global(run_id, "g", "K", {1: 2}),
        ),
        (
            errors.ValidationError,
            "fit_parameters",
            lambda: explainers.create_local(run_id, dataset_id, "l", "L", {}, None, [0]),
        ),
        (
            errors.ValidationError,
            "scope",
            lambda: explainers.create_local(run_id, dataset_id, "l", "L", {}, {}, None),
        ),
        (errors.ValidationError, "'global' or 'local'", lambda: explainers.get("Global", g.id)),
        (errors.ValidationError, "'global' or 'local'", lambda: explainers.deliver("both", g.id)),
        (errors.ValidationError, "'global' or 'local'", lambda: explainers.save_plot("x", g.id, figure())),
        (errors.ValidationError, "'global' or 'local'", lambda: explainers.save_explanation(None, g.id, 1)),
        (errors.ValidationError, "must be an int", lambda: explainers.start("global", "1")),
        (errors.ValidationError, "job_id", lambda: explainers.deliver("global", g.id, job_id=5)),
        (errors.ValidationError, "error must be a str", lambda: explainers.fail("global", g.id, None)),
        (errors.ValidationError, "must be an int", lambda: explainers.delete_global(1.0)),
        (
            errors.ValidationError,
            "cannot be saved with joblib.*open socket",
            lambda: explainers.save_explanation("global", g.id, {"model": Unpicklable()}),
        ),
        (
            errors.ValidationError,
            "cannot be saved with joblib",
            lambda: explainers.save_explanation("local", loc.id, threading.Lock()),
        ),
        (errors.ValidationError, "Plotly figure", lambda: explainers.save_plot("global", g.id, 42)),
        (errors.ValidationError, "figure JSON", lambda: explainers.save_plot("local", loc.id, "{oops")),
        (
            errors.ValidationError,
            "Plotly figure",
            lambda: explainers.save_plot("local", loc.id, [figure(), 3]),
        ),
        (errors.ValidationError, "empty", lambda: explainers.save_plot("local", loc.id, [])),
        (errors.NotFound, "local explainer 999", lambda: explainers.save_plot("local", 999, figure())),
        (errors.InvalidTransition, "NOT_STARTED", lambda: explainers.finish("local", loc.id)),
    ]
    for error_type, message, call in refused:
        with pytest.raises(error_type, match=message):
            call()
        assert row_counts(store.db) == counts, message
        assert file_tree(store.home) == tree, message
    assert explainers.get("global", g.id) == before_g
    assert explainers.get("local", loc.id) == before_l
    assert explainers.load_explanation("global", g.id)["kind"] == "global"  # the old file is intact


def test_import_does_not_load_heavy_modules() -> None:
    code = (
        "import sys, dashai_store.explainers\n"
        "heavy = [m for m in ('pyarrow', 'joblib', 'plotly') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
