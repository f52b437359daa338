"""The rows of a copied store: every table, parents first, ids kept, below the ORM.

The order comes from the models' foreign keys (``peewee.sort_models``), so every row's
parent is already there when it is inserted and the destination's foreign keys and
triggers (parameter_history's append-only ones included) stay on. Values travel as the
source's driver hands them out and the destination's backend writes them in bulk
(:meth:`dashai_store.backends.Backend.insert_with_ids`: multi-row INSERTs on SQLite, COPY
on PostgreSQL); a column's kind (:data:`dashai_store.backends.base.COLUMN_KINDS`) is all it
needs to carry timestamps, booleans, -0.0, infinities and NaN between the two.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import peewee

from .. import models
from ..database import Store
from .source import Source

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class TablePlan:
    table: str
    columns: tuple[str, ...]
    kinds: tuple[str, ...]


def _kind(field: peewee.Field) -> str:
    if isinstance(field, peewee.DateTimeField):
        return "datetime"
    if isinstance(field, peewee.BooleanField):
        return "bool"
    if isinstance(field, (peewee.DoubleField, peewee.FloatField)):
        return "real"
    return "plain"


def plan() -> tuple[TablePlan, ...]:
    """Every table the models describe, parents before children, with its columns' kinds."""
    plans = []
    for model in peewee.sort_models(list(models.ALL_MODELS)):  # type: ignore[attr-defined]
        fields = model._meta.sorted_fields
        plans.append(
            TablePlan(
                table=model._meta.table_name,
                columns=tuple(f.column_name for f in fields),
                kinds=tuple(_kind(f) for f in fields),
            )
        )
    return tuple(plans)


def destination_counts(store: Store) -> dict[str, int]:
    return {
        p.table: int(store.db.execute_sql(f'SELECT COUNT(*) FROM "{p.table}"').fetchone()[0]) for p in plan()
    }


def copy_rows(source: Source, store: Store, progress: Progress | None) -> dict[str, int]:
    """Insert every source row into ``store`` (inside the caller's transaction); rows per table."""
    plans = plan()
    totals = {p.table: source.count(p.table) for p in plans}
    total, done = sum(totals.values()), 0
    copied: dict[str, int] = {}
    cursor: Any = store.db.cursor()
    for table_plan in plans:
        count = 0
        for batch in source.batches(table_plan.table, table_plan.columns):
            store.dialect.insert_with_ids(
                cursor, table_plan.table, table_plan.columns, table_plan.kinds, batch
            )
            count += len(batch)
            done += len(batch)
            if progress is not None:
                progress("rows", done, total)
        copied[table_plan.table] = count
    store.dialect.raise_id_marks(source.id_marks([p.table for p in plans]))
    return copied
