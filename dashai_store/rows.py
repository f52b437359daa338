"""The small checks every facade module shares: ids, names, text, JSON, one row by id, unique names.

Each facade module validates its arguments itself (a wrong type is a ValidationError,
never a TypeError or a driver error) and looks rows up by id; this module is the one
place that says how, so that every area answers a bad id or a bad name alike::

    rows.check_id(True, "run")           # ValidationError: a run id must be an int, got bool True
    rows.check_id(2**64, "run")          # NotFound: run 18446744073709551616 does not exist
    rows.check_name("  ", "run name")    # ValidationError: run name must not be empty or blank, got '  '
    row = rows.fetch(models.Run, 12, lock=True)   # inside @writes; NotFound: run 12 does not exist
    rows.check_json({"a": 1}, "parameters", mapping=True)            # the dict, or ValidationError
    rows.insert_unique(query.execute, f"a dataset named {name!r}")   # AlreadyExists on a taken name
    _jobs = rows.Jobs(models.Run, _record, "run")  # lifecycle moves that validate their arguments

The rules, and why:

* An id is an ``int`` (a ``bool`` is not, although Python says it is one). An int that
  no row can have (zero, negative, above :data:`MAX_ID`) is "no such row", i.e.
  :class:`~dashai_store.errors.NotFound`, never a driver error: SQLite's driver cannot
  even bind an int above 2**63 - 1, so :func:`check_id` refuses those itself, and
  :func:`fetch` answers zero and negatives without asking the database.
* Text stored in a column (names, descriptions, job ids, error messages) is a ``str``
  without NUL and without lone surrogates: PostgreSQL's text cannot hold NUL and both
  drivers fail on surrogates with untyped exceptions, so both backends refuse them alike.
* A name (a dataset's, a run's, a model class's, ...) is such text, not blank, and at
  most :data:`MAX_NAME_LENGTH` characters. Names are stored, compared and shown, never
  used as path components, so any other Unicode text is fine (``"../x"``, ``"数据 🌸"``).
* A JSON column's value must read back as given: dict keys are ``str``; NaN and
  infinities are kept (the columns' own encoding). Strict JSON (``strict=True``, for
  generative parameters and payloads the app ships to a browser) refuses NaN and
  infinities, and its messages never echo the value (a payload may be megabytes).

Not here, on purpose (they only look alike): metric names (``metrics``: checked
column-wise on the hot path, blank allowed), lists of column/metric names
(``model_sessions``).
"""

from __future__ import annotations

import functools
import gc
import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import fields as dataclass_fields
from datetime import datetime
from enum import Enum
from typing import Any, Generic, TypeVar

import peewee

from . import errors, models, records
from .database import current
from .decoding import decode_enum
from .files.access import home
from .lifecycle import JobLifecycle
from .models import JobMixin

__all__ = [
    "MAX_ID",
    "MAX_NAME_LENGTH",
    "Jobs",
    "Reader",
    "check_id",
    "check_json",
    "check_name",
    "check_payload_text",
    "check_text",
    "could_exist",
    "fetch",
    "insert_unique",
    "not_found",
    "require",
]

R = TypeVar("R")
M = TypeVar("M", bound=peewee.Model)
T = TypeVar("T")

#: The largest row id either backend can hold (a signed 64-bit integer).
MAX_ID = 2**63 - 1

#: The longest name :func:`check_name` accepts by default.
MAX_NAME_LENGTH = 255


def _article(noun: str) -> str:
    return "an" if noun[:1].lower() in ("a", "e", "i", "o", "u") else "a"


# -- ids --------------------------------------------------------------------------------------


def check_id(value: object, noun: str) -> int:
    """``value`` as a row id of a ``noun`` (``"run"``, ``"global explainer"``, ...).

    ValidationError unless ``value`` is an int (a bool is refused); NotFound for an int
    above :data:`MAX_ID`, which no row can have and SQLite's driver cannot bind. Zero and
    negative ids pass (they are well-typed): the lookup that follows says NotFound, after
    the call's other arguments have been validated.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.ValidationError(
            f"{_article(noun)} {noun} id must be an int, got {type(value).__name__} {value!r}"
        )
    if value > MAX_ID:
        raise not_found(noun, value)
    return int(value)  # an int subclass (an IntEnum) becomes a plain int


def could_exist(row_id: int) -> bool:
    """Whether some row could have ``row_id`` (``0 < row_id <= MAX_ID``)."""
    return 0 < row_id <= MAX_ID


def not_found(noun: str, row_id: int) -> errors.NotFound:
    """The NotFound every area raises for an unknown id: ``"run 12 does not exist"``."""
    return errors.NotFound(f"{noun} {row_id} does not exist")


# -- rows -------------------------------------------------------------------------------------


def fetch(model: type[M], row_id: int, noun: str | None = None, *, lock: bool = False) -> M:
    """Row ``row_id`` of ``model``, or NotFound naming ``noun`` and the id.

    ``noun`` defaults to the table's name in words (``model_session`` -> "model session").
    With ``lock`` (inside a write transaction) the row is locked as the backend does it
    (:meth:`Backend.lock_rows <dashai_store.backends.Backend.lock_rows>`: ``SELECT ... FOR
    UPDATE`` on PostgreSQL, nothing on SQLite, whose ``BEGIN IMMEDIATE`` already excludes
    other writers), so a concurrent writer of the same row waits instead of racing it.

    ``row_id`` is an id that passed :func:`check_id`.
    """
    noun = noun or _noun(model)
    if not could_exist(row_id):
        raise not_found(noun, row_id)
    query = model.select().where(model._meta.primary_key == row_id)
    if lock:
        query = current().dialect.lock_rows(query)
    row = query.get_or_none()
    if row is None:
        raise not_found(noun, row_id)
    return row


def _noun(model: type[peewee.Model]) -> str:
    return str(model._meta.table_name).replace("_", " ")


def require(model: type[peewee.Model], row_id: int, noun: str) -> None:
    """NotFound unless row ``row_id`` of ``model`` exists (reads the id only, no lock)."""
    if not could_exist(row_id) or not model.select().where(model._meta.primary_key == row_id).exists():
        raise not_found(noun, row_id)


# -- text and names ---------------------------------------------------------------------------


def check_text(
    value: object, what: str, *, required: bool = False, optional: bool = False, row: str = ""
) -> Any:
    """``value`` if it is text a column can store, else ValidationError naming ``what``.

    A ``str`` without NUL or lone surrogates; with ``required`` also not blank; with
    ``optional`` None is accepted (and returned). Returns ``str`` (``str | None`` with
    ``optional``). ``row`` names the row the text is for (``"run 12"``) in the message.

    >>> rows.check_text(42, "error", row="run 12")                           # doctest: +SKIP
    ValidationError: error must be a str, got int 42 (run 12)
    """
    if value is None and optional:
        return None
    if not isinstance(value, str):
        allowed = "a str or None" if optional else "a str"
        raise _invalid(f"{what} must be {allowed}, got {type(value).__name__} {value!r}", row)
    if required and not value.strip():
        raise _invalid(f"{what} must not be empty or blank, got {value!r}", row)
    _check_storable(value, what, row)
    return value


def _invalid(message: str, row: str) -> errors.ValidationError:
    return errors.ValidationError(f"{message} ({row})" if row else message)


def _check_storable(value: str, what: str, row: str = "") -> None:
    if "\x00" in value:
        raise _invalid(f"{what} {value[:80]!r} contains a NUL character", row)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _invalid(f"{what} {value[:80]!r} is not valid Unicode text: {exc.reason}", row) from None


def check_name(value: object, what: str, *, max_length: int = MAX_NAME_LENGTH) -> str:
    """``value`` if it is a valid name, else ValidationError naming ``what``.

    A non-blank ``str`` of at most ``max_length`` characters, without NUL or lone
    surrogates (see the module docstring).
    """
    if not isinstance(value, str):
        raise errors.ValidationError(f"{what} must be a str, got {type(value).__name__} {value!r}")
    if not value.strip():
        raise errors.ValidationError(f"{what} must not be empty or blank, got {value!r}")
    if len(value) > max_length:
        raise errors.ValidationError(
            f"{what} {value[:40]!r}... is {len(value)} characters long; at most {max_length} are allowed"
        )
    _check_storable(value, what)
    return value


def check_json(
    value: object, what: str, *, mapping: bool, strict: bool = False, optional: bool | None = None
) -> Any:
    """``value`` as a JSON column will store it, else ValidationError naming ``what``.

    With ``mapping``: a dict (any Mapping, returned as a dict) with ``str`` keys, since
    JSON turns other keys into strings and the value would not read back as given.
    Otherwise any JSON value. ``optional`` says whether None is accepted (and returned);
    by default it is for any value (JSON null) and is not for a mapping. Strings must be
    valid Unicode.

    The default keeps NaN and infinities (the columns' own encoding). ``strict`` is strict
    JSON, for values shipped to a browser: NaN and infinities are refused, messages never
    show the value (a generative payload may be megabytes), and the value is returned as
    reading its JSON text gives it back (tuples become lists).
    """
    if value is None and (not mapping if optional is None else optional):
        return None
    if mapping:
        if not isinstance(value, Mapping):
            allowed = "a dict or None" if optional else "a dict"
            shown = "" if strict else f" {value!r}"
            raise errors.ValidationError(f"{what} must be {allowed}, got {type(value).__name__}{shown}")
        if not strict:
            if not all(isinstance(key, str) for key in value):
                raise errors.ValidationError(f"{what} keys must be str, got {sorted(map(repr, value))}")
            value = dict(value)
    elif value is None:
        raise errors.ValidationError(f"{what} must be a JSON value, not None")
    try:
        if strict:
            _check_strict(value, what, set())
            return json.loads(json.dumps(value, ensure_ascii=False, allow_nan=False))
        json.dumps(value, ensure_ascii=False, allow_nan=True).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise errors.ValidationError(f"{what} is not valid Unicode text: {exc.reason}") from None
    except (TypeError, ValueError) as exc:  # ValueError: a circular reference
        raise errors.ValidationError(f"{what} is not JSON-serialisable: {exc}") from None
    except RecursionError:
        raise errors.ValidationError(f"{what} is nested too deeply to be stored as JSON") from None
    return value


def _check_strict(value: Any, where: str, active: set[int]) -> None:
    """Raise ValidationError unless ``value`` is strict JSON, naming the item at fault."""
    if value is None or isinstance(value, (bool, int)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise errors.ValidationError(f"{where} is {value!r}; strict JSON has no NaN or infinity")
        return
    if isinstance(value, str):
        check_payload_text(value, where, allow_nul=True)
        return
    if isinstance(value, (list, tuple, dict)):
        if id(value) in active:
            raise errors.ValidationError(f"{where} contains itself (a circular reference)")
        active.add(id(value))
        try:
            if isinstance(value, dict):
                for key, item in value.items():
                    if not isinstance(key, str):
                        raise errors.ValidationError(
                            f"{where} has a key {key!r} of type {type(key).__name__}; JSON keys must be str"
                        )
                    check_payload_text(key, f"key {key!r} of {where}", allow_nul=True)
                    _check_strict(item, f"{where}[{key!r}]", active)
            else:
                for index, item in enumerate(value):
                    _check_strict(item, f"{where}[{index}]", active)
        finally:
            active.discard(id(value))
        return
    raise errors.ValidationError(f"{where} is a {type(value).__name__}, which is not a JSON value")


def check_payload_text(value: object, what: str, *, allow_nul: bool = False) -> str:
    """Text that may be large: like :func:`check_text`, but the message never shows the
    value, and NUL may be allowed (inside JSON text, where it is escaped)."""
    if not isinstance(value, str):
        raise errors.ValidationError(f"{what} must be a str, got {type(value).__name__}")
    if not allow_nul and "\x00" in value:
        # PostgreSQL text cannot hold NUL; refuse it on both backends alike.
        raise errors.ValidationError(f"{what} contains a NUL character (store binary data as 'bytes')")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise errors.ValidationError(f"{what} is not valid Unicode text: {exc.reason}") from exc
    return value


# -- unique columns ---------------------------------------------------------------------------


def insert_unique(write: Callable[[], T], what: str) -> T:
    """``write()`` (an INSERT or UPDATE of a UNIQUE column), or AlreadyExists if it collides.

    ``what`` names the taken value: ``insert_unique(q.execute, f"a dataset named {name!r}")``
    raises ``AlreadyExists("a dataset named 'x' already exists")``. Callers check first
    for the readable message; the UNIQUE index still settles a race between two writers,
    and this turns that loss into the same error. Any other IntegrityError (a foreign key)
    propagates unchanged.
    """
    try:
        return write()
    except peewee.IntegrityError as exc:
        text = str(exc).lower()
        if "unique" not in text and "duplicate" not in text:
            raise
        raise errors.AlreadyExists(f"{what} already exists") from exc


# -- lifecycle moves --------------------------------------------------------------------------


class Jobs(JobLifecycle[R]):
    """A table's lifecycle moves (:class:`~dashai_store.lifecycle.JobLifecycle`) that
    validate the caller's arguments first: the id (:func:`check_id`), the job id (text or
    None) and the error message (text; an empty one is stored as ``"failed"``).

    An area module binds one, ``_jobs = rows.Jobs(models.Run, _record, "run")``, and its
    documented ``deliver``/``start``/``finish``/``fail`` functions return its moves.
    """

    def __init__(self, model: type[JobMixin], to_record: Callable[[Any], R], noun: str) -> None:
        super().__init__(model, to_record)
        self.noun = noun

    def deliver(self, row_id: object, job_id: object = None) -> R:
        checked = check_id(row_id, self.noun)
        job_text = check_text(job_id, "job_id", optional=True, row=f"{self.noun} {checked}")
        return super().deliver(checked, job_text)

    def start(self, row_id: object) -> R:
        return super().start(check_id(row_id, self.noun))

    def finish(self, row_id: object) -> R:
        return super().finish(check_id(row_id, self.noun))

    def fail(self, row_id: object, error: object) -> R:
        checked = check_id(row_id, self.noun)
        return super().fail(checked, self.check_error(checked, error))

    def reset(self, row_id: object) -> R:
        return super().reset(check_id(row_id, self.noun))

    def check_error(self, row_id: int, error: object) -> str:
        """``error`` if it can be stored as the error message of row ``row_id``."""
        text: str = check_text(error, "error", row=f"{self.noun} {row_id}")
        return text


# -- reading rows into records, below the ORM ---------------------------------------------------

_NONE = type(None)
_scan_json = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_parse = datetime.fromisoformat


class Reader(Generic[R]):
    """How rows of ``model`` become ``record_type`` records without Peewee model instances.

    Building a Peewee model per row was 70% of listing a session's runs; a reader runs the
    query's SQL, takes the driver's tuples and decodes them a column at a time, then builds
    the records with :func:`records.build_all <dashai_store.records.build_all>`. A column
    already of its read type (text, ints, the driver's datetimes) is kept as it is;
    SQLite's timestamp text is parsed by ``datetime.fromisoformat``; JSON text by the C
    scanner; enum names through a dict of the members. Anything else (a value edited by
    hand) goes through the field's own ``python_value``, as the model would have, so it
    reads back exactly as it did through Peewee (an undecodable value as
    :class:`~dashai_store.decoding.Unreadable`).

    The record's fields are the model's columns of the same name (``model_session_id``
    names the foreign key's column); ``paths`` are path columns given back absolute (the
    store home joined); a text column of :data:`models.ENUM_COLUMNS` is decoded to its
    enum's member::

        _reader = rows.Reader(models.Run, RunRecord, paths=("run_path", ...))
        _reader.all(models.Run.select().where(...).order_by(models.Run.id))  # [RunRecord]
        _reader.get(12, "run")                                               # RunRecord or NotFound
    """

    def __init__(self, model: type[peewee.Model], record_type: type[R], *, paths: Sequence[str] = ()) -> None:
        by_name: dict[str, peewee.Field] = {}
        for model_field in model._meta.sorted_fields:
            by_name[model_field.name] = model_field
            by_name[model_field.column_name] = model_field
        self.model = model
        self.record_type = record_type
        self.names = tuple(item.name for item in dataclass_fields(record_type))  # type: ignore[arg-type]
        self.fields = tuple(by_name[name] for name in self.names)
        enums: Mapping[str, type[Enum]] = models.ENUM_COLUMNS.get(model, {})  # type: ignore[arg-type]
        self._columns = tuple(
            _column_reader(model_field, enums.get(model_field.name), path=name in paths)
            for name, model_field in zip(self.names, self.fields, strict=True)
        )

    def all(self, query: Any) -> list[R]:
        """The records of ``query`` (a select of the model: its WHERE, ORDER BY, LIMIT and
        OFFSET are kept, its columns replaced by the record's)."""
        sql, params = query.select(*self.fields).sql()
        with collector_paused():  # the driver's rows are let go before it resumes
            rows = query.model._meta.database.execute_sql(sql, params).fetchall()
            found = self.read(rows)
            del rows
        return found

    def read(self, rows: Sequence[Sequence[Any]]) -> list[R]:
        """Records from driver rows holding the columns of :attr:`fields`, in that order."""
        if not rows:
            return []
        by_column = zip(*rows, strict=True)
        columns = [read(values) for read, values in zip(self._columns, by_column, strict=True)]
        return records.build_all(self.record_type, zip(*columns, strict=True))

    def get(self, row_id: int, noun: str | None = None, *, lock: bool = False) -> R:
        """The record of row ``row_id``, or NotFound naming ``noun`` (see :func:`fetch`)."""
        noun = noun or _noun(self.model)
        if not could_exist(row_id):
            raise not_found(noun, row_id)
        query = self.model.select().where(self.model._meta.primary_key == row_id)
        if lock:
            query = current().dialect.lock_rows(query)
        found = self.all(query)
        if not found:
            raise not_found(noun, row_id)
        return found[0]


ColumnReader = Callable[[Sequence[Any]], Sequence[Any]]

#: Below this many rows a listing allocates too little for the collector to matter.
PAUSE_COLLECTOR_ROWS = 512


@contextmanager
def collector_paused(rows: int | None = None) -> Iterator[None]:
    """Python's cyclic garbage collector off while ``rows`` rows (None: a query's, not
    counted yet) are fetched and become records.

    A listing of 10,000 runs allocates some 30,000 objects (records, decoded JSON), none of
    them in a reference cycle; the collector, triggered every 700 allocations, walked them
    dozens of times: a third of ``runs.list``'s time. It is paused for the fetch and the
    build only, and only if it was on: an application that turned it off keeps it off. (One
    that turns it off while a listing runs gets it back on at the listing's end: that moves
    when cycles are collected, never what any call returns.) Callers let the driver's rows
    go before it resumes, so that its next collection walks the records only.
    """
    if (rows is not None and rows < PAUSE_COLLECTOR_ROWS) or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _column_reader(model_field: peewee.Field, enum_cls: type[Enum] | None, *, path: bool) -> ColumnReader:
    """The function decoding one column's values (a tuple of them) as ``model_field`` reads them."""
    python_value = model_field.python_value
    if isinstance(model_field, models.JSONField):
        return functools.partial(_read_json, python_value, model_field.shape, model_field.null)
    if isinstance(model_field, peewee.DateTimeField):
        return functools.partial(_read_datetimes, python_value)
    if isinstance(model_field, peewee.AutoField):
        return _as_they_are  # a rowid (SQLite) or an integer column (PostgreSQL): always an int
    if isinstance(model_field, peewee.TextField):
        text = functools.partial(_read_plain, python_value, str)
        if enum_cls is not None:
            members = {member.name: member for member in enum_cls}
            return functools.partial(_read_enum, text, members, enum_cls)
        if path:
            return functools.partial(_read_paths, text)
        return text
    if isinstance(model_field, (peewee.IntegerField, peewee.ForeignKeyField)) and not isinstance(
        model_field, peewee.BooleanField
    ):
        return functools.partial(_read_plain, python_value, int)
    return functools.partial(_map, python_value)


def _as_they_are(values: Sequence[Any]) -> Sequence[Any]:
    return values


def _map(python_value: Callable[[Any], Any], values: Sequence[Any]) -> Sequence[Any]:
    return list(map(python_value, values))


def _read_plain(python_value: Callable[[Any], Any], kind: type[Any], values: Sequence[Any]) -> Sequence[Any]:
    """Values already of ``kind`` (or NULL) as they are; otherwise as the field reads them."""
    if values.count(None) == len(values) or set(map(type, values)) <= {kind, _NONE}:
        return values
    return list(map(python_value, values))


def _read_enum(
    text: ColumnReader, members: dict[str, Enum], enum_cls: type[Enum], values: Sequence[Any]
) -> Sequence[Any]:
    decoded: list[Any] = list(map(members.get, values))  # only a member's name finds one
    if None in decoded:  # a name this version does not know, written by hand: marked, not raised
        names = text(values)
        decoded = [
            decode_enum(enum_cls, name) if member is None else member
            for name, member in zip(names, decoded, strict=True)
        ]
    return decoded


def _read_paths(text: ColumnReader, values: Sequence[Any]) -> Sequence[Any]:
    """Home-relative path text as absolute paths (NULL stays None)."""
    relative = text(values)
    if relative.count(None) == len(relative):
        return relative
    base = home()
    return [None if value is None else base / value for value in relative]


def _read_datetimes(python_value: Callable[[Any], Any], values: Sequence[Any]) -> Sequence[Any]:
    """Timestamps: the driver's datetimes as they are; SQLite's text through
    ``datetime.fromisoformat`` at C speed, which is how Peewee reads it too (its formats
    are its fallback, used here as well when a value is not ISO text)."""
    nulls = values.count(None)
    if nulls == len(values):
        return values
    present = [value for value in values if value is not None] if nulls else values
    kinds = set(map(type, present))
    if kinds == {datetime}:
        return values
    if kinds == {str}:
        try:
            parsed = list(map(_parse, present))
        except ValueError:
            pass
        else:
            if not nulls:
                return parsed
            found = iter(parsed)
            return [None if value is None else next(found) for value in values]
    return list(map(python_value, values))


def _read_json(
    python_value: Callable[[Any], Any], shape: type[Any] | None, nullable: bool, values: Sequence[Any]
) -> Sequence[Any]:
    """JSON text decoded by the C scanner when it is one whole JSON value of the column's
    shape (what the store writes); anything else as :class:`models.JSONField` reads it."""
    if values.count(None) == len(values):
        return values
    scan = _scan_json
    decoded: list[Any] = []
    append = decoded.append
    for text in values:
        if text is None:
            append(None)
            continue
        try:
            value, end = scan(text, 0)
        except (StopIteration, ValueError, TypeError, RecursionError):
            append(python_value(text))
            continue
        if end != len(text) or (
            shape is not None and not isinstance(value, shape) and not (value is None and nullable)
        ):
            append(python_value(text))
            continue
        append(value)
    return decoded
