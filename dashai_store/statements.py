"""SQL text built once per backend for the statements every delete runs.

Peewee builds a query's SQL anew each time it runs; for the few statements a delete runs
whose text differs only by the values bound to it (the cascade's reads and deletes, the
pending-deletion records'), that was a third of ``runs.delete``. :func:`execute_cached`
keeps the text by the backend's parameter mark and a key naming the statement and its
shape. A leaf module (Peewee only), so ``cascade`` and ``files.tx`` can both use it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import peewee

# (the backend's parameter mark, the caller's key) -> a statement's SQL text.
_STATEMENTS: dict[tuple[Any, ...], str] = {}


def execute_cached(
    db: peewee.Database, key: tuple[Any, ...], build: Callable[[], Any], params: list[Any]
) -> Any:
    """The cursor of the query ``build()`` makes, run on ``db`` with ``params``; its SQL
    text is built once per backend (by its parameter mark) and ``key``.

    ``key`` names the statement and its shape (how many values); ``params`` are the values
    ``build()``'s query binds, in its order, as it binds them (checked when the text is built).
    """
    cache_key = (db.param, *key)
    sql = _STATEMENTS.get(cache_key)
    if sql is None:
        sql, bound = build().sql()
        if list(bound) != params:  # a query of another shape, or values in another order
            raise AssertionError(f"{key}: the query binds {bound!r}, not {params!r}")
        _STATEMENTS[cache_key] = sql
    return db.execute_sql(sql, params)
