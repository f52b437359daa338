"""Which folder the demo may use, and the marker that makes a folder a demo home.

The home: ``--home DIR`` or ``./dashai-demo``; ``~/.DashAI`` is never used unless given.
A folder that does not exist or is empty is used; so is an earlier demo home (it holds
:data:`MARKER`), which gets one more walkthrough with numbered names. Any other non-empty
folder is refused (:class:`DemoHomeRefused`) and left untouched.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..files.io import atomic_write
from .exceptions import DemoHomeRefused

__all__ = ["DEFAULT_HOME_NAME", "MARKER", "choose_home", "read_marker", "write_marker"]

DEFAULT_HOME_NAME = "dashai-demo"
MARKER = "dashai-demo.json"


def choose_home(home: str | os.PathLike[str] | None, cwd: Path | None = None) -> Path:
    """The absolute home for a walkthrough: ``home`` or ``<cwd>/dashai-demo``, if usable.

    Usable: missing, an empty folder, or an earlier demo home (it holds :data:`MARKER`).
    Anything else raises :class:`DemoHomeRefused` naming the folder; nothing is written.
    """
    base = cwd if cwd is not None else Path.cwd()
    path = Path(home).expanduser() if home is not None else base / DEFAULT_HOME_NAME
    if not path.is_absolute():
        path = base / path
    path = Path(os.path.abspath(path))
    if not path.exists():
        return path
    if not path.is_dir():
        raise DemoHomeRefused(f"{path} exists and is not a folder")
    if (path / MARKER).is_file():
        return path
    try:
        empty = next(path.iterdir(), None) is None
    except OSError as exc:
        raise DemoHomeRefused(f"cannot read {path}: {exc}") from exc
    if not empty:
        raise DemoHomeRefused(
            f"{path} is not empty and is not a demo home (it has no {MARKER}); the demo writes a "
            "store there, so give --home a new or empty folder"
        )
    return path


def read_marker(home: Path) -> dict[str, Any]:
    """The home's marker (``{"walkthroughs": [...]}``); an unreadable one counts as empty."""
    try:
        value = json.loads((home / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"walkthroughs": []}
    if not isinstance(value, dict) or not isinstance(value.get("walkthroughs"), list):
        return {"walkthroughs": []}
    return value


def write_marker(home: Path, marker: dict[str, Any]) -> None:
    """Write the marker atomically: an interrupted walkthrough still leaves a valid one, so
    the folder stays recognisable as a demo home."""
    atomic_write(home / MARKER, (json.dumps(marker, indent=2) + "\n").encode("utf-8"))
