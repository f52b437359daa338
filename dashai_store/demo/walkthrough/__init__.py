"""The walkthrough: one step per area of the product, in order, each timed as a phase.

Each step is a function of the :class:`Walk` it reads and fills (ids, facts, the rows and
the model later steps need); a step checks what it wrote reads back and raises
:class:`~dashai_store.demo.DemoFailed` when it does not.
"""

from __future__ import annotations

from ..progress import PhaseClock
from .dataset import import_dataset, notebook
from .explanation import explainers
from .generation import generative
from .plugin import plugin
from .prediction import prediction
from .state import Step, Walk
from .training import model_round_trip, model_session, plots, training

__all__ = ["PHASES", "Step", "Walk", "walk_through"]

PHASES: tuple[tuple[str, Step], ...] = (
    ("dataset", import_dataset),
    ("notebook", notebook),
    ("model session", model_session),
    ("training", training),
    ("plots", plots),
    ("model", model_round_trip),
    ("prediction", prediction),
    ("generative", generative),
    ("plugin", plugin),
    ("explainers", explainers),
)
"""(phase name, step) in the order they run; the names are the progress lines' and timings'."""


def walk_through(walk: Walk, clock: PhaseClock) -> None:
    """Run every step on ``walk`` against the store bound to the facade."""
    for name, step in PHASES:
        with clock.phase(name):
            step(walk)
