"""Adopting a legacy DashAI home (SQLAlchemy/Alembic ``db.sqlite`` and its files) in place.

* :mod:`.survey` reads the legacy database into this store's rows and lists every file to
  place, every row quarantined and every problem found — writing nothing (``--dry-run``).
* :mod:`.adoption` is the adoption step ``0000_adopt_dashai_legacy`` the migration runner
  applies under its lock, with its backup, one transaction and a rollback that leaves the
  database byte-identical; adopted files move after COMMIT (:func:`finish_pending`).
* :mod:`.convert` holds the value conversions both share (JSON, timestamps, paths, pickles).

The rules are in :mod:`.survey`'s docstring and in the README ("Upgrading from DashAI").

This package module itself stays light (the migration runner reads it at every start);
the work lives in the submodules, imported when a legacy home is actually met.
"""

from __future__ import annotations

from pathlib import Path

ADOPTION_ID = "0000_adopt_dashai_legacy"
ADOPTION_SEQUENCE = 0
STAGING = ".dashai-adoption"
MANIFEST = "manifest.json"


def has_pending(home: Path) -> bool:
    """Whether a committed adoption's file moves are still to be finished."""
    return (home / STAGING / MANIFEST).is_file()


__all__ = ["ADOPTION_ID", "ADOPTION_SEQUENCE", "MANIFEST", "STAGING", "has_pending"]
