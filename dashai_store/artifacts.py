"""Objects a row keeps as a joblib file, with the file's sha256 in its ``artifacts`` column.

A run's model (``artifacts["model"]``) and an explainer's explanation
(``artifacts["explanation"]``, also named by its ``explanation_path`` column) are saved
the same way: :func:`save_joblib` writes the file without ever overwriting bytes a
committed row names (see :func:`dashai_store.files.save_joblib_staged`), records the
checksum, and, once the transaction commits, repoints the row at the file's final name.
The checksum is checked before anything is unpickled (:func:`dashai_store.files.load_joblib`).

Files from outside the store load only when the caller trusts them: a row imported from a
``.dashai`` bundle (:mod:`dashai_store.bundles`) names its import in ``origin``, and
:func:`refuse_untrusted` stops the load of its joblib file (someone else's code: unpickling
runs it) unless the caller says ``trust=True`` or the import was made trusted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import errors, files, models
from .rows import fetch

__all__ = ["ORIGIN", "ORIGIN_MODELS", "refuse_untrusted", "save_joblib"]


def save_joblib(
    model: type[models.BaseModel],
    row_id: int,
    obj: Any,
    *,
    final: str,
    artifact: str,
    path_column: str | None = None,
    what: str,
    changes: Mapping[str, Any] | None = None,
) -> None:
    """Save ``obj`` as row ``row_id``'s ``artifact``, inside the caller's write transaction.

    ``final`` is the file's home-relative name; ``artifacts[artifact]`` becomes
    ``{"path", "sha256"}`` of the file written, and ``path_column`` (if given) names it
    too. ``changes`` are further columns to set in the same UPDATE. The row is locked
    first, so a concurrent save or promotion of the same row waits. ``what`` names the
    object in the ValidationError for one joblib cannot pickle (nothing is written then).
    If the row named ``final`` already, the new file is staged under another name and the
    row repointed at ``final`` in a second transaction after this one commits.
    """
    row: Any = fetch(model, row_id, lock=True)
    entry = (row.artifacts or {}).get(artifact)
    if path_column is not None:
        committed = getattr(row, path_column)
    else:
        committed = entry.get("path") if isinstance(entry, dict) else None
    relative, digest = files.save_joblib_staged(
        final,
        obj,
        committed=committed,
        what=what,
        repoint=lambda staged, final_name: _repoint(model, row_id, artifact, path_column, staged, final_name),
    )
    artifacts = dict(row.artifacts or {})
    artifacts[artifact] = {"path": relative, "sha256": digest}
    columns: dict[str, Any] = {"artifacts": artifacts, **(changes or {})}
    if path_column is not None:
        columns[path_column] = relative
    model.update(**columns).where(model.id == row_id).execute()


def _repoint(
    model: type[models.BaseModel],
    row_id: int,
    artifact: str,
    path_column: str | None,
    staged: str,
    final: str,
) -> bool:
    """Point the row's ``artifact`` at ``final`` if it still names ``staged``."""
    try:
        row: Any = fetch(model, row_id, lock=True)
    except errors.NotFound:
        return False  # deleted meanwhile: the deletion owns the files
    entry = (row.artifacts or {}).get(artifact)
    if not isinstance(entry, dict) or entry.get("path") != staged:
        return False  # replaced meanwhile: that save owns the files now
    if path_column is not None and getattr(row, path_column) != staged:
        return False
    columns: dict[str, Any] = {"artifacts": {**row.artifacts, artifact: {**entry, "path": final}}}
    if path_column is not None:
        columns[path_column] = final
    model.update(**columns).where(model.id == row_id).execute()
    return True


# -- files from outside the store ------------------------------------------------------------------

#: The column naming the import a row came from (NULL: made in this store).
ORIGIN = "origin"

#: The tables whose rows own files that run code when loaded (they have ``origin``).
ORIGIN_MODELS: tuple[type[models.BaseModel], ...] = tuple(
    model for model in models.DOMAIN_MODELS if ORIGIN in model._meta.fields
)


def refuse_untrusted(row: Any, what: str, *, trust: bool) -> None:
    """UntrustedArtifact unless ``row`` was made here, its import is trusted, or ``trust``.

    ``what`` names the file for the message (``"the model of run 3"``).
    """
    origin = getattr(row, ORIGIN, None)
    if origin is None or trust:
        return
    imported = models.BundleImport.get_or_none(models.BundleImport.id == origin)
    if imported is not None and imported.trusted is True:
        return
    source = f"the bundle {imported.source!r} (import {origin})" if imported is not None else "a bundle"
    raise errors.UntrustedArtifact(
        f"{what} came from {source}, not from this store: loading it runs code its author "
        "put in it. Pass trust=True (or import the bundle with --trust) only if you trust it."
    )
