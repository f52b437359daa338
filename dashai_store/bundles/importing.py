"""Reading a bundle into the open store: verify everything first, then one transaction.

1. **Verify** (no write to the database): the manifest parses and is of a schema this code
   knows (a newer one: :class:`~dashai_store.errors.BundleTooNew`); the archive holds exactly
   the listed members, plain files with safe names; every member streams out with the
   listed size and sha256, files streamed meanwhile to staging names (:mod:`.verify`).
   Any failure removes them and raises :class:`~dashai_store.errors.BundleRejected`:
   nothing written.
2. **Write**, one write transaction: rows table by table, parents first, each with a new
   id; foreign keys, the paths rows record, ``artifacts`` entries and a dataset's
   ``lineage`` rewritten to the new ids (:mod:`.rewrite`); names a table keeps unique made
   unique (``iris`` -> ``iris (2)``); ``parameter_history`` rows inserted, never updated
   (the append-only rule holds); rows owning joblib files marked with the import's id
   (``origin``, see :func:`~dashai_store.artifacts.refuse_untrusted`). Rows are hashed
   again as they are read (a bundle changed since step 1 rolls back). Staged files get
   their final names with ``link_atomic`` (an O(1) hard link) and are removed again if
   the transaction rolls back; a crash before COMMIT leaves the database untouched and
   at most files no row owns, which ``gc`` removes (the same contract as
   ``datasets.create``).
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import cascade, errors, files, metrics, models
from ..artifacts import ORIGIN, ORIGIN_MODELS
from ..clock import utcnow
from ..database import current, reads, run_in_transaction
from ..files import layout
from ..migrator import default_steps
from ..records import ImportRecord, RenamedRow
from ..rows import insert_unique
from . import graph, manifest, rows, verify
from .rewrite import ARTIFACT_MODELS, PATH_COLUMNS, IdMap, Unmapped
from .verify import check_member, open_archive, reject, remove_staged, stream, verify_and_stage

Model = type[models.BaseModel]
BATCH = 500  # rows per INSERT of a bulk table
METRIC_BATCH = 50_000  # points per metrics.log_many call


def _bulk(model: Model) -> bool:
    """Rows inserted in batches: nothing refers to them and nothing in them needs their new id."""
    return (
        graph.is_leaf(model)
        and model not in PATH_COLUMNS
        and model not in ARTIFACT_MODELS
        and model not in ORIGIN_MODELS
    )


def _unique_name_field(model: Model) -> Any:
    name = model._meta.fields.get("name")
    return name if name is not None and name.unique else None


# -- step 2: the write transaction ------------------------------------------------------------------


@dataclass
class _Import:
    archive: zipfile.ZipFile
    man: manifest.Manifest
    staged: dict[str, str]
    import_id: int
    ids: IdMap = field(default_factory=IdMap)
    counts: dict[str, int] = field(default_factory=dict)
    new_ids: dict[str, list[int]] = field(default_factory=dict)
    renamed: list[RenamedRow] = field(default_factory=list)
    merged_plugins: set[int] = field(default_factory=set)
    # Rows whose paths, artifacts or lineage name rows inserted later (or themselves).
    deferred: list[tuple[Model, int, dict[str, Any]]] = field(default_factory=list)

    # -- rows

    def lines(self, name: str) -> Iterator[bytes]:
        """The member's lines, hashed again as they are read (checked at the end)."""
        member = self.man.members[name]
        digest, size = hashlib.sha256(), 0
        pending = b""
        for chunk in stream(self.archive, name):
            digest.update(chunk)
            size += len(chunk)
            pending += chunk
            *complete, pending = pending.split(b"\n")
            yield from (line for line in complete if line.strip())
        if pending.strip():
            yield pending
        check_member(name, member, digest, size)

    def table(self, model: Model) -> None:
        table = model._meta.table_name
        name = manifest.rows_member(table)
        if name not in self.man.members:
            return
        batch: list[dict[str, Any]] = []
        count = 0
        codec = rows.Codec(model)
        for line in self.lines(name):
            values = codec.decode(line)
            count += 1
            old_id = values.pop("id")
            if not self.parents(model, values, old_id):
                continue  # a tag of a plugin merged into one already here
            if model is models.Metric:
                if (batch and batch[-1]["run"] != values["run"]) or len(batch) >= METRIC_BATCH:
                    self.log_metrics(batch)
                batch.append(values)
            elif _bulk(model):
                batch.append(values)
                if len(batch) >= BATCH:
                    self.insert_many(model, batch)
            else:
                self.insert(model, old_id, values)
        if model is models.Metric:
            self.log_metrics(batch)
        else:
            self.insert_many(model, batch)
        if count != self.man.rows.get(table, 0):
            raise reject(f"{name} holds {count} row(s), the manifest counts {self.man.rows.get(table, 0)}")

    def parents(self, model: Model, values: dict[str, Any], old_id: int) -> bool:
        for fk in graph.parent_keys(model):
            value = values.get(fk.name)
            if value is None:
                continue
            try:
                values[fk.name] = self.ids.new(fk.rel_model, value)
            except Unmapped:
                raise reject(
                    f"{model._meta.table_name} {old_id} refers to {fk.rel_model._meta.table_name} {value}, "
                    "which the bundle does not hold"
                ) from None
            if model is models.Tag and value in self.merged_plugins:
                return False
        if model is models.ProcessData and values.get("data_type") in cascade.FILE_DATA_TYPES:
            values["data"] = self.ids.optional_path(values.get("data"))  # its session and process are in
            if values["data"] is None:
                raise reject(f"process_data {old_id} names a file outside its process's folder")
        return True

    def log_metrics(self, batch: list[dict[str, Any]]) -> None:
        """One run's points through the store's own bulk writer (``metrics.log_many``: its
        fast path, and each backend's spelling of NaN and -0.0), joining this transaction."""
        if not batch:
            return
        points = [(p["name"], p["split"], p["level"], p["step"], p["value"], p["timestamp"]) for p in batch]
        try:
            metrics.log_many(batch[0]["run"], points)
        except errors.ValidationError as exc:
            raise reject(f"a metric row is not a metric point ({exc})") from None
        self.counts["metric"] = self.counts.get("metric", 0) + len(batch)
        batch.clear()

    def insert_many(self, model: Model, batch: list[dict[str, Any]]) -> None:
        if not batch:
            return
        query = model.insert_many(batch)
        if model is models.Tag:
            query = query.on_conflict_ignore()  # a merged plugin's tag already here
        query.execute()
        table = model._meta.table_name
        self.counts[table] = self.counts.get(table, 0) + len(batch)
        batch.clear()

    def insert(self, model: Model, old_id: int, values: dict[str, Any]) -> None:
        table = model._meta.table_name
        later: dict[str, Any] = {}
        for column in PATH_COLUMNS.get(model, ()):
            if values.get(column) is not None:
                later[column] = values[column]
                if model._meta.fields[column].null:
                    values[column] = None  # set once every id it names is known
        if model in ARTIFACT_MODELS and values.get("artifacts") is not None:
            later["artifacts"] = values.pop("artifacts")
        if model is models.Dataset and values.get("lineage") is not None:
            later["lineage"] = values.pop("lineage")
        if model in ORIGIN_MODELS:
            values[ORIGIN] = self.import_id
        name_field = _unique_name_field(model)
        original = values.get(name_field.name) if name_field is not None else None
        if name_field is not None and isinstance(original, str):
            if model is models.Plugin:
                existing = model.get_or_none(name_field == original)
                if existing is not None:  # one plugin per name: the one here stands for it
                    self.ids.add(model, old_id, existing.id)
                    self.merged_plugins.add(old_id)
                    return
            values[name_field.name] = self.free_name(model, name_field, original)
        new_id = int(insert_unique(model.insert(**values).execute, f"a {table} named {values.get('name')!r}"))
        self.ids.add(model, old_id, new_id)
        self.new_ids.setdefault(table, []).append(new_id)
        self.counts[table] = self.counts.get(table, 0) + 1
        if isinstance(original, str) and values[name_field.name] != original:
            self.renamed.append(RenamedRow(table=table, id=new_id, name=original, new_name=values["name"]))
        if later:
            self.deferred.append((model, new_id, later))

    def free_name(self, model: Model, name_field: Any, name: str) -> str:
        candidate, number = name, 1
        while model.select(model.id).where(name_field == candidate).exists():
            number += 1
            candidate = f"{name} ({number})"
        return candidate

    def finish_rows(self) -> None:
        """Point every deferred path, artifact and lineage at the new ids."""
        for model, new_id, later in self.deferred:
            changes: dict[str, Any] = {}
            for column, value in later.items():
                if column == "artifacts":
                    changes[column] = self.ids.artifacts(value)
                elif column == "lineage":
                    changes[column] = self.ids.lineage(value)
                else:
                    changes[column] = self.ids.optional_path(value)
                    if changes[column] is None and not model._meta.fields[column].null:
                        raise reject(
                            f"{model._meta.table_name} {column} {value!r} names a file "
                            "the bundle does not carry"
                        )
            model.update(**changes).where(model.id == new_id).execute()

    # -- files

    def place_files(self) -> tuple[int, int]:
        """Give each staged file its final name (removed again if the transaction rolls back)."""
        count = size = 0
        discarded: set[str] = set()
        for name, staged in self.staged.items():
            old = name[len(manifest.FILES) :]
            try:
                target = self.ids.path(old)
            except Unmapped:
                raise reject(f"file {old!r} belongs to no row of the bundle") from None
            folder = layout.row_folder_of(target)
            if folder is not None and folder not in discarded:
                files.discard_on_rollback(folder)  # a new row's folder: nothing else is in it
                discarded.add(folder)
            files.link_atomic(staged, target)
            count += 1
            size += self.man.members[name].size
        return count, size


def _pieces(man: manifest.Manifest, ids: IdMap) -> dict[str, dict[int, int]]:
    out: dict[str, dict[int, int]] = {}
    for kind, old_ids in man.pieces.items():
        mapped = ids.of(graph.PIECES[kind])
        out[kind] = {old: mapped[old] for old in old_ids if old in mapped}
    return out


def write(
    source: Path,
    archive: zipfile.ZipFile,
    man: manifest.Manifest,
    bundle: str,
    staged: dict[str, str],
    *,
    trust: bool,
    once: bool,
    label: str | None = None,
) -> ImportRecord:
    """Step 2, in one write transaction (see the module)."""

    def transaction() -> ImportRecord:
        if once:  # again, under the write lock: two imports of one bundle at once add it once
            current().dialect.serialize_writers(f"bundle-import:{bundle}")
            _refuse_repeat(source, bundle)
        imported = models.BundleImport.insert(
            sha256=bundle, source=label or source.name, trusted=trust, pieces={}, imported_at=utcnow()
        ).execute()
        state = _Import(archive, man, staged, int(imported))
        for model in graph.ORDER:
            state.table(model)
        state.finish_rows()
        count, size = state.place_files()
        pieces = _pieces(man, state.ids)
        models.BundleImport.update(
            pieces={k: {str(o): n for o, n in v.items()} for k, v in pieces.items()}
        ).where(models.BundleImport.id == state.import_id).execute()
        return ImportRecord(
            import_id=state.import_id,
            path=source,
            bundle_id=bundle,
            trusted=trust,
            schema=man.schema,
            rows=dict(state.counts),
            new_ids={table: tuple(ids) for table, ids in state.new_ids.items()},
            pieces=pieces,
            renamed=tuple(state.renamed),
            files=count,
            file_bytes=size,
        )

    try:
        return run_in_transaction(transaction)
    except errors.IntegrityError as exc:  # a CHECK, NOT NULL or foreign key the rows break
        raise reject(f"a row breaks a rule of this store's schema ({exc})") from exc


def _refuse_repeat(source: Path, bundle: str) -> None:
    bi = models.BundleImport
    earlier = bi.select().where(bi.sha256 == bundle).order_by(bi.id).first()
    if earlier is not None:
        raise errors.AlreadyImported(
            f"the bundle {source.name} was imported before (import {earlier.id}, "
            f"{earlier.imported_at:%Y-%m-%d %H:%M} UTC); --once adds nothing"
        )


refuse_repeat = reads(_refuse_repeat)


def run(path: Path, *, trust: bool, once: bool, label: str | None = None) -> ImportRecord:
    """Verify ``path`` completely, then add its rows and files in one transaction.

    ``label`` is what the import's record names as its source (default: the file's name).
    """
    current()
    source = Path(path).expanduser().resolve()
    with open_archive(source) as archive:
        man, raw = manifest.read(archive)
        known = [step.id for step in default_steps()]
        if man.schema not in known:
            raise errors.BundleTooNew(
                f"the bundle {source.name} was written at schema {man.schema!r}, which this dashai_store "
                f"does not know (it is at {known[-1]!r}): upgrade dashai_store to import it "
                "(nothing was written)"
            )
        manifest.check_members(archive, man)
        bundle = verify.bundle_id(raw)
        if once:  # before reading gigabytes: the common case fails fast
            refuse_repeat(source, bundle)
        staged = verify_and_stage(archive, man)
        try:
            return write(source, archive, man, bundle, staged, trust=trust, once=once, label=label)
        finally:
            remove_staged(staged)
