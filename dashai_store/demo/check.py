"""The store's verdict after a walkthrough: ``maintenance.check`` at its strictest, row counts."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..records import CheckReport

__all__ = ["check_store", "problems", "row_counts"]


def check_store() -> CheckReport:
    """``maintenance.check`` with no grace for young files."""
    from .. import maintenance

    # grace_s=0: judge every file now, young or not; the walkthrough has committed all it wrote.
    return maintenance.check(grace_s=0.0)


def problems(report: CheckReport) -> list[str]:
    """One line per problem the check found."""
    found = [*report.integrity_problems]
    found += [f"foreign key: {v.table} row {v.row_id} -> {v.parent}" for v in report.foreign_key_violations]
    found += [
        f"missing file: {m.table} {m.row_id} {m.column} {m.path} ({m.reason})" for m in report.missing_files
    ]
    found += [f"unowned file: {p}" for p in report.unowned_files]
    found += [f"stale temporary file: {p}" for p in report.stale_temp_files]
    found += [f"pending deletion: {p}" for p in report.pending_deletions]
    return found


def row_counts() -> dict[str, int]:
    """Rows per domain table, in the models' order."""
    from ..database import reads
    from ..models import DOMAIN_MODELS

    @reads
    def count() -> dict[str, int]:
        return {m._meta.table_name: int(m.select().count()) for m in DOMAIN_MODELS}

    return count()
