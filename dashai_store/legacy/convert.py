"""Value conversions for adopting a legacy DashAI database: JSON, timestamps, enums, paths, pickles.

Pure functions (no database, no writes) shared by the plan (``--dry-run``) and the
adoption, so that what the plan announces is exactly what the adoption does.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timezone, tzinfo
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from ..files.plots import figure_from_pickle

__all__ = ["figure_from_pickle"]  # re-exported: the survey and the adoption import it from here

#: Set to an IANA zone name (e.g. ``America/Santiago``) to say in which zone the legacy
#: database's naive timestamps were written; by default the adopting machine's local zone.
TIMEZONE_ENV = "DASHAI_LEGACY_TIMEZONE"

_WINDOWS_ABSOLUTE = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\)")


# -- JSON ------------------------------------------------------------------------------------


def normalise_json(raw: Any) -> tuple[str | None, bool, bool]:
    """``(json_text, was_double_encoded, was_invalid)`` for a legacy JSON column value.

    DashAI passed already-serialized strings to JSON columns, so some values are a JSON
    *string* holding the JSON document: those are decoded until the value is no longer
    a string that holds an object or array. Text is re-encoded the way this store writes
    JSON (``ensure_ascii=False``; NaN/Infinity kept). A JSON ``null`` becomes SQL NULL
    (the caller keeps ``"null"`` for a NOT NULL column). Text that is not JSON at all is
    kept as a JSON string (so it still reads back) and flagged.
    """
    if raw is None:
        return None, False, False
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    try:
        value = json.loads(text)
    except ValueError:
        return json.dumps(text, ensure_ascii=False), False, True
    double = False
    while isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        try:
            value = json.loads(value)
        except ValueError:
            break
        double = True
    if value is None:
        return None, double, False
    return json.dumps(value, ensure_ascii=False, allow_nan=True), double, False


# -- timestamps ---------------------------------------------------------------------------------


def legacy_zone() -> tuple[tzinfo | None, str]:
    """The zone legacy timestamps are read in: ``$DASHAI_LEGACY_TIMEZONE`` or the local one."""
    name = os.environ.get(TIMEZONE_ENV, "").strip()
    if name:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name), name
    local = datetime.now().astimezone().tzinfo
    return None, f"the local time zone of this machine ({local})"


def to_utc(raw: Any, zone: tzinfo | None) -> str | None:
    """A legacy naive local timestamp as this store's naive UTC text; ValueError if unreadable.

    ``zone`` None means the machine's local zone (DST rules of each date applied; an
    ambiguous hour at a DST fold is read as its first occurrence).
    """
    if raw is None:
        return None
    value = datetime.fromisoformat(str(raw).strip().replace("T", " "))
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone) if zone is not None else value.astimezone()
    return str(value.astimezone(timezone.utc).replace(tzinfo=None))


# -- enums -----------------------------------------------------------------------------------------


def normalise_enum(raw: Any, allowed: tuple[str, ...]) -> str | None:
    """The member name for ``raw`` (exact, or differing only in case); None if unknown."""
    if isinstance(raw, str):
        if raw in allowed:
            return raw
        folded = {name.casefold(): name for name in allowed}
        return folded.get(raw.strip().casefold())
    return None


# -- paths --------------------------------------------------------------------------------------------


def path_parts(text: str) -> tuple[bool, tuple[str, ...]]:
    """``(is_absolute, parts)`` of a stored path, POSIX or Windows, without its anchor."""
    if _WINDOWS_ABSOLUTE.match(text):
        return True, PureWindowsPath(text).parts[1:]
    if text.startswith("/"):
        return True, PurePosixPath(text).parts[1:]
    return False, tuple(p for p in re.split(r"[\\/]+", text) if p and p != ".")


def infer_old_root(paths: Iterable[str], home: Path) -> tuple[str, ...] | None:
    """The folder the absolute paths were stored under (DashAI's home on the old machine).

    The root is the prefix under which the most stored paths exist in ``home``; on a tie
    (or when no file exists) a prefix ending in a ``.DashAI`` folder wins, then the longer.
    """
    absolute = [parts for is_abs, parts in map(path_parts, paths) if is_abs and parts]
    if not absolute:
        return None
    scores: Counter[tuple[str, ...]] = Counter()
    for parts in absolute:
        for cut in range(len(parts)):
            prefix = parts[:cut]
            if home.joinpath(*parts[cut:]).exists():
                scores[prefix] += 1
    named: Counter[tuple[str, ...]] = Counter()
    for parts in absolute:
        for cut, part in enumerate(parts):
            if part.casefold() == ".dashai":
                named[parts[: cut + 1]] += 1
    candidates = set(scores) | set(named)
    if not candidates:
        return None
    return max(candidates, key=lambda p: (scores[p], named[p], len(p)))


def rebase(text: str | None, root: tuple[str, ...] | None) -> str | None:
    """``text`` relative to the home (POSIX form), or None if it is outside the old root."""
    if text is None or not str(text).strip():
        return None
    is_abs, parts = path_parts(str(text).strip())
    if is_abs:
        if root is None or parts[: len(root)] != root:
            return None
        parts = parts[len(root) :]
    if not parts or any(p == ".." for p in parts):
        return None
    return "/".join(parts)


# -- pickles --------------------------------------------------------------------------------------------


def is_json_file(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True
