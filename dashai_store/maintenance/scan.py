"""Scanning the home: which files under the store's folders a row owns (check, gc, backup)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import peewee

from .. import cascade, models
from ..files import layout
from ..files.io import is_temp_name

MANAGED_ROOTS = layout.MANAGED_ROOTS
GRACE_S = 3600.0
Progress = Callable[[str, int, int], None]
"""``progress(phase, done, total)``; ``total`` is 0 when it is not known yet."""


def tick(progress: Progress | None, phase: str, done: int, total: int) -> None:
    if progress is not None:
        progress(phase, done, total)


# -- scanning the home ----------------------------------------------------------------------


def covered(rel: str, refs: set[str]) -> bool:
    """Whether ``rel`` is a referenced path or lies under one."""
    parts = rel.split("/")
    return any("/".join(parts[:i]) in refs for i in range(1, len(parts) + 1))


def protected_dirs(refs: Iterable[str]) -> set[str]:
    """Every referenced path and every folder above one: folders gc must keep."""
    kept: set[str] = set()
    for ref in refs:
        parts = ref.split("/")
        kept.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    return kept


@dataclass
class Entry:
    rel: str
    size: int
    age_s: float


def walk(home: Path, now: float) -> Iterator[Entry]:
    """Every file (and symlink) under the managed roots; never follows links."""
    for root in MANAGED_ROOTS:
        top = home / root
        if not top.is_dir() or top.is_symlink():
            continue
        for folder, dirnames, filenames in os.walk(top):
            base = Path(folder)
            names = list(filenames)
            for name in list(dirnames):  # a linked folder is judged as a file, not entered
                if (base / name).is_symlink():
                    dirnames.remove(name)
                    names.append(name)
            for name in names:
                path = base / name
                try:
                    info = path.lstat()
                except FileNotFoundError:  # removed by a writer while we walked
                    continue
                rel = PurePosixPath(path.relative_to(home)).as_posix()
                yield Entry(rel, info.st_size, now - info.st_mtime)


@dataclass
class Scan:
    unowned: list[Entry] = field(default_factory=list)
    stale_temp: list[Entry] = field(default_factory=list)
    recent: list[Entry] = field(default_factory=list)
    refs: set[str] = field(default_factory=set)


def scan_home(home: Path, grace_s: float, progress: Progress | None) -> Scan:
    # The walk comes before the read of the references: a file seen by the walk whose
    # row committed before the read is then owned; one whose row commits later is young.
    entries: list[Entry] = []
    for entry in walk(home, time.time()):
        entries.append(entry)
        if len(entries) % 1000 == 0:
            tick(progress, "scan", len(entries), 0)
    tick(progress, "scan", len(entries), len(entries))
    scan = Scan(refs=cascade.referenced_paths())
    for entry in entries:
        name = entry.rel.rsplit("/", 1)[-1]
        if is_temp_name(name):
            if entry.age_s >= grace_s:
                scan.stale_temp.append(entry)
        elif not covered(entry.rel, scan.refs):
            (scan.unowned if entry.age_s >= grace_s else scan.recent).append(entry)
    return scan


def artifact_entries(
    db: peewee.Database | None = None,
) -> Iterator[tuple[type[models.BaseModel], int, str, dict[str, Any]]]:
    """(model, row id, artifact name, {"path", "sha256"}) of every artifact entry."""
    for model in (models.Run, models.GlobalExplainer, models.LocalExplainer):
        field_ = model.artifacts
        query = model.select(model.id, field_).where(field_.is_null(False)).tuples()
        for row_id, artifacts in query.iterator(db):
            if not isinstance(artifacts, dict):
                continue
            for name, entry in artifacts.items():
                if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                    yield model, row_id, str(name), entry
