"""The one exception hierarchy of the store.

Every error the facade raises is a :class:`StoreError`; no raw Peewee, sqlite3 or
psycopg exception escapes it. Messages name the row and the value at fault, because the
desktop app shows them to a user who cannot read a traceback.
"""

from __future__ import annotations

from pathlib import Path


class StoreError(Exception):
    """Base class of every error raised by ``dashai_store``."""


class NotFound(StoreError, LookupError):
    """A row (or a file a row refers to) does not exist."""


class AlreadyExists(StoreError):
    """A unique value (a dataset name, a session name, ...) is taken."""


class ValidationError(StoreError, ValueError):
    """An argument is malformed: wrong type, bad ratio, unknown column, unknown enum."""


class InvalidTransition(StoreError):
    """A job-like row was asked to move between two statuses the lifecycle forbids."""


class IntegrityError(StoreError):
    """The database refused a write (a constraint, a trigger, a foreign key)."""


class StoreBusy(StoreError):
    """The database stayed locked by another writer after every retry."""


class StoreNotOpen(StoreError):
    """A facade function was called with no store open in this process."""


class SchemaError(StoreError):
    """The database's schema is not the one this code expects."""


class SchemaTooNew(SchemaError):
    """The database was migrated by a newer version of dashai_store; nothing was written."""


class SchemaOutdated(SchemaError):
    """The database has migrations this code knows but has not applied yet."""


class MigrationError(StoreError):
    """A migration step failed and was rolled back; the database kept its previous version."""

    def __init__(self, message: str, *, step: str | None = None, backup: str | None = None):
        super().__init__(message)
        self.step = step
        self.backup = backup


class MigrationLockTimeout(StoreError):
    """Another process held the migration lock for longer than the timeout."""


class DatabaseLost(StoreError):
    """The home holds the store's files but its database is missing or empty; nothing was written.

    ``backups`` are the restorable backups found in ``<home>/backups/`` (newest first).
    Restore one (``dashai-store restore``), or open with ``new_store=True`` to start empty.
    """

    def __init__(self, message: str, *, home: Path | None = None, backups: tuple[Path, ...] = ()):
        super().__init__(message)
        self.home = home
        self.backups = backups


class FileIntegrityError(StoreError):
    """A file under the home is missing, truncated, corrupt, or fails its checksum."""


class UnsafePath(ValidationError):
    """A path points outside the store's home."""


class UnreadableValue(StoreError, ValueError):
    """A stored value cannot be read as its column means it (edited by hand): the row can be
    read (the field is a ``decoding.Unreadable``) and deleted, not built upon."""


class DatabaseError(StoreError):
    """The database failed in a way no narrower error describes (I/O error, corrupt file)."""


class CopyUnfinished(StoreError):
    """The home is the destination of a ``copy`` that has not finished: it is refused
    until the same copy command runs again and completes it. Nothing was written."""


class DestinationNotEmpty(StoreError):
    """``copy`` was given a destination that already holds rows or files of a store (or
    other things): nothing was written to it. Copy into an empty store or folder."""


class UntrustedArtifact(StoreError):
    """A file that runs code when loaded (a joblib model or explanation) came from outside
    this store (an imported bundle) and the caller did not say it trusts it; nothing of it
    was loaded."""


class BundleRejected(StoreError):
    """A ``.dashai`` bundle is damaged, tampered with or malformed (a checksum, a size, an
    unsafe or unlisted member, an inconsistent manifest); nothing was written."""


class BundleTooNew(SchemaTooNew):
    """A ``.dashai`` bundle was written by a newer dashai_store (a schema or bundle format
    this code does not know); nothing was written."""


class AlreadyImported(AlreadyExists):
    """``import_bundle(..., once=True)`` met a bundle this store imported before."""
