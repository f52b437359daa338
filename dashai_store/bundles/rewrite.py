"""Rewriting what a row says about other rows when it moves to another store.

Ids change on import, and they appear in more than the foreign-key columns: every path a
row records is built from row ids by the layout (``runs/<run>/model.joblib``,
``notebooks/<notebook>/<converter>.arrow``, ``generative/<session>/<process>/<name>``), an
``artifacts`` entry names its file, and a dataset's ``lineage`` names the notebook,
converters and dataset it was saved from. :class:`IdMap` holds the old -> new ids and
rewrites each of those; :data:`PATH_COLUMNS` says which columns hold paths (from
``cascade.FILE_COLUMNS``, plus the notebook's own two).
"""

from __future__ import annotations

from typing import Any

from .. import cascade, models
from ..files import layout

Model = type[models.BaseModel]

#: Columns holding a home-relative path, by table.
PATH_COLUMNS: dict[Model, tuple[str, ...]] = {
    **cascade.FILE_COLUMNS,
    models.Notebook: ("file_path", "source_path"),
}
#: Tables whose ``artifacts`` JSON names files ({"<name>": {"path": ..., "sha256": ...}}).
ARTIFACT_MODELS: tuple[Model, ...] = (models.Run, models.GlobalExplainer, models.LocalExplainer)

# The layout's row folders: <root>/<id>/..., by the table whose id names the folder.
_ROOTS: dict[str, Model] = {
    layout.DATASETS: models.Dataset,
    layout.NOTEBOOKS: models.Notebook,
    layout.RUNS: models.Run,
    layout.PREDICTIONS: models.Prediction,
    layout.EXPLORERS: models.Explorer,
}
_EXPLAINERS: dict[str, Model] = {"global": models.GlobalExplainer, "local": models.LocalExplainer}


class Unmapped(LookupError):
    """A path or reference names a row that is not part of the import."""


class IdMap:
    """Old id -> new id, per table."""

    def __init__(self) -> None:
        self._ids: dict[Model, dict[int, int]] = {}

    def add(self, model: Model, old: int, new: int) -> None:
        self._ids.setdefault(model, {})[old] = new

    def new(self, model: Model, old: object) -> int:
        try:
            return self._ids[model][int(old)]  # type: ignore[call-overload]
        except (KeyError, TypeError, ValueError):
            raise Unmapped(f"{model._meta.table_name} {old!r} is not in the bundle") from None

    def get(self, model: Model, old: object) -> int | None:
        try:
            return self.new(model, old)
        except Unmapped:
            return None

    def of(self, model: Model) -> dict[int, int]:
        return dict(self._ids.get(model, {}))

    def path(self, rel: str) -> str:
        """``rel`` with the ids of its row folder (and a notebook snapshot's converter) rewritten.

        Unmapped when the folder's row is not in the bundle, or ``rel`` is in no row folder.
        """
        parts = rel.split("/")
        if len(parts) >= 3 and parts[0] in _ROOTS and parts[1].isdigit():
            model = _ROOTS[parts[0]]
            rest = parts[2:]
            if model is models.Notebook and len(rest) == 1 and rest[0].endswith(".arrow"):
                stem = rest[0][: -len(".arrow")]
                if stem.isdigit():  # notebooks/<notebook>/<converter>.arrow
                    rest = [f"{self.new(models.Converter, stem)}.arrow"]
            return "/".join([parts[0], str(self.new(model, parts[1])), *rest])
        if (
            len(parts) >= 4
            and parts[0] == layout.EXPLAINERS
            and parts[1] in _EXPLAINERS
            and parts[2].isdigit()
        ):
            return "/".join([*parts[:2], str(self.new(_EXPLAINERS[parts[1]], parts[2])), *parts[3:]])
        if len(parts) >= 3 and parts[0] == layout.GENERATIVE and parts[1].isdigit():
            session = str(self.new(models.GenerativeSession, parts[1]))
            if len(parts) >= 4 and parts[2].isdigit():
                return "/".join(
                    [parts[0], session, str(self.new(models.GenerativeProcess, parts[2])), *parts[3:]]
                )
            return "/".join([parts[0], session, *parts[2:]])
        raise Unmapped(f"{rel!r} is not in a row folder of the store's layout")

    def optional_path(self, rel: object) -> str | None:
        """:meth:`path`, or None for no path or a path the import does not carry."""
        if not isinstance(rel, str) or not rel:
            return None
        try:
            return self.path(rel)
        except Unmapped:
            return None

    def artifacts(self, value: Any) -> Any:
        """An ``artifacts`` JSON with each entry's path rewritten (entries without one kept)."""
        if not isinstance(value, dict):
            return value
        out: dict[str, Any] = {}
        for name, entry in value.items():
            if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                entry = {**entry, "path": self.optional_path(entry["path"])}
            out[name] = entry
        return out

    def lineage(self, value: Any) -> Any:
        """A dataset's lineage with the ids it names rewritten; ids of rows the import does
        not carry become None (the names beside them stay)."""
        if not isinstance(value, dict):
            return value
        out = dict(value)
        if "source_dataset_id" in out:
            out["source_dataset_id"] = self.get(models.Dataset, out["source_dataset_id"])
        if "notebook_id" in out:
            out["notebook_id"] = self.get(models.Notebook, out["notebook_id"])
        steps = out.get("steps")
        if isinstance(steps, list):
            out["steps"] = [
                {**step, "converter_id": self.get(models.Converter, step.get("converter_id"))}
                if isinstance(step, dict) and "converter_id" in step
                else step
                for step in steps
            ]
        return out
