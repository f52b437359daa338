"""``copy --merge``: a whole store added to one that already holds work, with new ids.

A merge is an import (:mod:`dashai_store.bundles`) of everything the source holds: the
source, opened read-only as for a copy, is exported with ``everything=True`` into a
temporary bundle beside the destination, and the bundle is imported there in one
transaction (new ids, references rewritten, taken names suffixed: ``iris`` -> ``iris (2)``).
So a merge killed at any point added nothing, and running it again starts over.

Running it again after it finished must not add the work twice. The import records its
label, ``merge of <source> <content>``, where ``<content>`` hashes the bundle's rows and
files (not its creation time): the same unchanged source merged again is found and
nothing is added (``already_done``); a source that changed since is merged again, as new
work. The source's models and explanations come in trusted: the caller named a store of
their own to merge, exactly as a plain copy keeps its models loadable.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from .. import models
from ..database import Store, bind, reads, unbind
from ..records import CopyRecord
from .source import Source

if TYPE_CHECKING:
    from ..bundles.manifest import Member

#: Temporary bundles live in the destination home (where there is room for its files), in
#: folders named so; one a killed merge left is removed by the next merge.
_STAGING_PREFIX = ".dashai-merge-"


def merge_home(
    source: Source,
    dest_home: Path,
    to_database: str | None,
    started: float,
) -> CopyRecord:
    """Add everything ``source`` holds to the store at ``dest_home`` (see the module)."""
    from ..bundles import importing, manifest
    from ..store import open_store

    dest_home.mkdir(parents=True, exist_ok=True)
    for stale in dest_home.glob(f"{_STAGING_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=dest_home))
    try:
        bundle = staging / "merge.dashai"
        _export(source, bundle)
        with zipfile.ZipFile(bundle) as archive:
            content = manifest.read(archive)[0]
        label = _label(source, content.members)
        with open_store(dest_home, database=to_database) as store:
            # Done before: what it added is in that import's rows; nothing is added now.
            already_done = _merged_before(label)
            rows: dict[str, int] = {}
            files = size = 0
            if not already_done:
                imported = importing.run(bundle, trust=True, once=False, label=label)
                rows, files, size = dict(imported.rows), imported.files, imported.file_bytes
            backend = store.backend
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return CopyRecord(
        source=source.url if source.backend.name == "postgresql" else str(source.home),
        destination=str(dest_home) if to_database is None else to_database,
        backend=backend,
        rows=rows,
        files=files,
        bytes=size,
        skipped_files=0,
        links=(),
        damaged_files=(),
        seconds=time.perf_counter() - started,
        resumed=False,
        already_done=already_done,
        merged=True,
    )


def _export(source: Source, bundle: Path) -> None:
    """Every row and file of ``source`` into ``bundle``, through the read-only connection."""
    from ..bundles import export_bundle

    reader = Store(home=source.home, db=source.db, url=source.url, dialect=source.backend)
    bind(reader)
    try:
        export_bundle(bundle, everything=True)
    finally:
        unbind(reader)


def _label(source: Source, members: dict[str, Member]) -> str:
    listing = {name: [m.sha256, m.size] for name, m in sorted(members.items())}
    content = hashlib.sha256(json.dumps(listing, sort_keys=True).encode()).hexdigest()
    return f"merge of {json.dumps(source.identity, sort_keys=True)} {content}"


@reads
def _merged_before(label: str) -> bool:
    bi = models.BundleImport
    return bool(bi.select().where(bi.source == label).exists())
