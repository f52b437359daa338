"""One backend object per database kind, chosen once per connection.

    >>> backend = backend_for(db)        # doctest: +SKIP
    >>> backend.name                     # doctest: +SKIP
    'sqlite'

Peewee itself picks its schema migrator once (``SchemaMigrator.from_database``); the
store does the same with :func:`backend_for` when it connects, and every module that
needs backend-specific behaviour asks the :class:`Backend` it was given.
"""

from __future__ import annotations

import peewee

from .. import errors
from .base import Backend, MetricWriter
from .postgres import PostgresBackend
from .sqlite import SqliteBackend


def backend_for(db: peewee.Database) -> Backend:
    """The backend of ``db`` (a Peewee SQLite or PostgreSQL database)."""
    if isinstance(db, peewee.PostgresqlDatabase):
        return PostgresBackend(db)
    if isinstance(db, peewee.SqliteDatabase):
        return SqliteBackend(db)
    raise errors.StoreError(f"unsupported database: {type(db).__name__}")


__all__ = ["Backend", "MetricWriter", "PostgresBackend", "SqliteBackend", "backend_for"]
