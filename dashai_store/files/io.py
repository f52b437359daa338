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

import hashlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise errors.StoreError(f"cannot write {target}: {exc}") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
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
            shutil.copyfile(source, staged)
            fsync_file(staged)
        os.replace(staged, target)
        fsync_dir(target.parent)
    except OSError as exc:
        staged.unlink(missing_ok=True)
        raise errors.StoreError(f"cannot write {target}: {exc}") from exc
    return target


def remove(path: Path) -> None:
    """Remove a file, a link, or a folder tree (raises OSError, FileNotFoundError excepted)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=False)
    else:
        path.unlink(missing_ok=True)


def remove_counted(path: Path) -> int:
    """Remove a file, a link, or a folder tree; returns the bytes freed (raises OSError)."""
    info = path.lstat()
    if stat.S_ISDIR(info.st_mode):
        size = sum(p.lstat().st_size for p in path.rglob("*") if not p.is_dir() or p.is_symlink())
        shutil.rmtree(path)
        return size
    path.unlink()
    return info.st_size


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
        return pa.ipc.open_file(source).read_all()
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as exc:
        raise errors.FileIntegrityError(f"{path} is not a readable Arrow IPC file: {exc}") from exc


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
