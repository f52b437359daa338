"""Pickled Plotly figures (DashAI's ``plot_*_path`` files) read as data only, to JSON.

DashAI pickled its run plots; ``runs.create(plots=...)`` (DashAI's ``upload_run``) and the
legacy adoption both turn such a file into figure JSON. Unpickling runs whatever the file
names, so :class:`_DataOnlyUnpickler` refuses every class except Plotly's figure types
*before* looking it up: a hostile pickle is refused and nothing of it is executed.
plotly is imported only when a pickle actually names one of its classes.
"""

from __future__ import annotations

import io
import json
import pickle
from typing import Any

from .. import errors

PICKLE_PROTOCOL_2_PLUS = b"\x80"


class _DataOnlyUnpickler(pickle.Unpickler):
    """Unpickles plain data (dicts, lists, numbers, text) and Plotly figure objects only."""

    def find_class(self, module: str, name: str) -> Any:
        if module.startswith("plotly.graph_objs") and not name.startswith("_"):
            import importlib

            cls = getattr(importlib.import_module(module), name)
            from plotly.basedatatypes import BaseFigure, BasePlotlyType

            if isinstance(cls, type) and issubclass(cls, (BaseFigure, BasePlotlyType)):
                return cls
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a pickled plot")


def _plain(value: Any) -> Any:
    to_dict = getattr(value, "to_plotly_json", None) or getattr(value, "to_dict", None)
    if callable(to_dict) and not isinstance(value, dict):
        return json.loads(json.dumps(to_dict(), default=_json_default))
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _json_default(value: Any) -> Any:
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    raise TypeError(f"{type(value).__name__} is not JSON-serializable")


def looks_pickled(data: bytes) -> bool:
    """True when ``data`` starts like a pickle (protocol 2 or later, what DashAI wrote)."""
    return data[:1] == PICKLE_PROTOCOL_2_PLUS


def figure_json_from_pickle(data: bytes) -> str:
    """Plotly JSON text of a pickled plot (a figure, a figure dict, or a list of them).

    Raises ValidationError when the pickle names a class outside the allowlist (nothing
    of it is run), is truncated, or holds something that is not a figure.

    >>> figure_json_from_pickle(pickle.dumps({"data": [], "layout": {}}))
    '{"data": [], "layout": {}}'
    """
    try:
        value = _plain(_DataOnlyUnpickler(io.BytesIO(data)).load())
    except pickle.UnpicklingError as exc:
        raise errors.ValidationError(f"not a safe pickled figure: {exc}") from None
    except Exception as exc:  # a truncated or corrupt pickle: not convertible
        raise errors.ValidationError(f"not a readable pickled figure: {type(exc).__name__}: {exc}") from None
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, dict) and ("data" in v or "layout" in v) for v in items):
        raise errors.ValidationError("the pickle holds no Plotly figure (no 'data' or 'layout')")
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise errors.ValidationError(f"the pickled figure is not JSON-serializable: {exc}") from None


def figure_from_pickle(data: bytes) -> str | None:
    """Like :func:`figure_json_from_pickle`, None instead of an error (legacy survey use)."""
    try:
        return figure_json_from_pickle(data)
    except errors.ValidationError:
        return None
