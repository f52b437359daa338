"""The migration runner's version table ``dashai_schema_migration`` and its one writer.

One row per applied step (sequence, id, checksum, applied_at, library version, duration);
the runner (:mod:`dashai_store.migrator`) records each step with :func:`record_versions`,
and the legacy adoption (:mod:`dashai_store.legacy.adoption`) its two rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from ._version import __version__
from .backends import Backend

VERSION_TABLE = "dashai_schema_migration"
#: The applied steps, oldest first (read by the runner without writing anything).
STATUS_SQL = (
    "SELECT sequence, id, checksum, applied_at, library_version, duration_ms "
    f"FROM {VERSION_TABLE} ORDER BY sequence"
)


@dataclass(frozen=True)
class VersionRow:
    """One applied step as the version table records it (``applied_at`` and the library
    version are filled in when it is written)."""

    sequence: int
    id: str
    checksum: str
    duration_ms: float


def record_versions(backend: Backend, rows: Sequence[VersionRow]) -> None:
    """Write ``rows`` into the version table (made if missing) inside the open transaction.

    The one writer of the table: the runner records each step with it and the legacy
    adoption its two rows. The last row's sequence becomes the database's mirrored head
    (SQLite's ``PRAGMA user_version``).
    """
    db = backend.db
    db.execute_sql(backend.version_table_ddl(VERSION_TABLE))
    now = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    p = db.param
    for row in rows:
        db.execute_sql(
            f"INSERT INTO {VERSION_TABLE} (sequence, id, checksum, applied_at, "
            f"library_version, duration_ms) VALUES ({p}, {p}, {p}, {p}, {p}, {p})",
            (row.sequence, row.id, row.checksum, now, __version__, row.duration_ms),
        )
    if rows:
        backend.mark_schema_version(rows[-1].sequence)
