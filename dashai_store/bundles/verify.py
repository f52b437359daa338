"""Step 1 of an import: the archive is opened, every member checked, the files staged.

Nothing here writes to the database. Every member streams out once: rows are hashed
and their lines counted against the manifest; files are hashed while they are written to
staging names in the home (``layout.dataset_incoming``: owned by no row, removed when
the import ends, and by ``gc`` after a crash), so large data is read once and memory
stays flat. Any failure removes the staged files and raises BundleRejected.
"""

from __future__ import annotations

import hashlib
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import errors, files
from ..files import layout
from . import manifest

CHUNK = 1024 * 1024


def reject(why: str) -> errors.BundleRejected:
    return errors.BundleRejected(f"the bundle was refused: {why}; nothing was written")


def bundle_id(raw_manifest: bytes) -> str:
    return hashlib.sha256(raw_manifest).hexdigest()


def stream(archive: zipfile.ZipFile, name: str) -> Iterator[bytes]:
    try:
        with archive.open(name) as handle:
            while chunk := handle.read(CHUNK):
                yield chunk
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:  # CRC errors, truncation
        raise reject(f"member {name!r} cannot be read ({exc})") from None


def check_member(name: str, member: manifest.Member, digest: Any, size: int) -> None:
    if size != member.size or digest.hexdigest() != member.sha256:
        raise reject(
            f"member {name!r} does not match its sha256 and size in the manifest (changed or damaged)"
        )


def verify_and_stage(archive: zipfile.ZipFile, man: manifest.Manifest) -> dict[str, str]:
    """Check every member's bytes; stage the files. Returns member name -> staged path
    (home-relative). On failure the staged files are removed and BundleRejected raised."""
    staged: dict[str, str] = {}
    try:
        for name, member in man.members.items():
            digest, size = hashlib.sha256(), 0
            if not name.startswith(manifest.FILES):
                lines = 0
                for chunk in stream(archive, name):
                    digest.update(chunk)
                    size += len(chunk)
                    lines += chunk.count(b"\n")
                check_member(name, member, digest, size)
                counted = man.rows.get(name[len(manifest.ROWS) :].removesuffix(".jsonl"), 0)
                if lines != counted:  # the manifest edited: its own checksum is nowhere to check
                    raise reject(f"{name} holds {lines} row(s), the manifest counts {counted}")
                continue
            rel = layout.dataset_incoming(uuid.uuid4().hex)
            staged[name] = rel
            with files.atomic_writer(rel) as out:
                for chunk in stream(archive, name):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                check_member(name, member, digest, size)
    except BaseException:
        remove_staged(staged)
        raise
    return staged


def remove_staged(staged: dict[str, str]) -> None:
    home = files.home()
    for rel in staged.values():
        try:
            files.io.remove_within(home, rel)
        except (OSError, errors.UnsafePath):
            continue  # never written (the failure came first), or gone: gc sees the rest


def open_archive(source: Path) -> zipfile.ZipFile:
    if not source.is_file():
        raise errors.NotFound(f"no bundle at {source}")
    try:
        return zipfile.ZipFile(source)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise reject(f"{source} is not a readable zip archive ({exc}: truncated or not a bundle)") from None
