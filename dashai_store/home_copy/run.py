"""copy_home: the whole copy, in the order that makes an interrupted one harmless."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import errors
from ..clock import utcnow
from ..database import Store, redact, resolve_home, translated
from ..locks import held
from ..maintenance.lost import copying_into
from ..maintenance.scan import artifact_entries
from ..records import CopyRecord
from . import destination, file_copy, rows
from .source import Source, open_source

Progress = Callable[[str, int, int], None]
"""``progress(phase, done, total)``: phase ``"files"`` counts bytes, ``"rows"`` rows."""

#: Tests only (the reliability suite's kills): SIGKILL this process at the named point,
#: one of :data:`KILL_POINTS`.
KILL_ENV = "DASHAI_STORE_TEST_KILL_COPY"
KILL_POINTS = ("marked", "file", "files", "rows", "before-commit", "committed")


def kill_point(name: str) -> None:
    if os.environ.get(KILL_ENV) == name:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def copy_home(
    source_home: str | os.PathLike[str],
    *,
    to_home: str | os.PathLike[str],
    to_database: str | None = None,
    database: str | None = None,
    merge: bool = False,
    progress: Progress | None = None,
) -> CopyRecord:
    """Copy the store at ``source_home`` (every row with its id, every file) to ``to_home``.

    The source's database is ``<source_home>/db.sqlite`` or ``database`` (a PostgreSQL
    URL); the destination's is ``<to_home>/db.sqlite`` or ``to_database``, its files go
    under ``to_home`` either way (with PostgreSQL: the folder every client shares). The
    destination is created and migrated by the store's own open path.

    The source is never written (no migration, no lock, no replay of its pending
    deletions; a SQLite file no process has open is read as immutable). Copy it while no
    application uses it: its rows are read from one snapshot, but a file deleted meanwhile
    fails the copy (run it again), and an immutable SQLite file written meanwhile commits
    nothing (:class:`~dashai_store.errors.StoreBusy`). A source at an older
    schema is refused with :class:`~dashai_store.errors.SchemaOutdated` (migrate it first),
    one made by a newer version with :class:`~dashai_store.errors.SchemaTooNew`.

    The destination must hold nothing (:class:`~dashai_store.errors.DestinationNotEmpty`,
    nothing written, otherwise). In order: a marker naming the source, the files (each
    checked against the source bytes and the checksum its row records), then every row in
    ONE transaction, then the marker says done. A copy killed at any point leaves either no
    rows (an empty store) or all of them, and running the same call again finishes it;
    run again after it finished, it returns at once with ``already_done``.

    ``merge=True`` adds the source's work to a destination that may already hold some:
    new ids, references rewritten, names that are taken suffixed, in one transaction (an
    import of everything the source holds; see :mod:`dashai_store.home_copy.merge`). Run
    again on an unchanged source, it adds nothing (``already_done``).

    >>> copy_home("~/.DashAI", to_home="/srv/dashai-files",             # doctest: +SKIP
    ...           to_database="postgresql://dashai@db.lab/dashai")
    """
    started = time.perf_counter()
    source_path, dest_path = resolve_home(source_home), resolve_home(to_home)
    _refuse_overlap(source_path, dest_path, database, to_database)
    with held(lock_path(dest_path, to_database), shared=False, timeout_s=0) as alone:
        if not alone:
            raise errors.StoreBusy(
                f"another copy into {redact(to_database) if to_database else dest_path} is running: "
                "let it finish (or stop it), then run this one again; nothing was written"
            )
        return _copy_home(source_path, dest_path, database, to_database, merge, progress, started)


def lock_path(dest_home: Path, to_database: str | None) -> Path:
    """The lock two copies into one destination take (in the system's temporary folder, not
    in the destination: a refused copy leaves the destination exactly as it was)."""
    import hashlib
    import tempfile

    key = to_database or str(dest_home)
    return Path(tempfile.gettempdir()) / f"dashai-copy-{hashlib.sha256(key.encode()).hexdigest()[:16]}.lock"


def _copy_home(
    source_path: Path,
    dest_path: Path,
    database: str | None,
    to_database: str | None,
    merge: bool,
    progress: Progress | None,
    started: float,
) -> CopyRecord:
    source = open_source(source_path, database)
    try:
        source.check_schema()
        if merge:
            from .merge import merge_home

            return merge_home(source, dest_path, to_database, started)
        state = destination.inspect(dest_path, to_database)
        todo = destination.verdict(state, source.identity)
        if todo == destination.FINISHED:
            return _record(source, state, state.marker or {}, started, resumed=False, already_done=True)
        source.begin_snapshot()
        if todo == destination.COMMITTED:  # killed after the rows committed, before the marker said so
            return _finish_committed(source, state, started)
        marker = {
            "format": 1,
            "state": destination.COPYING,
            "source": source.identity,
            "destination": {"home": str(dest_path), "database": redact(state.database)},
            "started": (state.marker or {}).get("started") or _now(),
        }
        destination.write_marker(dest_path, marker)
        kill_point("marked")
        resumed = todo == destination.RESUME
        return _copy(source, state, marker, started, resumed=resumed, progress=progress)
    finally:
        source.close()


def _copy(
    source: Source,
    state: destination.DestinationState,
    marker: dict[str, Any],
    started: float,
    *,
    resumed: bool,
    progress: Progress | None,
) -> CopyRecord:
    from ..store import open_store

    with (
        copying_into(state.home),
        open_store(state.home, database=_url(state), finish_deletions=False) as store,
    ):
        found = file_copy.scan(source.home)
        with translated():
            recorded = {
                entry["path"]: str(entry["sha256"])
                for _model, _id, _name, entry in artifact_entries(source.db)
                if entry.get("sha256")
            }
        if resumed:
            file_copy.remove_strays(state.home, found)
        copied = file_copy.copy_files(source.home, state.home, found, recorded, _killing(progress))
        kill_point("files")
        table_rows = _copy_rows(source, store, _killing(progress))
        kill_point("committed")
        backend = store.backend
    marker.update(
        state=destination.DONE,
        finished=_now(),
        backend=backend,
        rows=table_rows,
        files=len(found.files),
        bytes=found.bytes,
        skipped_files=copied.skipped,
        links=found.links,
        damaged_files=copied.damaged,
        resumed=resumed,
    )
    destination.write_marker(state.home, marker)
    return _record(source, state, marker, started, resumed=resumed, already_done=False)


def _copy_rows(source: Source, store: Store, progress: Progress | None) -> dict[str, int]:
    with translated(), store.db.atomic():
        held = {t: n for t, n in rows.destination_counts(store).items() if n}
        if held:  # a client wrote to the destination while the files were copied
            raise errors.DestinationNotEmpty(
                f"rows appeared in the destination while the copy ran ({held}); nothing was committed"
            )
        copied = rows.copy_rows(source, store, progress)
        source.check_unchanged()  # before COMMIT: a source written meanwhile commits nothing
        kill_point("before-commit")
    return copied


def _killing(progress: Progress | None) -> Progress | None:
    """``progress``, which also reaches the kill points inside the loops (``file``, ``rows``)."""
    if KILL_ENV not in os.environ:
        return progress

    def report(phase: str, done: int, total: int) -> None:
        kill_point({"files": "file", "rows": "rows"}.get(phase, phase))
        if progress is not None:
            progress(phase, done, total)

    return report


def _finish_committed(source: Source, state: destination.DestinationState, started: float) -> CopyRecord:
    """A copy whose rows committed but whose marker still says copying: check and mark done."""
    from ..store import open_store

    expected = {p.table: source.count(p.table) for p in rows.plan()}
    with (
        copying_into(state.home),
        open_store(state.home, database=_url(state), migrate=False, finish_deletions=False) as store,
    ):
        with translated():
            held = rows.destination_counts(store)
        backend = store.backend
    if held != expected:
        destination.refuse_not_empty(
            state, "it holds rows of an earlier copy of this source, which has changed since"
        )
    marker = dict(state.marker or {})
    found = file_copy.scan(source.home)
    marker.update(
        state=destination.DONE,
        finished=_now(),
        backend=backend,
        rows=expected,
        files=len(found.files),
        bytes=found.bytes,
        skipped_files=len(found.files),
        links=found.links,
        damaged_files=[],
        resumed=True,
    )
    destination.write_marker(state.home, marker)
    return _record(source, state, marker, started, resumed=True, already_done=False)


def _record(
    source: Source,
    state: destination.DestinationState,
    marker: dict[str, Any],
    started: float,
    *,
    resumed: bool,
    already_done: bool,
) -> CopyRecord:
    return CopyRecord(
        source=_describe(source.home, source.url),
        destination=_describe(state.home, redact(state.database)),
        backend=str(marker.get("backend", "")),
        rows={str(k): int(v) for k, v in dict(marker.get("rows", {})).items()},
        files=int(marker.get("files", 0)),
        bytes=int(marker.get("bytes", 0)),
        skipped_files=int(marker.get("skipped_files", 0)),
        links=tuple(marker.get("links", ())),
        damaged_files=tuple(marker.get("damaged_files", ())),
        seconds=time.perf_counter() - started,
        resumed=resumed,
        already_done=already_done,
    )


def _describe(home: Path, database: str) -> str:
    return str(home) if database == str(home / "db.sqlite") else f"{home} (database {database})"


def _url(state: destination.DestinationState) -> str | None:
    return None if state.database == str(state.home / "db.sqlite") else state.database


def _now() -> str:
    return utcnow().isoformat(timespec="seconds") + "Z"


def _refuse_overlap(source: Path, dest: Path, database: str | None, to_database: str | None) -> None:
    if source == dest or source in dest.parents or dest in source.parents:
        raise errors.ValidationError(
            f"the destination {dest} and the source {source} overlap: copy to a folder outside the "
            "source (the source is never written)"
        )
    if database is not None and database == to_database:
        raise errors.ValidationError("the source and the destination name the same database")
