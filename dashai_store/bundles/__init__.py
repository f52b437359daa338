"""Portable ``.dashai`` bundles: a piece of work as one file, and back into any store.

    >>> from dashai_store import bundles                                         # doctest: +SKIP
    >>> bundles.export_bundle("iris-svm.dashai", runs=[run.id])                  # doctest: +SKIP
    >>> with open_store(other_home):                                             # doctest: +SKIP
    ...     added = bundles.import_bundle("iris-svm.dashai")
    ...     added.pieces["runs"]           # {<old run id>: <new run id>}

A run brings its model session and dataset (and its metrics, predictions and
explainers); a notebook its converters, snapshots and explorers; a generative session its
parameter history, processes and payloads; every piece brings its files. The archive
(:mod:`.manifest`) lists the sha256 of every member; an import checks them all before
writing anything, then adds everything in one transaction with new ids (:mod:`.importing`).
Importing the same file twice makes two copies (names made unique: ``iris (2)``), unless
``once=True``, which refuses a bundle imported before (:class:`~dashai_store.errors.AlreadyImported`).

Models and explanations in a bundle are someone else's code: imported ones load only
with ``trust=True`` (here, or on ``runs.load_model`` / ``explainers.load_explanation``),
see :func:`dashai_store.artifacts.refuse_untrusted`. :func:`list_imports` shows the
imports made; :func:`trust_import` trusts one later.

Modules: :mod:`.graph` (which rows a piece takes, from the foreign keys), :mod:`.rows`
(rows as JSON lines), :mod:`.rewrite` (ids in keys, paths, artifacts and lineage),
:mod:`.manifest` (the format), :mod:`.exporting`, :mod:`.verify` (an import's first
step: every checksum, files staged), :mod:`.importing` (its transaction).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from .. import errors, models
from ..database import reads, writes
from ..records import BundleImportRecord, BundleRecord, ImportRecord
from ..rows import check_id
from . import exporting, graph, importing, verify
from .manifest import FORMAT_VERSION

__all__ = ["FORMAT_VERSION", "export_bundle", "import_bundle", "list_imports", "trust_import"]

Progress = Callable[[str, int, int], None]


@reads
def _roots(pieces: dict[str, tuple[int, ...]]) -> dict[type[models.BaseModel], set[int]]:
    roots: dict[type[models.BaseModel], set[int]] = {}
    for kind, ids in pieces.items():
        model = graph.PIECES[kind]
        for row_id in ids:
            check_id(row_id, kind)
            if not model.select(model.id).where(model.id == row_id).exists():
                raise errors.NotFound(f"{model._meta.table_name} {row_id} does not exist")
        roots.setdefault(model, set()).update(ids)
    return roots


def export_bundle(
    out: str | os.PathLike[str],
    *,
    datasets: Iterable[int] = (),
    model_sessions: Iterable[int] = (),
    runs: Iterable[int] = (),
    notebooks: Iterable[int] = (),
    generative_sessions: Iterable[int] = (),
    everything: bool = False,
    progress: Progress | None = None,
) -> BundleRecord:
    """Write the pieces named (or, ``everything=True``, every row of the store) with their
    files to ``out``, a ``.dashai`` archive, written atomically.

    Each piece takes the rows it needs to stand alone (see :mod:`dashai_store.bundles`).
    NotFound for an id that does not exist; ValidationError when nothing is named. Rows
    are read from one consistent snapshot; files stream through in chunks.
    """
    pieces = {
        kind: tuple(sorted({int(i) for i in ids}))
        for kind, ids in (
            ("datasets", datasets),
            ("model_sessions", model_sessions),
            ("runs", runs),
            ("notebooks", notebooks),
            ("generative_sessions", generative_sessions),
        )
    }
    pieces = {kind: ids for kind, ids in pieces.items() if ids}
    if not pieces and not everything:
        raise errors.ValidationError("name at least one piece to export (or everything=True)")
    roots = _roots(pieces)
    target = Path(out).expanduser().resolve()
    if target.is_dir():
        raise errors.ValidationError(f"{target} is a folder; give the bundle's file name")
    document, raw, file_bytes = exporting.write(target, roots, pieces, everything, progress)
    return BundleRecord(
        path=target,
        bundle_id=verify.bundle_id(raw),
        size=target.stat().st_size,
        format_version=document.format_version,
        schema=document.schema,
        pieces=pieces,
        rows=dict(document.rows),
        files=sum(1 for name in document.members if name.startswith("files/")),
        file_bytes=file_bytes,
    )


def import_bundle(path: str | os.PathLike[str], *, trust: bool = False, once: bool = False) -> ImportRecord:
    """Add the bundle at ``path`` to the open store; returns what was added.

    Every checksum is verified before anything is written; then all rows and files are
    added in one transaction, with new ids. Refused, with nothing written:
    BundleTooNew (a newer schema or format), BundleRejected (tampered, truncated,
    malformed), AlreadyImported (``once=True`` and this bundle was imported before),
    NotFound (no file at ``path``). ``trust=True`` lets the imported models and
    explanations load without ``trust=True`` on each load.
    """
    return importing.run(Path(path), trust=bool(trust), once=bool(once))


@writes
def trust_import(import_id: int) -> None:
    """Trust the models and explanations an earlier import brought (NotFound if no such import)."""
    check_id(import_id, "import")
    query = models.BundleImport.update(trusted=True).where(models.BundleImport.id == import_id)
    if not query.execute():
        raise errors.NotFound(f"bundle import {import_id} does not exist")


@reads
def list_imports() -> list[BundleImportRecord]:
    """Every import of a bundle into this store, oldest first."""
    bi = models.BundleImport
    return [
        BundleImportRecord(
            id=row.id,
            bundle_id=row.sha256,
            source=row.source,
            trusted=row.trusted is True,
            imported_at=row.imported_at,
            pieces=row.pieces if isinstance(row.pieces, dict) else {},
        )
        for row in bi.select().order_by(bi.id)
    ]
