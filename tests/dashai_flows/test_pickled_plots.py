"""DashAI's upload_run hands over pickled Plotly plots; they are read as data only."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
from helpers import assert_refused, plant_dataset, plant_session

from dashai_store import errors, runs
from dashai_store.database import Store
from dashai_store.files.plots import figure_from_pickle, figure_json_from_pickle

FIGURE = {"data": [{"type": "scatter", "x": [1, 2], "y": [2, 1]}], "layout": {"title": {"text": "h"}}}
RAN: list[str] = []


def _record(marker: str) -> None:
    RAN.append(marker)


class Hostile:
    """Unpickling it would call ``_record`` (any callable: os.system alike)."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (_record, ("ran",))


def test_a_pickled_figure_dict_is_imported_as_json(store: Store, tmp_path: Path) -> None:
    session = plant_session(plant_dataset("ds"))
    source = tmp_path / "plot_history.pkl"
    source.write_bytes(pickle.dumps(FIGURE, protocol=4))
    run = runs.create(session, "uploaded", "SVC", {}, plots={"history": source})
    assert runs.load_plot(run.id, "history", as_figure=False) == FIGURE
    assert source.read_bytes() == pickle.dumps(FIGURE, protocol=4), "the source is left alone"


def test_a_pickled_plotly_figure_is_imported(store: Store, tmp_path: Path) -> None:
    go = pytest.importorskip("plotly.graph_objects")
    session = plant_session(plant_dataset("ds"))
    source = tmp_path / "plot.pkl"
    source.write_bytes(pickle.dumps(go.Figure(FIGURE)))
    run = runs.create(session, "fig", "SVC", {}, plots={"history": source})
    stored = runs.load_plot(run.id, "history", as_figure=False)
    assert stored["data"][0]["x"] == [1, 2] and stored["layout"]["title"]["text"] == "h"


def test_a_hostile_pickle_is_refused_and_nothing_runs(store: Store, tmp_path: Path) -> None:
    session = plant_session(plant_dataset("ds"))
    source = tmp_path / "evil.pkl"
    source.write_bytes(pickle.dumps(Hostile()))
    RAN.clear()
    assert_refused(
        store,
        "hostile pickle",
        lambda: runs.create(session, "evil", "SVC", {}, plots={"history": source}),
        errors.ValidationError,
    )
    with pytest.raises(errors.ValidationError, match="refusing to load"):
        figure_json_from_pickle(source.read_bytes())
    assert figure_from_pickle(source.read_bytes()) is None
    assert RAN == [], "the pickle's callable must never run"


def test_pickles_that_are_not_figures_are_refused() -> None:
    for data in (pickle.dumps({"not": "a figure"}), pickle.dumps(Path("x")), pickle.dumps(FIGURE)[:-3]):
        with pytest.raises(errors.ValidationError):
            figure_json_from_pickle(data)
    assert json.loads(figure_json_from_pickle(pickle.dumps([FIGURE, FIGURE]))) == [FIGURE, FIGURE]
