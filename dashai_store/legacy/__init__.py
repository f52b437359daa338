"""Adopting a legacy DashAI home (SQLAlchemy/Alembic ``db.sqlite`` and its files) in place.

* :mod:`.survey` reads the legacy database into this store's rows and lists every file to
  place, every row quarantined and every problem found — writing nothing (``--dry-run``).
* :mod:`.adoption` is the adoption step ``0000_adopt_dashai_legacy`` the migration runner
  applies under its lock, with its backup, one transaction and a rollback that leaves the
  database byte-identical; adopted files move after COMMIT (:func:`finish_pending`).
* :mod:`.convert` holds the value conversions both share (JSON, timestamps, paths, pickles).

The rules are in :mod:`.survey`'s docstring and in the README ("Upgrading from DashAI").
"""

from __future__ import annotations

from .adoption import (
    ADOPTION_ID,
    ADOPTION_SEQUENCE,
    AdoptionResult,
    adopt,
    check_adoptable,
    describe,
    finish_pending,
    has_pending,
    plan,
)
from .survey import Conversion

__all__ = [
    "ADOPTION_ID",
    "ADOPTION_SEQUENCE",
    "AdoptionResult",
    "Conversion",
    "adopt",
    "check_adoptable",
    "describe",
    "finish_pending",
    "has_pending",
    "plan",
]
