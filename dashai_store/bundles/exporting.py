"""Writing a bundle: the rows a selection takes, their files, then the manifest.

Everything streams: rows go out as JSON lines table by table, files in chunks
(``ZipFile.open(name, "w")``), each hashed as it is written, so memory stays flat
whatever the size. Rows are read in one read transaction (one consistent snapshot);
files are found by the layout only — a row's own folder (``cascade.OWNED_FOLDERS``) —
never at a path a row merely claims, and links are never followed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import IO, Any

from .. import cascade, errors, models
from ..clock import utcnow
from ..database import current, translated
from ..files import io, layout
from ..migrator import default_steps
from . import graph, manifest, rows

Model = type[models.BaseModel]
log = logging.getLogger("dashai_store.files")
CHUNK = 1024 * 1024
# Already compressed or binary: stored as is (zip64, streamed). Rows compress well.
_STORED_SUFFIXES = (".arrow", ".joblib", ".parquet", ".png", ".jpg", ".jpeg", ".gz", ".zip", ".npy")


def schema_head() -> str:
    """The migration this code's schema is at (every open store is at it)."""
    return default_steps()[-1].id


@contextmanager
def read_snapshot() -> Iterator[None]:
    """One read transaction of the open store (``backend.read_snapshot``), errors translated.

    Inside a transaction already (an export called from a write transaction) that one is
    the snapshot: a nested one would be a savepoint, which cannot set an isolation level.
    """
    store = current()
    with translated():
        if store.db.in_transaction():
            yield
            return
        with store.dialect.read_snapshot():
            yield


class _HashingWriter:
    """Writes through to a zip member, counting and hashing the bytes."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        self.digest.update(data)
        self.size += len(data)

    def member(self) -> manifest.Member:
        return manifest.Member(self.digest.hexdigest(), self.size)


def _namespace(codec: rows.Codec, row: Sequence[Any]) -> SimpleNamespace:
    """The row as ``cascade.OWNED_FOLDERS`` reads it (``row.id``, ``row.session_id``)."""
    return SimpleNamespace(**dict(zip(codec.names, row, strict=True)))


def _write_rows(
    archive: zipfile.ZipFile, selection: graph.Selection, members: dict[str, manifest.Member]
) -> tuple[dict[str, int], list[str]]:
    """Every taken row, table by table (parents first); returns counts and the row folders."""
    counts: dict[str, int] = {}
    folders: list[str] = []
    for model in graph.ORDER:
        table = model._meta.table_name
        name = manifest.rows_member(table)
        count = 0
        owned = cascade.OWNED_FOLDERS.get(model)
        codec = rows.Codec(model)
        with archive.open(_info(name, stored=False), "w", force_zip64=True) as handle:
            out = _HashingWriter(handle)
            buffer: list[str] = []
            for query in selection.queries(model, codec.fields):
                for row in query.tuples().iterator():
                    buffer.append(codec.encode(row))
                    count += 1
                    if owned is not None:
                        folders.append(owned(_namespace(codec, row)))
                    if len(buffer) >= 1000:
                        out.write("".join(buffer).encode())
                        buffer.clear()
            out.write("".join(buffer).encode())
        members[name] = out.member()  # an empty table's member stays too (zip cannot take it back)
        if count:
            counts[table] = count
    return counts, folders


def _info(name: str, *, stored: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=utcnow().timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    return info


def _files_under(home: Path, folders: list[str]) -> list[str]:
    """Regular files under the row folders (home-relative, sorted); links never followed,
    temporary files of writes in flight left out."""
    found: set[str] = set()
    for folder in sorted(set(folders)):
        top = home / folder
        parts = folder.split("/")
        # A link anywhere on the way (``runs`` -> elsewhere) would carry outside files along.
        if any(home.joinpath(*parts[:end]).is_symlink() for end in range(1, len(parts) + 1)):
            log.warning("not exporting %s: a symbolic link is on its path", folder)
            continue
        if not top.is_dir():
            continue
        for base, dirs, names in os.walk(top):  # os.walk does not enter links to folders
            dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(base, d))]
            for entry in names:
                path = os.path.join(base, entry)
                if io.is_temp_name(entry) or not stat.S_ISREG(os.lstat(path).st_mode):
                    continue
                found.add(Path(path).relative_to(home).as_posix())
    return sorted(rel for rel in found if layout.row_folder_of(rel) is not None)


def _write_file(archive: zipfile.ZipFile, home: Path, rel: str) -> manifest.Member:
    path = home / rel
    stored = rel.endswith(_STORED_SUFFIXES)
    try:
        source = open(path, "rb", opener=_no_follow)
    except OSError as exc:
        raise errors.FileIntegrityError(f"cannot read {path} for the bundle: {exc}") from exc
    with (
        source,
        archive.open(_info(manifest.file_member(rel), stored=stored), "w", force_zip64=True) as handle,
    ):
        out = _HashingWriter(handle)
        while chunk := source.read(CHUNK):
            out.write(chunk)
    return out.member()


def _no_follow(path: str, flags: int) -> int:
    return os.open(path, flags | getattr(os, "O_NOFOLLOW", 0))


def write(
    target: Path,
    roots: dict[Model, set[int]],
    pieces: dict[str, tuple[int, ...]],
    everything: bool,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[manifest.Manifest, bytes, int]:
    """Write the bundle to ``target`` atomically; returns its manifest, the manifest's
    bytes and the bytes of the files it holds."""
    import json

    store = current()
    members: dict[str, manifest.Member] = {}
    with io.atomic_writer(target) as handle, zipfile.ZipFile(handle, "w", allowZip64=True) as archive:
        with read_snapshot():
            selection = graph.select(roots, everything)
            counts, folders = _write_rows(archive, selection, members)
            # Files are read while the snapshot is held, right after the rows; a file deleted
            # meanwhile (its row deleted after the snapshot began) fails the export loudly.
            files = _files_under(store.home, folders)
            file_bytes = 0
            for index, rel in enumerate(files, start=1):
                member = _write_file(archive, store.home, rel)
                members[manifest.file_member(rel)] = member
                file_bytes += member.size
                if progress is not None:
                    progress("files", index, len(files))
        document = manifest.Manifest(
            format_version=manifest.FORMAT_VERSION,
            schema=schema_head(),
            created=utcnow().isoformat(),
            pieces=pieces,
            everything=everything,
            rows=counts,
            members=members,
        )
        raw = json.dumps(document.to_json(), indent=1, sort_keys=True).encode()
        archive.writestr(_info(manifest.MANIFEST, stored=False), raw)
    return document, raw, file_bytes
