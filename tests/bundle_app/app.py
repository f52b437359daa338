"""A small desktop-app stand-in that bundles dashai_store with PyInstaller.

Built by tests/test_pyinstaller_bundle.py with ``pyinstaller --noconfirm --onedir app.py``
and no other flag: dashai_store's own hook (found through its ``pyinstaller40`` entry
point) must bring in everything used below. Run as ``app WORKDIR LEGACY_HOME [POSTGRES_URL]``,
then ``app WORKDIR LEGACY_HOME --again`` (a second start on the same homes); it prints the
migration runner's output and one ``OK <thing>`` line per check, and exits non-zero on the
first failure. LEGACY_HOME is a copy of a legacy DashAI home, adopted in place.

Migration scenarios:

* fresh: an empty home, migrated to the head.
* previous: a home made by the previous schema version — every registered step but the
  last (``REGISTRY[:-1]``) — then migrated by this version. While the registry has a single
  step, the previous version is an existing but empty ``db.sqlite``.
* upgrade: a home this version made and filled with rows, upgraded by "the next version",
  emulated by the test-only step ``bundle_probe_step`` appended to the registry: a backup is
  taken, the step is applied and every row survives.
* postgresql (when a URL is given): a fresh schema migrated through the bundled psycopg2.
* demo: ``dashai-store demo`` inside the bundle (synthetic data, the HTML report).
* adopt: the legacy home taken over in place.
* again (second start): every home opens as it was left, nothing is migrated or
  adopted twice, the demo runs again on its home.
"""

from __future__ import annotations

import math
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import bundle_probe_step

import dashai_store
from dashai_store import cli, files, open_store
from dashai_store.cli import migrate_main
from dashai_store.clock import utcnow
from dashai_store.database import DB_FILENAME, connect_postgres, connect_sqlite, run_in_transaction
from dashai_store.migrator import Migrator, default_steps, steps_from
from dashai_store.models import Metric, ModelSession, Run

try:  # the facade areas, when this checkout has them; raw inserts otherwise
    from dashai_store import metrics
except ImportError:  # pragma: no cover
    metrics = None  # type: ignore[assignment]
try:
    from dashai_store import datasets
except ImportError:  # pragma: no cover
    datasets = None  # type: ignore[assignment]


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"FAILED {what}")


def migrate(argv: list[str], steps: object = None, expect: int = 0) -> None:
    code = migrate_main(argv, steps)  # type: ignore[arg-type]
    check(code == expect, f"migrate {argv} exited {code}")


def scenario_fresh(work: Path) -> Path:
    home = work / "fresh"
    print("== migrate: fresh home", flush=True)
    migrate(["--home", str(home)])
    migrate(["--home", str(home), "--history"])
    migrate(["--home", str(home), "--check"])
    db = connect_sqlite(home / DB_FILENAME)
    try:
        status = Migrator(home, db).status(verify_checksums=True)
    finally:
        db.close()
    check(status.up_to_date, "fresh home up to date")
    for applied in status.applied:
        print(f"checksum {applied.id} {applied.checksum or '-'}", flush=True)
    print(f"OK migrate fresh -> {status.head} ({len(status.applied)} steps)", flush=True)
    return home


def scenario_previous(work: Path) -> None:
    home = work / "previous"
    home.mkdir()
    steps = default_steps()
    previous = steps[:-1]
    db = connect_sqlite(home / DB_FILENAME)
    try:
        db.connect()  # the file exists even when the previous version had no step yet
        Migrator(home, db, previous).migrate()
    finally:
        db.close()
    label = previous[-1].id if previous else "empty db.sqlite"
    print(f"== migrate: home made by the previous version ({label})", flush=True)
    migrate(["--home", str(home)])
    migrate(["--home", str(home), "--history"])
    print(f"OK migrate previous {label} -> {steps[-1].id}", flush=True)


def fill(home: Path) -> tuple[int, int]:
    """A dataset, a run with metrics, a joblib model and a Plotly figure; returns (dataset, run)."""
    import plotly.graph_objects as go
    import pyarrow as pa

    with open_store(home) as store:
        table = pa.table({"x": [float(i) for i in range(1000)], "label": [f"c{i % 3}" for i in range(1000)]})
        if datasets is not None:
            record = datasets.create("bundle", table)
            dataset_id = record.id
            loaded = datasets.load_table(dataset_id)
            how = "datasets.create/load_table"
        else:
            from dashai_store.models import Dataset

            now = utcnow()
            dataset_id = run_in_transaction(
                lambda: Dataset.create(name="bundle", status="FINISHED", created=now, last_modified=now).id
            )
            files.write_arrow(files.layout.dataset_file(dataset_id), table)
            loaded = files.read_arrow(files.layout.dataset_file(dataset_id))
            how = "files.write_arrow/read_arrow"
        check(loaded.equals(table), "Arrow table round trip")
        print(f"OK arrow dataset {dataset_id} rows={loaded.num_rows} via {how}", flush=True)

        def make_run() -> int:
            now = utcnow()
            session = ModelSession.create(
                dataset=dataset_id,
                name="bundle-session",
                task_name="TabularClassificationTask",
                input_columns=["x"],
                output_columns=["label"],
                splits={"train": 0.6, "validation": 0.2, "test": 0.2},
                created=now,
                last_modified=now,
            )
            run = Run.create(
                model_session=session,
                name="bundle-run",
                model_name="Stub",
                parameters={"depth": 3},
                optimizer_name="none",
                optimizer_parameters={},
                goal_metric="accuracy",
                created=now,
                last_modified=now,
            )
            return int(run.id)

        run_id = run_in_transaction(make_run)
        points = [("loss", "TRAIN", "STEP", step, 1.0 / (step + 1)) for step in range(100)]
        if metrics is not None:
            metrics.log_many(run_id, points)
            metrics.log(run_id, "accuracy", 0.93, split="TEST", level="LAST", step=0)
            metrics.log(run_id, "nan_metric", math.nan, split="TEST", level="LAST", step=0)
            history = metrics.history(run_id, name="loss")
            values = [p.value for p in history]
            how = "metrics.log_many/log/history"
        else:
            now = utcnow()
            rows = [
                {"run": run_id, "name": n, "split": s, "level": lv, "step": st, "value": v, "timestamp": now}
                for n, s, lv, st, v in points
            ]
            run_in_transaction(lambda: Metric.insert_many(rows).execute())
            values = [m.value for m in Metric.select().where(Metric.name == "loss").order_by(Metric.step)]
            how = "models.Metric"
        check(values == [v for *_, v in points], "metric history round trip")
        print(f"OK metrics run={run_id} points={len(values)} via {how}", flush=True)

        model = {"kind": "stub", "weights": [0.5, -1.25, 3.0], "bias": 0.125}
        model_path = files.layout.run_model(run_id)
        sha = files.dump_joblib(model_path, model)
        check(files.load_joblib(model_path, sha) == model, "joblib round trip")
        print(f"OK joblib model sha256={sha[:12]}", flush=True)

        figure = go.Figure(go.Scatter(x=list(range(100)), y=[v for *_, v in points], name="loss"))
        figure.update_layout(title="loss")
        plot_path = files.layout.run_plot(run_id, "history")
        files.write_figure(plot_path, figure)
        back = files.read_figure(plot_path)
        check(isinstance(back, go.Figure), f"read_figure gave {type(back).__name__}")
        check(list(back.data[0].y) == list(figure.data[0].y), "figure data round trip")
        check(back.layout.title.text == "loss", "figure layout round trip")
        print(f"OK plotly figure {type(back).__module__}.{type(back).__name__} traces={len(back.data)}")
        check(store.backend == "sqlite", "backend")
    return dataset_id, run_id


def count_metrics(home: Path, run_id: int) -> int:
    db = connect_sqlite(home / DB_FILENAME)
    try:
        return int(db.execute_sql("SELECT COUNT(*) FROM metric WHERE run_id = ?", (run_id,)).fetchone()[0])
    finally:
        db.close()


def scenario_upgrade(home: Path, run_id: int) -> None:
    before = count_metrics(home, run_id)
    steps = steps_from((*(s.module for s in default_steps()), bundle_probe_step))
    print(f"== migrate: upgrade a filled home to the next version ({bundle_probe_step.ID})", flush=True)
    migrate(["--home", str(home)], steps)
    migrate(["--home", str(home), "--history"], steps)
    backups = sorted((home / "backups").glob("*.sqlite"))
    check(len(backups) == 1, f"one backup before the upgrade, found {len(backups)}")
    db = connect_sqlite(home / DB_FILENAME)
    try:
        (note,) = db.execute_sql("SELECT note FROM bundle_probe").fetchone()
    finally:
        db.close()
    kept = count_metrics(home, run_id)
    check(kept == before > 0, f"metrics before the upgrade: {before}, after: {kept}")
    check(note == "upgraded", f"the probe step's row: {note!r}")
    print(f"OK migrate upgrade -> {bundle_probe_step.ID} metrics kept={kept} backup={backups[0].name}")


def scenario_postgres(work: Path, url: str) -> None:
    schema = f"bundle_{uuid.uuid4().hex[:12]}"
    admin = connect_postgres(url)
    admin.execute_sql(f'CREATE SCHEMA "{schema}"')
    try:
        sep = "&" if "?" in url else "?"
        target = f"{url}{sep}options={quote(f'-csearch_path={schema}')}"
        print("== migrate: PostgreSQL schema", flush=True)
        migrate(["--home", str(work / "pg"), "--database", target])
        migrate(["--home", str(work / "pg"), "--database", target, "--check"])
        print("OK migrate postgresql", flush=True)
    finally:
        admin.execute_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.close()


def command(*args: str) -> None:
    code = cli.main(list(args))
    check(code == 0, f"dashai-store {' '.join(args)} exited {code}")


def legacy_dataset_count(legacy: Path) -> int:
    with open_store(legacy, migrate=False):
        return len(datasets.list()) if datasets is not None else -1


def scenario_demo(work: Path) -> None:
    print("== demo", flush=True)
    command("demo", "--home", str(work / "demo"), "--quiet")
    check((work / "demo" / "report.html").is_file(), "the demo's report")
    print("OK demo", flush=True)


def scenario_adopt(legacy: Path) -> int:
    print("== adopt a legacy DashAI home", flush=True)
    command("migrate", "--home", str(legacy))
    count = legacy_dataset_count(legacy)
    check(count > 0, f"adopted datasets: {count}")
    print(f"OK adopt {count} datasets", flush=True)
    return count


def backups(home: Path) -> list[str]:
    return sorted(path.name for path in (home / "backups").glob("*")) if (home / "backups").exists() else []


def scenario_again(work: Path, legacy: Path) -> None:
    """The second start on the same homes: nothing migrated or adopted twice."""
    print("== second start", flush=True)
    before = {name: backups(work / name) for name in ("previous", "demo")}
    adopted_backups = backups(legacy)
    migrate(["--home", str(work / "previous")])
    migrate(["--home", str(work / "previous"), "--check"])
    with open_store(work / "demo", migrate=False):
        check(datasets is None or len(datasets.list()) > 0, "the demo's datasets after a restart")
    scenario_demo(work)
    count = legacy_dataset_count(legacy)
    command("migrate", "--home", str(legacy))
    check(legacy_dataset_count(legacy) == count, "the adopted home after a restart")
    check(backups(legacy) == adopted_backups, "no second adoption backup")
    check({name: backups(work / name) for name in before} == before, "no backup on an up-to-date start")
    print("OK again", flush=True)


def run(argv: list[str]) -> int:
    work = Path(argv[0]).resolve()
    legacy = Path(argv[1]).resolve()
    rest = argv[2:]
    print(f"dashai_store {dashai_store.__version__} frozen={getattr(sys, 'frozen', False)}", flush=True)
    print("registered: " + " ".join(step.id for step in default_steps()), flush=True)
    if rest == ["--again"]:
        scenario_again(work, legacy)
        print("ALL OK", flush=True)
        return 0
    work.mkdir(parents=True, exist_ok=True)
    fresh = scenario_fresh(work)
    scenario_previous(work)
    _dataset_id, run_id = fill(fresh)
    scenario_upgrade(fresh, run_id)
    scenario_demo(work)
    scenario_adopt(legacy)
    if rest:
        scenario_postgres(work, rest[0])
    print("ALL OK", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
