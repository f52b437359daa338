"""The bundle format: member names, the manifest, and what an import accepts.

A ``.dashai`` file is a zip archive (zip64)::

    rows/<table>.jsonl      one JSON object per row, keyed by column name, parents' tables first
    files/<home-relative>   the rows' files under the paths they had in the exporting home
    manifest.json           written last: what the rest must be

The manifest holds the format version, the schema (the exporting store's migration),
the time, the pieces asked for, the row count per table, and the sha256 and size of every
other member. Its own sha256 is the bundle's identity (``bundle_id``): it fixes every
other byte. :func:`parse` refuses a manifest that is malformed or names an unsafe member;
:func:`check_members` refuses an archive whose members are not exactly the manifest's.
"""

from __future__ import annotations

import json
import stat
import zipfile
from dataclasses import dataclass
from typing import Any

from .. import errors
from ..files import layout
from . import graph

FORMAT = "dashai-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ROWS = "rows/"
FILES = "files/"
MAX_MANIFEST_BYTES = 256 * 1024 * 1024  # a manifest listing a million files is ~150 MB


@dataclass(frozen=True)
class Member:
    sha256: str
    size: int


@dataclass(frozen=True)
class Manifest:
    format_version: int
    schema: str
    created: str
    pieces: dict[str, tuple[int, ...]]
    everything: bool
    rows: dict[str, int]
    members: dict[str, Member]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": self.format_version,
            "schema": self.schema,
            "created": self.created,
            "pieces": {kind: list(ids) for kind, ids in self.pieces.items()},
            "everything": self.everything,
            "rows": self.rows,
            "members": {name: {"sha256": m.sha256, "size": m.size} for name, m in self.members.items()},
        }


def rows_member(table: str) -> str:
    return f"{ROWS}{table}.jsonl"


def file_member(rel: str) -> str:
    return f"{FILES}{rel}"


def _reject(why: str) -> errors.BundleRejected:
    return errors.BundleRejected(f"not a valid bundle: {why}; nothing was written")


def check_name(name: str) -> None:
    """Refuse a member name that could leave its place: absolute, ``..``, backslashes,
    drive letters, control characters, and anything but a row file or a row folder's file."""
    parts = name.split("/")
    if (
        not name
        or name.startswith("/")
        or any(p in ("", ".", "..") for p in parts)
        or any(ch in name for ch in "\\:")
        or any(ord(ch) < 32 for ch in name)
    ):
        raise _reject(f"member name {name!r} is not a plain relative path")
    if name.startswith(ROWS):
        table = name[len(ROWS) :].removesuffix(".jsonl")
        if len(parts) != 2 or not name.endswith(".jsonl") or table not in graph.BY_TABLE:
            raise _reject(f"member {name!r} is not a table of rows this store knows")
        return
    if name.startswith(FILES):
        if layout.row_folder_of(name[len(FILES) :]) is None:
            raise _reject(f"member {name!r} is not inside a row's folder of the store's layout")
        return
    raise _reject(f"member {name!r} is neither rows nor a file")


def parse(raw: bytes) -> Manifest:
    """The manifest from its bytes; BundleRejected if malformed, BundleTooNew if newer."""
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise _reject(f"the manifest is not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise _reject("the manifest is not a dashai bundle's")
    version = doc.get("format_version")
    if type(version) is not int or version < 1:
        raise _reject(f"format_version {version!r} is not a version")
    if version > FORMAT_VERSION:
        raise errors.BundleTooNew(
            f"the bundle has format version {version}; this dashai_store reads up to {FORMAT_VERSION}: "
            "upgrade dashai_store to import it (nothing was written)"
        )
    schema, created = doc.get("schema"), doc.get("created")
    if not isinstance(schema, str) or not isinstance(created, str):
        raise _reject("the manifest has no schema or creation time")
    rows = doc.get("rows")
    if not isinstance(rows, dict) or not all(
        isinstance(t, str) and t in graph.BY_TABLE and type(n) is int and n >= 0 for t, n in rows.items()
    ):
        raise _reject("the manifest's row counts are not counts of known tables")
    members_doc = doc.get("members")
    if not isinstance(members_doc, dict):
        raise _reject("the manifest lists no members")
    members: dict[str, Member] = {}
    for name, entry in members_doc.items():
        check_name(name)
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("sha256"), str)
            or len(entry["sha256"]) != 64
            or any(c not in "0123456789abcdef" for c in entry["sha256"])
            or type(entry.get("size")) is not int
            or entry["size"] < 0
        ):
            raise _reject(f"the manifest's entry for {name!r} is not a sha256 and a size")
        members[name] = Member(entry["sha256"], entry["size"])
    for table, count in rows.items():
        if count and rows_member(table) not in members:
            raise _reject(f"the manifest counts {count} {table} row(s) but lists no {rows_member(table)}")
    pieces_doc = doc.get("pieces")
    if not isinstance(pieces_doc, dict) or not all(
        kind in graph.PIECES and isinstance(ids, list) and all(type(i) is int for i in ids)
        for kind, ids in pieces_doc.items()
    ):
        raise _reject("the manifest's pieces are not lists of ids")
    return Manifest(
        format_version=version,
        schema=schema,
        created=created,
        pieces={kind: tuple(ids) for kind, ids in pieces_doc.items()},
        everything=doc.get("everything") is True,
        rows=dict(rows),
        members=members,
    )


def read(archive: zipfile.ZipFile) -> tuple[Manifest, bytes]:
    """The archive's manifest and its raw bytes (whose sha256 is the bundle id)."""
    try:
        info = archive.getinfo(MANIFEST)
    except KeyError:
        raise _reject("it holds no manifest.json (a truncated or foreign archive)") from None
    if info.file_size > MAX_MANIFEST_BYTES:
        raise _reject(f"its manifest is {info.file_size} bytes")
    try:
        raw = archive.read(info)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise _reject(f"its manifest cannot be read ({exc})") from None
    return parse(raw), raw


def check_members(archive: zipfile.ZipFile, manifest: Manifest) -> None:
    """The archive holds exactly the manifest's members (and the manifest), each once,
    plain files (no folder entries, no links), of the listed sizes."""
    seen: set[str] = set()
    for info in archive.infolist():
        name = info.filename
        if name in seen:
            raise _reject(f"member {name!r} appears twice")
        seen.add(name)
        if name == MANIFEST:
            continue
        check_name(name)
        if name not in manifest.members:
            raise _reject(f"member {name!r} is not listed in the manifest")
        kind = stat.S_IFMT(info.external_attr >> 16)  # 0: no type recorded (many zip writers)
        if info.is_dir() or kind not in (0, stat.S_IFREG):
            raise _reject(f"member {name!r} is not a plain file (a folder or a link)")
        if info.file_size != manifest.members[name].size:
            raise _reject(
                f"member {name!r} is {info.file_size} bytes, the manifest says {manifest.members[name].size}"
            )
    missing = sorted(set(manifest.members) - seen)
    if missing:
        raise _reject(f"member {missing[0]!r} listed in the manifest is missing ({len(missing)} missing)")
