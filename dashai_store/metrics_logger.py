"""A buffered metric logger for training loops: ``metrics.logger(run_id)``.

``log`` checks a point exactly as :func:`dashai_store.metrics.log` does (a bad point raises
at the call) and appends it to memory; a background thread writes the points through the
bulk path (:func:`dashai_store.metrics.log_many`, one transaction per batch) every
``flush_every_s`` seconds or as soon as ``max_points`` are waiting::

    with metrics.logger(run.id) as log:
        for step, loss in enumerate(losses):
            log.log("loss", loss, split="TRAIN", level="STEP", step=step)
        log.flush()  # on demand: returns once every point logged so far is committed
    # the block's exit has written everything

Guarantees:

* **Flushes.** :meth:`MetricLogger.flush` returns once every point logged before it is
  committed; closing the logger (the block's exit, :meth:`MetricLogger.close`, or closing
  its store) writes everything; ``runs.finish`` and ``runs.fail`` flush the run's live
  loggers before they return (not when called inside a write transaction, whose lock the
  writer thread would wait for).
* **Live charts.** A batch is one transaction of ``log_many``: a ``metrics.since`` reader
  sees a logged point within about one ``flush_every_s`` (default 0.2 s, under DashAI's
  1 s chart tick), ids in logging order, each point once.
* **Replacement.** Logging a (split, level, name, step) again replaces it, and a summary
  level (LAST, LAST_OUTER) keeps one point per (split, level, name), as with ``log``.
* **Timestamps.** A point's timestamp is the time its batch is written (at most about
  ``flush_every_s`` after the ``log`` call), not the time of the call.
* **Memory.** At most ``max_pending`` points wait in memory (plus the batch being
  written); ``log`` blocks while the writer catches up (back-pressure).
* **Failures.** A write that fails in the thread is never swallowed: the logger stops,
  and the next ``log``, ``flush`` or the exit raises that error (the typed store error:
  :class:`~dashai_store.errors.NotFound` if the run was deleted meanwhile), and so does
  every later call. Points not yet written then are not written.
* **Crashes.** A killed process loses at most the points logged since the last
  completed flush; a batch is committed whole or not at all, never twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, TypeVar
from weakref import WeakSet

from . import errors
from .database import Store, current, in_transaction, pinned

#: Default interval between writes, well under DashAI's 1 s live-chart tick.
DEFAULT_FLUSH_EVERY_S = 0.2
#: Default batch size that triggers a write before the interval is up.
DEFAULT_MAX_POINTS = 10_000
#: Default cap on the points waiting in memory; ``log`` blocks beyond it.
DEFAULT_MAX_PENDING = 100_000

Point = TypeVar("Point")


class MetricLogger(Generic[Point]):
    """Made by :func:`dashai_store.metrics.logger`; see the module docstring."""

    def __init__(
        self,
        store: Store,
        run_id: int,
        check: Callable[[Any, Any, Any, Any, Any], Point],
        write: Callable[[list[Point]], None],
        *,
        flush_every_s: float,
        max_points: int,
        max_pending: int,
    ) -> None:
        if (
            isinstance(flush_every_s, bool)
            or not isinstance(flush_every_s, (int, float))
            or not (0 < flush_every_s <= 3600)
        ):
            raise errors.ValidationError(
                f"flush_every_s must be a number of seconds in (0, 3600], got {flush_every_s!r}"
            )
        for label, number in (("max_points", max_points), ("max_pending", max_pending)):
            if isinstance(number, bool) or not isinstance(number, int) or number < 1:
                raise errors.ValidationError(f"{label} must be a positive int, got {number!r}")
        if max_points > max_pending:
            raise errors.ValidationError(
                f"max_points ({max_points}) must not exceed max_pending ({max_pending})"
            )
        self.run_id = run_id
        self._store = store
        self._check = check
        self._write = write
        self._every = float(flush_every_s)
        self._max_points = max_points
        self._max_pending = max_pending
        self._cond = threading.Condition()
        self._pending: list[Point] = []
        self._logged = 0  # points appended so far
        self._taken = 0  # points handed to the writer
        self._written = 0  # points committed
        self._wanted = 0  # a flush wants every point up to here taken now
        self._error: BaseException | None = None
        self._closing = False
        self._thread = threading.Thread(
            target=self._run, name=f"dashai-metrics-logger-run-{run_id}", daemon=True
        )
        _register(self)
        self._thread.start()

    # -- the caller's side ---------------------------------------------------------------------

    def log(self, name: str, value: float, *, split: Any, level: Any, step: int) -> None:
        """Check one point (as ``metrics.log`` does) and append it; O(1), no database work.

        Blocks while ``max_pending`` points are waiting. Raises ValidationError for a bad
        point (nothing appended), and the writer's error once a write has failed.
        """
        point = self._check(name, value, split, level, step)
        with self._cond:
            if self._error is not None or self._closing:
                self._raise_stopped()
            pending = self._pending
            while len(pending) >= self._max_pending:  # back-pressure: wait for the writer
                self._cond.notify_all()
                self._cond.wait()
                if self._error is not None or self._closing:
                    self._raise_stopped()
                pending = self._pending
            pending.append(point)
            self._logged += 1
            if len(pending) == self._max_points:
                self._cond.notify_all()

    def flush(self) -> None:
        """Return once every point logged so far is committed; raises the writer's error."""
        if not self._wait_written():
            self._raise_stopped()

    def close(self) -> None:
        """Write everything and stop the thread; raises the writer's error, if any.

        Closing again is a no-op (apart from raising a failure again).
        """
        self._stop()
        if self._error is not None:
            raise self._error

    def __enter__(self) -> MetricLogger[Point]:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop()
        if self._error is None:
            return
        if exc is None:
            raise self._error
        if exc is not self._error:  # the block's own error wins; the writer's is noted on it
            exc.add_note(f"the metrics logger of run {self.run_id} failed too: {self._error!r}")

    @property
    def points_written(self) -> int:
        """How many logged points are committed so far."""
        with self._cond:
            return self._written

    # -- internals ------------------------------------------------------------------------------

    def _raise_stopped(self) -> None:
        if self._error is not None:
            raise self._error
        raise errors.StoreError(f"the metrics logger of run {self.run_id} is closed")

    def _wait_written(self) -> bool:
        """Wait until the points logged so far are committed; False if the writer failed."""
        if threading.current_thread() is self._thread:
            return True
        with self._cond:
            target = self._logged
            self._wanted = max(self._wanted, target)
            self._cond.notify_all()
            while self._written < target and self._error is None and self._thread.is_alive():
                self._cond.wait(0.5)
            return self._error is None

    def _stop(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join()
        _unregister(self)

    def _run(self) -> None:
        with pinned(self._store):
            next_write = time.monotonic() + self._every
            while True:
                with self._cond:
                    while not (
                        self._closing or len(self._pending) >= self._max_points or self._wanted > self._taken
                    ):
                        remaining = next_write - time.monotonic()
                        if remaining <= 0:
                            break
                        self._cond.wait(remaining)
                    batch, self._pending = self._pending, []
                    self._taken += len(batch)
                    closing = self._closing
                    self._cond.notify_all()  # wakes a log() held by back-pressure
                next_write = time.monotonic() + self._every
                if batch:
                    try:
                        self._write(batch)
                    except BaseException as exc:
                        with self._cond:
                            lost = self._logged - self._written
                            exc.add_note(
                                f"the metrics logger of run {self.run_id} stopped: "
                                f"{lost} logged point(s) were not written"
                            )
                            self._error = exc
                            self._pending = []
                            self._cond.notify_all()
                        return
                    with self._cond:
                        self._written += len(batch)
                        self._cond.notify_all()
                elif closing:
                    return


# -- live loggers by (store, run): runs.finish/fail and closing a store flush them ---------------

_live: dict[tuple[Store, int], list[MetricLogger[Any]]] = {}
_live_lock = threading.Lock()
_hooked: WeakSet[Store] = WeakSet()


def _register(logger: MetricLogger[Any]) -> None:
    store = logger._store
    with _live_lock:
        _live.setdefault((store, logger.run_id), []).append(logger)
        hook = store not in _hooked
        _hooked.add(store)
    if hook:
        store.on_close(lambda: _close_all(store))


def _unregister(logger: MetricLogger[Any]) -> None:
    key = (logger._store, logger.run_id)
    with _live_lock:
        loggers = _live.get(key, [])
        if logger in loggers:
            loggers.remove(logger)
        if not loggers:
            _live.pop(key, None)


def _close_all(store: Store) -> None:
    with _live_lock:
        loggers = [logger for (owner, _), group in _live.items() if owner is store for logger in group]
    for logger in loggers:
        logger._stop()  # a failure stays with the logger, raised at its next call


def flush_run(run_id: int) -> None:
    """Flush the current store's live loggers of ``run_id`` (``runs.finish``/``fail`` call it).

    Never raises the loggers' errors (those are raised to their own callers). Skipped
    inside a write transaction: the writer thread would wait for its lock.
    """
    store = current()
    with _live_lock:
        loggers = list(_live.get((store, run_id), ()))
    if not loggers or in_transaction():
        return
    for logger in loggers:
        logger._wait_written()
