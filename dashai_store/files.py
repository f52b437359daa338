"""The file store: the one place files under the home are written, read and deleted.

Layout (DESIGN section 3), all relative to the home::

    datasets/<dataset_id>/data.arrow        notebooks/<notebook_id>/<position>.arrow
    runs/<run_id>/model.joblib               runs/<run_id>/plots/<kind>.json
    predictions/<prediction_id>/results.arrow
    explorers/<explorer_id>/result.<ext>     explainers/{global,local}/<id>/...
    generative/<session_id>/<process_id>/... backups/

Rules kept here and nowhere else:

* Paths in rows are relative to the home (``relative``); the facade hands out absolute
  paths (``resolve``), and refuses any that would leave the home (:class:`UnsafePath`).
  Names given by users never become path components: folders are named by row ids.
* Every write goes to a temporary name in the same folder, is fsynced, then renamed over
  the final name (and the folder fsynced): a reader never sees half a file and a crash
  leaves no half file under a final name.
* A joblib/pickle file executes code when loaded: it is loaded only from inside the home
  and only when its sha256 matches the one recorded when the store wrote it.
* A file is deleted only after the transaction that deleted its row commits: the
  deletion is recorded in ``dashai_pending_deletion`` inside that transaction and carried
  out after COMMIT; a crash in between is finished by the next ``open_store``. Carrying
  it out is a rename into ``.trash/`` (O(1) whatever the size); a background thread frees
  the bytes, and ``Store.close`` waits for it.

pyarrow, joblib and plotly are imported inside the functions that need them, so that
``import dashai_store`` and ``scripts/migrate.py`` stay fast.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any

from . import errors
from .clock import utcnow
from .database import current

if TYPE_CHECKING:
    import pyarrow as pa

CHUNK = 1 << 20


# -- paths --------------------------------------------------------------------------------


def home() -> Path:
    """The current store's home folder."""
    return current().home


def resolve(relative_path: str | os.PathLike[str]) -> Path:
    """The absolute path of a home-relative path; raises UnsafePath if it leaves the home."""
    text = os.fspath(relative_path)
    if "\x00" in text:
        raise errors.UnsafePath(f"path {text!r} contains a NUL byte")
    base = home()
    candidate = (base / text).resolve()
    if candidate != base and base not in candidate.parents:
        raise errors.UnsafePath(f"path {text!r} points outside the store home {base}")
    return candidate


def relative(path: str | os.PathLike[str]) -> str:
    """The home-relative POSIX form of ``path`` (absolute or relative); must stay inside."""
    absolute = resolve(path)
    return PurePosixPath(absolute.relative_to(home())).as_posix()


def to_absolute(stored: str | None) -> Path | None:
    """The absolute form of a path column's value (None stays None)."""
    return None if stored is None else home() / stored


def layout(*parts: str | int) -> str:
    """A home-relative path built from fixed folder names and row ids only."""
    for part in parts:
        if isinstance(part, str) and (not part or "/" in part or "\\" in part or part in (".", "..")):
            raise errors.UnsafePath(f"{part!r} is not a valid path component")
    return "/".join(str(part) for part in parts)


# -- atomic writes --------------------------------------------------------------------------


def _fsync_dir(folder: Path) -> None:
    if os.name == "nt":  # directories cannot be opened for fsync on Windows
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_writer(relative_path: str) -> Iterator[IO[bytes]]:
    """Yield a binary file; on success it replaces ``relative_path`` atomically.

    On error the temporary file is removed and the final name is untouched.
    """
    target = resolve(relative_path)
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
        _fsync_dir(target.parent)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise errors.StoreError(f"cannot write {target}: {exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(relative_path: str, data: bytes) -> Path:
    with atomic_writer(relative_path) as handle:
        handle.write(data)
    return resolve(relative_path)


def link_atomic(source_relative: str, target_relative: str) -> Path:
    """Give the file ``source_relative`` a second name, ``target_relative``, atomically.

    The source keeps its name (a hard link; a copy where links are not supported), so a
    row still pointing at it stays valid until the transaction that repoints it commits.
    """
    source = resolve(source_relative)
    target = resolve(target_relative)
    staged = target.with_name(f".{target.name}.{os.getpid()}-{os.urandom(4).hex()}.tmp")
    try:
        try:
            os.link(source, staged)
        except OSError:  # no hard links on this filesystem
            shutil.copyfile(source, staged)
            fd = os.open(staged, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(staged, target)
        _fsync_dir(target.parent)
    except OSError as exc:
        staged.unlink(missing_ok=True)
        raise errors.StoreError(f"cannot write {target}: {exc}") from exc
    return target


def read_bytes(relative_path: str) -> bytes:
    path = resolve(relative_path)
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise errors.NotFound(f"file {path} does not exist") from exc
    except OSError as exc:
        raise errors.FileIntegrityError(f"cannot read {path}: {exc}") from exc


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# -- Arrow ----------------------------------------------------------------------------------


def write_arrow(relative_path: str, table: pa.Table) -> Path:
    """Write ``table`` as an Arrow IPC file, atomically."""
    import pyarrow as pa

    if not isinstance(table, pa.Table):
        raise errors.ValidationError(f"expected a pyarrow.Table, got {type(table).__name__}")
    with atomic_writer(relative_path) as handle:
        sink = pa.PythonFile(handle, mode="w")
        with pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
    return resolve(relative_path)


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


def read_arrow(relative_path: str) -> pa.Table:
    """Read an Arrow IPC file memory-mapped (no copy of the data)."""
    import pyarrow as pa

    path = _inside_home(relative_path)
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


def read_arrow_schema(relative_path: str) -> pa.Schema:
    """The schema of an Arrow IPC file, from its footer only (no record batch is read)."""
    import pyarrow as pa

    path = resolve(relative_path)
    if not path.is_file():
        raise errors.NotFound(f"Arrow file {path} does not exist")
    try:
        with pa.memory_map(str(path), "r") as source:
            return pa.ipc.open_file(source).schema
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as exc:
        raise errors.FileIntegrityError(f"{path} is not a readable Arrow IPC file: {exc}") from exc


# -- joblib (checksummed) ----------------------------------------------------------------------


def dump_joblib(relative_path: str, obj: Any) -> str:
    """Write ``obj`` with joblib, atomically; returns the file's sha256 (record it in the row)."""
    import joblib

    with atomic_writer(relative_path) as handle:
        joblib.dump(obj, handle)
    return sha256_file(resolve(relative_path))


def load_joblib(relative_path: str, expected_sha256: str | None) -> Any:
    """Load a joblib file written by the store, only if its sha256 matches ``expected_sha256``.

    Unpickling runs code, so a file whose checksum is unknown or different is refused
    with :class:`FileIntegrityError` before a byte of it is unpickled.
    """
    path = resolve(relative_path)
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


def save_joblib_staged(
    final: str,
    obj: Any,
    *,
    committed: str | None,
    what: str,
    repoint: Callable[[str, str], bool],
) -> tuple[str, str]:
    """Write ``obj`` for a row whose joblib file is ``final``, never over bytes a committed row names.

    Overwriting the committed file inside the transaction would leave, after a crash
    before COMMIT, the row's recorded sha256 naming bytes that are gone: the file would be
    refused forever. So, inside the caller's write transaction:

    * if the row (``committed``: the path it records now) names ``final``, ``obj`` goes to
      a unique sibling (``model.joblib`` -> ``model.<32 hex>.joblib``); otherwise to ``final``;
    * the new file is removed if the transaction rolls back; the row's previous file (if
      not ``final``) and staged siblings a crash left behind are deleted once it commits;
    * after COMMIT a second transaction promotes a staged file (:func:`promote_staged`):
      ``repoint(staged, final)`` — the caller's row-specific part — locks the row and, only
      if it still names ``staged``, points it at ``final`` and returns True; the file is
      then linked over ``final`` and the staged name deleted once that commits.

    Returns ``(path, sha256)``, which the caller records in the row in this transaction.
    A crash at any moment leaves the row naming a file whose checksum matches (the new
    one or the old one); a promotion cut short leaves the staged name, which the next save
    supersedes. An object joblib cannot pickle is a ValidationError naming ``what``
    (e.g. ``"run 3: the model (SVC)"``); nothing is left on disk.
    """
    store = current()
    folder, _, name = final.rpartition("/")
    stem, dot, suffix = name.partition(".")
    replacing = committed == final
    relative = f"{folder}/{stem}.{uuid.uuid4().hex}{dot}{suffix}" if replacing else final
    discard_on_rollback(relative)  # no committed row refers to it yet
    try:
        digest = dump_joblib(relative, obj)
    except errors.StoreError:
        raise
    except Exception as exc:  # pickling fails with whatever the object's __reduce__ raises
        raise errors.ValidationError(
            f"{what} cannot be saved with joblib: {type(exc).__name__}: {exc}"
        ) from exc
    stale = [committed] if committed and committed not in (final, relative) else []
    # Staged files a crash left behind: no row names them (the caller holds the row's lock).
    where = resolve(folder)
    if where.is_dir():
        for path in where.glob(f"{stem}.*{dot}{suffix}"):
            middle = path.name[len(stem) + 1 : len(path.name) - len(dot + suffix)]
            if len(middle) == 32 and all(c in "0123456789abcdef" for c in middle):
                stale.append(f"{folder}/{path.name}")
    delete_after_commit(*(p for p in stale if p != relative))
    if replacing:

        def promote() -> None:
            promote_staged(relative, final, repoint)

        store.after_commit(promote)
    return relative, digest


def promote_staged(staged: str, final: str, repoint: Callable[[str, str], bool]) -> bool:
    """Give a committed, staged file its final name (see :func:`save_joblib_staged`).

    One write transaction: ``repoint(staged, final)`` checks and moves the row; only then
    is ``staged`` linked over ``final`` (the staged name stays valid until COMMIT) and
    scheduled for deletion. Returns whether it was promoted; a row deleted or replaced
    meanwhile (its new owner owns the files) or a failure leaves everything as it was,
    the row still naming a whole file.
    """
    from .database import run_in_transaction

    def promote() -> bool:
        if not repoint(staged, final):
            return False
        link_atomic(staged, final)  # raising here rolls the repointing back
        delete_after_commit(staged)
        return True

    try:
        return run_in_transaction(promote)
    except errors.StoreError:
        return False


# -- JSON and Plotly -------------------------------------------------------------------------------


def write_json(relative_path: str, value: Any) -> Path:
    data = json.dumps(value, ensure_ascii=False, allow_nan=True).encode()
    return write_bytes(relative_path, data)


def read_json(relative_path: str) -> Any:
    raw = read_bytes(relative_path)
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise errors.FileIntegrityError(f"{resolve(relative_path)} is not valid JSON: {exc}") from exc


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


def write_figure(relative_path: str, figure: Any) -> Path:
    """Store a Plotly figure as JSON; plotly itself is not needed to write or read the JSON."""
    return write_bytes(relative_path, figure_json(figure).encode())


def read_figure(relative_path: str, as_figure: bool = True) -> Any:
    """A stored figure: a ``plotly.graph_objects.Figure`` (imports plotly) or its JSON dict."""
    value = read_json(relative_path)
    if not as_figure:
        return value
    import plotly.io as pio

    try:
        return pio.from_json(json.dumps(value))
    except Exception as exc:  # plotly validates the whole figure
        raise errors.FileIntegrityError(f"{resolve(relative_path)} is not a Plotly figure: {exc}") from exc


# -- deletion after commit ---------------------------------------------------------------------------


def delete_after_commit(*relative_paths: str | None) -> None:
    """Delete these files or folders once the current write transaction commits.

    Must be called inside a write transaction (a facade function decorated with
    ``@writes``). The deletion is recorded in that transaction, so a crash between COMMIT
    and the unlink leaves a record that :func:`finish_pending_deletions` completes.
    """
    from .models import PendingDeletion

    store = current()
    paths = sorted({relative(p) for p in relative_paths if p})
    if not paths:
        return
    now = utcnow()
    PendingDeletion.insert_many([{"path": p, "created": now} for p in paths]).on_conflict_ignore().execute()
    store.after_commit(lambda: _delete_now(paths))


def discard_on_rollback(*relative_paths: str) -> None:
    """Delete these files or folders if the current write transaction (or savepoint) rolls back.

    For files written for a row the same transaction inserts: if the row never commits,
    no row would own them. Only name paths that no committed row owns.
    """
    targets = [resolve(p) for p in relative_paths]

    def discard() -> None:
        for target in targets:
            try:
                _remove(target)
            except OSError:
                continue  # no row refers to it; maintenance.gc() removes what is left

    current().on_rollback(discard)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=False)
    else:
        path.unlink(missing_ok=True)


TRASH = ".trash"
_janitor_lock = threading.Lock()
_janitors: dict[Path, threading.Thread] = {}


def _move_to_trash(path: Path) -> None:
    """Take ``path`` out of the layout at once; its bytes are freed by a background thread.

    A rename is O(1) whatever the size, while unlinking a large file is not (about 5 ms
    for 30 MB on ext4): deleting a notebook's snapshots on revert must not cost time in
    proportion to the data. Whatever a crash leaves in ``.trash`` is emptied at the next
    open; nothing in the trash is referenced by a row.
    """
    trash = home() / TRASH
    trash.mkdir(exist_ok=True)
    try:
        os.replace(path, trash / uuid.uuid4().hex)
    except OSError as exc:
        if exc.errno != errno.EXDEV:  # another filesystem mounted inside the home: delete in place
            raise
        _remove(path)
        return
    empty_trash_soon(trash)


def empty_trash_soon(trash: Path) -> None:
    """Make sure a background thread is emptying ``trash``."""
    with _janitor_lock:
        running = _janitors.get(trash)
        if running is not None and running.is_alive():
            return
        thread = threading.Thread(target=_empty, args=(trash,), name="dashai-store-trash", daemon=True)
        _janitors[trash] = thread
        thread.start()


def _empty(trash: Path) -> None:
    while True:
        try:
            entries = list(trash.iterdir())
        except FileNotFoundError:
            entries = []
        if not entries:
            with _janitor_lock:  # re-checked under the lock empty_trash_soon takes
                if not trash.exists() or not any(trash.iterdir()):
                    _janitors.pop(trash, None)
                    return
            continue
        for entry in entries:
            try:
                _remove(entry)
            except OSError:
                return  # e.g. a file still mapped on Windows: the next open tries again


def wait_for_trash(home_path: Path, timeout_s: float = 60.0) -> None:
    """Block until the background emptying of ``home_path``'s trash is done (Store.close)."""
    with _janitor_lock:
        thread = _janitors.get(home_path / TRASH)
    if thread is not None:
        thread.join(timeout_s)


def _delete_now(paths: list[str]) -> None:
    from .database import run_in_transaction
    from .models import PendingDeletion

    done = []
    for rel in paths:
        try:
            target = resolve(rel)
            if target.exists() or target.is_symlink():
                _move_to_trash(target)
            done.append(rel)
        except FileNotFoundError:
            done.append(rel)
        except OSError:
            continue  # left recorded; retried at the next open or by maintenance.gc()
    if done:
        run_in_transaction(lambda: PendingDeletion.delete().where(PendingDeletion.path.in_(done)).execute())


def pending_deletions() -> list[str]:
    from .models import PendingDeletion

    return [row.path for row in PendingDeletion.select(PendingDeletion.path).order_by(PendingDeletion.id)]


def finish_pending_deletions() -> int:
    """Carry out deletions a crash interrupted; returns how many were recorded.

    A recorded path that a row refers to again (a run retrained into ``runs/<id>/`` after
    its reset's deletion failed) is kept and its record dropped: deleting it would destroy
    the new files.
    """
    from .cascade import referenced_paths, still_referenced
    from .database import run_in_transaction
    from .models import PendingDeletion

    trash = home() / TRASH
    if trash.is_dir():
        empty_trash_soon(trash)
    paths = pending_deletions()
    if not paths:
        return 0
    refs = referenced_paths()
    kept = [p for p in paths if still_referenced(p, refs)]
    if kept:
        run_in_transaction(lambda: PendingDeletion.delete().where(PendingDeletion.path.in_(kept)).execute())
    _delete_now([p for p in paths if p not in kept])
    return len(paths)
