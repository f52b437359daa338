"""What runs before a schema change touches a SQLite database: integrity, space, backup.

One mechanism for the migration runner and the legacy adoption alike. The backup is
written with ``VACUUM INTO`` to a temporary name in ``backups/``, then published
(``files.io.publish``: fsynced, renamed, the folder fsynced): a process killed during the
copy leaves no half backup under a backup's name (a user who restores it would get a
corrupt database), only a ``.tmp`` that the next run removes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import peewee

from . import errors
from .files import layout
from .files.io import publish

FREE_SPACE_MARGIN = 32 * 1024 * 1024


def check_and_back_up(
    db: peewee.Database, db_path: Path, home: Path, backup_name: str, *, action: str, step: str | None = None
) -> Path:
    """Integrity check, free-space check, then an atomic backup ``<home>/backups/<backup_name>``.

    ``action`` names the operation in messages ("migrated", "adopted"). Raises
    MigrationError (nothing changed) when the database is damaged or space is short.
    """
    problems = [str(r[0]) for r in db.execute_sql("PRAGMA integrity_check").fetchall()]
    if problems != ["ok"]:
        raise errors.MigrationError(
            f"{db_path} fails its integrity check, so nothing was {action}: {'; '.join(problems[:5])}",
            step=step,
        )
    size = db_path.stat().st_size
    wal = db_path.with_name(db_path.name + "-wal")
    size += wal.stat().st_size if wal.exists() else 0
    free = shutil.disk_usage(home).free
    needed = 2 * size + FREE_SPACE_MARGIN
    if free < needed:
        raise errors.MigrationError(
            f"not enough free space to have {db_path} {action} safely: {free} bytes free, {needed} "
            "needed (a backup and a rebuilt copy); nothing was changed",
            step=step,
        )
    backups = layout.backups(home)
    backups.mkdir(parents=True, exist_ok=True)
    for leftover in backups.glob(".db-*.sqlite.tmp"):  # a copy a killed run left half done
        leftover.unlink(missing_ok=True)
    target = backups / backup_name
    partial = backups / f".{backup_name}.tmp"
    db.execute_sql("VACUUM INTO ?", (str(partial),))
    return publish(partial, target)
