"""Reading stored values that may have been edited by hand: the one place that decides.

The store writes every value itself, checked; but a database is a file anyone can open
with ``sqlite3`` (or ``psql``) and edit. A value this code cannot read as its column
means it (invalid JSON, a JSON list where a dict belongs, an enum name this version does
not know, text in a numeric column) must not break a list of rows nor block a delete.
Decoding therefore never raises: such a value comes back as :class:`Unreadable`, the raw
stored text marked with what is wrong, and the record holding it stays readable as far as
it can be. :func:`dashai_store.maintenance.check` reports the row (``report.bad_rows``).

Every decoder tries the normal reading first and falls back only when it fails, so the
happy path costs what it did (a ``try`` is free until it raises).
"""

from __future__ import annotations

import json
import math
import struct
from enum import Enum
from typing import Any, TypeVar

__all__ = [
    "Unreadable",
    "decode_enum",
    "decode_int",
    "decode_json",
    "decode_real",
    "encode_negative_zero",
    "is_unreadable",
]

E = TypeVar("E", bound=Enum)

#: How SQLite stores -0.0 in ``metric.value`` (a REAL column keeps an integral real as the
#: integer 0, dropping the sign): the value's 8 IEEE 754 bytes, big-endian, as a BLOB.
NEGATIVE_ZERO_BLOB = struct.pack(">d", -0.0)


class Unreadable(str):
    """A stored value that cannot be read as its column means it: the raw stored text.

    It is a ``str`` (so a record holding it still prints, compares and serialises), and
    ``problem`` says what is wrong. Test for it with ``isinstance(value, Unreadable)``.
    """

    problem: str

    def __new__(cls, raw: object, problem: str) -> Unreadable:
        if isinstance(raw, bytes):
            text = raw.decode("utf-8", "backslashreplace")
        else:
            text = raw if isinstance(raw, str) else repr(raw)
        self = super().__new__(cls, text)
        self.problem = problem
        return self

    def __getnewargs__(self) -> tuple[str, str]:  # type: ignore[override]
        return (str(self), self.problem)

    def __repr__(self) -> str:
        return f"Unreadable({str.__repr__(self)}, problem={self.problem!r})"


def is_unreadable(value: object) -> bool:
    """Whether ``value`` is a stored value decoding could not read (an :class:`Unreadable`)."""
    return isinstance(value, Unreadable)


def _shape_name(shape: type[Any]) -> str:
    names: dict[type[Any], str] = {dict: "an object", list: "an array"}
    return names.get(shape, shape.__name__)


def decode_json(raw: Any, shape: type[Any] | None = None) -> Any:
    """The JSON value ``raw`` (text) holds; :class:`Unreadable` if it is not JSON, or if
    ``shape`` (``dict``/``list``) is given and the value is something else."""
    try:
        value = json.loads(raw)
    except (ValueError, TypeError, RecursionError) as exc:  # TypeError: not text at all
        return Unreadable(raw, f"not valid JSON: {exc}")
    if shape is not None and not isinstance(value, shape):
        return Unreadable(raw, f"JSON {type(value).__name__} where {_shape_name(shape)} is expected")
    return value


def decode_enum(enum_cls: type[E], raw: Any) -> E | Unreadable:
    """The member of ``enum_cls`` named ``raw``, or :class:`Unreadable` for another value."""
    try:
        return enum_cls[raw]
    except (KeyError, TypeError):
        return Unreadable(raw, f"{raw!r} is not a {enum_cls.__name__} name")


def decode_real(raw: Any) -> float | Unreadable:
    """A ``metric.value`` as stored: a number, NULL for NaN, or SQLite's -0.0 BLOB."""
    if raw is None:
        return math.nan
    if raw == NEGATIVE_ZERO_BLOB:
        return -0.0
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return float(raw)
    return Unreadable(raw, f"{raw!r:.80} is not a number")


def decode_int(raw: Any) -> int | Unreadable:
    """An integer column's value; :class:`Unreadable` for anything but an integer."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    return Unreadable(raw, f"{raw!r:.80} is not an integer")


def encode_negative_zero(value: float) -> float | bytes:
    """``value`` as SQLite's ``metric.value`` must receive it (-0.0 becomes its BLOB)."""
    if value == 0.0 and math.copysign(1.0, value) < 0:
        return NEGATIVE_ZERO_BLOB
    return value
