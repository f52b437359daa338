"""Files from outside the store load only when the caller trusts them.

A run's model and an explainer's explanation are joblib files: loading one runs whatever
code its author pickled into it. The store's own files are safe to load (it wrote them
and checks their sha256); a file imported from a ``.dashai`` bundle was written by
someone else, so its row names the import in ``origin`` and :func:`refuse_untrusted`
stops the load unless the caller says ``trust=True`` or the import was made trusted
(``import_bundle(..., trust=True)``, :func:`dashai_store.bundles.trust_import`).
"""

from __future__ import annotations

from typing import Any

from .. import errors, models

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
