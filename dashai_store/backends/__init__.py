"""One backend object per database kind, chosen once per connection.

    >>> backend = backend_for(db)        # doctest: +SKIP
    >>> backend.name                     # doctest: +SKIP
    'sqlite'

Peewee itself picks its schema migrator once (``SchemaMigrator.from_database``); the
store does the same with :func:`backend_for` when it connects, and every module that
needs backend-specific behaviour asks the :class:`Backend` it was given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import peewee

from .. import errors
from .base import Backend, MetricWriter
from .sqlite import SqliteBackend

if TYPE_CHECKING:
    from .postgres import PostgresBackend


def backend_for(db: peewee.Database) -> Backend:
    """The backend of ``db`` (a Peewee SQLite or PostgreSQL database)."""
    if isinstance(db, peewee.PostgresqlDatabase):
        from .postgres import PostgresBackend  # on first use: the desktop app never needs it

        return PostgresBackend(db)
    if isinstance(db, peewee.SqliteDatabase):
        return SqliteBackend(db)
    raise errors.StoreError(f"unsupported database: {type(db).__name__}")


def __getattr__(name: str) -> Any:
    if name == "PostgresBackend":
        from .postgres import PostgresBackend

        return PostgresBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Backend", "MetricWriter", "PostgresBackend", "SqliteBackend", "backend_for"]
