"""Write a store home as the FIRST RELEASE (dashai_store 0.1.0) leaves it, for migration tests.

Run with the 0.1.0 code, never with this checkout's::

    /work/wt/release-0.1.0/.venv/bin/python tests/release_fixtures/make_release_fixture.py OUT
    /work/wt/release-0.1.0/.venv/bin/python tests/release_fixtures/make_release_fixture.py OUT \\
        --database 'postgresql://...?options=-csearch_path%3Dmy_schema'

It fills every table of that release through its facade, with fixed values (timestamps
are whatever the clock says): datasets with Arrow files (one deleted, one failed with no
file), a notebook with converters applied, one reverted, an explorer with a figure and the
notebook saved as a dataset; model sessions; runs with metrics at every level and split
the release allows (NaN, +-inf, -0.0, extremes), a joblib model and the four plots, a
failed run and a deleted one; predictions with Arrow results; a generative session with
parameter updates and a restore (history), processes with text, JSON and an image payload
(one process deleted); plugins with tags (one deleted); global and local explainers with
their files (one deleted); and one pending deletion (a delete whose file could not be
moved, as when Windows holds a file open). Deleted rows leave gaps in the ids.

Only the 0.1.0 API is used: this file must keep running against that release.
"""

from __future__ import annotations

import argparse
import struct
import sys
import zlib
from pathlib import Path
from typing import Any

import pyarrow as pa

from dashai_store import (
    __version__,
    datasets,
    explainers,
    explorers,
    files,
    generative,
    metrics,
    model_sessions,
    notebooks,
    open_store,
    plugins,
    predictions,
    runs,
)

SPECIAL_VALUES = (float("nan"), float("inf"), float("-inf"), -0.0, 0.0, 1e308, 5e-324, -1.5)


def png(width: int, height: int) -> bytes:
    """A small deterministic RGB PNG (zlib and struct only)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    raw = b"".join(
        b"\x00" + bytes(c for x in range(width) for c in ((x * 16) % 256, (y * 32) % 256, 128))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def iris(rows: int, offset: float = 0.0) -> pa.Table:
    return pa.table(
        {
            "sepal_length": pa.array([4.5 + offset + (i % 7) * 0.25 for i in range(rows)], pa.float64()),
            "sepal_width": pa.array([None if i % 9 == 4 else 3.0 + (i % 3) * 0.1 for i in range(rows)]),
            "petals": pa.array([i % 5 for i in range(rows)], pa.int32()),
            "species": pa.array([("setosa", "versicolor", "virginica")[i % 3] for i in range(rows)]),
            "note": pa.array([f"row {i} ñ" for i in range(rows)]),
        }
    )


def figure(title: str, ys: list[float]) -> dict[str, Any]:
    return {
        "data": [{"type": "scatter", "x": list(range(len(ys))), "y": ys, "name": title}],
        "layout": {"title": {"text": title}},
    }


def drop_column(table: pa.Table, p: dict[str, Any]) -> pa.Table:
    return table.drop_columns([p["column"]])


def head(table: pa.Table, p: dict[str, Any]) -> pa.Table:
    return table.slice(0, int(p["rows"]))


def scale(table: pa.Table, p: dict[str, Any]) -> pa.Table:
    import pyarrow.compute as pc

    index = table.schema.get_field_index(p["column"])
    return table.set_column(index, p["column"], pc.multiply(table.column(p["column"]), p["factor"]))


CONVERTERS = {"DropColumn": drop_column, "Head": head, "Scale": scale}


def fill() -> dict[str, Any]:
    """Populate the open store; returns the ids made (written to the fixture's README by hand)."""
    ids: dict[str, Any] = {}
    # -- datasets (id 2 deleted: a gap; id 4 failed before any file existed)
    iris_ds = datasets.create("iris", iris(24))
    gone = datasets.create("to be deleted", iris(5, 1.0))
    wine = datasets.create("wine", iris(12, 2.0), lineage={"source": "wine.csv", "rows": 12})
    failed = datasets.create_pending("broken upload")
    datasets.deliver(failed.id, job_id="huey-ds-broken")
    datasets.start(failed.id)
    datasets.fail(failed.id, "ValueError: could not parse line 3")
    datasets.delete(gone.id)
    ids["datasets"] = [iris_ds.id, wine.id, failed.id]

    # -- a notebook: converters applied, the last reverted, another applied, an explorer
    nb = notebooks.create(iris_ds.id, name="cleaning", description="drop the note, scale")
    notebooks.add_converter(nb.id, "DropColumn", {"column": "note"})
    notebooks.add_converter(nb.id, "Scale", {"column": "sepal_length", "factor": 10.0})
    notebooks.add_converter(nb.id, "Head", {"rows": 3})
    notebooks.run_pending(nb.id, CONVERTERS)
    notebooks.undo(nb.id)  # the Head step is reverted (its converter row goes)
    notebooks.add_converter(nb.id, "Head", {"rows": 20})
    notebooks.run_pending(nb.id, CONVERTERS)
    explorer = explorers.create(nb.id, "Histogram", ["sepal_length"], {"bins": 4}, name="lengths")
    explorers.deliver(explorer.id, job_id="huey-explorer-1")
    explorers.start(explorer.id)
    explorers.save_result(explorer.id, figure("lengths", [1.0, 4.0, 9.0, 6.0]))
    explorers.finish(explorer.id)
    pending_explorer = explorers.create(nb.id, "Scatter", ["sepal_length", "petals"])
    saved = notebooks.save_as_dataset(nb.id, "iris (clean)")
    nb2 = notebooks.create(wine.id)
    notebooks.add_converter(nb2.id, "Scale", {"column": "petals", "factor": 2})
    ids.update(notebooks=[nb.id, nb2.id], explorers=[explorer.id, pending_explorer.id], saved=saved.id)

    # -- model sessions and runs
    session = model_sessions.create(
        saved.id,
        "iris classification",
        "TabularClassificationTask",
        ["sepal_length", "sepal_width", "petals"],
        ["species"],
        {"train": 0.6, "validation": 0.2, "test": 0.2, "seed": 42, "shuffle": True},
        train_metrics=["accuracy", "f1"],
        validation_metrics=["accuracy"],
        test_metrics=["accuracy", "f1"],
    )
    session2 = model_sessions.create(
        wine.id,
        "wine regression",
        "RegressionTask",
        ["sepal_length"],
        ["petals"],
        {"train": 0.8, "test": 0.2},
    )
    run = runs.create(
        session.id,
        "svc",
        "SVC",
        {"C": 1.0, "kernel": "rbf", "tol": {"optimize": True, "lower": 1e-4, "upper": 1e-2}},
        optimizer_name="OptunaOptimizer",
        optimizer_parameters={"n_trials": 3, "sampler": "TPESampler"},
        goal_metric="accuracy",
        split_indexes={"train": [0, 1, 2], "validation": [3], "test": [4]},
        description="every level and split the first release allows",
    )
    runs.deliver(run.id, job_id="huey-run-1")
    runs.start(run.id)
    points: list[tuple[str, str, str, int, float]] = []
    for split in ("TRAIN", "VALIDATION", "TEST"):
        for level in ("LAST", "STEP", "BATCH", "TRIAL"):
            for step in range(3):
                points.append(("accuracy", split, level, step, 0.5 + 0.125 * step))
    points += [("special", "TEST", "STEP", i, v) for i, v in enumerate(SPECIAL_VALUES)]
    metrics.log_many(run.id, points)
    metrics.log(run.id, "loss", 0.25, split="TRAIN", level="LAST", step=0)
    metrics.log(run.id, "loss", 0.125, split="TRAIN", level="LAST", step=0)  # replaces the value
    runs.save_model(run.id, {"weights": [0.5, -1.25, 3.0], "bias": -0.0, "classes": ["a", "b"]})
    for kind, ys in (("history", [3.0, 2.0]), ("slice", [1.0]), ("contour", [2.5]), ("importance", [0.7])):
        runs.save_plot(run.id, kind, figure(kind, ys))
    runs.finish(run.id)

    deleted_run = runs.create(session.id, "to be deleted", "KNN", {"k": 3})
    metrics.log(deleted_run.id, "accuracy", 0.1, split="TEST", level="LAST", step=0)
    failed_run = runs.create(session2.id, "linear", "LinearRegression", {}, goal_metric="rmse")
    runs.deliver(failed_run.id)
    runs.start(failed_run.id)
    metrics.log_many(failed_run.id, [("rmse", "VALIDATION", "STEP", s, 1.0 / (s + 1)) for s in range(4)])
    runs.fail(failed_run.id, "RuntimeError: diverged at step 4")
    runs.delete(deleted_run.id)
    ids["runs"] = [run.id, failed_run.id]

    # -- predictions (one over a dataset with results, one without a dataset)
    prediction = predictions.create(run.id, saved.id)
    predictions.deliver(prediction.id, job_id="huey-prediction-1")
    predictions.start(prediction.id)
    predictions.save_results(
        prediction.id,
        pa.table({"row": pa.array([0, 1, 2], pa.int64()), "predicted": ["setosa", "versicolor", "setosa"]}),
    )
    predictions.finish(prediction.id)
    bare = predictions.create(failed_run.id, None)
    ids["predictions"] = [prediction.id, bare.id]

    # -- generative: history of parameters, processes with payloads (one image), one deleted
    gen = generative.create_session(
        "painter",
        "TextToImageTask",
        "tiny-diffusion",
        {"steps": 4, "guidance": 7.5, "seed": 1},
        "a test painter",
    )
    first = generative.update_parameters(gen.id, {"steps": 8})
    generative.update_parameters(gen.id, {"guidance": 3.0, "negative": ["blur"]})
    generative.restore_parameters(gen.id, first.id)
    process = generative.create_process(gen.id, [("str", "a red square"), ("json", {"size": [4, 2]})])
    generative.deliver(process.id, job_id="huey-gen-1")
    generative.start(process.id)
    generative.add_outputs(process.id, [("image", png(4, 2)), ("str", "done")])
    generative.finish(process.id)
    dropped = generative.create_process(gen.id, [("str", "to be deleted")])
    generative.delete_process(dropped.id)
    waiting = generative.create_process(gen.id, [("str", "still waiting")])
    chat = generative.create_session("chat", "TextToTextGenerationTask", "tiny-lm", {"temperature": 0.7})
    ids.update(generative=[gen.id, chat.id], processes=[process.id, waiting.id])

    # -- plugins with tags (one deleted)
    plugins.register("dashai-svc", author="DashAI", version="1.0.0", summary="SVC", tags=["DashAI", "Model"])
    plugins.register("dashai-old", author="someone", version="0.1.0", tags=["Converter"])
    plugin = plugins.register(
        "dashai-svc",
        author="DashAI",
        version="1.1.0",
        summary="SVC and explainers",
        tags=["Model", "Explainer"],
    )
    plugins.upgrade(plugin.id)
    plugins.delete(plugins.get_by_name("dashai-old").id)
    plugins.register("dashai-loader", author="DashAI", version="2.0.0", tags=["Dataloader", "Task"])

    # -- explainers with files (one global deleted)
    g = explainers.create_global(run.id, "importance", "PermutationFeatureImportance", {"repeats": 2})
    explainers.deliver("global", g.id, job_id="huey-explainer-1")
    explainers.start("global", g.id)
    explainers.save_explanation("global", g.id, {"importances": {"sepal_length": 0.5, "petals": -0.0}})
    explainers.save_plot("global", g.id, figure("importance", [0.5, 0.0]))
    explainers.finish("global", g.id)
    g2 = explainers.create_global(run.id, "to be deleted", "PartialDependence", {})
    explainers.delete_global(g2.id)
    loc = explainers.create_local(
        run.id,
        saved.id,
        "contributions",
        "KernelShap",
        {"samples": 8},
        {"background": 4},
        {"instances": [0, 2]},
    )
    explainers.deliver("local", loc.id)
    explainers.start("local", loc.id)
    explainers.save_explanation(
        "local", loc.id, [{"row": 0, "values": [0.1, -0.2]}, {"row": 2, "values": [0.0]}]
    )
    explainers.save_plot("local", loc.id, [figure("row 0", [0.1, -0.2]), figure("row 2", [0.0])])
    explainers.finish("local", loc.id)
    ids["explainers"] = {"global": [g.id], "local": [loc.id]}
    return ids


def leave_a_pending_deletion(home: Path) -> None:
    """Delete a dataset while its folder cannot be moved to the trash (``.trash`` is a file
    for the moment), so ``dashai_pending_deletion`` keeps the path, as after a crash or a
    file held open on Windows."""
    trash = home / files.TRASH
    files.wait_for_trash(home)
    if trash.is_dir():
        trash.rmdir()  # empty once the janitor is done
    trash.write_bytes(b"")
    try:
        doomed = datasets.create("held open", iris(3, 5.0))
        datasets.delete(doomed.id)
    finally:
        trash.unlink()
    if not files.pending_deletions():
        raise SystemExit("expected a pending deletion")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path, help="a new or empty folder")
    parser.add_argument("--database", metavar="URL", help="a postgresql:// URL (its search_path schema)")
    args = parser.parse_args(argv)
    if __version__ != "0.1.0":
        raise SystemExit(f"run this with dashai_store 0.1.0, not {__version__}")
    home: Path = args.home.resolve()
    if home.exists() and any(home.iterdir()):
        raise SystemExit(f"{home} is not empty")
    home.mkdir(parents=True, exist_ok=True)
    with open_store(home, database=args.database) as store:
        ids = fill()
        leave_a_pending_deletion(home)
        backend = store.backend
        if backend == "sqlite":
            store.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    # The last connection's close removes -wal and -shm after the TRUNCATE checkpoint: the
    # database is one self-contained file, still in WAL mode as a user's is.
    leftovers = [p.name for p in home.glob("db.sqlite-*")]
    if leftovers:
        raise SystemExit(f"the database was not checkpointed into one file: {leftovers}")
    (home / "db.sqlite.migrate.lock").unlink(missing_ok=True)  # the runner's lock, not data
    print(f"dashai_store {__version__} ({backend}) wrote {home}: {ids}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
