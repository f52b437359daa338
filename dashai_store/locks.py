"""Inter-process locks: a file lock beside a SQLite database, an advisory lock on PostgreSQL."""

from __future__ import annotations

import os
import sys
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import peewee

from . import errors

POLL_S = 0.05


def _try_lock(fd: int, shared: bool = False) -> bool:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt  # no shared locks: shared holders take turns, which is still correct

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(fd: int) -> None:
    if sys.platform == "win32":  # pragma: no cover
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


@contextmanager
def file_lock(path: Path, timeout_s: float, purpose: str) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if needed); wait at most ``timeout_s``.

    The holder writes its pid into the file so that the timeout message can name it.
    The lock dies with its process, so a killed migration never leaves a stale lock.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout_s
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                raise errors.MigrationLockTimeout(
                    f"another process (pid {holder}) has held the {purpose} lock {path} for more "
                    f"than {timeout_s:g} s; is another DashAI instance running?"
                )
            time.sleep(POLL_S)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            yield
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


@contextmanager
def held(path: Path, *, shared: bool, timeout_s: float | None) -> Iterator[bool]:
    """Hold a shared or exclusive lock on ``path`` (created if needed); yields whether it is held.

    ``timeout_s=None`` waits as long as it takes; otherwise, after ``timeout_s`` (0: one
    try) the block runs without the lock and gets False. Like :func:`file_lock`, the lock
    dies with its process. Used for the home's file lock (see ``files.hold``) and the
    running-backup lock, where many holders share and one excludes them all.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        locked = _try_lock(fd, shared)
        while not locked and (deadline is None or time.monotonic() < deadline):
            time.sleep(POLL_S / 5)
            locked = _try_lock(fd, shared)
        try:
            yield locked
        finally:
            if locked:
                _unlock(fd)
    finally:
        os.close(fd)


def advisory_key(db: peewee.Database, purpose: str) -> int:
    row = db.execute_sql("SELECT current_database(), current_schema()").fetchone()
    digest = zlib.crc32(f"dashai_store:{purpose}:{row[0]}:{row[1]}".encode())
    return digest - (1 << 31)  # into the signed 32-bit range of pg_advisory_lock(int)


@contextmanager
def advisory_lock(db: peewee.Database, timeout_s: float, purpose: str) -> Iterator[None]:
    """A PostgreSQL session-level advisory lock for this database and schema."""
    key = advisory_key(db, purpose)
    deadline = time.monotonic() + timeout_s
    while not db.execute_sql("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
        if time.monotonic() >= deadline:
            raise errors.MigrationLockTimeout(
                f"another session has held the PostgreSQL {purpose} lock (key {key}) for more "
                f"than {timeout_s:g} s"
            )
        time.sleep(POLL_S)
    try:
        yield
    finally:
        db.execute_sql("SELECT pg_advisory_unlock(%s)", (key,))
