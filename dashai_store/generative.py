"""Generative sessions, their processes and payloads, and the parameter-history audit trail.

A generative session is a user's conversation with a generative model: a task, a model,
its current parameters, a name and a description. Every change of the parameters is kept
as an immutable snapshot (``parameter_history``), so the user can see how they evolved,
which parameters produced which output, and go back. Each invocation of the model is a
process that records the snapshot it ran with, and owns input and output payloads.

    >>> from dashai_store import open_store, generative                      # doctest: +SKIP
    >>> with open_store("~/.DashAI"):                                          # doctest: +SKIP
    ...     s = generative.create_session("chat", "TextToText", "gpt2", {"temperature": 0.7})
    ...     generative.update_parameters(s.id, {"max_tokens": 64})            # merged: snapshot 2
    ...     p = generative.create_process(s.id, [("str", "Hello")])
    ...     generative.start(generative.deliver(p.id).id)
    ...     generative.add_outputs(p.id, [("str", "Hi!"), ("image", png_bytes)])
    ...     generative.finish(p.id)

Parameters
    A ``dict`` with ``str`` keys whose values are strict JSON: ``None``, ``bool``, ``int``,
    finite ``float``, ``str``, lists (tuples are stored as lists) and dicts with ``str``
    keys. NaN and infinities are refused (:class:`ValidationError`): strict JSON has no
    spelling for them, the app ships parameters to a browser, and ``NaN != NaN`` would make
    every update look like a change. Two values are "the same" when their JSON text is the
    same, so ``1`` -> ``True`` or ``1`` -> ``1.0`` is a change.

Payloads
    Given as a sequence of ``(data_type, value)`` pairs; ``data_type`` is a
    :class:`~dashai_store.enums.DataType` or its name:

    ============  ==========================================  ==============================
    data_type     value                                       stored as
    ============  ==========================================  ==============================
    ``"str"``     ``str`` (no NUL character)                  the text, in the row
    ``"json"``    a strict JSON value (as parameters)         JSON text, in the row
    ``"image"``   ``bytes``, ``bytearray`` or ``memoryview``  a file; the row keeps its path
    ``"bytes"``   ``bytes``, ``bytearray`` or ``memoryview``  a file; the row keeps its path
    ============  ==========================================  ==============================

    Files live at ``generative/<session_id>/<process_id>/<uuid>.<ext>`` (``.png``/``.jpg``/...
    sniffed from an image's magic bytes, ``.bin`` otherwise). :func:`payloads` gives back
    ``str``, the JSON value, or the same ``bytes``. Every payload of a call is validated
    before anything is written; if the transaction then rolls back (a failure, or the
    caller's own outer transaction that the call joined), the files it wrote are removed.

Concurrency
    :func:`update_parameters` and :func:`restore_parameters` read the current parameters
    inside their write transaction, after taking the session's write lock (``BEGIN
    IMMEDIATE`` on SQLite, ``SELECT ... FOR UPDATE`` of the session row on PostgreSQL), so
    two concurrent updates are serialised and neither loses the other's change.

The history is append-only: the database refuses to UPDATE a snapshot or DELETE one while
its session exists, and this module offers no way to edit or delete one.
"""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from peewee import fn

from . import errors, files
from .cascade import delete_rows
from .clock import utcnow
from .database import reads, writes
from .decoding import Unreadable, decode_enum, decode_json
from .enums import DataType
from .models import GenerativeProcess, GenerativeSession, ParameterHistory, ProcessData
from .records import (
    GenerativeProcessRecord,
    GenerativeSessionRecord,
    ParameterChange,
    ParameterSnapshot,
    Payload,
    to_record,
)
from .rows import (
    Jobs,
    Reader,
    check_id,
    check_json,
    check_name,
    check_payload_text,
    check_text,
    fetch,
    insert_unique,
)

__all__ = [
    "PayloadInput",
    "add_outputs",
    "create_process",
    "create_session",
    "delete_process",
    "delete_session",
    "deliver",
    "fail",
    "finish",
    "get_process",
    "get_session",
    "get_session_by_name",
    "get_snapshot",
    "list_processes",
    "list_sessions",
    "parameter_changes",
    "parameter_history",
    "payload_by_file_name",
    "payloads",
    "restore_parameters",
    "start",
    "update_parameters",
    "update_session",
]

PayloadInput = tuple[DataType | str, Any]
"""One payload: ``(data_type, value)``, e.g. ``("str", "a cat")`` or ``("image", png_bytes)``."""

FILE_TYPES = frozenset({DataType.image, DataType.bytes})

_IMAGE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
)


class _Unset(enum.Enum):
    UNSET = 0


UNSET = _Unset.UNSET


# -- validation ---------------------------------------------------------------------------


def _json_value(value: Any, where: str) -> Any:
    """``value`` validated as strict JSON and normalised to what its JSON text reads back as."""
    return check_json(value, where, mapping=False, strict=True)


def _parameters(value: object, where: str) -> dict[str, Any]:
    checked: dict[str, Any] = check_json(value, where, mapping=True, strict=True)
    return checked


def _key(value: Any) -> str:
    """Canonical JSON text: equal iff two values are the same JSON (1, True and 1.0 differ)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, allow_nan=True)


def _same(a: Any, b: Any) -> bool:
    return _key(a) == _key(b)


def _payload_inputs(items: object, what: str) -> list[tuple[DataType, Any]]:
    """Validate every payload before anything is written."""
    if isinstance(items, (str, bytes, dict)) or not isinstance(items, Iterable):
        raise errors.ValidationError(
            f"{what} must be a sequence of (data_type, value) pairs, got {type(items).__name__}"
        )
    result: list[tuple[DataType, Any]] = []
    for index, item in enumerate(items):
        where = f"{what}[{index}]"
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise errors.ValidationError(f"{where} must be a (data_type, value) pair, got {item!r:.80}")
        raw_type, value = item
        data_type = _data_type(raw_type, where)
        if data_type is DataType.str:
            result.append((data_type, check_payload_text(value, f"{where} (str)")))
        elif data_type is DataType.json:
            result.append((data_type, _json_value(value, f"{where} (json)")))
        else:
            if not isinstance(value, (bytes, bytearray, memoryview)):
                raise errors.ValidationError(
                    f"{where} ({data_type.value}) must be bytes, got {type(value).__name__}"
                )
            result.append((data_type, bytes(value)))
    return result


def _data_type(raw: object, where: str) -> DataType:
    if isinstance(raw, DataType):
        return raw
    if isinstance(raw, str) and raw in DataType.__members__:
        return DataType[raw]
    allowed = ", ".join(member.value for member in DataType)
    raise errors.ValidationError(f"{where} has data type {raw!r}; expected one of {allowed}")


def _extension(data_type: DataType, data: bytes) -> str:
    if data_type is DataType.image:
        for signature, ext in _IMAGE_SIGNATURES:
            if data.startswith(signature):
                return ext
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return "webp"
    return "bin"


# -- records ------------------------------------------------------------------------------


def _session_record(row: GenerativeSession) -> GenerativeSessionRecord:
    return to_record(GenerativeSessionRecord, row)


def _snapshot_record(row: Any) -> ParameterSnapshot:
    return to_record(ParameterSnapshot, row)


def _process_record(row: Any) -> GenerativeProcessRecord:
    return to_record(GenerativeProcessRecord, row)


_sessions: Reader[GenerativeSessionRecord] = Reader(GenerativeSession, GenerativeSessionRecord)
_snapshots: Reader[ParameterSnapshot] = Reader(ParameterHistory, ParameterSnapshot)
_processes: Reader[GenerativeProcessRecord] = Reader(GenerativeProcess, GenerativeProcessRecord)


def _payload_record(row: Any) -> Payload:
    # A data type or JSON text written by hand that cannot be read stays readable as the
    # raw text, marked (decoding.Unreadable); maintenance.check() reports the row.
    data_type: Any = decode_enum(DataType, row.data_type)
    value: Any
    path = None
    if isinstance(data_type, Unreadable):
        value = Unreadable(row.data, data_type.problem)
    elif data_type is DataType.str:
        value = row.data
    elif data_type is DataType.json:
        value = decode_json(row.data)
    else:
        path = files.resolve(row.data)
        try:
            value = files.read_bytes(row.data)
        except errors.NotFound as exc:
            raise errors.FileIntegrityError(
                f"the file of process_data {row.id} (process {row.process_id}) is missing: {path}"
            ) from exc
    return Payload(
        id=row.id,
        process_id=row.process_id,
        data_type=data_type,
        is_input=row.is_input if isinstance(row.is_input, Unreadable) else bool(row.is_input),  # type: ignore[arg-type]
        value=value,
        file_path=path,
    )


# -- rows ---------------------------------------------------------------------------------


def _latest_snapshot(session_id: int) -> ParameterHistory | None:
    # Snapshots of one session are written under its lock, so ids grow in history order.
    row = (
        ParameterHistory.select()
        .where(ParameterHistory.session == session_id)
        .order_by(ParameterHistory.id.desc())
        .first()
    )
    return row if isinstance(row, ParameterHistory) else None


def _write_snapshot(session: GenerativeSession, parameters: dict[str, Any]) -> ParameterSnapshot:
    """Make ``parameters`` current: a new snapshot and the session's column, same instant."""
    now = utcnow()
    snapshot = ParameterHistory.create(session=session.id, parameters=parameters, modified_at=now)
    GenerativeSession.update(parameters=parameters, last_modified=now).where(
        GenerativeSession.id == session.id
    ).execute()
    return _snapshot_record(snapshot)


def _current_snapshot(session: GenerativeSession) -> ParameterSnapshot:
    """The latest snapshot; a session adopted without history gets one made from its column."""
    latest = _latest_snapshot(session.id)
    if latest is not None and _same(latest.parameters, session.parameters):
        return _snapshot_record(latest)
    # Legacy DashAI sessions may have no history (or a column edited outside the store):
    # record what is current so processes and restores always have a snapshot to point at.
    now = utcnow()
    return _snapshot_record(
        ParameterHistory.create(session=session.id, parameters=session.parameters, modified_at=now)
    )


def _insert_payloads(process: Any, items: list[tuple[DataType, Any]], is_input: bool) -> list[Payload]:
    """Insert payload rows, writing binary values to files first.

    A file is written before its row and removed again if the transaction rolls back, so
    no committed row names a missing file and no rolled-back call leaves a file behind.
    """
    records: list[Payload] = []
    for data_type, value in items:
        if data_type in FILE_TYPES:
            name = f"{uuid.uuid4().hex}.{_extension(data_type, value)}"
            data = files.layout.generative_payload(process.session_id, process.id, name)
            files.write_bytes(data, value)
            files.discard_on_rollback(data)
        elif data_type is DataType.json:
            data = json.dumps(value, ensure_ascii=False, allow_nan=False)
        else:
            data = value
        row = ProcessData.create(process=process.id, data=data, data_type=data_type.value, is_input=is_input)
        records.append(
            Payload(
                id=row.id,
                process_id=process.id,
                data_type=data_type,
                is_input=is_input,
                value=value,
                file_path=files.resolve(data) if data_type in FILE_TYPES else None,
            )
        )
    return records


# -- sessions -----------------------------------------------------------------------------


@writes
def create_session(
    name: str,
    task_name: str,
    model_name: str,
    parameters: dict[str, Any],
    description: str | None = None,
) -> GenerativeSessionRecord:
    """Create a session and its first parameter snapshot, in one transaction.

    Raises AlreadyExists if ``name`` is taken, ValidationError for malformed arguments.

    >>> s = generative.create_session("cats", "TextToImage", "sd-turbo", {"steps": 4})  # doctest: +SKIP
    >>> [h.parameters for h in generative.parameter_history(s.id)]                    # doctest: +SKIP
    [{'steps': 4}]
    """
    check_name(name, "generative session name")
    check_name(task_name, "task_name")
    check_name(model_name, "model_name")
    params = _parameters(parameters, "parameters")
    check_text(description, "description", optional=True)
    if GenerativeSession.select().where(GenerativeSession.name == name).exists():
        raise errors.AlreadyExists(f"a generative session named {name!r} already exists")
    now = utcnow()
    row = insert_unique(  # a concurrent create may win the race (PostgreSQL)
        lambda: GenerativeSession.create(
            name=name,
            task_name=task_name,
            model_name=model_name,
            parameters=params,
            description=description,
            created=now,
            last_modified=now,
        ),
        f"a generative session named {name!r}",
    )
    ParameterHistory.create(session=row.id, parameters=params, modified_at=now)
    return _session_record(row)


@reads
def get_session(session_id: int) -> GenerativeSessionRecord:
    """The session ``session_id``; NotFound if there is none."""
    return _sessions.get(check_id(session_id, "generative session"))


@reads
def get_session_by_name(name: str) -> GenerativeSessionRecord:
    """The session named ``name``; NotFound if there is none."""
    check_text(name, "generative session name")
    row = GenerativeSession.get_or_none(GenerativeSession.name == name)
    if row is None:
        raise errors.NotFound(f"no generative session is named {name!r}")
    return _session_record(row)


@reads
def list_sessions(task_name: str | None = None) -> list[GenerativeSessionRecord]:
    """All sessions in creation order, optionally only those of ``task_name``."""
    query = GenerativeSession.select().order_by(GenerativeSession.id)
    if task_name is not None:
        query = query.where(GenerativeSession.task_name == check_text(task_name, "task_name"))
    return _sessions.all(query)


@writes
def update_session(
    session_id: int,
    *,
    name: str | _Unset = UNSET,
    description: str | _Unset | None = UNSET,
) -> GenerativeSessionRecord:
    """Rename a session or set (``None``: clear) its description.

    Parameters change only through :func:`update_parameters` / :func:`restore_parameters`,
    which keep the history. A call that changes nothing writes nothing.
    """
    row = fetch(GenerativeSession, check_id(session_id, "generative session"))
    changes: dict[str, Any] = {}
    if not isinstance(name, _Unset):
        check_name(name, "generative session name")
        if name != row.name:
            taken = GenerativeSession.select().where(
                (GenerativeSession.name == name) & (GenerativeSession.id != row.id)
            )
            if taken.exists():
                raise errors.AlreadyExists(f"a generative session named {name!r} already exists")
            changes["name"] = name
    if not isinstance(description, _Unset):
        check_text(description, "description", optional=True)
        if description != row.description:
            changes["description"] = description
    if not changes:
        return _session_record(row)
    changes["last_modified"] = utcnow()
    query = GenerativeSession.update(**changes).where(GenerativeSession.id == row.id)
    insert_unique(query.execute, f"a generative session named {name!r}")
    return _session_record(fetch(GenerativeSession, row.id))


@writes
def delete_session(session_id: int) -> None:
    """Delete a session with its snapshots, processes, payloads and payload files.

    The files go once the transaction has committed (see ``files.delete_after_commit``).
    """
    row = fetch(GenerativeSession, check_id(session_id, "generative session"))
    delete_rows(GenerativeSession, [row.id])


# -- parameters and their history --------------------------------------------------------------


@writes
def update_parameters(session_id: int, changes: dict[str, Any], replace: bool = False) -> ParameterSnapshot:
    """Merge ``changes`` into the session's parameters (or, with ``replace``, replace them).

    The new parameters are written as a new snapshot and as the session's current
    parameters in one transaction. Returns the current snapshot: the new one, or, if the
    update changes nothing, the existing one (nothing is written then, not even
    ``last_modified``; the one exception is a session adopted from an old database
    with no history yet, whose current parameters are recorded as its first snapshot).
    Merging cannot remove a key; replace does.

    >>> generative.update_parameters(s.id, {"steps": 8}).parameters     # doctest: +SKIP
    {'steps': 8}
    """
    if not isinstance(replace, bool):
        raise errors.ValidationError(f"replace must be a bool, got {type(replace).__name__}")
    new = _parameters(changes, "parameter changes")
    # Read-modify-write under the session's lock: a concurrent update waits, then merges
    # into what this one wrote.
    session = fetch(GenerativeSession, check_id(session_id, "generative session"), lock=True)
    if not replace:
        _readable(session.parameters, f"generative session {session.id}'s parameters")
    target = new if replace else {**session.parameters, **new}
    if _same(target, session.parameters):
        return _current_snapshot(session)
    return _write_snapshot(session, target)


@writes
def restore_parameters(session_id: int, snapshot_id: int) -> ParameterSnapshot:
    """Make snapshot ``snapshot_id``'s parameters current by writing a new snapshot.

    The trail is never rewritten: restoring appends. Restoring parameters equal to the
    current ones writes nothing and returns the current snapshot. A snapshot of another
    session raises ValidationError.
    """
    sid = check_id(session_id, "generative session")
    hid = check_id(snapshot_id, "parameter snapshot")
    session = fetch(GenerativeSession, sid, lock=True)
    snapshot: Any = fetch(ParameterHistory, hid, "parameter snapshot")
    if snapshot.session_id != sid:
        raise errors.ValidationError(
            f"parameter snapshot {hid} belongs to generative session {snapshot.session_id}, not {sid}"
        )
    _readable(snapshot.parameters, f"parameter snapshot {hid}")
    if _same(snapshot.parameters, session.parameters):
        return _current_snapshot(session)
    return _write_snapshot(session, snapshot.parameters)


def _readable(parameters: Any, what: str) -> None:
    if isinstance(parameters, Unreadable):
        raise errors.UnreadableValue(
            f"{what} cannot be read ({parameters.problem}); replace them (replace=True) or delete the session"
        )


@reads
def parameter_history(session_id: int) -> list[ParameterSnapshot]:
    """Every snapshot of the session, oldest first (the first is the creation's)."""
    session = fetch(GenerativeSession, check_id(session_id, "generative session"))
    query = (
        ParameterHistory.select().where(ParameterHistory.session == session.id).order_by(ParameterHistory.id)
    )
    return _snapshots.all(query)


@reads
def get_snapshot(snapshot_id: int) -> ParameterSnapshot:
    """One snapshot, e.g. the one a process ran with (``process.parameter_history_id``)."""
    hid = check_id(snapshot_id, "parameter snapshot")
    return _snapshots.get(hid, "parameter snapshot")


@reads
def parameter_changes(session_id: int) -> list[ParameterChange]:
    """Per snapshot, oldest first: keys added, removed and changed (``(old, new)``).

    Relative to the snapshot before it; the first snapshot's keys are all "added". A
    snapshot whose parameters cannot be read (edited by hand) shows no change, and the next
    one is compared with the last readable one.
    """
    changes: list[ParameterChange] = []
    previous: dict[str, Any] = {}
    for snapshot in parameter_history(session_id):
        current_params = snapshot.parameters
        if isinstance(current_params, Unreadable):
            changes.append(ParameterChange(snapshot_id=snapshot.id, modified_at=snapshot.modified_at))
            continue
        changes.append(
            ParameterChange(
                snapshot_id=snapshot.id,
                modified_at=snapshot.modified_at,
                added={k: v for k, v in current_params.items() if k not in previous},
                removed={k: v for k, v in previous.items() if k not in current_params},
                changed={
                    k: (previous[k], v)
                    for k, v in current_params.items()
                    if k in previous and not _same(previous[k], v)
                },
            )
        )
        previous = current_params
    return changes


# -- processes ----------------------------------------------------------------------------


@writes
def create_process(session_id: int, inputs: Sequence[PayloadInput] = ()) -> GenerativeProcessRecord:
    """Create a process of the session with its input payloads, in one transaction.

    The process records the session's current parameter snapshot
    (``parameter_history_id``). ``inputs`` are ``(data_type, value)`` pairs (see the
    module docstring); all are validated before anything is written.

    >>> p = generative.create_process(s.id, [("str", "a cat"), ("json", {"seed": 1})])  # doctest: +SKIP
    """
    items = _payload_inputs(inputs, "inputs")
    # Locked like an update, so the snapshot read is the one current when the process starts.
    session = fetch(GenerativeSession, check_id(session_id, "generative session"), lock=True)
    snapshot = _current_snapshot(session)
    now = utcnow()
    row = GenerativeProcess.create(
        session=session.id, parameter_history=snapshot.id, created=now, last_modified=now
    )
    _insert_payloads(row, items, True)
    return _process_record(row)


@writes
def add_outputs(process_id: int, outputs: Sequence[PayloadInput]) -> list[Payload]:
    """Add output payloads to a process, in one transaction; returns them in order.

    ``outputs`` are ``(data_type, value)`` pairs (see the module docstring).
    """
    pid = check_id(process_id, "generative process")
    items = _payload_inputs(outputs, "outputs")
    process = fetch(GenerativeProcess, pid)
    records = _insert_payloads(process, items, False)
    if records:
        GenerativeProcess.update(last_modified=utcnow()).where(GenerativeProcess.id == process.id).execute()
    return records


@reads
def get_process(process_id: int) -> GenerativeProcessRecord:
    """The process ``process_id``; NotFound if there is none."""
    return _processes.get(check_id(process_id, "generative process"))


@reads
def list_processes(session_id: int) -> list[GenerativeProcessRecord]:
    """The session's processes in creation order; NotFound for an unknown session."""
    session = fetch(GenerativeSession, check_id(session_id, "generative session"))
    query = (
        GenerativeProcess.select()
        .where(GenerativeProcess.session == session.id)
        .order_by(GenerativeProcess.id)
    )
    return _processes.all(query)


@reads
def payloads(process_id: int, is_input: bool | None = None) -> list[Payload]:
    """The process's payloads in the order they were added (inputs, outputs or both).

    Values come back as written: ``str``, the JSON value, or the same ``bytes`` (read
    from the payload's file, whose absolute path is ``file_path``).
    """
    process = fetch(GenerativeProcess, check_id(process_id, "generative process"))
    query = ProcessData.select().where(ProcessData.process == process.id).order_by(ProcessData.id)
    if is_input is not None:
        if not isinstance(is_input, bool):
            raise errors.ValidationError(f"is_input must be a bool or None, got {type(is_input).__name__}")
        query = query.where(ProcessData.is_input == is_input)
    return [_payload_record(row) for row in query.iterator()]


@reads
def payload_by_file_name(file_name: str) -> Payload:
    """The image (or bytes) payload whose file is named ``file_name``, with its bytes and path.

    DashAI's image endpoint (``GET /generative-process/image/{filename}``) is given a bare
    file name, the last component of a payload's ``file_path``; this finds that payload
    in any session or process. File names are unique (a uuid each).

    >>> p = generative.payload_by_file_name("3f2a...e9.png")               # doctest: +SKIP
    >>> FileResponse(p.file_path)                                         # doctest: +SKIP

    Raises UnsafePath for a name that is not a bare file name (``/``, ``\\``, ``..``),
    ValidationError for one that is not text, NotFound when no payload has that file.
    """
    if not isinstance(file_name, str):
        raise errors.ValidationError(f"a file name must be a str, got {type(file_name).__name__}")
    check_text(file_name, "file name", required=True)
    if "/" in file_name or "\\" in file_name or file_name in (".", ".."):
        raise errors.UnsafePath(f"{file_name!r} is not a bare file name")
    # The path's last component, compared exactly (LIKE would need escaping and is
    # case-insensitive on SQLite only); SUBSTR and LENGTH read alike on both backends.
    data = ProcessData.data
    tail = fn.SUBSTR(data, fn.LENGTH(data) - len(file_name))
    file_types = [data_type.value for data_type in FILE_TYPES]
    row = (
        ProcessData.select()
        .where(ProcessData.data_type.in_(file_types) & ((data == file_name) | (tail == f"/{file_name}")))
        .order_by(ProcessData.id)
        .first()
    )
    if row is None:
        raise errors.NotFound(f"no generative payload has a file named {file_name!r}")
    return _payload_record(row)


@writes
def delete_process(process_id: int) -> None:
    """Delete a process with its payloads and payload files (the files after COMMIT)."""
    row = fetch(GenerativeProcess, check_id(process_id, "generative process"))
    delete_rows(GenerativeProcess, [row.id])


# -- lifecycle ----------------------------------------------------------------------------

_jobs = Jobs(GenerativeProcess, _process_record, "generative process")


def deliver(process_id: int, job_id: str | None = None) -> GenerativeProcessRecord:
    """NOT_STARTED -> DELIVERED, recording the job queue's id for the process."""
    return _jobs.deliver(process_id, job_id)


def start(process_id: int) -> GenerativeProcessRecord:
    """DELIVERED -> STARTED."""
    return _jobs.start(process_id)


def finish(process_id: int) -> GenerativeProcessRecord:
    """STARTED -> FINISHED."""
    return _jobs.finish(process_id)


@writes
def fail(process_id: int, error: str) -> GenerativeProcessRecord:
    """DELIVERED/STARTED -> ERROR, with ``error`` as the process's error and as an output.

    The app shows a failed process's outputs, so the message is also added as an output
    payload of type ``str``, in the same transaction as the move.
    """
    pid = check_id(process_id, "generative process")
    message = _jobs.check_error(pid, error)
    record = _jobs.fail(pid, message)
    ProcessData.create(process=pid, data=message, data_type=DataType.str.value, is_input=False)
    return record
