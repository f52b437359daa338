"""maintenance.check: inspect the open store (database and files); writes nothing."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import peewee

from .. import cascade, errors, files, models, schema
from ..database import current, reads, text_read_leniently, translated
from ..decoding import Unreadable, decode_enum, decode_json
from ..enums import DataType
from ..records import BadRow, CheckReport, MissingFile
from .backup import partial_backups
from .lost import new_store_created
from .scan import GRACE_S, Progress, artifact_entries, scan_home


def _path_problem(home: Path, stored: str) -> tuple[Path, str] | None:
    absolute = home / stored
    try:
        files.resolve(stored)
    except errors.UnsafePath:
        return absolute, "outside the home"
    if not os.path.lexists(absolute):
        return absolute, "missing"
    return None


def _missing_files(home: Path) -> list[MissingFile]:
    found: list[MissingFile] = []

    def note(model: type[models.BaseModel], row_id: int, column: str, stored: str | None) -> None:
        if not stored:
            return
        problem = _path_problem(home, stored)
        if problem is not None:
            found.append(
                MissingFile(
                    table=model._meta.table_name,
                    row_id=row_id,
                    column=column,
                    path=problem[0],
                    reason=problem[1],
                )
            )

    for model, columns in cascade.FILE_COLUMNS.items():
        own_folder = cascade.OWNED_FOLDERS.get(model)
        condition = None
        for column in columns:
            clause = getattr(model, column).is_null(False)
            condition = clause if condition is None else condition | clause
        for row in model.select().where(condition).order_by(model.id).iterator():
            for column in columns:
                stored = getattr(row, column)
                # The row's own layout folder not existing yet only means nothing was written.
                if own_folder is not None and stored == own_folder(row):
                    continue
                note(model, row.id, column, stored)
    nb = models.Notebook
    for row_id, stored in nb.select(nb.id, nb.file_path).order_by(nb.id).tuples().iterator():
        note(nb, row_id, "file_path", stored)
    pd = models.ProcessData
    query = pd.select(pd.id, pd.data).where(pd.data_type.in_(cascade.FILE_DATA_TYPES)).order_by(pd.id)
    for row_id, stored in query.tuples().iterator():
        note(pd, row_id, "data", stored)
    for model, row_id, name, entry in artifact_entries():
        note(model, row_id, f"artifacts.{name}", entry.get("path"))
    return found


def _symlinks(home: Path) -> list[Path]:
    """Every symbolic link in the store's folders and the trash: the store never follows
    one when it deletes, but a link there is never the store's own doing."""
    found: list[Path] = []
    for root in (*files.layout.MANAGED_ROOTS, files.layout.TRASH):
        found.extend(files.io.symlinks_under(home / root))
    return found


# Columns whose python_value marks a value it cannot read instead of raising.
def _as_is(value: Any) -> Any:
    return value  # text: an Unreadable already, if the lenient decoder could not read it


_DECODED_FIELDS = (
    models.JSONField,
    models.StoreIntegerField,
    models.StoreBooleanField,
    models.MetricValueField,
)


def _bad_rows(db: Any) -> list[BadRow]:
    """Rows holding a JSON, enum or numeric value this code cannot read, or text that is
    not UTF-8 (edited by hand).

    Each table is read once, raw (the driver's values, no Peewee objects), and each value
    goes through the same decoding the facade's reads use, so what this reports is exactly
    what reads back as :class:`~dashai_store.decoding.Unreadable`. The scan decodes text
    leniently (:func:`~dashai_store.database.lenient_text`), so non-UTF-8 text is found
    in any text column instead of failing the scan.
    """
    with text_read_leniently(db):
        return _scan_bad_rows(db)


def _scan_bad_rows(db: Any) -> list[BadRow]:
    found: list[BadRow] = []
    for model in models.DOMAIN_MODELS:
        checks: list[tuple[str, Callable[[Any], Any]]] = [
            (field.column_name, field.python_value if isinstance(field, _DECODED_FIELDS) else _as_is)
            for field in model._meta.sorted_fields
            if isinstance(field, (*_DECODED_FIELDS, peewee.TextField, peewee.CharField))
            and field.column_name not in models.ENUM_COLUMNS.get(model, {})
        ]
        for column, enum_cls in models.ENUM_COLUMNS.get(model, {}).items():
            checks.append((column, partial(decode_enum, enum_cls)))
        if not checks:
            continue
        fields_ = [model._meta.primary_key, *(model._meta.columns[column] for column, _ in checks)]
        query = model.select(*fields_).order_by(model._meta.primary_key)
        table = str(model._meta.table_name)
        cursor = db.execute(query)  # raw driver values: decoded below, one value at a time
        while batch := cursor.fetchmany(1000):
            for row in batch:
                for (column, decode), raw in zip(checks, row[1:], strict=True):
                    if raw is None:
                        continue
                    value = decode(raw)
                    if isinstance(value, Unreadable):
                        found.append(BadRow(table=table, row_id=row[0], column=column, problem=value.problem))
    # A JSON payload's text is JSON only by its data type, so it is not a JSONField.
    pd = models.ProcessData
    payloads = pd.select(pd.id, pd.data).where(pd.data_type == DataType.json.value).order_by(pd.id)
    for row_id, text in db.execute(payloads):
        value = decode_json(text)
        if isinstance(value, Unreadable):
            found.append(BadRow(table="process_data", row_id=row_id, column="data", problem=value.problem))
    found.sort(key=lambda bad: (bad.table, bad.row_id, bad.column))
    return found


#: How long :func:`check` waits for deletions another process is carrying out (their
#: records vanish within milliseconds of their COMMIT; a record outliving this is real).
IN_FLIGHT_S = 1.0


def _read_pending() -> set[str]:
    with translated():
        return set(files.pending_deletions())


def _split_in_flight(home: Path, pending: list[str], settle_s: float) -> tuple[list[str], list[str]]:
    """``pending`` split into (still pending, in flight): those another process finishes now.

    A deletion is carried out right after its COMMIT under the home's file lock, shared
    (``files.tx.changing_files``); taking it exclusively waits those out. The records still
    there are re-read for up to ``settle_s`` (a deleter may be between COMMIT and the lock);
    those that vanish were in flight, the rest are left behind (a crash, a failure).
    """
    if not pending:
        return [], []
    deadline = time.monotonic() + settle_s
    left = set(pending)
    while True:
        with files.tx.files_settled(home, timeout_s=max(0.0, deadline - time.monotonic())):
            left &= _read_pending()
        if not left or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    return [p for p in pending if p in left], [p for p in pending if p not in left]


@reads
def _recheck_missing(home: Path) -> list[MissingFile]:
    return _missing_files(home)


def check(*, grace_s: float = GRACE_S, progress: Progress | None = None) -> CheckReport:
    """Inspect the open store; writes nothing.

    Reports SQLite's ``PRAGMA integrity_check`` and ``PRAGMA foreign_key_check`` (on
    PostgreSQL: no integrity check — use ``pg_amcheck`` on the server — and an orphan
    query per foreign key instead), rows whose files are missing, files under the store's
    folders that no row owns, stale temporary files, recorded file deletions that were
    not carried out, every symbolic link in the store's folders and ``.trash``, rows
    holding a JSON, enum or numeric value that cannot be read (``bad_rows``: edited by
    hand), and differences between the database's schema and the models' (``schema_drift``:
    e.g. a dropped trigger). ``report.ok`` is True when there is nothing to fix.

    Work in flight is not a problem, and reported apart: deletions another process is
    carrying out (``in_flight_deletions``, see :func:`_split_in_flight`). Folders left by
    killed backups are reported in ``partial_backups`` (``gc`` removes them).

    >>> report = maintenance.check()                     # doctest: +SKIP
    >>> [str(p) for p in report.unowned_files]           # doctest: +SKIP
    """
    report = _check(grace_s, progress)
    store = current()
    # The records as stored (a hand-made one may name a path outside the home, e.g. /etc);
    # one that vanished since the scan was finished meanwhile: in flight too.
    recorded = {store.home / rel: rel for rel in _read_pending()}
    gone = [p for p in report.pending_deletions if p not in recorded]
    pending, in_flight = _split_in_flight(
        store.home, [recorded[p] for p in report.pending_deletions if p in recorded], IN_FLIGHT_S
    )
    # What a deletion in flight during the scan made look wrong (a row read, then its file
    # moved away; a file walked, then its row deleted) is gone once the deletions settled.
    missing = report.missing_files
    if missing:
        again = set(_recheck_missing(store.home))
        missing = tuple(m for m in missing if m in again)
    unowned = tuple(p for p in report.unowned_files if os.path.lexists(p))
    partial = partial_backups(store.home) or []  # None: a backup is running
    return dataclasses.replace(
        report,
        missing_files=missing,
        unowned_files=unowned,
        pending_deletions=tuple(store.home / p for p in pending),
        in_flight_deletions=(*gone, *(store.home / p for p in in_flight)),
        partial_backups=tuple(partial),
    )


@reads
def _check(grace_s: float, progress: Progress | None) -> CheckReport:
    store = current()
    integrity = store.dialect.integrity_problems()  # None: the backend cannot check (PostgreSQL)
    checked, problems = integrity is not None, integrity or []
    violations = store.dialect.foreign_key_violations(models.DOMAIN_MODELS)
    scan = scan_home(store.home, grace_s, progress)
    missing = _missing_files(store.home)
    pending = files.pending_deletions()
    bad = _bad_rows(store.db)
    drift = schema.drift(store.db)
    notes: list[str] = []
    if not checked:
        notes.append("PostgreSQL: no integrity_check; run pg_amcheck on the server to verify its storage")
    return CheckReport(
        backend=store.backend,
        home=store.home,
        integrity_checked=checked,
        integrity_problems=tuple(problems),
        foreign_key_violations=tuple(violations),
        missing_files=tuple(missing),
        unowned_files=tuple(store.home / e.rel for e in scan.unowned),
        stale_temp_files=tuple(store.home / e.rel for e in scan.stale_temp),
        pending_deletions=tuple(store.home / p for p in pending),
        recent_files=tuple(store.home / e.rel for e in scan.recent),
        symlinks=tuple(_symlinks(store.home)),
        notes=tuple(notes),
        bad_rows=tuple(bad),
        schema_drift=tuple(drift),
    )


def advice(report: CheckReport) -> tuple[str, ...]:
    """What to do about each kind of problem ``report`` holds; ``()`` when it is ok.

    ``gc`` is recommended only for what it fixes (unowned and stale temporary files,
    pending deletions). A row whose file is missing is never sent to gc: gc removes files,
    it cannot bring one back, and a missing file usually means the files and the database
    got out of step (a database restored without its files); a backup brings it back.
    """
    found: list[str] = []
    if report.integrity_problems or report.foreign_key_violations:
        found.append(
            "the database is damaged: restore a backup (`dashai-store backups`, `dashai-store restore`)"
        )
    if report.schema_drift:
        found.append(
            "the database's schema was changed outside the store (a trigger or constraint is "
            "missing or different), so its guarantees may not hold: restore a backup "
            "(`dashai-store restore`) or recreate what `dashai-store check` lists"
        )
    if report.bad_rows:
        found.append(
            f"{len(report.bad_rows)} value(s) were edited by hand and cannot be read: the rows stay "
            "listed (the value shown as its raw text); fix the value with SQL or delete the row in the app"
        )
    if report.missing_files:
        found.append(
            f"{len(report.missing_files)} row(s) refer to missing files: put the files back (a full "
            "backup: `dashai-store restore`) or delete those rows in the app; do NOT run gc for these"
        )
    if report.symlinks:
        found.append(
            f"{len(report.symlinks)} symbolic link(s) in the store's folders: the store never follows "
            "them; put the real files or folders in their place, or remove the links"
        )
    if report.unowned_files or report.stale_temp_files or report.pending_deletions:
        found.append(
            "run `dashai-store gc` to remove unowned and stale temporary files and finish pending deletions"
        )
    if report.unowned_files and new_store_created(report.home) is not None:
        found.append(
            "this store was created over the files of a lost database: gc keeps the files older "
            "than it; restore a backup (`dashai-store backups`, `dashai-store restore`) to own them again"
        )
    if report.partial_backups:
        found.append(
            f"{len(report.partial_backups)} folder(s) of backups that never finished: "
            "`dashai-store gc` removes them"
        )
    return tuple(found)
