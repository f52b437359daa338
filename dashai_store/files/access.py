"""The open store's files by home-relative path: the paths rows hold, read and written.

Paths in rows are relative to the home (:func:`relative`); the facade hands out absolute
paths (:func:`resolve`, :func:`to_absolute`) and refuses any that would leave the home
(:class:`~dashai_store.errors.UnsafePath`). Every function here resolves its path against
the current store's home, then does plain I/O with :mod:`.io`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any

from .. import errors
from ..database import current
from . import io

if TYPE_CHECKING:
    import pyarrow as pa


def home() -> Path:
    """The current store's home folder."""
    return current().home


def resolve(relative_path: str | os.PathLike[str]) -> Path:
    """The absolute path of a home-relative path; raises UnsafePath if it leaves the home."""
    text = os.fspath(relative_path)
    if "\x00" in text:
        raise errors.UnsafePath(f"path {text!r} contains a NUL byte")
    base = home()
    try:
        candidate = (base / text).resolve()
    except (RuntimeError, OSError) as exc:  # a link loop (RuntimeError before Python 3.13)
        raise errors.UnsafePath(f"path {text!r} in the store home {base} cannot be resolved: {exc}") from exc
    if candidate != base and base not in candidate.parents:
        raise errors.UnsafePath(f"path {text!r} points outside the store home {base}")
    return candidate


def writable(relative_path: str | os.PathLike[str]) -> Path:
    """The path to write a home-relative path at, never through a symbolic link.

    A link among its folders is UnsafePath (``runs/<id>`` linked to ``../datasets`` must
    not let a model land there); a link at the name itself is replaced by the atomic
    rename, its target untouched. Unlike :func:`resolve`, the result is not resolved.
    """
    text = os.fspath(relative_path)
    base = home()
    parts = io.split_relative(text)
    folder = base
    for part in parts[:-1]:
        folder = folder / part
        if folder.is_symlink():
            raise errors.UnsafePath(f"{folder} is a symbolic link; the store does not write through it")
    return base.joinpath(*parts)


def relative(path: str | os.PathLike[str]) -> str:
    """The home-relative POSIX form of ``path`` (absolute or relative); must stay inside."""
    absolute = resolve(path)
    return PurePosixPath(absolute.relative_to(home())).as_posix()


def to_absolute(stored: str | None) -> Path | None:
    """The absolute form of a path column's value (None stays None)."""
    return None if stored is None else home() / stored


def _inside_home(relative_path: str) -> str:
    """``resolve`` without touching the disk: a lexical check, symlinks not followed.

    For the hot read path of Arrow files (``datasets.load_table``), where ``resolve``'s
    syscalls cost as much as the memory-mapped read itself. Reading an Arrow file runs no
    code, so a symlink planted inside the home is not the risk it is for pickles, which
    keep the full check.
    """
    if "\x00" in relative_path:
        raise errors.UnsafePath(f"path {relative_path!r} contains a NUL byte")
    base = str(home())
    candidate = os.path.normpath(os.path.join(base, relative_path))
    if not candidate.startswith(base + os.sep):
        raise errors.UnsafePath(f"path {relative_path!r} points outside the store home {base}")
    return candidate


@contextmanager
def atomic_writer(relative_path: str) -> Iterator[IO[bytes]]:
    """Yield a binary file; on success it replaces ``relative_path`` atomically (see io.atomic_writer)."""
    with io.atomic_writer(writable(relative_path)) as handle:
        yield handle


def write_bytes(relative_path: str, data: bytes) -> Path:
    """Write ``data`` to a home-relative path, atomically; returns the absolute path."""
    return io.atomic_write(writable(relative_path), data)


def read_bytes(relative_path: str) -> bytes:
    return io.read_bytes(resolve(relative_path))


def link_atomic(source_relative: str, target_relative: str) -> Path:
    """Give the file ``source_relative`` a second name, ``target_relative``, atomically.

    The source keeps its name (a hard link; a copy where links are not supported), so a
    row still pointing at it stays valid until the transaction that repoints it commits.
    """
    return io.link_atomic(resolve(source_relative), writable(target_relative))


def write_arrow(relative_path: str, table: pa.Table | pa.RecordBatchReader) -> Path:
    """Write ``table`` (or a reader's batches, streamed) as an Arrow IPC file, atomically."""
    return io.write_arrow(writable(relative_path), table)


def read_arrow(relative_path: str) -> pa.Table:
    """Read an Arrow IPC file memory-mapped (no copy of the data)."""
    return io.read_arrow(_inside_home(relative_path))


def read_arrow_schema(relative_path: str) -> pa.Schema:
    """The schema of an Arrow IPC file, from its footer only (no record batch is read)."""
    return io.read_arrow_schema(resolve(relative_path))


def dump_joblib(relative_path: str, obj: Any) -> str:
    """Write ``obj`` with joblib, atomically; returns the file's sha256 (record it in the row)."""
    return io.dump_joblib(writable(relative_path), obj)


def load_joblib(relative_path: str, expected_sha256: str | None) -> Any:
    """Load a joblib file written by the store, only if its sha256 matches ``expected_sha256``.

    The path must stay inside the home (symlinks resolved) before the checksum is even read.
    """
    return io.load_joblib(resolve(relative_path), expected_sha256)


def read_json(relative_path: str) -> Any:
    return io.read_json(resolve(relative_path))


def write_figure(relative_path: str, figure: Any) -> Path:
    """Store a Plotly figure as JSON; plotly itself is not needed to write or read the JSON."""
    return io.write_figure(writable(relative_path), figure)


def read_figure(relative_path: str, as_figure: bool = True) -> Any:
    """A stored figure: a ``plotly.graph_objects.Figure`` (imports plotly) or its JSON dict."""
    return io.read_figure(resolve(relative_path), as_figure)
