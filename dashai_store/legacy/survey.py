"""Reading a legacy DashAI database into what this store will hold, writing nothing.

:func:`read` turns the rows of DashAI's SQLAlchemy tables into rows of this store's
schema (step ``0001_initial``), and lists everything on the way: rows kept, rows
quarantined (orphans, duplicates, unknown enum values), files to link or convert into
the layout, legacy files or folders to retire, and the problems found. The dry run
prints it (:func:`plan` / :func:`describe`); the adoption (:mod:`.adoption`) carries it out.

Rules (the README's "Upgrading from DashAI" section says the same to users):

* Every row keeps its id. A row whose parent is missing (DashAI left explainer
  ``run_id``/``dataset_id`` undeclared and never enforced the others) is an *orphan*: it
  is not adopted but quarantined — saved whole in the adoption report
  ``backups/legacy-adoption-<stamp>.json`` (and in the backup database) — and so are its
  own children. Its files move to ``backups/legacy-files-<stamp>/`` with the adopted
  rows' legacy files (the report names them): left in place, no row would own them and
  ``gc`` would remove them. The same goes for a row with an enum
  value no member matches, and for the older duplicates of a metric point or a plugin
  tag (the new schema makes those unique; the newest metric value, the first tag, wins).
* Absolute paths are rebased: the old root is inferred from the paths themselves, and
  every stored path becomes relative to the home. Files a row refers to are hard-linked
  (copied where a link is impossible) into this store's layout; pickled plots are
  converted to Plotly JSON when they hold plain data or Plotly figures; models and
  explanations keep their bytes and get their sha256 recorded (``artifacts``), so the
  store's checked loaders accept them. A path whose file is missing is kept (rebased)
  and reported; ``maintenance.check`` reports it afterwards too.
* JSON is decoded again where DashAI double-encoded it; timestamps, naive local time in
  DashAI, are converted to UTC (zone: ``$DASHAI_LEGACY_TIMEZONE`` or this machine's).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..enums import LevelEnum, SplitEnum, names
from ..files import layout
from .convert import (
    figure_from_pickle,
    infer_old_root,
    is_json_file,
    legacy_zone,
    normalise_enum,
    normalise_json,
    rebase,
    to_utc,
)

STATUS = ("NOT_STARTED", "DELIVERED", "STARTED", "FINISHED", "ERROR")
# The current values: the adoption runs every registered step, so the rows end in this
# code's schema (DashAI logs EPOCH, FOLD, OUTER_FOLD, LAST_OUTER and FULL; step 0002).
SPLITS = names(SplitEnum)
LEVELS = names(LevelEnum)
PLUGIN_STATUS = ("REGISTERED", "INSTALLED", "ERROR")
PLUGIN_TAGS = ("DashAI", "Package", "Task", "Model", "Metric", "Dataloader", "Converter", "Explainer")
DATA_TYPES = ("str", "json", "image", "bytes")

#: DashAI's tables in the order they are adopted (parents first).
TABLES: tuple[str, ...] = (
    "dataset",
    "model_session",
    "run",
    "metric",
    "prediction",
    "notebook",
    "converter",
    "explorer",
    "generative_session",
    "parameter_history",
    "generative_process",
    "process_data",
    "plugin",
    "tag",
    "global_explainer",
    "local_explainer",
)
#: Present in every DashAI database this code knows how to adopt.
REQUIRED_TABLES = ("dataset", "model_session", "run", "metric")

_JOB = ("huey_id", "delivery_time", "start_time", "end_time")
#: The legacy columns read, per table; ``OPTIONAL`` ones may be absent (older revisions).
LEGACY_COLUMNS: dict[str, tuple[str, ...]] = {
    "dataset": ("id", "name", "huey_id", "created", "last_modified", "file_path", "status"),
    "model_session": (
        "id", "dataset_id", "name", "task_name", "input_columns", "output_columns", "train_metrics",
        "validation_metrics", "test_metrics", "splits", "created", "last_modified",
    ),
    "run": (
        "id", "model_session_id", "created", "last_modified", "model_name", "parameters", "split_indexes",
        "optimizer_name", "optimizer_parameters", "plot_history_path", "plot_slice_path", "plot_contour_path",
        "plot_importance_path", "goal_metric", "artifacts", "name", "description", "run_path", "status",
        *_JOB,
    ),
    "metric": ("id", "run_id", "split", "level", "name", "value", "step", "timestamp"),
    "prediction": ("id", "run_id", "dataset_id", "created", "last_modified", "results_path", "status", *_JOB),
    "notebook": ("id", "dataset_id", "created", "last_modified", "file_path", "name", "description"),
    "converter": (
        "id", "notebook_id", "converter", "parameters", "created", "last_modified", "status", *_JOB,
    ),
    "explorer": (
        "id", "notebook_id", "created", "last_modified", "columns", "exploration_type", "parameters",
        "exploration_path", "name", "status", *_JOB,
    ),
    "generative_session": (
        "id", "created", "last_modified", "task_name", "model_name", "parameters", "name", "description",
    ),
    "parameter_history": ("id", "session_id", "parameters", "modified_at"),
    "generative_process": ("id", "created", "last_modified", "session_id", "status", *_JOB),
    "process_data": ("id", "data", "data_type", "process_id", "is_input"),
    "plugin": (
        "id", "name", "author", "installed_version", "lastest_version", "status", "summary", "description",
        "description_content_type", "created", "last_modified",
    ),
    "tag": ("id", "plugin_id", "name"),
    "global_explainer": (
        "id", "name", "run_id", "explainer_name", "explanation_path", "plot_path", "parameters", "created",
        "status", "huey_id",
    ),
    "local_explainer": (
        "id", "name", "run_id", "explainer_name", "dataset_id", "explanation_path", "plots_path",
        "parameters",
        "fit_parameters", "scope", "created", "status", "huey_id",
    ),
}  # fmt: skip
OPTIONAL = frozenset(
    {
        "huey_id", "delivery_time", "start_time", "end_time", "description", "artifacts", "run_path",
        "split_indexes", "plot_history_path", "plot_slice_path", "plot_contour_path", "plot_importance_path",
        "train_metrics", "validation_metrics", "test_metrics", "results_path", "exploration_path", "name",
        "explanation_path", "plot_path", "plots_path", "dataset_id", "lastest_version", "latest_version",
    }
)  # fmt: skip

#: Columns this store added to DashAI's tables (filled by the adoption; for the plan).
ADDED_COLUMNS: dict[str, tuple[str, ...]] = {
    "dataset": ("error", "delivery_time", "start_time", "end_time", "lineage"),
    "run": ("error",),
    "prediction": ("error",),
    "notebook": ("current_position",),
    "converter": ("error", "position", "snapshot_path"),
    "explorer": ("error", "position"),
    "generative_process": ("error", "huey_id", "parameter_history_id"),
    "global_explainer": ("error", "delivery_time", "start_time", "end_time", "artifacts"),
    "local_explainer": ("error", "delivery_time", "start_time", "end_time", "artifacts"),
}
RENAMED_COLUMNS: dict[str, dict[str, str]] = {"plugin": {"lastest_version": "latest_version"}}
#: (table, column) -> parent table, for every foreign key of this store's schema.
PARENTS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "model_session": (("dataset_id", "dataset", False),),
    "run": (("model_session_id", "model_session", False),),
    "metric": (("run_id", "run", False),),
    "prediction": (("run_id", "run", False), ("dataset_id", "dataset", True)),
    "notebook": (("dataset_id", "dataset", False),),
    "converter": (("notebook_id", "notebook", False),),
    "explorer": (("notebook_id", "notebook", False),),
    "parameter_history": (("session_id", "generative_session", False),),
    "generative_process": (("session_id", "generative_session", False),),
    "process_data": (("process_id", "generative_process", False),),
    "tag": (("plugin_id", "plugin", False),),
    "global_explainer": (("run_id", "run", False),),
    "local_explainer": (("run_id", "run", False), ("dataset_id", "dataset", False)),
}
JSON_COLUMNS: dict[str, tuple[str, ...]] = {
    "model_session": (
        "input_columns", "output_columns", "train_metrics", "validation_metrics", "test_metrics", "splits",
    ),
    "run": ("parameters", "split_indexes", "optimizer_parameters", "artifacts"),
    "converter": ("parameters",),
    "explorer": ("columns", "parameters"),
    "generative_session": ("parameters",),
    "parameter_history": ("parameters",),
    "global_explainer": ("parameters",),
    "local_explainer": ("parameters", "fit_parameters", "scope"),
}  # fmt: skip
NULLABLE_JSON = frozenset(
    {"train_metrics", "validation_metrics", "test_metrics", "split_indexes", "artifacts"}
)
TIME_COLUMNS = frozenset(
    {"created", "last_modified", "delivery_time", "start_time", "end_time", "modified_at", "timestamp"}
)
ENUM_COLUMNS: dict[tuple[str, str], tuple[str, ...]] = {
    **{(t, "status"): STATUS for t in TABLES if "status" in LEGACY_COLUMNS[t]},
    ("plugin", "status"): PLUGIN_STATUS,
    ("tag", "name"): PLUGIN_TAGS,
    ("metric", "split"): SPLITS,
    ("metric", "level"): LEVELS,
    ("process_data", "data_type"): DATA_TYPES,
}
PLOT_KINDS = ("history", "slice", "contour", "importance")


@dataclass(frozen=True)
class FileAction:
    """A file placed into the layout: linked as is, or converted (``figure``: pickle -> JSON;
    ``joblib``: a JSON explanation re-saved with joblib)."""

    table: str
    row_id: int
    column: str
    source: str  # legacy path, relative to the home
    target: str  # layout path, relative to the home
    mode: str  # "link" | "figure" | "joblib"
    artifact: str | None = None  # the artifacts entry whose sha256 this file fills


@dataclass(frozen=True)
class Quarantined:
    table: str
    row_id: int
    reason: str
    row: dict[str, Any]
    #: The row's files (home-relative), moved to ``backups/legacy-files-<stamp>/`` with the
    #: adopted rows' legacy files: no row owns them any more, and gc must not take them.
    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class Problem:
    kind: str  # missing-file, orphan, duplicate, bad-enum, double-encoded-json, bad-json, bad-timestamp,
    # non-finite-metric, legacy-pickle, unadopted-table, unadopted-column, notebook-history
    where: str
    detail: str


@dataclass
class Conversion:
    """The legacy database read into this store's rows (nothing written)."""

    revision: str | None
    journal_mode: str
    timezone: str
    old_root: str | None
    counts: dict[str, int] = field(default_factory=dict)
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    metric_rows: int = 0
    skipped_metrics: set[int] = field(default_factory=set)
    high_water: dict[str, int] = field(default_factory=dict)
    quarantined: list[Quarantined] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    actions: list[FileAction] = field(default_factory=list)
    retire: set[str] = field(default_factory=set)
    rebased: int = 0
    extra_tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    present: tuple[str, ...] = ()

    def adopted(self, table: str) -> int:
        return self.metric_rows if table == "metric" else len(self.rows.get(table, []))

    def quarantined_in(self, table: str) -> int:
        return sum(1 for q in self.quarantined if q.table == table)


class NotAdoptable(Exception):
    """The database has DashAI's version table but not the tables/columns this code adopts."""


# -- reading -------------------------------------------------------------------------------------------


def open_read_only(path: Path) -> sqlite3.Connection:
    """A connection that cannot write (no journal, no WAL switch, no file created).

    A hot journal a killed adoption left is rolled back first (a read-only connection
    cannot, and would fail with "attempt to write a readonly database").
    """
    from ..backends.sqlite import roll_back_hot_journal

    roll_back_hot_journal(path)
    conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


def table_columns(conn: sqlite3.Connection) -> dict[str, list[str]]:
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    return {n: [str(c[1]) for c in conn.execute(f'PRAGMA table_info("{n}")')] for n in names}


def check_adoptable(conn: sqlite3.Connection) -> list[str]:
    """Why this database cannot be adopted (empty when it can)."""
    columns = table_columns(conn)
    reasons = [f"table {t} is missing" for t in REQUIRED_TABLES if t not in columns]
    for table in TABLES:
        if table not in columns:
            continue
        absent = [c for c in LEGACY_COLUMNS[table] if c not in columns[table] and c not in OPTIONAL]
        if (
            table == "plugin"
            and "lastest_version" not in columns[table]
            and "latest_version" not in columns[table]
        ):
            absent.append("lastest_version")
        if absent:
            reasons.append(f"table {table} lacks column(s) {', '.join(absent)}")
    return reasons


def _rows(conn: sqlite3.Connection, table: str) -> list[dict[str, Any]]:
    cursor = conn.execute(f'SELECT * FROM "{table}" ORDER BY id')
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def _plain_row(row: dict[str, Any]) -> dict[str, Any]:
    """A legacy row as JSON-safe values (for the report)."""
    return {k: (v.hex() if isinstance(v, bytes) else v) for k, v in row.items()}


class _Reader:
    def __init__(self, conn: sqlite3.Connection, home: Path) -> None:
        self.conn = conn
        self.home = home
        self.columns = table_columns(conn)
        zone, zone_name = legacy_zone()
        self.zone = zone
        revision = None
        if "alembic_version" in self.columns:
            found = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = None if found is None else str(found[0])
        mode = str(conn.execute("PRAGMA journal_mode").fetchone()[0])
        self.out = Conversion(revision=revision, journal_mode=mode, timezone=zone_name, old_root=None)
        self.out.present = tuple(t for t in TABLES if t in self.columns)
        self.legacy: dict[str, list[dict[str, Any]]] = {
            t: _rows(conn, t) for t in TABLES if t in self.columns and t != "metric"
        }
        self.kept: dict[str, set[int]] = {}
        self.positions: dict[int, int] = {}
        self.finished_at: dict[int, list[Any]] = {}
        self.snapshots: dict[int, str] = {}
        self.root = infer_old_root(self._stored_paths(), home)
        self.out.old_root = None if self.root is None else _show_root(self._stored_paths(), self.root)

    # -- helpers ----------------------------------------------------------------------------------

    def _stored_paths(self) -> Iterator[str]:
        for table in PATH_COLUMNS:
            for row in self.legacy.get(table, []):
                yield from _row_paths(table, row)
        for row in self.legacy.get("process_data", []):
            yield from _row_paths("process_data", row)

    def problem(self, kind: str, where: str, detail: str) -> None:
        self.out.problems.append(Problem(kind, where, detail))

    def quarantine(self, table: str, row: dict[str, Any], reason: str) -> None:
        found = []
        for raw in _row_paths(table, row):
            rel = None if self.root is None else rebase(raw, self.root)
            if rel is not None and (self.home / rel).exists():
                found.append(rel)
        self.out.quarantined.append(
            Quarantined(table, int(row["id"]), reason, _plain_row(row), tuple(dict.fromkeys(found)))
        )

    def set_aside_files(self) -> None:
        """Retire the files of quarantined rows too, unless an adopted row still names them."""
        kept: set[str] = set()
        for rows in self.out.rows.values():
            for row in rows:
                kept.update(v for v in row.values() if isinstance(v, str) and "/" in v)
        for entry in self.out.quarantined:
            for rel in entry.files:
                if not any(k == rel or k.startswith(rel + "/") or rel.startswith(k + "/") for k in kept):
                    self.out.retire.add(rel)

    def orphan_reason(self, table: str, row: dict[str, Any]) -> str | None:
        for column, parent, nullable in PARENTS.get(table, ()):
            value = row.get(column)
            if value is None and nullable:
                continue
            if value not in self.kept.get(parent, set()):
                missing = (
                    "is NULL" if value is None else f"= {value}, which was not adopted or does not exist"
                )
                return f"{column} {missing} ({parent})"
        return None

    def time(self, table: str, row_id: int, column: str, raw: Any) -> Any:
        try:
            return to_utc(raw, self.zone)
        except (ValueError, TypeError, OverflowError):
            self.problem(
                "bad-timestamp", f"{table} {row_id} {column}", f"{raw!r} is not a timestamp; kept as is"
            )
            return raw

    def json(self, table: str, row_id: int, column: str, raw: Any) -> str | None:
        text, double, bad = normalise_json(raw)
        if double:
            self.problem(
                "double-encoded-json", f"{table} {row_id} {column}", "a JSON string holding JSON; decoded"
            )
        if bad:
            self.problem("bad-json", f"{table} {row_id} {column}", "not JSON; kept as a JSON string")
        if text is None and column not in NULLABLE_JSON and raw is not None:
            return "null"
        return text

    def common(self, table: str, row: dict[str, Any]) -> dict[str, Any] | None:
        """Id, enums, JSON and timestamps of a legacy row; None if it is quarantined."""
        row_id = int(row["id"])
        for (t, column), allowed in ENUM_COLUMNS.items():
            if t == table and column in row:
                value = normalise_enum(row[column], allowed)
                if value is None:
                    self.quarantine(table, row, f"unknown {column} value {row[column]!r}")
                    self.problem(
                        "bad-enum", f"{table} {row_id} {column}", f"{row[column]!r}: row quarantined"
                    )
                    return None
        reason = self.orphan_reason(table, row)
        if reason is not None:
            self.quarantine(table, row, reason)
            kept = [str(v) for k, v in row.items() if v and (k.endswith("_path") or k == "plots_path")]
            left = f"; its files move to the backups: {', '.join(kept)}" if kept else ""
            self.problem("orphan", f"{table} {row_id}", f"{reason}; row quarantined{left}")
            return None
        out: dict[str, Any] = {"id": row_id}
        for column in LEGACY_COLUMNS[table]:
            if column == "id" or column not in row:
                continue
            value = row[column]
            if (table, column) in ENUM_COLUMNS:
                value = normalise_enum(value, ENUM_COLUMNS[(table, column)])
            elif column in JSON_COLUMNS.get(table, ()):
                value = self.json(table, row_id, column, value)
            elif column in TIME_COLUMNS:
                value = self.time(table, row_id, column, value)
            out[RENAMED_COLUMNS.get(table, {}).get(column, column)] = value
        for column in ADDED_COLUMNS.get(table, ()):
            out.setdefault(column, None)
        return out

    def source(self, table: str, row_id: int, column: str, raw: Any) -> tuple[str | None, bool]:
        """(rebased path, exists) of a stored path; problems noted."""
        if raw is None or not str(raw).strip():
            return None, False
        rel = rebase(str(raw), self.root)
        if rel is None:
            self.problem("missing-file", f"{table} {row_id} {column}", f"{raw} is outside the old root; kept")
            return None, False
        self.out.rebased += 1
        exists = (self.home / rel).exists()
        if not exists:
            self.problem(
                "missing-file", f"{table} {row_id} {column}", f"{raw} does not exist (kept as {rel})"
            )
        return rel, exists

    def arrow_in(self, rel: str) -> str | None:
        """The Arrow file a legacy dataset-like path stands for (DashAI stored the folder)."""
        base = self.home / rel
        if base.is_file():
            return rel
        for candidate in ("dataset/data.arrow", "data.arrow"):
            if (base / candidate).is_file():
                return f"{rel}/{candidate}"
        return None

    def link(self, table: str, row_id: int, column: str, source: str, target: str, **kw: Any) -> None:
        self.out.actions.append(
            FileAction(table, row_id, column, source, target, kw.pop("mode", "link"), **kw)
        )

    def keep(self, table: str, row: dict[str, Any]) -> None:
        self.out.rows.setdefault(table, []).append(row)
        self.kept.setdefault(table, set()).add(int(row["id"]))

    # -- tables ------------------------------------------------------------------------------------

    def read(self) -> Conversion:
        for table in TABLES:
            if table in self.columns:
                unknown = [c for c in self.columns[table] if c not in LEGACY_COLUMNS[table]]
                for column in unknown:
                    self.problem(
                        "unadopted-column", f"{table}.{column}", "not in this schema; kept in the backup only"
                    )
                found = self.conn.execute(f'SELECT COUNT(*), MAX(id) FROM "{table}"').fetchone()
                self.out.counts[table] = int(found[0])
                self.out.high_water[table] = int(found[1] or 0)
            self.out.rows.setdefault(table, [])
            if table == "metric":
                self._metrics()
            elif table in self.legacy:
                getattr(self, f"_{table}", self._plain)(table)
        for name in sorted(self.columns):
            if name not in TABLES and name != "alembic_version":
                self.out.extra_tables[name] = [_plain_row(r) for r in _rows_any(self.conn, name)]
                self.problem("unadopted-table", name, "not in this schema: rows saved in the adoption report")
        self.set_aside_files()
        return self.out

    def _plain(self, table: str) -> None:
        for legacy in self.legacy[table]:
            row = self.common(table, legacy)
            if row is not None:
                self.keep(table, row)

    def _dataset(self, table: str) -> None:
        for legacy in self.legacy[table]:
            row = self.common(table, legacy)
            if row is None:
                continue
            rel, exists = self.source(table, row["id"], "file_path", legacy.get("file_path"))
            data = self.arrow_in(rel) if rel and exists else None
            if rel and exists and data is None:
                self.problem(
                    "missing-file", f"dataset {row['id']} file_path", f"no data.arrow in {rel}; kept"
                )
            if data is not None and rel is not None:
                row["file_path"] = layout.dataset_file(row["id"])
                self.link(table, row["id"], "file_path", data, row["file_path"])
                self.out.retire.add(rel)
            else:
                row["file_path"] = rel
            self.keep(table, row)

    def _run(self, table: str) -> None:
        for legacy in self.legacy[table]:
            row = self.common(table, legacy)
            if row is None:
                continue
            run_id = row["id"]
            artifacts: dict[str, Any] = {}
            old = json.loads(row["artifacts"]) if row.get("artifacts") else None
            if old is not None:
                artifacts["legacy"] = {"value": old}
            placed = False
            rel, exists = self.source(table, run_id, "run_path", legacy.get("run_path"))
            row["run_path"] = rel
            if rel and exists:
                base = self.home / rel
                if base.is_file():
                    target = layout.run_model(run_id)
                    artifacts["model"] = {
                        "path": target,
                        "sha256": None,
                        "adopted_from": str(legacy["run_path"]),
                    }
                    self.link(table, run_id, "run_path", rel, target, artifact="model")
                else:
                    for path in sorted(p for p in base.rglob("*") if p.is_file()):
                        inner = path.relative_to(base).as_posix()
                        self.link(
                            table, run_id, "run_path", f"{rel}/{inner}", layout.run_legacy_file(run_id, inner)
                        )
                self.out.retire.add(rel)
                placed = True
            for kind in PLOT_KINDS:
                column = f"plot_{kind}_path"
                rel, exists = self.source(table, run_id, column, legacy.get(column))
                row[column] = rel
                if not (rel and exists):
                    continue
                if figure_from_pickle((self.home / rel).read_bytes()) is not None:
                    row[column] = layout.run_plot(run_id, kind)
                    self.link(table, run_id, column, rel, row[column], mode="figure")
                else:
                    row[column] = layout.run_plot(run_id, kind, "pickle")
                    artifacts[f"plot_{kind}"] = {"path": row[column], "sha256": None, "format": "pickle"}
                    self.link(table, run_id, column, rel, row[column], artifact=f"plot_{kind}")
                    self.problem(
                        "legacy-pickle", f"run {run_id} {column}", "not plain data: kept as a pickle"
                    )
                self.out.retire.add(rel)
                placed = True
            if placed:
                row["run_path"] = layout.run_folder(run_id)
            row["artifacts"] = json.dumps(artifacts, ensure_ascii=False) if artifacts else None
            self.keep(table, row)

    def _metrics(self) -> None:
        if "metric" not in self.columns:
            return
        conn, kept_runs = self.conn, self.kept.get("run", set())
        superseded = conn.execute(
            "SELECT m.id FROM metric m JOIN (SELECT run_id, split, level, name, step, MAX(id) AS keep "
            "FROM metric GROUP BY run_id, split, level, name, step HAVING COUNT(*) > 1) d "
            "ON m.run_id = d.run_id AND m.split = d.split AND m.level = d.level AND m.name = d.name "
            "AND m.step = d.step AND m.id <> d.keep"
        ).fetchall()
        skipped: set[int] = set()
        for (metric_id,) in superseded:
            skipped.add(int(metric_id))
        if skipped:
            self.problem(
                "duplicate", "metric", f"{len(skipped)} older duplicate point(s): the newest value kept"
            )
        for row in _query(conn, "SELECT * FROM metric WHERE id IN (SELECT value FROM json_each(?))", skipped):
            self.quarantine("metric", row, "duplicate of a newer point (run, split, level, name, step)")
        bad = "split NOT IN ({}) OR level NOT IN ({})".format(
            ", ".join(f"'{s}'" for s in SPLITS), ", ".join(f"'{s}'" for s in LEVELS)
        )
        for row in _query(conn, f"SELECT * FROM metric WHERE ({bad}) OR run_id NOT IN "
                          "(SELECT value FROM json_each(?))", kept_runs):  # fmt: skip
            if int(row["id"]) in skipped:
                continue
            if normalise_enum(row["split"], SPLITS) and normalise_enum(row["level"], LEVELS):
                if int(row["run_id"]) in kept_runs:
                    continue  # only the case differs: normalised when copied
                reason = f"run_id = {row['run_id']}, which was not adopted or does not exist (run)"
                self.problem("orphan", f"metric {row['id']}", f"{reason}; row quarantined")
            else:
                reason = f"unknown split/level {row['split']!r}/{row['level']!r}"
                self.problem("bad-enum", f"metric {row['id']}", f"{reason}; row quarantined")
            self.quarantine("metric", row, reason)
            skipped.add(int(row["id"]))
        for row in _query(conn, "SELECT id, value FROM metric WHERE value IN (9e999, -9e999)", None):
            self.problem("non-finite-metric", f"metric {row['id']}", f"value {row['value']} kept exactly")
        self.out.skipped_metrics = skipped
        self.out.metric_rows = self.out.counts.get("metric", 0) - len(skipped)

    def _prediction(self, table: str) -> None:
        for legacy in self.legacy[table]:
            row = self.common(table, legacy)
            if row is None:
                continue
            rel, exists = self.source(table, row["id"], "results_path", legacy.get("results_path"))
            data = self.arrow_in(rel) if rel and exists else None
            row["results_path"] = rel
            if data is not None and rel is not None:
                row["results_path"] = layout.prediction_results(row["id"])
                self.link(table, row["id"], "results_path", data, row["results_path"])
                self.out.retire.add(rel)
            self.keep(table, row)

    def _notebook(self, table: str) -> None:
        converters: dict[int, list[dict[str, Any]]] = {}
        for conv in self.legacy.get("converter", []):
            converters.setdefault(int(conv["notebook_id"]), []).append(conv)
        datasets = {r["id"]: r for r in self.out.rows.get("dataset", [])}
        for legacy in self.legacy[table]:
            row = self.common(table, legacy)
            if row is None:
                continue
            nb_id = row["id"]
            steps = sorted(converters.get(nb_id, []), key=_converter_order)
            for position, conv in enumerate(steps, start=1):
                self.positions[int(conv["id"])] = position
            lead = 0
            while lead < len(steps) and normalise_enum(steps[lead]["status"], STATUS) == "FINISHED":
                lead += 1
            if any(normalise_enum(c["status"], STATUS) == "FINISHED" for c in steps[lead:]):
                self.problem(
                    "notebook-history", f"notebook {nb_id}", "a FINISHED step follows an unfinished one"
                )
            self.finished_at[nb_id] = [steps[i].get("end_time") for i in range(lead)]
            rel, exists = self.source(table, nb_id, "file_path", legacy.get("file_path"))
            data = self.arrow_in(rel) if rel and exists else None
            row["current_position"] = lead
            if lead == 0:
                row["file_path"] = (datasets.get(row["dataset_id"]) or {}).get("file_path") or rel
                if rel and exists:
                    self.out.retire.add(rel)  # a plain copy of the dataset: not needed any more
            elif data is not None and rel is not None:
                last = steps[lead - 1]
                row["file_path"] = layout.notebook_snapshot(nb_id, last["id"])
                self.snapshots[int(last["id"])] = row["file_path"]
                self.link(table, nb_id, "file_path", data, row["file_path"])
                self.out.retire.add(rel)
                if lead > 1:
                    self.problem(
                        "notebook-history",
                        f"notebook {nb_id}",
                        f"DashAI kept only the data after step {lead}: steps 1..{lead - 1} have no snapshot",
                    )
            else:
                row["file_path"] = rel or ""
            self.keep(table, row)

    def _converter(self, table: str) -> None:
        snapshots = self.snapshots
        for legacy in self.legacy[table]:
            row = self.common(table, legacy)
            if row is None:
                continue
            row["position"] = self.positions[row["id"]]
            row["snapshot_path"] = snapshots.get(row["id"])
            self.keep(table, row)

    def _explorer(self, table: str) -> None:
        for legacy in self.legacy[table]:
            row = self.common(table, legacy)
            if row is None:
                continue
            # The step the explorer looked at: the finished steps that ended before it was made.
            ends = self.finished_at.get(int(legacy["notebook_id"]), [])
            row["position"] = sum(1 for end in ends if end is None or str(end) <= str(legacy["created"]))
            rel, exists = self.source(table, row["id"], "exploration_path", legacy.get("exploration_path"))
            row["exploration_path"] = rel
            if rel and exists and (self.home / rel).is_file():
                name = "result.json" if is_json_file((self.home / rel).read_bytes()) else "result.bin"
                row["exploration_path"] = layout.explorer_result(row["id"], name)
                self.link(table, row["id"], "exploration_path", rel, row["exploration_path"])
                self.out.retire.add(rel)
            self.keep(table, row)

    def _generative_process(self, table: str) -> None:
        history: dict[int, list[tuple[Any, int]]] = {}
        for snap in self.legacy.get("parameter_history", []):
            if int(snap["id"]) in self.kept.get("parameter_history", set()):
                history.setdefault(int(snap["session_id"]), []).append(
                    (str(snap["modified_at"]), int(snap["id"]))
                )
        for legacy in self.legacy[table]:
            row = self.common(table, legacy)
            if row is None:
                continue
            # The snapshot in force when the process was created (DashAI did not record it).
            earlier = [
                h for h in history.get(int(legacy["session_id"]), []) if h[0] <= str(legacy["created"])
            ]
            row["parameter_history_id"] = max(earlier)[1] if earlier else None
            self.keep(table, row)

    def _process_data(self, table: str) -> None:
        sessions = {r["id"]: r["session_id"] for r in self.out.rows.get("generative_process", [])}
        for legacy in self.legacy[table]:
            row = self.common(table, legacy)
            if row is None:
                continue
            row["is_input"] = 1 if legacy["is_input"] in (1, True, "1", "true", "True") else 0
            if row["data_type"] in ("image", "bytes"):
                raw = str(legacy["data"])
                bare = "/" not in raw and "\\" not in raw
                # DashAI stored a bare file name (relative to <home>/images/) or an absolute path.
                rel, exists = self.source(table, row["id"], "data", f"images/{raw}" if bare else raw)
                row["data"] = rel or raw
                if rel and exists:
                    name = rel.rsplit("/", 1)[-1]
                    # The legacy file name is kept as is (not validated as a component: it was found on disk).
                    folder = layout.generative_process_folder(sessions[row["process_id"]], row["process_id"])
                    row["data"] = f"{folder}/{name}"
                    self.link(table, row["id"], "data", rel, row["data"])
                    self.out.retire.add(rel)
            self.keep(table, row)

    def _plugin(self, table: str) -> None:
        for legacy in self.legacy[table]:
            if "lastest_version" not in legacy and "latest_version" in legacy:
                legacy = {**legacy, "lastest_version": legacy["latest_version"]}
            row = self.common(table, legacy)
            if row is not None:
                self.keep(table, row)

    def _tag(self, table: str) -> None:
        seen: set[tuple[int, str]] = set()
        for legacy in self.legacy[table]:
            row = self.common(table, legacy)
            if row is None:
                continue
            key = (int(row["plugin_id"]), str(row["name"]))
            if key in seen:
                self.quarantine(table, legacy, "duplicate tag of the same plugin")
                self.problem("duplicate", f"tag {row['id']}", f"plugin {key[0]} already has tag {key[1]}")
                continue
            seen.add(key)
            self.keep(table, row)

    def _explainer(self, table: str, kind: str, plot_column: str) -> None:
        for legacy in self.legacy[table]:
            row = self.common(table, legacy)
            if row is None:
                continue
            row_id, artifacts = row["id"], {}
            rel, exists = self.source(table, row_id, "explanation_path", legacy.get("explanation_path"))
            row["explanation_path"] = rel
            if rel and exists:
                row["explanation_path"] = layout.explainer_explanation(kind, row_id)
                mode = "joblib" if is_json_file((self.home / rel).read_bytes()) else "link"
                artifacts["explanation"] = {"path": row["explanation_path"], "sha256": None}
                self.link(table, row_id, "explanation_path", rel, row["explanation_path"], mode=mode,
                          artifact="explanation")  # fmt: skip
                self.out.retire.add(rel)
            rel, exists = self.source(table, row_id, plot_column, legacy.get(plot_column))
            row[plot_column] = rel
            if rel and exists:
                if figure_from_pickle((self.home / rel).read_bytes()) is not None:
                    row[plot_column] = layout.explainer_plot(kind, row_id)
                    self.link(table, row_id, plot_column, rel, row[plot_column], mode="figure")
                else:
                    row[plot_column] = layout.explainer_plot(kind, row_id, "plot.pickle")
                    artifacts["plot"] = {"path": row[plot_column], "sha256": None, "format": "pickle"}
                    self.link(table, row_id, plot_column, rel, row[plot_column], artifact="plot")
                    self.problem(
                        "legacy-pickle", f"{table} {row_id} {plot_column}", "not plain data: kept as a pickle"
                    )
                self.out.retire.add(rel)
            row["artifacts"] = json.dumps(artifacts) if artifacts else None
            self.keep(table, row)

    def _global_explainer(self, table: str) -> None:
        self._explainer(table, "global", "plot_path")

    def _local_explainer(self, table: str) -> None:
        self._explainer(table, "local", "plots_path")


#: The columns of DashAI's tables that hold file paths.
PATH_COLUMNS: dict[str, tuple[str, ...]] = {
    "dataset": ("file_path",),
    "run": ("run_path", *(f"plot_{k}_path" for k in PLOT_KINDS)),
    "prediction": ("results_path",),
    "notebook": ("file_path",),
    "explorer": ("exploration_path",),
    "global_explainer": ("explanation_path", "plot_path"),
    "local_explainer": ("explanation_path", "plots_path"),
}


def _row_paths(table: str, row: dict[str, Any]) -> Iterator[str]:
    """The file paths a legacy row stores, as stored."""
    if table == "process_data":
        if row.get("data_type") == "image" and isinstance(row.get("data"), str):
            yield row["data"]
        return
    for column in PATH_COLUMNS.get(table, ()):
        if isinstance(row.get(column), str) and row[column]:
            yield row[column]


def _converter_order(conv: dict[str, Any]) -> tuple[int, int]:
    try:
        order = json.loads(conv["parameters"]).get("order")
    except (ValueError, TypeError, AttributeError):
        order = None
    while isinstance(order, str):  # tolerate a double-encoded parameters column
        try:
            order = json.loads(order)
        except ValueError:
            order = None
    return (order if isinstance(order, int) else 1 << 30, int(conv["id"]))


def _query(conn: sqlite3.Connection, sql: str, ids: set[int] | None) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, () if ids is None else (json.dumps(sorted(ids)),))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def _rows_any(conn: sqlite3.Connection, table: str) -> list[dict[str, Any]]:
    cursor = conn.execute(f'SELECT * FROM "{table}"')
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def _show_root(paths: Iterator[str], root: tuple[str, ...]) -> str:
    """The old root as it was spelled in the stored paths (for messages)."""
    from .convert import path_parts

    for text in paths:
        is_abs, parts = path_parts(text)
        if is_abs and parts[: len(root)] == root:
            sep = "\\" if "\\" in text else "/"
            anchor = text[: len(text) - len(text.lstrip("/\\"))] if sep == "/" else text[:3]
            return anchor + sep.join(root)
    return "/".join(root)


def read(conn: sqlite3.Connection, home: Path) -> Conversion:
    """Everything the adoption of ``conn``'s legacy database into ``home`` would do."""
    reasons = check_adoptable(conn)
    if reasons:
        raise NotAdoptable("; ".join(reasons))
    return _Reader(conn, home).read()
