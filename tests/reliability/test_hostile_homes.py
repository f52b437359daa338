"""Hostile homes, seeded: symbolic links planted in every managed folder and in ``.trash``,
path columns hand-edited to other rows' files, pending deletions naming paths that are no
row's; then random deletions, a reopen and gc. Nothing outside the home and no file of a
surviving, untouched row may go; ``check`` must report every link still there.

``DASHAI_HOSTILE_SEED`` replays a run (the seed is printed and kept in the figures);
``DASHAI_HOSTILE_ROUNDS`` (default 3) is the number of seeded homes per backend.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pytest

from dashai_store import (
    datasets,
    explorers,
    files,
    maintenance,
    model_sessions,
    models,
    notebooks,
    open_store,
    predictions,
    runs,
)
from dashai_store.clock import utcnow
from dashai_store.database import run_in_transaction

from ._support import env_int, seed_from

FIGURE = {"data": [{"type": "scatter", "y": [1, 2]}]}


@dataclass
class Group:
    """The rows made from one dataset, and the files each owns (home-relative)."""

    dataset: int
    notebook: int
    step: int
    explorer: int
    run: int
    prediction: int
    owner: dict[str, str] = field(default_factory=dict)  # file -> which row ("run", ...)


def _build(index: int, tag: str) -> Group:
    table = pa.table({"x": pa.array(range(50 + index), pa.int64()), "y": [i % 2 for i in range(50 + index)]})
    ds = datasets.create(f"d{tag}-{index}", table)
    nb = notebooks.create(ds.id, f"nb{index}")
    step = notebooks.add_converter(nb.id, "noop")
    notebooks.apply(step.id, lambda t, params: t.slice(0, 10))
    exp = explorers.create(nb.id, "describe", ["x"])
    explorers.save_result(exp.id, {"group": index})
    session = model_sessions.create(
        ds.id, f"s{tag}-{index}", "TabularClassificationTask", ["x"], ["y"],
        {"train": 0.6, "validation": 0.2, "test": 0.2},
    )  # fmt: skip
    run = runs.create(session.id, "r", "SVC", {})
    runs.save_model(run.id, {"model": index})
    runs.save_plot(run.id, "history", FIGURE)
    pred = predictions.create(run.id, ds.id)
    predictions.save_results(pred.id, table.slice(0, 5))
    layout = files.layout
    group = Group(ds.id, nb.id, step.id, exp.id, run.id, pred.id)
    group.owner = {
        layout.dataset_file(ds.id): "dataset",
        layout.notebook_snapshot(nb.id, step.id): "notebook",
        layout.explorer_result(exp.id, "result.json"): "explorer",
        layout.run_model(run.id): "run",
        layout.run_plot(run.id, "history"): "run",
        layout.prediction_results(pred.id): "prediction",
    }
    return group


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): _digest(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def _folder_of(rel: str) -> str:
    return rel.rsplit("/", 1)[0]


def _row_folder(rel: str) -> str:
    return "/".join(rel.split("/")[:2])  # every file built here is <root>/<id>/...


def _plant(
    rng: random.Random, home: Path, outside: Path, groups: list[Group], tampered: set[str]
) -> dict[str, int]:
    """Plant links and hand-edits; returns counts by kind. ``tampered`` gets every file
    whose own bytes or folder were replaced (only untouched files are checked after)."""
    counts = {"links": 0, "edits": 0, "records": 0}
    every_file = [rel for g in groups for rel in g.owner]
    targets: list[Callable[[Path], Path | str]] = [
        lambda at: outside,
        lambda at: outside / "precious.txt",
        lambda at: home / rng.choice(every_file),
        lambda at: os.path.relpath(home / files.layout.DATASETS, at.parent),  # runs/<id> -> ../datasets
    ]

    def link(at: Path) -> None:
        target = rng.choice(targets)(at)
        if at.is_dir() and not at.is_symlink():
            shutil.rmtree(at)
        elif os.path.lexists(at):
            at.unlink()
        at.parent.mkdir(parents=True, exist_ok=True)
        at.symlink_to(target)
        counts["links"] += 1

    for _ in range(rng.randint(4, 10)):
        kind = rng.choice(["file", "folder", "inside", "edit", "empty-root"])
        rel = rng.choice(every_file)
        if kind == "file" and rel not in tampered:
            link(home / rel)
            tampered.add(rel)
        elif kind == "folder":
            folder = _row_folder(rel)
            link(home / folder)
            tampered.update(r for r in every_file if (r == folder or r.startswith(folder + "/")))
        elif (
            kind == "inside"
            and (home / _folder_of(rel)).is_dir()
            and not (home / _folder_of(rel)).is_symlink()
        ):
            link(home / _folder_of(rel) / f"planted-{rng.randrange(1 << 30)}")
        elif kind == "edit":
            _hand_edit(rng, groups, rel, rng.choice(every_file), tampered)
            counts["edits"] += 1
        elif kind == "empty-root":  # the roots no row of this run uses: explainers, generative
            root = rng.choice(
                [
                    f"{files.layout.EXPLAINERS}/global/{rng.randint(1, 9)}",
                    f"{files.layout.GENERATIVE}/{rng.randint(1, 9)}",
                ]
            )
            link(home / root)
    if rng.random() < 0.5:
        trash = files.layout.trash(home)
        shutil.rmtree(trash, ignore_errors=True)
        trash.symlink_to(outside, target_is_directory=True)
        counts["links"] += 1
    hostile = rng.sample(
        ["../outside", "datasets", "db.sqlite", "backups", "/etc", "runs/../..", "..", ""], 3
    )
    now = utcnow()
    run_in_transaction(
        lambda: models.PendingDeletion.insert_many([{"path": p, "created": now} for p in hostile]).execute()
    )
    counts["records"] = len(hostile)
    return counts


_COLUMNS = {
    "dataset": (models.Dataset, "dataset", "file_path"),
    "notebook": (models.Converter, "step", "snapshot_path"),
    "explorer": (models.Explorer, "explorer", "exploration_path"),
    "run": (models.Run, "run", "plot_history_path"),
    "prediction": (models.Prediction, "prediction", "results_path"),
}


def _hand_edit(rng: random.Random, groups: list[Group], rel: str, foreign: str, tampered: set[str]) -> None:
    """Point one path column of ``rel``'s row at ``foreign`` (another row's file)."""
    group = next(g for g in groups if rel in g.owner)
    model, attribute, column = _COLUMNS[group.owner[rel]]
    row_id = getattr(group, attribute)
    run_in_transaction(
        lambda: model.update(**{column: foreign}).where(model.id == row_id).execute()  # type: ignore[attr-defined]
    )
    # The row's own file is no row's now (gc may remove it); the foreign one must stay.
    tampered.update(r for r, owner in group.owner.items() if owner == group.owner[rel])


def _delete_some(rng: random.Random, groups: list[Group]) -> tuple[set[str], int]:
    """Delete random rows; returns the files whose rows are gone, and how many deletes ran."""
    gone: set[str] = set()
    deletes = 0
    for group in groups:
        choice = rng.choice(["keep", "dataset", "run", "notebook", "prediction", "explorer", "revert"])
        doomed: set[str] = set()
        if choice == "dataset":
            datasets.delete(group.dataset)
            doomed = set(group.owner)
        elif choice == "run":
            runs.delete(group.run)
            doomed = {r for r, o in group.owner.items() if o in ("run", "prediction")}
        elif choice == "notebook":
            notebooks.delete(group.notebook)
            doomed = {r for r, o in group.owner.items() if o in ("notebook", "explorer")}
        elif choice == "prediction":
            predictions.delete(group.prediction)
            doomed = {r for r, o in group.owner.items() if o == "prediction"}
        elif choice == "explorer":
            explorers.delete(group.explorer)
            doomed = {r for r, o in group.owner.items() if o == "explorer"}
        elif choice == "revert":
            notebooks.revert(group.notebook, 0)
            doomed = {r for r, o in group.owner.items() if o in ("notebook", "explorer")}
        if doomed:
            deletes += 1
        gone |= doomed
    return gone, deletes


def test_links_and_hand_edited_paths_never_cost_a_foreign_file(
    tmp_path: Path, database_url: str | None, figures: Callable[[str, object], None]
) -> None:
    seed = seed_from("DASHAI_HOSTILE_SEED")
    print(f"DASHAI_HOSTILE_SEED={seed}")
    figures("seed", seed)
    totals = {"links": 0, "edits": 0, "records": 0, "deletes": 0, "refused": 0, "reported links": 0}
    for round_index in range(env_int("DASHAI_HOSTILE_ROUNDS", 3)):
        rng = random.Random(seed * 1000 + round_index)
        top = tmp_path / f"round{round_index}"
        home, outside = top / "home", top / "outside"
        (outside / "inner").mkdir(parents=True)
        (outside / "precious.txt").write_text("keep me")
        (outside / "inner" / "also.txt").write_text("keep me too")
        outside_before = _tree(outside)
        with open_store(home, database=database_url) as store:
            groups = [_build(i, f"{round_index}") for i in range(rng.randint(2, 4))]
            files.wait_for_trash(store.home)
            before = {rel: _digest(home / rel) for g in groups for rel in g.owner}
            tampered: set[str] = set()
            counts = _plant(rng, home, outside, groups, tampered)
            planted_links = set(_all_links(home))
            reported = set(maintenance.check(grace_s=0).symlinks)
            assert planted_links <= reported, (seed, planted_links - reported)
            gone, deletes = _delete_some(rng, groups)
            files.wait_for_trash(store.home)
        # The next start finishes the recorded deletions, or (read-only open) gc does.
        by_open = rng.random() < 0.5
        with open_store(home, database=database_url, finish_deletions=by_open) as store:
            report = maintenance.gc(grace_s=0)
            files.wait_for_trash(store.home)
            assert set(_all_links(home)) <= set(maintenance.check(grace_s=0).symlinks), seed
            assert files.pending_deletions() == [], (seed, files.pending_deletions())
        assert _tree(outside) == outside_before, f"DASHAI_HOSTILE_SEED={seed}: a file outside the home went"
        for rel, digest in before.items():
            if rel in gone or rel in tampered:
                continue
            assert (home / rel).is_file() and _digest(home / rel) == digest, (
                f"DASHAI_HOSTILE_SEED={seed}: {rel} of a surviving row was lost or changed"
            )
        for key, value in counts.items():
            totals[key] += value
        totals["deletes"] += deletes
        refused = sum("refused" in why for _, why in report.failed)
        totals["refused"] += refused
        totals["reported links"] += len(reported)
    for key, value in totals.items():
        figures(key, value)


def _all_links(home: Path) -> list[Path]:
    """Every link in the managed folders and the trash, found independently of the store."""
    found: list[Path] = []
    for root in (*files.layout.MANAGED_ROOTS, files.layout.TRASH):
        top = home / root
        if top.is_symlink():
            found.append(top)
            continue
        for base, dirs, names in os.walk(top):
            found.extend(Path(base, n) for n in dirs + names if Path(base, n).is_symlink())
    return found


pytestmark = pytest.mark.filterwarnings("ignore")
