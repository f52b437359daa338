"""Plain file I/O on absolute paths: atomic writes, checksums, Arrow, joblib, Plotly JSON.

Nothing here knows the store, its home or its database, so anything that writes a file
(the file store, the migration preflight, the legacy adoption, the CLI, reports) uses
the same atomic write:

* :func:`atomic_writer` / :func:`atomic_write`: the bytes go to a temporary name in the
  target's folder (``.<name>.<random>.tmp``), are fsynced, then renamed over the final
  name, and the folder is fsynced: a reader never sees half a file and a crash leaves no
  half file under a final name (maintenance reports and removes stale ``.tmp`` files).
* :func:`publish`: the same for a file something else wrote (``VACUUM INTO``).

Failures are :class:`~dashai_store.errors.StoreError` naming the file, never a raw
OSError. pyarrow, joblib and plotly are imported inside the functions that need them, so
that ``import dashai_store`` and ``scripts/migrate.py`` stay fast.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import json
import os
import stat
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .. import errors

if TYPE_CHECKING:
    import pyarrow as pa

CHUNK = 1 << 20


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new name in ``folder`` durable (a no-op on Windows)."""
    if os.name == "nt":  # directories cannot be opened for fsync on Windows
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    """Flush a file's bytes to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def is_temp_name(name: str) -> bool:
    """Whether ``name`` is a temporary file of :func:`atomic_writer` (``.<name>.<rnd>.tmp``)."""
    return name.startswith(".") and name.endswith(".tmp") and name.count(".") >= 3


@contextmanager
def atomic_writer(target: Path) -> Iterator[IO[bytes]]:
    """Yield a binary file; when the block ends without error it replaces ``target`` atomically.

    For streaming into a file, then publishing it. The folder is created if needed. On
    error the temporary file is removed and ``target`` is untouched.
    """
    try:  # a full disk or a file in the folder's place must not escape as a raw OSError
        target.parent.mkdir(parents=True, exist_ok=True)
        import tempfile

        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise errors.StoreError(f"cannot write {target}: {exc}") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        refuse_if_held(target)
        os.replace(tmp, target)
        fsync_dir(target.parent)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise errors.StoreError(f"cannot write {target}: {exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(target: Path, data: bytes | str) -> Path:
    """Write ``data`` (text is written as UTF-8) to ``target`` atomically; returns ``target``."""
    with atomic_writer(target) as handle:
        handle.write(data.encode() if isinstance(data, str) else data)
    return target


def publish(partial: Path, target: Path) -> Path:
    """Fsync ``partial`` (written by someone else, in ``target``'s folder) and rename it to ``target``."""
    try:
        fsync_file(partial)
        refuse_if_held(target)
        os.replace(partial, target)
        fsync_dir(target.parent)
    except OSError as exc:
        raise errors.StoreError(f"cannot write {target}: {exc}") from exc
    return target


def link_atomic(source: Path, target: Path) -> Path:
    """Give the file ``source`` a second name, ``target``, atomically (a copy without hard links).

    ``target``'s folder is created if needed.
    """
    staged = target.with_name(f".{target.name}.{os.getpid()}-{os.urandom(4).hex()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, staged)
        except OSError:  # no hard links on this filesystem
            import shutil

            shutil.copyfile(source, staged)
            fsync_file(staged)
        refuse_if_held(target)
        os.replace(staged, target)
        fsync_dir(target.parent)
    except OSError as exc:
        staged.unlink(missing_ok=True)
        raise errors.StoreError(f"cannot write {target}: {exc}") from exc
    return target


def remove(path: Path) -> None:
    """Remove a file, a link, or a folder tree, never following a link (raises OSError,
    FileNotFoundError excepted). Only for a path whose folders the caller made itself;
    a home-relative path goes through :func:`remove_within`."""
    refuse_if_held(path)
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISDIR(info.st_mode):
        import shutil

        shutil.rmtree(path)  # refuses a linked root, unlinks (never enters) links inside
    else:
        path.unlink(missing_ok=True)


# -- moving and deleting inside the home, never through a link -----------------------------------
#
# The store deletes and trashes only paths its layout gives, and it must never follow a
# symbolic link while doing so: a ``runs/<id>`` replaced by a link to ``../datasets`` would
# otherwise take every dataset with it. So a home-relative path is walked one folder at a
# time from the home with ``O_NOFOLLOW`` and the work is done relative to the last folder's
# descriptor (``dir_fd``): a link met on the way is refused (UnsafePath), a link at the end
# is removed or moved as a link, and a folder tree is removed by ``shutil.rmtree``'s
# descriptor-based walk, which unlinks links inside it without entering them. Where the OS
# has no ``dir_fd`` (Windows) each component is checked with ``lstat`` first.

_AT_FUNCTIONS = all(f in os.supports_dir_fd for f in (os.open, os.stat, os.unlink, os.rename, os.mkdir))
# A folder opened without following a link (the flags exist wherever descriptor walks do).
_DIR_NOFOLLOW = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)


@functools.cache
def _at() -> bool:
    """Whether descriptor-relative walks are available (asked once; shutil imported on use:
    with bz2 and lzma it is a fifth of what the app's import line adds to Peewee's)."""
    import shutil

    return _AT_FUNCTIONS and shutil.rmtree.avoids_symlink_attacks and hasattr(os, "O_NOFOLLOW")


def split_relative(rel: str) -> list[str]:
    """The components of a home-relative POSIX path; UnsafePath for anything not plainly inside."""
    parts = rel.split("/")
    if any(p in ("", ".", "..") or "\\" in p or "\x00" in p for p in parts):
        raise errors.UnsafePath(f"path {rel!r} is not a plain path inside the store home")
    return parts


def _refuse_link(folder_fd: int | None, folder: Path, name: str, rel: str) -> None:
    info = (
        os.stat(name, dir_fd=folder_fd, follow_symlinks=False)
        if folder_fd is not None
        else (folder / name).lstat()
    )
    if stat.S_ISLNK(info.st_mode):
        raise errors.UnsafePath(
            f"{folder / name} is a symbolic link; the store does not follow it (in {rel!r})"
        )
    if not stat.S_ISDIR(info.st_mode):
        raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(folder / name))


@contextmanager
def folder_fd(home: Path, parts: list[str], rel: str, *, create: bool = False) -> Iterator[int | None]:
    """A descriptor of ``home/parts...`` reached without following a link (None without dir_fd).

    UnsafePath if a component is a link; FileNotFoundError if one is missing (unless
    ``create``: missing folders are made).
    """
    if not _at():
        path = home
        for part in parts:
            if create and not os.path.lexists(path / part):
                (path / part).mkdir(exist_ok=True)
            _refuse_link(None, path, part, rel)
            path = path / part
        yield None
        return
    fd = os.open(home, os.O_RDONLY | os.O_DIRECTORY)
    try:
        path = home
        for part in parts:
            if create:
                try:
                    os.mkdir(part, dir_fd=fd)
                except FileExistsError:
                    pass
            try:
                inner = os.open(part, _DIR_NOFOLLOW, dir_fd=fd)
            except NotADirectoryError:
                _refuse_link(fd, path, part, rel)
                raise
            os.close(fd)
            fd, path = inner, path / part
        yield fd
    finally:
        os.close(fd)


@dataclass(frozen=True)
class _Tree:
    """What :func:`_measure` found under a path: its entries and the bytes of its files."""

    entries: int
    size: int
    over: bool  # a limit was passed: the counts stop there


def _measure(
    name: str,
    folder_fd: int | None,
    folder: Path,
    info: os.stat_result,
    *,
    max_entries: int | None = None,
    max_bytes: int | None = None,
) -> _Tree:
    """Count the entries under ``folder/name`` and their bytes (st_size of everything but
    folders), links counted as links and never entered; stop as soon as a limit is passed.

    ``info`` is the path's own lstat (a file or a link is one entry of its own size).
    """
    if not stat.S_ISDIR(info.st_mode):
        return _Tree(1, info.st_size, max_bytes is not None and info.st_size > max_bytes)
    entries = size = 0

    def passed() -> bool:
        return (max_entries is not None and entries > max_entries) or (
            max_bytes is not None and size > max_bytes
        )

    if folder_fd is None:
        pending: list[Path] = [folder / name]
        while pending:
            with os.scandir(pending.pop()) as listing:
                for entry in listing:
                    entries += 1
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(Path(entry.path))
                    else:
                        size += entry.stat(follow_symlinks=False).st_size
                    if passed():
                        return _Tree(entries, size, True)
        return _Tree(entries, size, False)
    # Descriptor-relative: each folder is opened without following a link, so a folder
    # swapped for a link meanwhile is not entered (ELOOP), whatever it points to.
    fds = [os.open(name, _DIR_NOFOLLOW, dir_fd=folder_fd)]
    try:
        while fds:
            fd = fds[-1]
            with os.scandir(fd) as listing:
                names = []
                for entry in listing:
                    entries += 1
                    if entry.is_dir(follow_symlinks=False):
                        names.append(entry.name)
                    else:
                        size += entry.stat(follow_symlinks=False).st_size
                    if passed():
                        return _Tree(entries, size, True)
            fds.pop()
            try:
                fds.extend(os.open(child, _DIR_NOFOLLOW, dir_fd=fd) for child in names)
            finally:
                os.close(fd)
        return _Tree(entries, size, False)
    finally:
        for fd in fds:
            os.close(fd)


def remove_within(home: Path, rel: str, *, count: bool = False) -> int:
    """Remove ``home/rel`` (a file, a link or a folder tree) without following any link.

    Returns the bytes freed when ``count`` (else 0). Raises UnsafePath for a path with a
    link among its folders, FileNotFoundError if it is not there, PermissionError for a
    file the OS will not let go (open or mapped, on Windows), another OSError otherwise.
    """
    with _located(home, rel) as (fd, folder, name, info):
        size = _measure(name, fd, folder, info).size if count else 0
        _remove(fd, folder, name, info)
        return size


def remove_if_small(home: Path, rel: str, *, max_entries: int, max_bytes: int) -> bool:
    """:func:`remove_within` if ``home/rel`` holds at most ``max_entries`` entries and
    ``max_bytes`` bytes in all (read without following a link, stopping once past a limit);
    False, nothing touched, if it holds more. Errors as :func:`remove_within`.
    """
    with _located(home, rel) as (fd, folder, name, info):
        if _measure(name, fd, folder, info, max_entries=max_entries, max_bytes=max_bytes).over:
            return False
        _remove(fd, folder, name, info)
        return True


@contextmanager
def _located(home: Path, rel: str) -> Iterator[tuple[int | None, Path, str, os.stat_result]]:
    """``home/rel`` about to be removed: its folder's descriptor (reached without following
    a link; None without dir_fd), that folder's path, its name there and its own lstat."""
    parts = split_relative(rel)
    refuse_if_held(home / rel)
    with folder_fd(home, parts[:-1], rel) as fd:
        folder, name = home.joinpath(*parts[:-1]), parts[-1]
        if fd is not None:
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
        else:
            info = (folder / name).lstat()
        yield fd, folder, name, info


def _remove(folder_fd: int | None, folder: Path, name: str, info: os.stat_result) -> None:
    """Remove ``name`` (lstat ``info``) from its folder: a tree without following links."""
    if stat.S_ISDIR(info.st_mode):
        if folder_fd is not None:
            _remove_tree_at(folder_fd, name)
        else:
            import shutil

            shutil.rmtree(folder / name)
    elif folder_fd is not None:
        os.unlink(name, dir_fd=folder_fd)
    else:
        (folder / name).unlink()


def _remove_tree_at(folder_fd: int, name: str) -> None:
    """Remove the folder ``name`` of ``folder_fd`` and everything under it, never following
    a link: each folder is opened relative to its parent's descriptor without following one
    (a folder swapped for a link meanwhile fails with ELOOP instead of being entered), and
    any other entry, a link included, is unlinked as itself.

    ``shutil.rmtree(dir_fd=)`` does the same, but only from Python 3.11 on (the store
    supports 3.10), and it opens and lists each folder a second time.
    """
    fd = os.open(name, _DIR_NOFOLLOW, dir_fd=folder_fd)
    try:
        with os.scandir(fd) as listing:
            entries = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in listing]
        for child, is_folder in entries:
            if is_folder:
                _remove_tree_at(fd, child)
            else:
                os.unlink(child, dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=folder_fd)


def move_within(home: Path, rel: str, folder_rel: str, new_name: str) -> None:
    """Rename ``home/rel`` to ``home/folder_rel/new_name`` without following any link.

    ``folder_rel`` is created if missing; a link in its place (or among ``rel``'s folders)
    is UnsafePath. A link at ``rel`` itself is moved as a link. Errors as :func:`remove_within`.
    """
    parts = split_relative(rel)
    refuse_if_held(home / rel)
    with (
        folder_fd(home, parts[:-1], rel) as src,
        folder_fd(home, split_relative(folder_rel), folder_rel, create=True) as dst,
    ):
        if src is not None and dst is not None:
            os.rename(parts[-1], new_name, src_dir_fd=src, dst_dir_fd=dst)
        else:
            os.rename(home / rel, home / folder_rel / new_name)


def list_within(home: Path, folder_rel: str) -> list[str]:
    """The names in ``home/folder_rel`` (a folder reached without following a link); [] if absent."""
    try:
        with folder_fd(home, split_relative(folder_rel), folder_rel) as fd:
            return sorted(os.listdir(fd if fd is not None else home / folder_rel))
    except FileNotFoundError:
        return []


def symlinks_under(top: Path) -> list[Path]:
    """Every symbolic link at or under ``top`` (links are listed, never entered)."""
    if top.is_symlink():
        return [top]
    found: list[Path] = []
    for base, dirs, names in os.walk(top):  # os.walk does not follow links to folders
        found.extend(Path(base, n) for n in (*dirs, *names) if os.path.islink(os.path.join(base, n)))
    return sorted(found)


# -- emulated Windows file semantics -------------------------------------------------------------
#
# On Windows a file that is open or memory-mapped cannot be renamed or deleted, nor can a
# folder holding one, and ``os.replace`` onto it fails. DashAI mostly runs there, so the
# store must survive those refusals: a deletion refused stays pending and is retried, a
# replacement is staged under a new name. ``DASHAI_STORE_EMULATE_WINDOWS_FILES=1`` makes this
# module refuse the same way on any OS for the files this process holds mapped (Arrow reads),
# so the suite proves it on Linux.

EMULATE_WINDOWS_ENV = "DASHAI_STORE_EMULATE_WINDOWS_FILES"
_held_lock = threading.Lock()
_held: dict[str, int] = {}


def emulating_windows() -> bool:
    """Whether Windows' refusals are emulated (the one place the variable is read)."""
    return os.environ.get(EMULATE_WINDOWS_ENV, "").strip() not in ("", "0")


def hold(path: str | Path, owner: object) -> None:
    """Record that ``owner`` (a table mapping ``path``) keeps the file open, until it is freed."""
    if not emulating_windows():
        return
    key = os.path.abspath(path)
    with _held_lock:
        _held[key] = _held.get(key, 0) + 1
    weakref.finalize(owner, _release, key)


def _release(key: str) -> None:
    with _held_lock:
        left = _held.get(key, 0) - 1
        if left > 0:
            _held[key] = left
        else:
            _held.pop(key, None)


def refuse_if_held(path: Path) -> None:
    """Under the emulation: PermissionError (as Windows) if ``path`` or a file under it is held."""
    if not _held or not emulating_windows():
        return
    key = os.path.abspath(path)
    with _held_lock:
        busy = next((p for p in _held if p == key or p.startswith(key + os.sep)), None)
    if busy is not None:
        raise PermissionError(
            errno.EACCES, "emulated Windows: the file is open or mapped by this process", busy
        )


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise errors.NotFound(f"file {path} does not exist") from exc
    except OSError as exc:
        raise errors.FileIntegrityError(f"cannot read {path}: {exc}") from exc


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# -- Arrow ----------------------------------------------------------------------------------


def write_arrow(target: Path, table: pa.Table | pa.RecordBatchReader) -> Path:
    """Write ``table`` (or every batch of a reader, streamed) as an Arrow IPC file, atomically.

    Dictionary-encoded columns whose chunks carry different dictionaries (what
    ``pa.concat_tables`` gives) are valid Arrow but cannot go into an IPC *file* as they
    are; they are unified here, the one place every Arrow file of the store is written. A
    reader whose schema holds dictionaries is read whole for that (its batches may each
    bring a new dictionary); any other reader is written batch by batch, in flat memory.
    """
    import pyarrow as pa

    if isinstance(table, pa.RecordBatchReader):
        if _has_dictionary(table.schema):
            table = table.read_all()
        else:
            return _write_batches(target, table)
    if not isinstance(table, pa.Table):
        raise errors.ValidationError(f"expected a pyarrow.Table, got {type(table).__name__}")
    options = pa.ipc.IpcWriteOptions(unify_dictionaries=True)
    with atomic_writer(target) as handle:
        sink = pa.PythonFile(handle, mode="w")
        with pa.ipc.new_file(sink, table.schema, options=options) as writer:
            writer.write_table(table)
    return target


def _write_batches(target: Path, reader: pa.RecordBatchReader) -> Path:
    import pyarrow as pa

    with atomic_writer(target) as handle:
        sink = pa.PythonFile(handle, mode="w")
        with pa.ipc.new_file(sink, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
    return target


def _has_dictionary(schema: pa.Schema) -> bool:
    import pyarrow as pa

    def walk(data_type: pa.DataType) -> bool:
        if pa.types.is_dictionary(data_type):
            return True
        return any(walk(data_type.field(i).type) for i in range(data_type.num_fields))

    return any(walk(field.type) for field in schema)


def read_arrow(path: str) -> pa.Table:
    """Read an Arrow IPC file memory-mapped (no copy of the data)."""
    import pyarrow as pa

    try:
        source = pa.memory_map(path, "r")
    except FileNotFoundError as exc:
        raise errors.NotFound(f"Arrow file {path} does not exist") from exc
    except OSError as exc:
        raise errors.FileIntegrityError(f"{path} cannot be opened: {exc}") from exc
    try:
        table = pa.ipc.open_file(source).read_all()
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as exc:
        raise errors.FileIntegrityError(f"{path} is not a readable Arrow IPC file: {exc}") from exc
    hold(path, table)  # the table maps the file for as long as it lives
    return table


def read_arrow_schema(path: Path) -> pa.Schema:
    """The schema of an Arrow IPC file, from its footer only (no record batch is read)."""
    import pyarrow as pa

    if not path.is_file():
        raise errors.NotFound(f"Arrow file {path} does not exist")
    try:
        with pa.memory_map(str(path), "r") as source:
            return pa.ipc.open_file(source).schema
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as exc:
        raise errors.FileIntegrityError(f"{path} is not a readable Arrow IPC file: {exc}") from exc


# -- joblib (checksummed) ----------------------------------------------------------------------


def dump_joblib(target: Path, obj: Any) -> str:
    """Write ``obj`` with joblib, atomically; returns the file's sha256 (record it in the row)."""
    import joblib

    with atomic_writer(target) as handle:
        joblib.dump(obj, handle)
    return sha256_file(target)


def load_joblib(path: Path, expected_sha256: str | None) -> Any:
    """Load a joblib file, only if its sha256 matches ``expected_sha256``.

    Unpickling runs code, so a file whose checksum is unknown or different is refused
    with :class:`FileIntegrityError` before a byte of it is unpickled.
    """
    if not expected_sha256:
        raise errors.FileIntegrityError(f"{path} has no recorded checksum; refusing to unpickle it")
    if not path.is_file():
        raise errors.NotFound(f"file {path} does not exist")
    actual = sha256_file(path)
    if actual != expected_sha256:
        raise errors.FileIntegrityError(
            f"{path} was changed on disk (sha256 {actual[:12]}..., recorded {expected_sha256[:12]}...);"
            " refusing to unpickle it"
        )
    import joblib

    try:
        return joblib.load(path)
    except Exception as exc:  # a corrupt pickle raises anything
        raise errors.FileIntegrityError(f"{path} cannot be loaded: {exc}") from exc


# -- JSON and Plotly -------------------------------------------------------------------------------


def read_json(path: Path) -> Any:
    raw = read_bytes(path)
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise errors.FileIntegrityError(f"{path} is not valid JSON: {exc}") from exc


def figure_json(figure: Any) -> str:
    """JSON text of a Plotly figure, a figure dict, or figure JSON text (validated)."""
    if isinstance(figure, (bytes, str)):
        text = figure.decode() if isinstance(figure, bytes) else figure
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            raise errors.ValidationError(f"not valid figure JSON: {exc}") from exc
        if not isinstance(parsed, dict):
            raise errors.ValidationError("figure JSON must be an object with 'data' and/or 'layout'")
        return text
    if isinstance(figure, dict):
        return json.dumps(figure, ensure_ascii=False)
    to_json = getattr(figure, "to_json", None)
    if callable(to_json):
        return str(to_json())
    raise errors.ValidationError(
        f"expected a Plotly figure, a figure dict or figure JSON, got {type(figure).__name__}"
    )


def write_figure(target: Path, figure: Any) -> Path:
    """Store a Plotly figure as JSON; plotly itself is not needed to write or read the JSON."""
    return atomic_write(target, figure_json(figure).encode())


def read_figure(path: Path, as_figure: bool = True) -> Any:
    """A stored figure: a ``plotly.graph_objects.Figure`` (imports plotly) or its JSON dict."""
    value = read_json(path)
    if not as_figure:
        return value
    import plotly.io as pio

    try:
        return pio.from_json(json.dumps(value))
    except Exception as exc:  # plotly validates the whole figure
        raise errors.FileIntegrityError(f"{path} is not a Plotly figure: {exc}") from exc
