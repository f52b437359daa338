"""Metric time series of runs: log points, read them back, tail them live.

A point is (run, split, level, name, step) -> value, with the time it was logged::

    >>> from dashai_store import metrics                                        # doctest: +SKIP
    >>> metrics.log(run.id, "loss", 0.31, split="TRAIN", level="STEP", step=3)   # doctest: +SKIP
    >>> metrics.log_many(run.id, [("loss", "TRAIN", "STEP", s, 0.1 * s) for s in range(10)])  # doctest: +SKIP
    10
    >>> metrics.history_table(run.id, name="loss")  # a pyarrow.Table, the fast path  # doctest: +SKIP
    >>> metrics.latest(run.id)  # {"TEST": {"accuracy": 0.93}, ...}                 # doctest: +SKIP
    >>> points, cursor = metrics.since(run.id, cursor)  # a live chart polls this     # doctest: +SKIP

Rules kept here:

* ``split`` is a :class:`~dashai_store.enums.SplitEnum` member or its name, ``level`` a
  :class:`~dashai_store.enums.LevelEnum` member or its name, ``step`` an int (32-bit:
  PostgreSQL's column is ``integer``), ``value`` a real number (int, float, numpy scalar;
  not bool, not a string). Anything else is a :class:`~dashai_store.errors.ValidationError`
  and the call writes nothing; an unknown run is :class:`~dashai_store.errors.NotFound`.
* NaN, +inf and -inf round-trip exactly on both backends. NaN is stored as NULL (SQLite
  turns a bound NaN into NULL, and PostgreSQL is made to agree so raw SQL sees one
  spelling); reads turn NULL back into NaN. -0.0 round-trips too: SQLite's REAL column
  keeps an integral real as the integer 0 and drops the sign, so there -0.0 is stored as
  its 8 IEEE bytes (a BLOB, ``typeof(value) = 'blob'`` to raw SQL); on PostgreSQL it is a
  plain ``-0``.
* A value edited by hand that cannot be read (text in ``value`` or ``step``, an unknown
  split or level) never breaks a read: :func:`history` and :func:`since` mark it
  (:class:`~dashai_store.decoding.Unreadable`), :func:`history_table` holds NaN or null,
  and ``maintenance.check()`` reports the row.
* Logging the same (run, split, level, name, step) again replaces its value and timestamp
  (``ON CONFLICT ... DO UPDATE``): a retried job does not duplicate points. The point keeps
  its id, so :func:`since` does not report the replacement (history and latest do).
* The summary levels, LAST and LAST_OUTER, hold one point per (run, split, name) whatever
  the step, as DashAI's models upsert them: a new LAST point replaces the stored one's
  value, step and timestamp (a partial unique index, ``metric_summary_key``, keys them).
  It too keeps its id, so :func:`since` does not report it again.
* Timestamps are naive UTC; an aware datetime is converted to UTC.

Performance: the hot paths go below the ORM, inside the store's own
write transaction and error translation. :func:`log_many` checks each chunk column-wise
with C-level builtins (``set``/``map``/``min``/``max``); enum members and other real numbers
(numpy floats) are converted a column at a time; a chunk then in the stored form
(5-tuples of str, enum names, int, float) goes to the driver's cursor as it is, with the run
id and default timestamp as SQL literals (multi-row ``INSERT ... VALUES`` statements of 500
rows on SQLite, 2.4x ``executemany``; on PostgreSQL ``COPY``
into a temporary table and one ``INSERT ... SELECT ... ON CONFLICT``, about three times
``execute_values``); anything else is converted point by point. :func:`history_table`
turns the driver's tuples into Arrow struct arrays in C++, never a Peewee model instance;
:func:`since` and :func:`history` build :class:`~dashai_store.records.MetricPoint` tuples
column-wise; :func:`latest` reads only the summary index (``metric_summary_key``).
Measured against raw ``sqlite3`` by ``benchmarks/run.py``.

Live tailing and PostgreSQL: ids come from a sequence, and PostgreSQL hands them out when
a row is inserted, not when its transaction commits. Two transactions logging to one run
could commit out of id order, and a reader that saw only the later one would move its
cursor past the earlier one's ids and miss them forever. Every write here therefore first
takes ``pg_advisory_xact_lock(namespace, run_id)``: writers of one run serialize, each
draws its ids only after the previous one has committed, so a run's ids become visible in
increasing order and ``id > cursor`` misses nothing. (Run ids from different schemas of
one database share the lock space; that only serializes them needlessly.) SQLite has one
writer at a time, so its AUTOINCREMENT ids are committed in order already.
"""

from __future__ import annotations

import builtins
import math
import numbers
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from enum import Enum
from itertools import islice, repeat
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Any

import peewee

from . import errors
from .backends.base import POINT_COLUMNS, POINT_COLUMNS_CODED
from .clock import utcnow
from .database import current, reads, run_in_transaction, translated
from .decoding import Unreadable, decode_enum, decode_int, decode_real
from .enums import SUMMARY_LEVELS, LevelEnum, SplitEnum, coerce
from .metrics_logger import DEFAULT_FLUSH_EVERY_S, DEFAULT_MAX_PENDING, DEFAULT_MAX_POINTS, MetricLogger
from .records import MetricPoint
from .rows import check_id, collector_paused, could_exist, not_found

if TYPE_CHECKING:
    import pyarrow as pa

    from .backends import MetricWriter

__all__ = ["history", "history_table", "latest", "log", "log_many", "logger", "since"]

#: Points validated and written per round trip by :func:`log_many` (memory stays bounded
#: whatever the size of the input; the whole call is still one transaction).
CHUNK_ROWS = 20_000

#: Rows :func:`history_table` converts to Arrow per round (measured: small batches keep the
#: driver's tuples in warm, reused memory; 1,000 beat both 256 and a single fetchall).
FETCH_ROWS = 1_000

#: Fetches per record batch of a :func:`history_table` table: 64,000 rows a chunk keeps
#: the driver's form of one chunk alive at a time, and few chunks for a chart to walk.
CHUNK_FETCHES = 64

STEP_MIN, STEP_MAX = -(2**31), 2**31 - 1
_SPLITS = frozenset(SplitEnum.__members__)
_LEVELS = frozenset(LevelEnum.__members__)

# Peewee's own translation of DB-API exceptions into peewee's classes (which
# database.translated() then maps to the store's); the raw cursor calls below bypass
# execute_sql, so they enter it themselves.
_driver_errors: Any = peewee.__dict__["__exception_wrapper__"]

# A point given to log_many: (name, split, level, step, value[, timestamp]) or a mapping
# with those keys.
Point = Sequence[Any] | Mapping[str, Any]


# -- validation -------------------------------------------------------------------------------


def _check_run_id(run_id: object) -> int:
    checked = check_id(run_id, "run")
    if not could_exist(checked):  # answered here: the write paths below never SELECT the run
        raise not_found("run", checked)
    return checked


def _where(point: int | None) -> str:
    return "" if point is None else f"point {point}: "


def _check_name(name: object, point: int | None = None) -> str:
    if not isinstance(name, str) or not name or "\x00" in name:
        raise errors.ValidationError(
            f"{_where(point)}a metric name must be a non-empty str without NUL, got {name!r}"
        )
    return name


def _check_enum(enum_cls: type[SplitEnum] | type[LevelEnum], value: object, point: int | None = None) -> str:
    try:
        return coerce(enum_cls, value)
    except errors.ValidationError as exc:
        raise errors.ValidationError(f"{_where(point)}{exc}") from None


def _check_step(step: object, point: int | None = None) -> int:
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise errors.ValidationError(f"{_where(point)}a step must be an int, got {step!r}")
    step = int(step)
    if not STEP_MIN <= step <= STEP_MAX:
        raise errors.ValidationError(f"{_where(point)}step {step} is outside the 32-bit integer range")
    return step


def _check_value(value: object, point: int | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise errors.ValidationError(
            f"{_where(point)}a metric value must be a real number, got {type(value).__name__} {value!r}"
        )
    try:
        return float(value)
    except (OverflowError, ValueError, TypeError) as exc:
        raise errors.ValidationError(f"{_where(point)}metric value {value!r} is not a float: {exc}") from None


def _check_timestamp(timestamp: object, point: int | None = None) -> datetime:
    if not isinstance(timestamp, datetime):
        raise errors.ValidationError(
            f"{_where(point)}a timestamp must be a datetime, got {type(timestamp).__name__} {timestamp!r}"
        )
    if timestamp.tzinfo is not None and timestamp.utcoffset() is not None:
        timestamp = timestamp.astimezone(timezone.utc).replace(tzinfo=None)
    return timestamp


def _text_timestamp(timestamp: datetime) -> str:
    # The text Peewee writes to SQLite (datetime.isoformat(" ")), which PostgreSQL's COPY
    # reads too; making it here spares the driver's (deprecated) adapter a call per row.
    return timestamp.isoformat(" ")


def checked_point(
    name: object, value: object, split: object, level: object, step: object
) -> tuple[str, str, str, int, float]:
    """One point checked as :func:`log` checks it, in the stored form :func:`log_many` takes
    fastest: ``(name, split name, level name, step, float value)``.

    Raises ValidationError naming the bad argument.
    """
    if type(name) is not str or not name or "\x00" in name:
        name = _check_name(name)
    split_name = split if type(split) is str and split in _SPLITS else _check_enum(SplitEnum, split)
    level_name = level if type(level) is str and level in _LEVELS else _check_enum(LevelEnum, level)
    if type(step) is not int or not STEP_MIN <= step <= STEP_MAX:
        step = _check_step(step)
    number = value if type(value) is float else _check_value(value)
    return name, split_name, level_name, step, number


# -- the write path -----------------------------------------------------------------------------


def log(
    run_id: int,
    name: str,
    value: float,
    *,
    split: SplitEnum | str,
    level: LevelEnum | str,
    step: int,
    timestamp: datetime | None = None,
) -> None:
    """Log one point; logging the same (split, level, name, step) again replaces its value.

    At the summary levels (LAST, LAST_OUTER) the point replaces the stored one of its
    (split, level, name) whatever its step: one value per name, as DashAI upserts it.

    >>> metrics.log(7, "accuracy", 0.91, split="VALIDATION", level="LAST", step=0)  # doctest: +SKIP
    >>> metrics.log(7, "accuracy", 0.93, split="VALIDATION", level="LAST", step=5)  # doctest: +SKIP
    >>> metrics.latest(7)  # one row, now at step 5                                # doctest: +SKIP
    {'VALIDATION': {'accuracy': 0.93}}

    Raises NotFound for an unknown run and ValidationError for a bad argument (nothing written).
    """
    run_id = _check_run_id(run_id)
    name, split_name, level_name, step, number = checked_point(name, value, split, level, step)
    moment = utcnow() if timestamp is None else _check_timestamp(timestamp)
    store = current()
    backend = store.dialect
    if run_id > backend.max_id:
        raise not_found("run", run_id)
    row = backend.metric_row(run_id, name, number, split_name, level_name, step, moment)

    def write() -> None:
        db = store.db
        try:
            with _driver_errors:
                backend.write_metric_point(db.cursor(), run_id, row)
        except peewee.IntegrityError as exc:
            # The only foreign key of a metric is its run: no SELECT is spent on the happy path.
            if "foreign key" in str(exc).lower():
                raise not_found("run", run_id) from None
            raise

    run_in_transaction(write)


def log_many(run_id: int, points: Iterable[Point], *, timestamp: datetime | None = None) -> int:
    """Log any number of points in one transaction; returns how many were given.

    ``points`` is any iterable (a list, a generator, ...) of any size: it is consumed in
    chunks of :data:`CHUNK_ROWS`, so memory stays bounded, and the whole call commits or
    writes nothing. Each point is either a tuple/list
    ``(name, split, level, step, value)`` or ``(name, split, level, step, value, timestamp)``,
    or a mapping with keys ``name``, ``split``, ``level``, ``step``, ``value`` and optionally
    ``timestamp``. Points without a timestamp (or with ``None``) get ``timestamp``, which
    defaults to now. A point repeated in the input (or already stored) is replaced: the last
    one wins. At the summary levels (LAST, LAST_OUTER) a point repeats when its (split,
    level, name) does, whatever the step.

    >>> metrics.log_many(run.id, [("loss", "TRAIN", "STEP", s, 1 / (s + 1)) for s in range(1000)])
    ... # doctest: +SKIP
    1000

    Raises NotFound for an unknown run, ValidationError naming the first bad point (its
    position in the input); nothing is written either way. A one-shot iterator (a
    generator) cannot be replayed: if the database stays busy after it has been partly
    consumed, StoreBusy is raised rather than writing a partial series.
    """
    run_id = _check_run_id(run_id)
    if isinstance(points, (str, bytes, Mapping)) or not isinstance(points, Iterable):
        raise errors.ValidationError(
            f"points must be an iterable of tuples or mappings, got {type(points).__name__}"
        )
    default = utcnow() if timestamp is None else _check_timestamp(timestamp)
    store = current()
    one_shot = iter(points) is points
    attempts = [0]
    stamp = _text_timestamp(default)

    def write() -> int:
        attempts[0] += 1
        if attempts[0] > 1 and one_shot:
            raise errors.StoreBusy(
                f"the database was busy while logging to run {run_id}, and the points came from a "
                "one-shot iterator that cannot be replayed; nothing was written"
            )
        db = store.db
        with _driver_errors:
            cursor = db.cursor()
            cursor.execute(f"SELECT 1 FROM run WHERE id = {db.param}", (run_id,))
            if cursor.fetchone() is None:
                raise not_found("run", run_id)
            writer = store.dialect.metric_writer(cursor, run_id, stamp)
        total = 0
        for chunk in _chunks(points):
            plain = _plain(chunk)
            with _driver_errors:
                if plain is not None:
                    _write(writer, plain, timestamped=False)
                else:
                    _write(writer, _normalized(chunk, total, stamp), timestamped=True)
            total += len(chunk)
        return total

    return run_in_transaction(write)


def _write(writer: MetricWriter, rows: Sequence[Sequence[Any]], *, timestamped: bool) -> None:
    """Hand validated rows to the writer; summary-level rows (LAST, LAST_OUTER) apart.

    A chunk without summary points (the bulk of a series) goes as it is: one C-level pass
    over its levels is all this costs. Summary points are upserted on their own key.
    """
    if _SUMMARY.isdisjoint(map(_LEVEL, rows)):
        writer.write(rows, timestamped)
        return
    summary = [row for row in rows if row[2] in _SUMMARY]
    others = [row for row in rows if row[2] not in _SUMMARY]
    if others:
        writer.write(others, timestamped)
    writer.write(summary, timestamped, summary=True)


_NAME = itemgetter(0)
_MEMBER_NAME = attrgetter("_name_")
_SPLIT = itemgetter(1)
_LEVEL = itemgetter(2)
# Member or name -> the stored name (enum members are not strs: two keys each).
_SPLIT_NAMES: dict[object, str] = {**{m: m.name for m in SplitEnum}, **{n: n for n in SplitEnum.__members__}}
_LEVEL_NAMES: dict[object, str] = {**{m: m.name for m in LevelEnum}, **{n: n for n in LevelEnum.__members__}}
_SUMMARY = frozenset(SUMMARY_LEVELS)
_NAME_SPLIT_LEVEL = itemgetter(0, 1, 2)
_STEP = itemgetter(3)
_VALUE = itemgetter(4)
_POINT_KEYS = ("name", "split", "level", "step", "value")
_BY_KEYS = itemgetter(*_POINT_KEYS)


def _chunks(points: Iterable[Point]) -> Iterator[Sequence[Point]]:
    if isinstance(points, (builtins.list, tuple)):
        for start in range(0, len(points), CHUNK_ROWS):
            yield points[start : start + CHUNK_ROWS]
        return
    iterator = iter(points)
    while chunk := builtins.list(islice(iterator, CHUNK_ROWS)):
        yield chunk


def _plain(chunk: Sequence[Any]) -> Sequence[Sequence[Any]] | None:
    """``chunk`` as driver parameter rows if every point is already in the stored form.

    That is: (name, split, level, step, value) with a non-empty str name, split and level
    as enum names, a 32-bit int step and a float value (or a dict with exactly those keys).
    Enum members for split and level, and values of any real-number type (numpy floats,
    ints), are converted column-wise too. The checks run over whole columns with
    set/map/min/max, which run in C; anything else (per-point timestamps, numpy steps, a
    bad point) returns None and takes the point-by-point path, which converts or names the
    bad point.
    """
    kinds = set(map(type, chunk))
    if kinds == {dict}:
        if set(map(len, chunk)) != {5}:
            return None
        try:
            chunk = builtins.list(map(_BY_KEYS, chunk))
        except KeyError:
            return None
    elif not kinds <= {tuple, builtins.list} or set(map(len, chunk)) != {5}:
        return None
    # Enum members become names and other real numbers floats, a column at a time, before
    # the checks below (which then see the stored form). Members are not hashed on the
    # way (Enum.__hash__ is Python code): a column of members only is read by _name_.
    # A chunk whose first point has names (what a plain training loop logs) skips the two
    # member scans; a member further down then fails the checks and takes the slow path.
    first = chunk[0]
    if type(first[1]) is str and type(first[2]) is str:
        splits = levels = None
    else:
        splits = _stored_names(chunk, _SPLIT, SplitEnum, _SPLIT_NAMES)
        levels = _stored_names(chunk, _LEVEL, LevelEnum, _LEVEL_NAMES)
    values: Iterable[Any] = map(_VALUE, chunk)
    value_types = set(map(type, map(_VALUE, chunk)))
    if value_types != {float}:
        if not all(map(_is_number_type, value_types)):
            return None
        try:
            values = builtins.list(map(float, values))
        except (OverflowError, ValueError, TypeError):  # the point-by-point path names the point
            return None
    elif splits is None and levels is None:
        values = ()  # the chunk stays as it is: the stored form already, checked below
    if splits is not None or levels is not None or values:
        chunk = builtins.list(
            zip(
                map(_NAME, chunk),
                map(_SPLIT, chunk) if splits is None else splits,
                map(_LEVEL, chunk) if levels is None else levels,
                map(_STEP, chunk),
                values,
                strict=True,
            )
        )
    try:
        triples = set(map(_NAME_SPLIT_LEVEL, chunk))
    except TypeError:  # an unhashable name, split or level
        return None
    for name, split, level in triples:
        if not (
            type(name) is str
            and name
            and "\x00" not in name
            and type(split) is str
            and split in _SPLITS
            and type(level) is str
            and level in _LEVELS
        ):
            return None
    steps = builtins.list(map(_STEP, chunk))
    if set(map(type, steps)) != {int} or min(steps) < STEP_MIN or max(steps) > STEP_MAX:
        return None
    return chunk


def _stored_names(
    chunk: Sequence[Any],
    column: itemgetter[Any],
    enum_cls: type[SplitEnum] | type[LevelEnum],
    names: Mapping[object, str],
) -> builtins.list[Any] | None:
    """The ``column`` of ``chunk`` with enum members replaced by their names; None when it
    holds no member (then it is left as it is, for the checks to judge)."""
    kinds = set(map(type, map(column, chunk)))
    if enum_cls not in kinds:
        return None
    if kinds == {enum_cls}:
        return builtins.list(map(_MEMBER_NAME, map(column, chunk)))
    try:
        return builtins.list(map(names.get, map(column, chunk), map(column, chunk)))
    except TypeError:  # an unhashable entry: the checks refuse the column as it is
        return None


def _is_number_type(kind: type) -> bool:
    """Whether values of ``kind`` are the real numbers :func:`_check_value` accepts."""
    return issubclass(kind, numbers.Real) and not issubclass(kind, bool)


def _normalized(chunk: Sequence[Any], offset: int, stamp: str) -> builtins.list[tuple[Any, ...]]:
    """Validate and convert ``chunk`` point by point (input positions start at ``offset``).

    Rows are (name, split, level, step, value, timestamp text); ``stamp`` is the default.
    """
    rows = []
    for i, point in enumerate(chunk, offset):
        name, split, level, step, value, moment = _point(point, i)
        rows.append(
            (
                name if type(name) is str and name and "\x00" not in name else _check_name(name, i),
                split if type(split) is str and split in _SPLITS else _check_enum(SplitEnum, split, i),
                level if type(level) is str and level in _LEVELS else _check_enum(LevelEnum, level, i),
                step if type(step) is int and STEP_MIN <= step <= STEP_MAX else _check_step(step, i),
                value if type(value) is float else _check_value(value, i),
                stamp if moment is None else _text_timestamp(_check_timestamp(moment, i)),
            )
        )
    return rows


def _point(point: object, position: int) -> tuple[Any, ...]:
    if isinstance(point, Mapping):
        missing = [key for key in _POINT_KEYS if key not in point]
        if missing:
            raise errors.ValidationError(f"point {position}: missing {', '.join(missing)} in {point!r}")
        unknown = set(point) - {*_POINT_KEYS, "timestamp"}
        if unknown:
            raise errors.ValidationError(
                f"point {position}: unknown key(s) {', '.join(sorted(map(str, unknown)))}"
            )
        return (*(point[key] for key in _POINT_KEYS), point.get("timestamp"))
    if isinstance(point, (tuple, builtins.list)):
        if len(point) == 5:
            return (*point, None)
        if len(point) == 6:
            return tuple(point)
        raise errors.ValidationError(
            f"point {position}: expected (name, split, level, step, value[, timestamp]), "
            f"got {len(point)} items"
        )
    raise errors.ValidationError(
        f"point {position}: expected a tuple or a mapping, got {type(point).__name__} {point!r}"
    )


# -- the read path ------------------------------------------------------------------------------


def _filters(
    run_id: int, name: str | None, split: SplitEnum | str | None, level: LevelEnum | str | None, param: str
) -> tuple[str, builtins.list[Any]]:
    clauses = [f"run_id = {param}"]
    params: builtins.list[Any] = [run_id]
    if name is not None:
        clauses.append(f"name = {param}")
        params.append(_check_name(name))
    if split is not None:
        clauses.append(f"split = {param}")
        params.append(_check_enum(SplitEnum, split))
    if level is not None:
        clauses.append(f"level = {param}")
        params.append(_check_enum(LevelEnum, level))
    return " WHERE " + " AND ".join(clauses), params


def _history_sql(where: str, columns: str) -> str:
    return f"SELECT {columns} FROM metric{where}{current().dialect.history_order}"


def _fetch(sql: str, params: Sequence[Any]) -> builtins.list[tuple[Any, ...]]:
    db = current().db
    with _driver_errors:
        cursor = db.cursor()
        cursor.execute(sql, params)
        rows: builtins.list[tuple[Any, ...]] = cursor.fetchall()  # a list on both drivers
        return rows


def _require_run(run_id: int) -> None:
    """Raise NotFound unless the run exists (asked only when a query found no point)."""
    db = current().db
    param = db.param
    with _driver_errors:
        cursor = db.cursor()
        cursor.execute(f"SELECT 1 FROM run WHERE id = {param}", (run_id,))
        if cursor.fetchone() is None:
            raise not_found("run", run_id)


_NONE = type(None)
_PLAIN_VALUES = frozenset({float, _NONE})
_SPLIT_MEMBERS = {member.name: member for member in SplitEnum}
_LEVEL_MEMBERS = {member.name: member for member in LevelEnum}
# The members by the codes POINT_COLUMNS_CODED gives (their order in the enum).
_SPLIT_BY_CODE = tuple(SplitEnum)
_LEVEL_BY_CODE = tuple(LevelEnum)


def _point_columns() -> str:
    """The select list of a points query on the current store's backend."""
    return POINT_COLUMNS_CODED if current().dialect.point_enum_codes else POINT_COLUMNS


def _read_points(sql: str, params: Sequence[Any], run_id: int) -> builtins.list[MetricPoint]:
    """The points of a query of :func:`_point_columns`, fetched and built with the cyclic
    collector paused (no cycles among rows or points). The driver's rows are let go before
    it resumes: its first collection then walks the points only, not the rows as well (a
    third of a 1,000-point page's time went to collections walking both)."""
    coded = current().dialect.point_enum_codes
    with collector_paused():
        rows = _fetch(sql, params)
        points = _build_points(rows, run_id, coded)
        del rows
    return points


def _build_points(rows: Sequence[tuple[Any, ...]], run_id: int, coded: bool) -> builtins.list[MetricPoint]:
    # The fast path reads rows as the store writes them, a column at a time with C-level
    # builtins (type scans, tuple or dict lookups, fromisoformat through map, tuple.__new__):
    # a Python-level step per point was most of a live chart's page. Anything else (SQLite's
    # -0.0 BLOB, a value edited by hand) goes to the decoding path, which marks what it
    # cannot read instead of raising. ``coded``: split and level are members' indexes
    # (POINT_COLUMNS_CODED), an unknown name its text; else every one is a name.
    if not rows:
        return []
    ids, names, splits, levels, steps, values, moments = zip(*rows, strict=False)  # driver rows: all alike
    value_types = set(map(type, values))
    if set(map(type, steps)) == {int} and value_types <= _PLAIN_VALUES:
        split_of, level_of = (
            (_SPLIT_BY_CODE.__getitem__, _LEVEL_BY_CODE.__getitem__)
            if coded
            else (_SPLIT_MEMBERS.__getitem__, _LEVEL_MEMBERS.__getitem__)
        )
        try:
            if type(moments[0]) is str:  # SQLite's text: anything but text raises TypeError
                moments = _parse_moments(moments)
            elif set(map(type, moments)) != {datetime}:  # PostgreSQL's datetimes
                raise TypeError(moments)
            if _NONE in value_types:  # NaN is stored as NULL
                values = tuple(math.nan if value is None else value for value in values)
            columns = zip(
                ids,
                repeat(run_id),
                names,
                map(split_of, splits),
                map(level_of, levels),
                steps,
                values,
                moments,
            )
            return builtins.list(map(tuple.__new__, repeat(MetricPoint), columns))
        except (KeyError, TypeError, ValueError):  # a code is an int, an unknown name its text
            pass
    return [_decoded_point(row, run_id, coded) for row in rows]


def _parse_moments(moments: tuple[Any, ...]) -> tuple[Any, ...]:
    """SQLite's timestamp text as datetimes. One ``log_many`` call (a logger's flush) gives
    its points one timestamp, and a live chart's page is often one flush: a page all of one
    text is parsed once and shares the (immutable) datetime."""
    first = moments[0]
    if first == moments[-1] and moments.count(first) == len(moments):
        return (datetime.fromisoformat(first),) * len(moments)
    return tuple(map(datetime.fromisoformat, moments))


def _decoded_point(row: tuple[Any, ...], run_id: int, coded: bool) -> MetricPoint:
    point_id, name, split, level, step, value, moment = row
    return MetricPoint(
        id=point_id,
        run_id=run_id,
        name=name,
        split=_member(split, _SPLIT_BY_CODE, SplitEnum, coded),
        level=_member(level, _LEVEL_BY_CODE, LevelEnum, coded),
        step=decode_int(step),  # type: ignore[arg-type]
        value=decode_real(value),  # type: ignore[arg-type]
        timestamp=_decode_timestamp(moment),
    )


def _member(raw: Any, by_code: tuple[Any, ...], enum_cls: type[Enum], coded: bool) -> Any:
    """A split or level as read: a member's code (``coded``), else a name; Unreadable otherwise."""
    return by_code[raw] if coded and type(raw) is int else decode_enum(enum_cls, raw)


def _decode_timestamp(moment: Any) -> Any:
    if not isinstance(moment, str):
        return moment
    try:
        return datetime.fromisoformat(moment)
    except ValueError:
        return Unreadable(moment, f"{moment!r:.80} is not a timestamp")


@reads
def history(
    run_id: int,
    *,
    name: str | None = None,
    split: SplitEnum | str | None = None,
    level: LevelEnum | str | None = None,
) -> builtins.list[MetricPoint]:
    """The run's points, optionally only one name, split and/or level; ordered by step
    (then name, split, level).

    Raises NotFound for an unknown run, ValidationError for a bad filter.
    """
    run_id = _check_run_id(run_id)
    where, params = _filters(run_id, name, split, level, current().db.param)
    points = _read_points(_history_sql(where, _point_columns()), params, run_id)
    if not points:
        _require_run(run_id)
    return points


def history_table_schema() -> pa.Schema:
    """The schema of :func:`history_table`'s tables."""
    import pyarrow as pa

    return pa.schema(
        [
            ("id", pa.int64()),
            ("name", pa.string()),
            ("split", pa.string()),
            ("level", pa.string()),
            ("step", pa.int64()),
            ("value", pa.float64()),
            ("timestamp", pa.timestamp("us")),
        ]
    )


@reads
def history_table(
    run_id: int,
    *,
    name: str | None = None,
    split: SplitEnum | str | None = None,
    level: LevelEnum | str | None = None,
) -> pa.Table:
    """:func:`history` as a ``pyarrow.Table`` (the fast path for charts and exports).

    Columns: id, name, split, level (enum names), step, value (NaN where NaN was logged),
    timestamp (naive UTC, microseconds); same order and filters as :func:`history`.

    >>> metrics.history_table(run.id, split="TRAIN").to_pandas()        # doctest: +SKIP
    """
    import pyarrow as pa

    run_id = _check_run_id(run_id)
    store = current()
    db = store.db
    where, params = _filters(run_id, name, split, level, db.param)
    schema = history_table_schema()
    # The driver's tuples become Arrow struct arrays in C++, FETCH_ROWS at a time: no
    # Python-level transposition, no Peewee objects, and each fetch's tuples are freed
    # (and their memory reused by the next) before the next fetch. Every CHUNK_FETCHES
    # fetches become one finished record batch (timestamps parsed, NULL values as NaN),
    # so only that much of the driver's form (e.g. SQLite's ISO text) is alive at once and
    # the table is its finished batches, never copied whole into one chunk at the end.
    fetched = store.dialect.history_timestamp_type()
    row_type = pa.struct([*[*schema][:6], pa.field("timestamp", fetched)])
    batches: builtins.list[pa.RecordBatch] = []
    pending: builtins.list[pa.StructArray] = []
    with _driver_errors:
        cursor = db.cursor()
        cursor.execute(_history_sql(where, POINT_COLUMNS), params)  # names: Arrow keeps them as text
        while rows := cursor.fetchmany(FETCH_ROWS):
            pending.append(_arrow_fetch(rows, row_type))
            if len(pending) == CHUNK_FETCHES:
                batches.append(_arrow_batch(pending, schema))
                pending = []
    if pending:
        batches.append(_arrow_batch(pending, schema))
    if not batches:
        _require_run(run_id)
        return schema.empty_table()
    return pa.Table.from_batches(batches, schema)


def _arrow_fetch(rows: Sequence[tuple[Any, ...]], row_type: pa.StructType) -> pa.StructArray:
    import pyarrow as pa

    try:
        return pa.array(rows, row_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        # A fetch holding SQLite's -0.0 BLOB or a value edited by hand: decoded row by row
        # (what cannot be read becomes NaN or null; check() reports the row).
        return pa.array(_arrow_rows(rows), row_type)


def _arrow_batch(fetches: Sequence[pa.StructArray], schema: pa.Schema) -> pa.RecordBatch:
    """One record batch of :func:`history_table`'s schema from consecutive fetches."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = pa.RecordBatch.from_struct_array(pa.concat_arrays(fetches)).columns
    if columns[5].null_count:
        columns[5] = pc.fill_null(columns[5], math.nan)
    stamps = columns[6]
    if stamps.type != schema.field(6).type:
        try:
            columns[6] = stamps.cast(schema.field(6).type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            columns[6] = pa.array(
                [_arrow_timestamp(text) for text in stamps.to_pylist()], schema.field(6).type
            )
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _arrow_rows(rows: Sequence[tuple[Any, ...]]) -> builtins.list[tuple[Any, ...]]:
    decoded = []
    for point_id, name, split, level, step, value, moment in rows:
        number = decode_real(value)
        whole = decode_int(step)
        decoded.append(
            (
                point_id,
                name if isinstance(name, str) else str(name),
                split if isinstance(split, str) else str(split),
                level if isinstance(level, str) else str(level),
                None if isinstance(whole, Unreadable) else whole,
                math.nan if isinstance(number, Unreadable) else number,
                moment,
            )
        )
    return decoded


def _arrow_timestamp(text: Any) -> datetime | None:
    moment = _decode_timestamp(text)
    return moment if isinstance(moment, datetime) else None


def _latest_sql(param: str) -> str:
    # The level is a literal, not a parameter: only then can either planner prove the
    # query inside metric_summary_key's partial predicate (level LAST or LAST_OUTER) and
    # read the run's few summary rows from it, instead of every point of the run from the
    # general index (which latest() once did, growing with the run). Pinned by
    # tests/test_metrics_summary.py with EXPLAIN on both backends.
    return (
        f"SELECT split, name, value FROM metric WHERE run_id = {param} AND level = '{LevelEnum.LAST.name}'"
        " ORDER BY split, name"
    )


@reads
def latest(run_id: int) -> dict[str, dict[str, float]]:
    """The LAST-level values of a run: ``{split name: {metric name: value}}``.

    A (split, name) has one LAST point (see :func:`log`). A value edited by hand that
    cannot be read is its raw text, marked (:class:`~dashai_store.decoding.Unreadable`).

    >>> metrics.latest(run.id)                                           # doctest: +SKIP
    {'TEST': {'accuracy': 0.93}, 'TRAIN': {'accuracy': 0.99}}
    """
    run_id = _check_run_id(run_id)
    rows = _fetch(_latest_sql(current().db.param), (run_id,))
    if not rows:
        _require_run(run_id)
    result: dict[str, dict[str, float]] = {}
    for split, name, value in rows:
        # decode_real: NaN's NULL, SQLite's -0.0 BLOB, Unreadable for a value edited by hand.
        result.setdefault(split, {})[name] = value if type(value) is float else decode_real(value)  # type: ignore[assignment]
    return result


@reads
def since(
    run_id: int, cursor: int = 0, *, limit: int | None = None
) -> tuple[builtins.list[MetricPoint], int]:
    """Points logged to the run after ``cursor``, in logging order, and the next cursor.

    A live chart starts at 0 and passes back the cursor it was given; it sees every newly
    logged point exactly once, whatever other processes write meanwhile (see the module
    note on PostgreSQL). ``limit`` caps one answer; the cursor then resumes after it.
    A LAST or LAST_OUTER value logged again replaces its row in place (same id), so a
    cursor past that id does not see the new value: read summaries with :func:`latest`.

    >>> points, cursor = metrics.since(run.id)            # doctest: +SKIP
    >>> more, cursor = metrics.since(run.id, cursor)      # doctest: +SKIP
    """
    run_id = _check_run_id(run_id)
    if isinstance(cursor, bool) or not isinstance(cursor, int) or cursor < 0:
        raise errors.ValidationError(f"a metric cursor must be an int >= 0, got {cursor!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise errors.ValidationError(f"limit must be a positive int or None, got {limit!r}")
    param = current().db.param
    sql = f"SELECT {_point_columns()} FROM metric WHERE run_id = {param} AND id > {param} ORDER BY id"
    params: builtins.list[Any] = [run_id, cursor]
    if limit is not None:
        sql += f" LIMIT {param}"
        params.append(limit)
    points = _read_points(sql, params, run_id)
    if not points:
        _require_run(run_id)
        return [], cursor
    return points, int(points[-1][0])


# -- logging from a training loop ---------------------------------------------------------------


def logger(
    run_id: int,
    *,
    flush_every_s: float = DEFAULT_FLUSH_EVERY_S,
    max_points: int = DEFAULT_MAX_POINTS,
    max_pending: int = DEFAULT_MAX_PENDING,
) -> MetricLogger[tuple[str, str, str, int, float]]:
    """A buffered logger of the run's points: :meth:`MetricLogger.log` checks a point and
    appends it to memory; a background thread writes the points through :func:`log_many`
    every ``flush_every_s`` seconds or every ``max_points`` points. See
    :mod:`dashai_store.metrics_logger` for the guarantees (flushes, failures, memory).

    >>> with metrics.logger(run.id) as log:                              # doctest: +SKIP
    ...     for step in range(1000):
    ...         log.log("loss", 1 / (step + 1), split="TRAIN", level="STEP", step=step)

    Raises NotFound for an unknown run, ValidationError for a bad setting.
    """
    run_id = _check_run_id(run_id)
    store = current()
    with translated():
        _require_run(run_id)

    def write(batch: builtins.list[tuple[str, str, str, int, float]]) -> None:
        log_many(run_id, batch)

    return MetricLogger(
        store,
        run_id,
        checked_point,
        write,
        flush_every_s=flush_every_s,
        max_points=max_points,
        max_pending=max_pending,
    )
