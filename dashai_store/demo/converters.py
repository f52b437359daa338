"""The converter functions the demo's notebook registers (``notebooks.run_pending``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["CONVERTERS"]


def _drop_column(table: pa.Table, p: dict[str, Any]) -> pa.Table:
    return table.drop_columns([p["column"]])


def _standardise(table: pa.Table, p: dict[str, Any]) -> pa.Table:
    import pyarrow.compute as pc

    column = p["column"]
    values = table.column(column)
    mean = pc.mean(values)
    std = pc.stddev(values, ddof=1)
    scaled = pc.divide(pc.subtract(values, mean), std)
    return table.set_column(table.schema.get_field_index(column), column, scaled)


def _filter_range(table: pa.Table, p: dict[str, Any]) -> pa.Table:
    import pyarrow.compute as pc

    values = table.column(p["column"])
    return table.filter(pc.and_(pc.greater_equal(values, p["min"]), pc.less_equal(values, p["max"])))


def _drop_nulls(table: pa.Table, p: dict[str, Any]) -> pa.Table:
    import pyarrow.compute as pc

    mask = None
    for column in p["columns"]:
        valid = pc.is_valid(table.column(column))
        mask = valid if mask is None else pc.and_(mask, valid)
    return table.filter(mask)


CONVERTERS: dict[str, Callable[[Any, dict[str, Any]], Any]] = {
    "DropColumn": _drop_column,
    "StandardScaler": _standardise,
    "FilterRange": _filter_range,
    "DropNulls": _drop_nulls,
}
"""Converter name -> ``function(table, parameters) -> table``."""
