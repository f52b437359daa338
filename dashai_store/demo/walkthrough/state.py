"""What one walkthrough carries from step to step."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..exceptions import DemoFailed
from ..model import ChurnModel

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["Step", "Walk"]


@dataclass
class Walk:
    """One walkthrough's input, the ids it made and the facts it reports.

    ``prefix`` starts every name it gives ("" for the first walkthrough in a home, "#2 "
    for the second, ...). The steps fill the rest in order.
    """

    prefix: str
    seed: int
    table: pa.Table
    ids: dict[str, int] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    trials: list[dict[str, Any]] = field(default_factory=list)
    processes: list[int] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    split: dict[str, list[int]] = field(default_factory=dict)
    model: ChurnModel | None = None

    def trained(self) -> ChurnModel:
        """The model the training step trained."""
        if self.model is None:  # pragma: no cover - the phases run in order
            raise DemoFailed("the model is not trained yet")
        return self.model

    def split_rows(self, split: str) -> list[dict[str, Any]]:
        """The saved dataset's rows in ``split`` ("train", "validation" or "test")."""
        return [self.rows[i] for i in self.split[split]]


Step = Callable[[Walk], None]
"""One phase of the walkthrough."""
