"""Rows as JSON lines: one object per row keyed by column name, and back.

Values are the models' own Python values (JSON columns decoded, timestamps as ISO text),
so a bundle reads the same whatever backend wrote it or will read it. NaN and infinities
are kept (Python's json spells them NaN/Infinity), as the metric table holds them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from peewee import DateTimeField, Field, ForeignKeyField

from .. import errors, models
from ..artifacts import ORIGIN
from ..decoding import Unreadable

Model = type[models.BaseModel]
# One encoder for every row: json.dumps would build one per call for these options.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=True)


def columns(model: Model) -> list[Field]:
    """The columns a bundle carries (every one but ``origin``, which is this store's to set)."""
    return [f for f in model._meta.sorted_fields if f.name != ORIGIN]


class Codec:
    """One table's rows to JSON lines and back; the per-column work is decided once."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.table = model._meta.table_name
        self.fields = columns(model)
        self.names = [f.column_name for f in self.fields]  # id first
        self.by_column = {f.column_name: f for f in self.fields}
        self.times = {f.column_name for f in self.fields if isinstance(f, DateTimeField)}
        self.keys = {f.column_name for f in self.fields if isinstance(f, ForeignKeyField)}

    def encode(self, row: Sequence[Any]) -> str:
        """One JSON line for ``row``: the values of :attr:`fields`, in order (``.tuples()``)."""
        out: dict[str, Any] = {}
        for column, value in zip(self.names, row, strict=True):
            kind = type(value)
            if kind is datetime:
                value = value.isoformat()
            elif kind is Unreadable:
                raise errors.UnreadableValue(
                    f"{self.table} {row[0]}: {column} cannot be read "
                    f"({value.problem}); fix or delete the row before exporting it"
                )
            out[column] = value
        return _ENCODER.encode(out) + "\n"

    def decode(self, line: bytes) -> dict[str, Any]:
        """A row's values by field name; BundleRejected for a line that is not one of the table's."""
        table = self.table
        try:
            doc = json.loads(line.decode("utf-8"))
        except (ValueError, RecursionError) as exc:
            raise errors.BundleRejected(f"a {table} row is not JSON ({exc}); nothing was written") from None
        if not isinstance(doc, dict) or type(doc.get("id")) is not int:
            raise errors.BundleRejected(f"a {table} row has no id; nothing was written")
        by_column = self.by_column
        values: dict[str, Any] = {}
        for name, value in doc.items():
            field = by_column.get(name)
            if field is None:
                raise errors.BundleRejected(
                    f"{table} row {doc['id']} has a column {name!r} this store does not know; "
                    "nothing was written"
                )
            if value is not None:
                if name in self.times:
                    value = self._time(doc["id"], name, value)
                elif name in self.keys and type(value) is not int:
                    raise errors.BundleRejected(f"{table} row {doc['id']}: {name} {value!r} is not an id")
            values[field.name] = value
        return values

    def _time(self, row_id: int, name: str, value: object) -> datetime:
        try:
            return datetime.fromisoformat(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise errors.BundleRejected(
                f"{self.table} row {row_id}: {name} {value!r} is not a time"
            ) from None
