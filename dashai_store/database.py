"""Connections, the database proxy every model is bound to, and write transactions.

This is the one place that knows how a connection is configured and how a write
transaction is entered, retried and finished:

* SQLite: WAL, ``synchronous=NORMAL``, ``foreign_keys=ON`` and a busy timeout on every
  connection; writes take the lock up front (``BEGIN IMMEDIATE``) so that a reader that
  becomes a writer never dead-ends in "database is locked"; a busy database is retried a
  bounded number of times with jitter, then :class:`~dashai_store.errors.StoreBusy`.
* PostgreSQL: opened from a ``postgresql://`` URL; serialization failures and deadlocks
  are retried the same way.

One connection per thread (Peewee's ``thread_safe`` state), so records and the facade
can be used from the app's worker threads.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar
from urllib.parse import parse_qsl, unquote, urlparse

import peewee

from . import errors

if TYPE_CHECKING:  # the store that opens a Store chooses its backend: database sits below them
    from .backends import Backend

database_proxy = peewee.DatabaseProxy()

DEFAULT_HOME = "~/.DashAI"
DB_FILENAME = "db.sqlite"
BUSY_TIMEOUT_S = 5.0
WRITE_ATTEMPTS = 4

P = ParamSpec("P")
T = TypeVar("T")


def resolve_home(home: str | os.PathLike[str] | None = None) -> Path:
    """The store home: ``home`` if given, else ``$DASHAI_HOME``, else ``~/.DashAI``."""
    raw = os.fspath(home) if home is not None else os.environ.get("DASHAI_HOME") or DEFAULT_HOME
    return Path(raw).expanduser().resolve()


def sqlite_pragmas(busy_timeout_s: float) -> list[tuple[str, Any]]:
    return [
        ("journal_mode", "wal"),
        ("synchronous", "normal"),
        ("foreign_keys", 1),
        ("busy_timeout", int(busy_timeout_s * 1000)),
    ]


def connect_sqlite(path: Path, busy_timeout_s: float = BUSY_TIMEOUT_S) -> peewee.SqliteDatabase:
    return peewee.SqliteDatabase(
        str(path),
        pragmas=sqlite_pragmas(busy_timeout_s),
        timeout=busy_timeout_s,
        lock_type="IMMEDIATE",
        autoconnect=True,
        thread_safe=True,
    )


def connect_postgres(url: str) -> peewee.PostgresqlDatabase:
    """A PostgreSQL database from ``postgresql://user:pw@host:port/dbname?option=value``.

    Query parameters are passed to the driver (``options=-csearch_path=...`` selects a
    schema, which is how the test suite isolates each test).
    """
    parsed = urlparse(url)
    if parsed.scheme not in ("postgres", "postgresql"):
        raise errors.ValidationError(f"not a PostgreSQL URL: {redact(url)}")
    dbname = unquote(parsed.path.lstrip("/"))
    if not dbname:
        raise errors.ValidationError(f"the PostgreSQL URL names no database: {redact(url)}")
    params: dict[str, Any] = dict(parse_qsl(parsed.query))
    if parsed.username:
        params["user"] = unquote(parsed.username)
    if parsed.password:
        params["password"] = unquote(parsed.password)
    if parsed.hostname:
        params["host"] = parsed.hostname
    if parsed.port:
        params["port"] = parsed.port
    return peewee.PostgresqlDatabase(dbname, autoconnect=True, thread_safe=True, **params)


def open_target(home: str | os.PathLike[str] | None, database: str | None) -> tuple[Path, peewee.Database]:
    """The resolved home and an unbound database: ``database`` (a ``postgresql://`` URL)
    if given, else ``<home>/db.sqlite``. Nothing is created or connected yet."""
    home_path = resolve_home(home)
    if database:
        return home_path, connect_postgres(database)
    return home_path, connect_sqlite(home_path / DB_FILENAME)


def redact(url: str) -> str:
    """The URL with its password replaced, for messages and logs."""
    parsed = urlparse(url)
    if parsed.password:
        netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@")
        return parsed._replace(netloc=netloc).geturl()
    return url


# -- the open store ---------------------------------------------------------------------


@dataclass(eq=False)
class Store:
    """An open store: its home folder, its database and that database's backend.

    Made by :func:`dashai_store.open_store`; the facade functions act on the current one
    (the innermost store still open).
    ``dialect`` (chosen once when the store connects, the migrator's own) is where every
    SQLite/PostgreSQL difference lives.
    """

    home: Path
    db: peewee.Database
    url: str
    dialect: Backend = field(repr=False)
    attempts: int = WRITE_ATTEMPTS
    _local: threading.local = field(default_factory=threading.local, repr=False)
    _close_hooks: list[Callable[[], None]] = field(default_factory=list, repr=False)

    @property
    def backend(self) -> str:
        """The backend's name: ``"sqlite"`` or ``"postgresql"``."""
        return self.dialect.name

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the current write transaction commits (dropped on rollback)."""
        pending = getattr(self._local, "after_commit", None)
        if pending is None:
            raise errors.StoreError("after_commit() called outside a write transaction")
        pending.append(callback)

    def on_rollback(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` if the current transaction (or savepoint) rolls back; dropped on commit.

        For undoing work outside the database, e.g. a file written for a row that never
        commits. Callbacks run newest first, best effort (their errors are swallowed).
        """
        pending = getattr(self._local, "on_rollback", None)
        if pending is None:
            raise errors.StoreError("on_rollback() called outside a write transaction")
        pending.append(callback)

    def on_disk_full(self, callback: Callable[[], None]) -> None:
        """If the current write transaction fails on a full disk, run ``callback`` (after the
        rollback) and run the transaction once more.

        For freeing space that the transaction would free anyway once committed (a deletion's
        files), so a user can free space through the app on a full disk.
        """
        pending = getattr(self._local, "on_disk_full", None)
        if pending is None:
            raise errors.StoreError("on_disk_full() called outside a write transaction")
        pending.append(callback)

    def on_close(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` when the store closes, before its connection does (in order added).

        How layers above this module (the file store's trash thread) take part in closing
        without this module importing them.
        """
        self._close_hooks.append(callback)

    def close(self) -> None:
        """Close the connection and unbind this store; an outer store becomes current again."""
        for hook in self._close_hooks:
            hook()
        unbind(self)
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# The open stores, innermost last: the facade acts on the top one. Opening a store while
# another is bound stacks it (``with open_store(A): with open_store(B): ...``); closing the
# inner one makes the outer one current again, and closing a store that is not on top
# (two handles on one home, closed out of order) leaves the top one bound.
_bound: list[Store] = []
_bound_lock = threading.Lock()


def bind(store: Store) -> None:
    """Make ``store`` the one the facade acts on, above any store already bound."""
    with _bound_lock:
        _bound.append(store)
        database_proxy.initialize(store.db)


def unbind(store: Store) -> None:
    """Take ``store`` off the stack of bound stores (a no-op if it is not on it)."""
    with _bound_lock:
        for index in range(len(_bound) - 1, -1, -1):
            if _bound[index] is store:
                del _bound[index]
                break
        else:
            return
        database_proxy.initialize(_bound[-1].db if _bound else None)


def bound_stores() -> tuple[Store, ...]:
    """The bound stores, outermost first (for messages and tests)."""
    with _bound_lock:
        return tuple(_bound)


class _Pinned(threading.local):
    store: Store | None = None


# A thread may act on one given store whatever the stack holds (a background writer that
# must keep writing to the store it was started on): see :func:`pinned`.
_pinned = _Pinned()


@contextmanager
def pinned(store: Store) -> Iterator[None]:
    """Within the block, :func:`current` in this thread is ``store`` (other threads unaffected)."""
    previous = _pinned.store
    _pinned.store = store
    try:
        yield
    finally:
        _pinned.store = previous


def current() -> Store:
    pinned_store = _pinned.store
    if pinned_store is not None:
        return pinned_store
    bound = _bound
    if not bound:
        raise errors.StoreNotOpen("no store is open: call dashai_store.open_store(home) first")
    try:
        return bound[-1]
    except IndexError:  # the last store was closed by another thread meanwhile
        raise errors.StoreNotOpen("no store is open: call dashai_store.open_store(home) first") from None


# -- error translation and write transactions ---------------------------------------------

_BUSY_MESSAGES = ("database is locked", "database table is locked", "database is busy")
_PG_RETRY_CODES = ("40001", "40P01", "55P03")


def is_busy(exc: BaseException) -> bool:
    text = str(exc).lower()
    if any(message in text for message in _BUSY_MESSAGES):
        return True
    code = getattr(getattr(exc, "orig", None) or exc.__cause__, "pgcode", None)
    return code in _PG_RETRY_CODES


_FULL_MESSAGES = ("database or disk is full", "no space left on device")
_PG_DISK_FULL = "53100"


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (a driver error or its translation) says the disk is full."""
    text = str(exc).lower()
    if any(message in text for message in _FULL_MESSAGES):
        return True
    code = getattr(getattr(exc, "orig", None) or exc.__cause__, "pgcode", None)
    return code == _PG_DISK_FULL


def translate(exc: BaseException) -> errors.StoreError:
    """Map a driver or Peewee exception to the store's hierarchy."""
    if isinstance(exc, errors.StoreError):
        return exc
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, peewee.IntegrityError):
        lowered = text.lower()
        if "unique" in lowered or "duplicate key" in lowered:
            return errors.AlreadyExists(text)
        return errors.IntegrityError(text)
    if is_busy(exc):
        return errors.StoreBusy(f"the database stayed locked: {text}")
    if isinstance(exc, peewee.InterfaceError) and "closed" in text.lower():
        return errors.StoreNotOpen(text)
    # An I/O error, a full disk or a corrupt file: say which database, the user must find it.
    store = _bound[-1] if _bound else None
    return errors.DatabaseError(f"{text} (database {store.url})" if store is not None else text)


# sqlite3.Error: what a fetch raises outside Peewee's own wrapper (a row stepped by fetchall).
_DRIVER_ERRORS: tuple[type[BaseException], ...] = (
    peewee.PeeweeException,
    peewee.DatabaseError,
    sqlite3.Error,
)

# -- text edited by hand into something that is not UTF-8 ---------------------------------------
#
# SQLite stores whatever bytes a hand edit puts in a TEXT column; Python's driver refuses to
# decode a value that is not UTF-8 and fails the whole fetch, so one such value would make
# every listing of its table, its deletion and ``check`` fail. Decoding every text value in
# Python instead would halve the speed of every text-heavy read, so a connection switches to
# the lenient decoder the first time it meets such a value, and the read runs again: the
# value then reads back as :class:`~dashai_store.decoding.Unreadable` (the text, marked), as
# any other hand-edited value does, and ``check`` lists the row.

_NOT_UTF8 = "Could not decode to UTF-8"


def lenient_text(raw: bytes) -> str:
    """SQLite text as ``str``; bytes that are not UTF-8 as an Unreadable (see above)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        from .decoding import Unreadable

        return Unreadable(raw, "text that is not UTF-8 (edited by hand)")


def read_text_leniently(db: peewee.Database) -> None:
    """Make this thread's connection of ``db`` (SQLite) decode text with :func:`lenient_text`."""
    if isinstance(db, peewee.SqliteDatabase):
        db.connection().text_factory = lenient_text


@contextmanager
def text_read_leniently(db: peewee.Database) -> Iterator[None]:
    """:func:`read_text_leniently` for a block only (``check``'s scan), then as before."""
    if not isinstance(db, peewee.SqliteDatabase):
        yield
        return
    connection = db.connection()
    before = connection.text_factory
    connection.text_factory = lenient_text
    try:
        yield
    finally:
        connection.text_factory = before


def _met_text_not_utf8(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it translates) is SQLite failing on non-UTF-8 text; if so,
    the current store's connection now reads such text leniently (run the read again)."""
    cause: BaseException | None = exc
    while cause is not None and _NOT_UTF8 not in str(cause):
        cause = cause.__cause__
    store = _bound[-1] if _bound else None
    if cause is None or store is None or not isinstance(store.db, peewee.SqliteDatabase):
        return False
    if store.db.connection().text_factory is lenient_text:
        return False  # already lenient: not the cause, do not loop
    read_text_leniently(store.db)
    return True


@contextmanager
def translated() -> Iterator[None]:
    """Re-raise any driver exception as a :class:`~dashai_store.errors.StoreError`."""
    try:
        yield
    except errors.StoreError:
        raise
    except _DRIVER_ERRORS as exc:
        if "no transaction is active" in str(exc):
            # SQLite already rolled back (e.g. on a full disk); the failed ROLLBACK would hide why.
            cause = exc.__context__
            while cause is not None and (
                not isinstance(cause, _DRIVER_ERRORS) or "no transaction is active" in str(cause)
            ):
                cause = cause.__context__
            if cause is not None:
                raise translate(cause) from cause
        raise translate(exc) from exc
    except (OverflowError, UnicodeEncodeError) as exc:
        # The drivers refuse to bind an int beyond 64 bits or text with lone surrogates
        # with these instead of a DB-API error; the value can never be stored or match.
        raise errors.ValidationError(f"a value cannot be stored in the database: {exc}") from exc
    except RecursionError as exc:  # a JSON argument nested deeper than Python can encode
        raise errors.ValidationError(f"a value is nested too deeply to be stored: {exc}") from exc
    except ValueError as exc:
        if "NUL (0x00)" not in str(exc):  # psycopg2's refusal of text with a NUL character
            raise
        raise errors.ValidationError(f"a text value contains a NUL character: {exc}") from exc


def _in_transaction(store: Store) -> bool:
    return getattr(store._local, "after_commit", None) is not None


def in_transaction() -> bool:
    """Whether this thread is inside a write transaction of the current store.

    A write made now joins that transaction and becomes durable only when it commits.
    """
    return _in_transaction(current())


def _undo(callbacks: list[Callable[[], None]]) -> None:
    for callback in reversed(callbacks):
        try:
            callback()
        except Exception:  # best effort: the rollback's own error is the one to report
            pass


def _run_savepoint(store: Store, fn: Callable[[], T]) -> T:
    """A nested call: a savepoint whose rollback also drops what it registered.

    Without this, a caught failure inside the savepoint would still delete (after the
    outer COMMIT) the files of rows its rollback restored.
    """
    commit_mark = len(store._local.after_commit)
    rollback_mark = len(store._local.on_rollback)
    try:
        with translated(), store.db.atomic():
            return fn()
    except BaseException:
        del store._local.after_commit[commit_mark:]
        undo = store._local.on_rollback[rollback_mark:]
        del store._local.on_rollback[rollback_mark:]
        _undo(undo)
        raise


def run_in_transaction(fn: Callable[[], T]) -> T:
    """Run ``fn`` in a write transaction of the current store, retrying while it is busy.

    Nested calls join the outer transaction (as a savepoint). After COMMIT, the callbacks
    registered with :meth:`Store.after_commit` run (file deletions). A busy database is
    retried ``store.attempts`` times with jitter, then :class:`StoreBusy` is raised.
    """
    store = current()
    if _in_transaction(store):
        return _run_savepoint(store, fn)
    delay = 0.05
    reclaimed = False  # a full disk gets one more run, after the on_disk_full callbacks
    attempt = 0
    while attempt < store.attempts:
        attempt += 1
        store._local.after_commit = []
        store._local.on_rollback = []
        store._local.on_disk_full = []
        try:
            with translated(), store.db.atomic():
                try:
                    result = fn()
                except BaseException:
                    # Undo before ROLLBACK releases the lock: after it, SQLite may hand a
                    # rolled-back id (and so the paths named by it) to another writer.
                    undo, store._local.on_rollback = store._local.on_rollback, []
                    _undo(undo)
                    raise
            callbacks = store._local.after_commit
        except BaseException as exc:
            _undo(store._local.on_rollback)  # COMMIT itself failed
            if store._local.on_disk_full and not reclaimed and is_disk_full(exc):
                reclaimed = True
                attempt -= 1
                _undo(store._local.on_disk_full)
                continue
            if _met_text_not_utf8(exc):  # rolled back; the next attempt reads it leniently
                attempt -= 1
                continue
            if not isinstance(exc, errors.StoreBusy) or attempt == store.attempts:
                raise
            import random  # on a busy retry only: not worth its import at every start

            time.sleep(delay * (1 + random.random()))
            delay *= 2
            continue
        finally:
            store._local.after_commit = None
            store._local.on_rollback = None
            store._local.on_disk_full = None
        for callback in callbacks:
            callback()
        return result
    raise AssertionError("unreachable")  # pragma: no cover


def writes(fn: Callable[P, T]) -> Callable[P, T]:
    """Decorator: the function is one write transaction (see :func:`run_in_transaction`)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        return run_in_transaction(lambda: fn(*args, **kwargs))

    return wrapper


def reads(fn: Callable[P, T]) -> Callable[P, T]:
    """Decorator: a read-only facade function; driver errors become store errors."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        current()
        try:
            with translated():
                return fn(*args, **kwargs)
        except errors.DatabaseError as exc:
            if not _met_text_not_utf8(exc):
                raise
        with translated():  # once more, reading the hand-edited text as Unreadable
            return fn(*args, **kwargs)

    return wrapper
