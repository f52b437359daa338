"""Pages of a listing: ``limit`` and ``offset`` over a stable order.

Lists that grow without bound (datasets, predictions, explorers, ...) take ``limit`` (at
most that many rows; None: all) and ``offset`` (rows to skip first; DashAI's ``skip``).
The caller orders the query by a unique key (the id: ids are never reused), so pages
neither repeat nor skip rows while nothing is deleted between two calls::

    query = paging.page(models.Dataset.select().order_by(models.Dataset.id), limit, offset)
"""

from __future__ import annotations

from typing import TypeVar

import peewee

from . import errors

__all__ = ["check", "page"]

Q = TypeVar("Q", bound=peewee.SelectQuery)


def check(limit: object, offset: object) -> tuple[int | None, int]:
    """``(limit, offset)`` if ``limit`` is None or an int >= 0 and ``offset`` an int >= 0."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise errors.ValidationError(f"limit must be an int >= 0 or None, got {limit!r}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise errors.ValidationError(f"offset must be an int >= 0, got {offset!r}")
    return (None if limit is None else int(limit)), int(offset)


def page(query: Q, limit: int | None, offset: int) -> Q:
    """``query`` (ordered by a unique key) cut to one page; checks ``limit`` and ``offset``."""
    limit, offset = check(limit, offset)
    if limit is not None:
        query = query.limit(limit)
    if offset:
        query = query.offset(offset)
    return query
