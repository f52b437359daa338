"""Rows as JSON lines: one object per row keyed by column name, and back.

Values are the models' own Python values (JSON columns decoded, timestamps as ISO text),
so a bundle reads the same whatever backend wrote it or will read it. NaN and infinities
are kept (Python's json spells them NaN/Infinity), as the metric table holds them.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from peewee import DateTimeField, Field, ForeignKeyField

from .. import errors, models
from ..artifacts import ORIGIN
from ..decoding import Unreadable

Model = type[models.BaseModel]


def columns(model: Model) -> list[Field]:
    """The columns a bundle carries (every one but ``origin``, which is this store's to set)."""
    return [f for f in model._meta.sorted_fields if f.name != ORIGIN]


def encode(model: Model, row: dict[str, Any]) -> str:
    """One JSON line for ``row`` (as ``Model.select().dicts()`` yields it, by field name)."""
    out: dict[str, Any] = {}
    for column in columns(model):
        value = row[column.name]
        if isinstance(value, Unreadable):
            raise errors.UnreadableValue(
                f"{model._meta.table_name} {row['id']}: {column.column_name} cannot be read "
                f"({value.problem}); fix or delete the row before exporting it"
            )
        if isinstance(value, datetime):
            value = value.isoformat()
        out[column.column_name] = value
    return json.dumps(out, ensure_ascii=False, allow_nan=True) + "\n"


def decode(model: Model, line: bytes, *, table: str) -> dict[str, Any]:
    """A row's values by field name; BundleRejected for a line that is not one of ``model``'s."""
    try:
        doc = json.loads(line)
    except (ValueError, RecursionError) as exc:
        raise errors.BundleRejected(f"a {table} row is not JSON ({exc}); nothing was written") from None
    if not isinstance(doc, dict) or type(doc.get("id")) is not int:
        raise errors.BundleRejected(f"a {table} row has no id; nothing was written")
    by_column = {f.column_name: f for f in columns(model)}
    unknown = sorted(set(doc) - set(by_column))
    if unknown:
        raise errors.BundleRejected(
            f"{table} row {doc['id']} has column(s) {', '.join(unknown)} this store does not know; "
            "nothing was written"
        )
    values: dict[str, Any] = {}
    for name, value in doc.items():
        field = by_column[name]
        if isinstance(field, DateTimeField) and isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                raise errors.BundleRejected(
                    f"{table} row {doc['id']}: {name} {value!r} is not a time"
                ) from None
        if isinstance(field, ForeignKeyField) and value is not None and type(value) is not int:
            raise errors.BundleRejected(f"{table} row {doc['id']}: {name} {value!r} is not an id")
        values[field.name] = value
    return values
