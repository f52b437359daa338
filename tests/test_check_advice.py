"""What ``check`` tells a user to do, for each kind of finding on its own.

``maintenance.advice`` turns a report into one line per action, and ``ok`` says whether
anything needs attention. Each finding is tried alone (a report built field by field), so
an advice line that appears only when two findings meet, or a finding ``ok`` ignores, shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dashai_store import maintenance
from dashai_store.records import BadRow, CheckReport, ForeignKeyViolation, MissingFile

HOME = Path("/nonexistent/home")  # no lost-database marker there: that advice has its own tests
EMPTY: dict[str, Any] = {
    "backend": "sqlite",
    "home": HOME,
    "integrity_checked": True,
    "integrity_problems": (),
    "foreign_key_violations": (),
    "missing_files": (),
    "unowned_files": (),
    "stale_temp_files": (),
    "pending_deletions": (),
    "recent_files": (),
    "notes": (),
}
FILE = HOME / "runs/1/x.bin"

# field -> (a value for it alone, the start of the one advice line it must give)
FINDINGS: dict[str, tuple[Any, str]] = {
    "integrity_problems": (("page 3: btree corrupt",), "the database is damaged"),
    "foreign_key_violations": (
        (ForeignKeyViolation(table="run", row_id=1, parent="model_session", column=None),),
        "the database is damaged",
    ),
    "schema_drift": (
        ("trigger parameter_history_no_replace is missing",),
        "the database's schema was changed",
    ),
    "bad_rows": (
        (BadRow(table="run", row_id=1, column="parameters", problem="not JSON"),),
        "1 value(s) were edited",
    ),
    "missing_files": (
        (MissingFile(table="run", row_id=1, column="run_path", path=FILE, reason="missing"),),
        "1 row(s) refer to missing files",
    ),
    "symlinks": ((FILE,), "1 symbolic link(s)"),
    "unowned_files": ((FILE,), "run `dashai-store gc`"),
    "stale_temp_files": ((FILE,), "run `dashai-store gc`"),
    "pending_deletions": ((FILE,), "run `dashai-store gc`"),
    "partial_backups": ((FILE,), "1 folder(s) of backups that never finished"),
}


def test_a_clean_report_is_ok_and_gives_no_advice() -> None:
    report = CheckReport(**EMPTY)
    assert report.ok
    assert maintenance.advice(report) == ()


@pytest.mark.parametrize("field", sorted(FINDINGS))
def test_each_finding_alone_is_not_ok_and_gives_its_advice(field: str) -> None:
    value, advice = FINDINGS[field]
    report = CheckReport(**{**EMPTY, field: value})
    assert not report.ok
    lines = maintenance.advice(report)
    assert len(lines) == 1 and lines[0].startswith(advice), lines


@pytest.mark.parametrize("field", ["recent_files", "in_flight_deletions", "notes"])
def test_in_flight_work_and_notes_are_not_problems(field: str) -> None:
    report = CheckReport(**{**EMPTY, field: (FILE,) if field != "notes" else ("no integrity check",)})
    assert report.ok
    assert maintenance.advice(report) == ()


def test_missing_files_never_advise_gc_even_beside_unowned_ones() -> None:
    missing = FINDINGS["missing_files"][0]
    lines = maintenance.advice(CheckReport(**{**EMPTY, "missing_files": missing, "unowned_files": (FILE,)}))
    assert [line.split(" ")[0] for line in lines] == ["1", "run"]
    assert "do NOT run gc" in lines[0]
