"""The files of a copied store: every file under the managed folders, checked twice.

What is copied: every regular file under the layout's managed folders
(:data:`dashai_store.files.layout.MANAGED_ROOTS`) and every folder there (a row may name an
empty folder). Never ``backups/``, ``.trash``, lock files, the database, nor what a writer
had not finished: temporary files of an atomic write and staged uploads
(``datasets/incoming-*``). A symbolic link is reported, never followed nor copied.

Each file is streamed (flat memory) through the store's atomic write
(:func:`dashai_store.files.io.atomic_writer`) while its sha256 is computed; the written
file is read back and must hash the same, and where a row records a checksum (a model, an
explanation) the source bytes are compared with it too (a mismatch is reported, the bytes
are copied as they are: the copy does not repair its source). A file already at the
destination with the same size and sha256 (a copy run again after a kill) is not copied
again.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .. import errors
from ..files import layout
from ..files.io import CHUNK, atomic_writer, is_temp_name, remove_within, sha256_file

Progress = Callable[[str, int, int], None]


@dataclass
class SourceFiles:
    """What the source's managed folders hold: files (path -> size), folders and links."""

    files: dict[str, int] = field(default_factory=dict)
    folders: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(self.files.values())


@dataclass
class FileCopyResult:
    copied: int = 0
    skipped: int = 0
    bytes: int = 0
    damaged: list[str] = field(default_factory=list)


def _is_staging(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    if is_temp_name(name):
        return True
    return rel.startswith(f"{layout.DATASETS}/{layout.INCOMING}-")


def _walk(home: Path) -> Iterator[tuple[str, os.stat_result]]:
    """(home-relative path, lstat) of every entry under the managed roots; links not entered."""
    for root in layout.MANAGED_ROOTS:
        top = home / root
        try:
            info = top.lstat()
        except FileNotFoundError:
            continue
        yield root, info
        if not stat.S_ISDIR(info.st_mode):
            continue
        for folder, dirnames, filenames in os.walk(top):  # os.walk does not follow links
            base = Path(folder)
            for name in sorted(dirnames) + sorted(filenames):
                path = base / name
                try:
                    entry = path.lstat()
                except FileNotFoundError:
                    continue
                yield PurePosixPath(path.relative_to(home)).as_posix(), entry


def scan(home: Path) -> SourceFiles:
    """The files, folders and links under ``home``'s managed folders (staging left out)."""
    found = SourceFiles()
    for rel, info in _walk(home):
        if stat.S_ISLNK(info.st_mode):
            found.links.append(rel)
        elif stat.S_ISDIR(info.st_mode):
            found.folders.append(rel)
        elif stat.S_ISREG(info.st_mode) and not _is_staging(rel):
            found.files[rel] = info.st_size
    return found


def copy_files(
    source_home: Path,
    dest_home: Path,
    found: SourceFiles,
    recorded: dict[str, str],
    progress: Progress | None,
) -> FileCopyResult:
    """Copy ``found`` from ``source_home`` to ``dest_home``; ``recorded`` maps a path to the
    sha256 a row records for it."""
    result = FileCopyResult()
    for folder in found.folders:
        (dest_home / folder).mkdir(parents=True, exist_ok=True)
    total, done = found.bytes, 0
    for rel, size in found.files.items():
        source, target = source_home / rel, dest_home / rel
        if _same_file_there(source, target, size):
            result.skipped += 1
        else:
            digest = _copy_one(source, target)
            expected = recorded.get(rel)
            if expected and digest != expected:
                result.damaged.append(rel)
            result.copied += 1
        result.bytes += size
        done += size
        if progress is not None:
            progress("files", done, total)
    return result


def _same_file_there(source: Path, target: Path, size: int) -> bool:
    try:
        info = target.lstat()
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(info.st_mode) or info.st_size != size:
        return False
    return sha256_file(target) == _digest_of(source)


def _digest_of(source: Path) -> str:
    digest = hashlib.sha256()
    with _reader(source) as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _reader(source: Path) -> io.FileIO:
    """``source`` opened for reading without following a link (it was a file when scanned)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(source, flags)
    except OSError as exc:
        raise errors.FileIntegrityError(f"cannot read {source} to copy it: {exc}") from exc
    return io.FileIO(fd, "rb")


def _copy_one(source: Path, target: Path) -> str:
    """Stream ``source`` into ``target`` atomically; its sha256, checked on the written file."""
    digest = hashlib.sha256()
    with _reader(source) as handle, atomic_writer(target) as out:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
    expected = digest.hexdigest()
    written = sha256_file(target)
    if written != expected:
        raise errors.FileIntegrityError(
            f"{target} does not hold the bytes of {source} after copying "
            f"(sha256 {written[:12]}..., read {expected[:12]}...)"
        )
    return expected


def remove_strays(dest_home: Path, keep: SourceFiles) -> int:
    """Remove files under ``dest_home``'s managed folders the source does not have (a
    resumed copy whose source lost files meanwhile, or a killed write's temporary file)."""
    removed = 0
    for rel, info in list(_walk(dest_home)):
        if stat.S_ISDIR(info.st_mode) or rel in keep.files:
            continue
        remove_within(dest_home, rel)
        removed += 1
    return removed
