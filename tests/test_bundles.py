"""Portable ``.dashai`` bundles: export a piece of work, import it into another store.

Real stores on both backends (the source and the destination each their own), real zip
files on disk; tampered bundles are made by editing the archive's bytes.
"""

from __future__ import annotations

import hashlib
import json
import stat
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from conftest import database_for
from helpers import file_tree, row_counts

from dashai_store import (
    bundles,
    datasets,
    errors,
    explainers,
    explorers,
    generative,
    metrics,
    model_sessions,
    models,
    notebooks,
    open_store,
    predictions,
    runs,
)
from dashai_store.bundles import manifest as bundle_manifest
from dashai_store.database import Store
from dashai_store.maintenance import check

FIGURE = {"data": [{"type": "scatter", "x": [1, 2], "y": [3, 4]}], "layout": {}}


@dataclass
class Work:
    dataset: int
    other_dataset: int
    session: int
    run: int
    other_run: int
    prediction: int
    notebook: int
    converters: tuple[int, int]
    explorer: int
    generative: int
    process: int
    global_explainer: int
    local_explainer: int


def double(table: pa.Table, parameters: dict[str, object]) -> pa.Table:
    return table.append_column("x2", pc.multiply(table.column("x"), 2))


def keep_first(table: pa.Table, parameters: dict[str, object]) -> pa.Table:
    return table.slice(0, int(parameters["rows"]))  # type: ignore[call-overload]


def populate() -> Work:
    """One of everything a bundle carries, through the facade, in the open store."""
    table = pa.table({"x": [1.0, 2.0, 3.0, 4.0], "y": ["a", "b", "a", "b"]})
    ds = datasets.create("iris", table)
    other = datasets.create("holdout", table.slice(0, 2))
    session = model_sessions.create(
        ds.id,
        "iris-session",
        "TabularClassificationTask",
        ["x"],
        ["y"],
        {"train": 0.6, "validation": 0.2, "test": 0.2},
    )
    run = runs.create(session.id, "svm", "SVC", {"C": 1.0}, optimizer_name="Optuna", goal_metric="Accuracy")
    other_run = runs.create(session.id, "other", "SVC", {"C": 2.0})
    runs.save_model(run.id, {"weights": [1, 2, 3]})
    runs.save_plot(run.id, "history", FIGURE)
    metrics.log_many(
        run.id,
        [("Accuracy", "TRAIN", "STEP", step, 0.5 + step / 100) for step in range(50)]
        + [("Accuracy", "TEST", "LAST", 0, float("nan")), ("Loss", "TRAIN", "LAST", 0, float("-inf"))]
        + [("Bias", "TRAIN", "LAST", 0, -0.0)],
    )
    prediction = predictions.create(run.id, other.id)
    predictions.save_results(prediction.id, pa.table({"y": ["a", "b"]}))
    glob = explainers.create_global(run.id, "kernel", "KernelShap", {"n": 3})
    explainers.save_explanation("global", glob.id, {"importance": [0.1, 0.9]})
    explainers.save_plot("global", glob.id, FIGURE)
    local = explainers.create_local(run.id, other.id, "lime", "Lime", {}, {"k": 1}, [0, 1])
    explainers.save_explanation("local", local.id, {"rows": [0, 1]})
    nb = notebooks.create(ds.id, "cleaning")
    first = notebooks.add_converter(nb.id, "double", {})
    notebooks.apply(first.id, double)
    second = notebooks.add_converter(nb.id, "keep_first", {"rows": 3})
    notebooks.apply(second.id, keep_first)
    explorer = explorers.create(nb.id, "histogram", ["x"], {"bins": 4}, name="hist")
    explorers.save_result(explorer.id, {"counts": [1, 2, 1]})
    gen = generative.create_session("painter", "TextToImage", "sd", {"steps": 4})
    generative.update_parameters(gen.id, {"steps": 8})
    process = generative.create_process(gen.id, [("str", "a cat"), ("json", {"seed": 1})])
    generative.add_outputs(process.id, [("image", b"\x89PNG fake image bytes")])
    return Work(
        ds.id, other.id, session.id, run.id, other_run.id, prediction.id, nb.id, (first.id, second.id),
        explorer.id, gen.id, process.id, glob.id, local.id,
    )  # fmt: skip


@pytest.fixture
def source(tmp_path: Path, database_url: str | None) -> Iterator[tuple[Store, Work]]:
    with open_store(tmp_path / "source", database=database_url) as opened:
        yield opened, populate()


@pytest.fixture
def dest_url(backend: str) -> Iterator[str | None]:
    """The destination's database: its own PostgreSQL schema, or its home's SQLite file."""
    with database_for(backend) as url:
        yield url


def export_work(tmp_path: Path, work: Work) -> bundles.BundleRecord:
    return bundles.export_bundle(
        tmp_path / "work.dashai",
        runs=[work.run],
        notebooks=[work.notebook],
        generative_sessions=[work.generative],
    )


# -- round trip ---------------------------------------------------------------------------------


def test_a_run_notebook_and_generative_session_travel_with_everything_they_need(
    tmp_path: Path, source: tuple[Store, Work], dest_url: str | None
) -> None:
    _, work = source
    model = runs.load_model(work.run)
    history = metrics.history_table(work.run)
    nb_table = notebooks.load_table(work.notebook)
    nb_step1 = notebooks.load_table(work.notebook, step=1)
    ph = [s.parameters for s in generative.parameter_history(work.generative)]
    bundle = export_work(tmp_path, work)
    assert bundle.rows["run"] == 1  # the other run of the session stays home
    assert (
        bundle.rows["dataset"] == 2 and bundle.rows["metric"] == 53 and bundle.rows["parameter_history"] == 2
    )
    assert bundle.files >= 8 and zipfile.is_zipfile(bundle.path)

    with open_store(tmp_path / "dest", database=dest_url) as dest:
        added = bundles.import_bundle(bundle.path, trust=True)
        assert added.rows == bundle.rows and added.renamed == ()
        new_run = added.pieces["runs"][work.run]
        new_nb = added.pieces["notebooks"][work.notebook]
        new_gen = added.pieces["generative_sessions"][work.generative]
        # Everything reads back through the facade, at its new ids.
        assert runs.load_model(new_run) == model
        assert runs.load_plot(new_run, "history", as_figure=False)["data"][0]["y"] == [3, 4]
        got = metrics.history_table(new_run)
        # NaN and -inf kept, timestamps too (repr: NaN equals only itself there).
        assert repr(got.drop_columns(["id"]).to_pydict()) == repr(history.drop_columns(["id"]).to_pydict())
        run = runs.get(new_run)
        session = model_sessions.get(run.model_session_id)
        assert session.name == "iris-session" and datasets.get(session.dataset_id).name == "iris"
        assert notebooks.load_table(new_nb).equals(nb_table)
        assert notebooks.load_table(new_nb, step=1).equals(nb_step1)
        converters = notebooks.converters(new_nb)
        assert [c.converter for c in converters] == ["double", "keep_first"]
        assert all(c.notebook_id == new_nb for c in converters)
        [explorer] = explorers.list(new_nb)
        assert explorers.load_result(explorer.id) == {"counts": [1, 2, 1]}
        assert [s.parameters for s in generative.parameter_history(new_gen)] == ph
        [process] = generative.list_processes(new_gen)
        [output] = generative.payloads(process.id, is_input=False)
        assert output.value == b"\x89PNG fake image bytes" and output.file_path is not None
        assert output.file_path.is_relative_to(dest.home / "generative" / str(new_gen) / str(process.id))
        assert process.parameter_history_id in [s.id for s in generative.parameter_history(new_gen)]
        [prediction] = predictions.list(run_id=new_run)
        assert predictions.load_results(prediction.id).column("y").to_pylist() == ["a", "b"]
        assert datasets.get(prediction.dataset_id).name == "holdout"
        [glob] = explainers.list_global(new_run)
        assert explainers.load_explanation("global", glob.id) == {"importance": [0.1, 0.9]}
        [local] = explainers.list_local(new_run)
        assert explainers.load_explanation("local", local.id) == {"rows": [0, 1]}
        report = check()
        assert report.ok, report


def test_importing_twice_makes_two_copies_with_unique_names_unless_once(
    tmp_path: Path, source: tuple[Store, Work]
) -> None:
    _, work = source
    bundle = bundles.export_bundle(tmp_path / "run.dashai", runs=[work.run])
    first = bundles.import_bundle(bundle.path)  # into the store it came from: names are taken
    assert {(r.table, r.name, r.new_name) for r in first.renamed} == {
        ("dataset", "iris", "iris (2)"),
        ("dataset", "holdout", "holdout (2)"),
        ("model_session", "iris-session", "iris-session (2)"),
    }
    second = bundles.import_bundle(bundle.path)
    assert {r.new_name for r in second.renamed} == {"iris (3)", "holdout (3)", "iris-session (3)"}
    assert second.pieces["runs"][work.run] not in (work.run, first.pieces["runs"][work.run])
    counts = row_counts(models.Run._meta.database)
    with pytest.raises(errors.AlreadyImported, match="imported before"):
        bundles.import_bundle(bundle.path, once=True)
    assert row_counts(models.Run._meta.database) == counts
    # A fresh store imports it once; the second --once is refused.
    with open_store(tmp_path / "fresh"):
        bundles.import_bundle(bundle.path, once=True)
        with pytest.raises(errors.AlreadyImported):
            bundles.import_bundle(bundle.path, once=True)
        assert [d.name for d in datasets.list()] == ["iris", "holdout"]


def test_a_dataset_piece_takes_only_the_dataset(tmp_path: Path, source: tuple[Store, Work]) -> None:
    _, work = source
    bundle = bundles.export_bundle(tmp_path / "ds.dashai", datasets=[work.dataset])
    assert bundle.rows == {"dataset": 1} and bundle.files == 1
    with pytest.raises(errors.NotFound):
        bundles.export_bundle(tmp_path / "none.dashai", runs=[9999])
    with pytest.raises(errors.ValidationError):
        bundles.export_bundle(tmp_path / "empty.dashai")


def test_lineage_of_a_saved_notebook_points_at_the_imported_rows(
    tmp_path: Path, source: tuple[Store, Work]
) -> None:
    _, work = source
    saved = notebooks.save_as_dataset(work.notebook, "cleaned")
    bundle = bundles.export_bundle(tmp_path / "nb.dashai", notebooks=[work.notebook], datasets=[saved.id])
    with open_store(tmp_path / "dest"):
        added = bundles.import_bundle(bundle.path)
        new = datasets.get(added.pieces["datasets"][saved.id])
        lineage = new.lineage or {}
        assert lineage["notebook_id"] == added.pieces["notebooks"][work.notebook]
        assert lineage["source_dataset_id"] == datasets.get_by_name("iris").id
        new_converters = [c.id for c in notebooks.converters(lineage["notebook_id"])]
        assert [s["converter_id"] for s in lineage["steps"]] == new_converters


def test_everything_copies_every_row_and_merges_plugins_by_name(
    tmp_path: Path, source: tuple[Store, Work]
) -> None:
    from dashai_store import plugins

    plugins.register("dashai-svm", author="me", version="1", tags=["Model"])
    bundle = bundles.export_bundle(tmp_path / "all.dashai", everything=True)
    assert bundle.rows["run"] == 2 and bundle.rows["plugin"] == 1
    with open_store(tmp_path / "dest"):
        plugins.register("dashai-svm", author="me", version="1", tags=["Model"])
        added = bundles.import_bundle(bundle.path)
        assert "plugin" not in added.rows and [p.name for p in plugins.list()] == ["dashai-svm"]
        assert added.rows["run"] == 2 and len(runs.list()) == 2


# -- trust ----------------------------------------------------------------------------------------


class Exploit:
    """Unpickling this creates the file named by ``marker``: code a bundle's author chose."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        import pathlib

        return (pathlib.Path.write_text, (pathlib.Path(self.marker), "pwned"))  # type: ignore[return-value]


def test_a_bundled_model_never_runs_unless_trusted(tmp_path: Path, source: tuple[Store, Work]) -> None:
    _, work = source
    marker = tmp_path / "marker"
    runs.save_model(work.other_run, Exploit(str(marker)))
    assert not marker.exists()
    bundle = bundles.export_bundle(tmp_path / "evil.dashai", runs=[work.other_run])
    with open_store(tmp_path / "victim"):
        added = bundles.import_bundle(bundle.path)
        run_id = added.pieces["runs"][work.other_run]
        runs.get(run_id), runs.list(), check()
        with pytest.raises(errors.UntrustedArtifact, match="trust=True"):
            runs.load_model(run_id)
        assert not marker.exists()
        runs.load_model(run_id, trust=True)  # the caller vouches: it runs
        assert marker.read_text() == "pwned"
        marker.unlink()
        # A trusted import loads without the argument; trusting an import later does too.
        trusted = bundles.import_bundle(bundle.path, trust=True)
        runs.load_model(trusted.pieces["runs"][work.other_run])
        assert marker.exists()
        marker.unlink()
        bundles.trust_import(added.import_id)
        runs.load_model(run_id)
        assert marker.exists()
        listed = bundles.list_imports()
        assert [(i.id, i.trusted, i.source) for i in listed] == [
            (added.import_id, True, "evil.dashai"),
            (trusted.import_id, True, "evil.dashai"),
        ]
        assert listed[0].pieces == {"runs": {str(work.other_run): run_id}}
        assert listed[0].bundle_id == listed[1].bundle_id == bundle.bundle_id
        with pytest.raises(errors.NotFound):
            bundles.trust_import(999)


def test_bundled_explanations_need_trust_too(tmp_path: Path, source: tuple[Store, Work]) -> None:
    _, work = source
    bundle = bundles.export_bundle(tmp_path / "run.dashai", runs=[work.run])
    with open_store(tmp_path / "dest"):
        added = bundles.import_bundle(bundle.path)
        new_run = added.pieces["runs"][work.run]
        [glob] = explainers.list_global(new_run)
        [local] = explainers.list_local(new_run)
        for kind, explainer_id in (("global", glob.id), ("local", local.id)):
            with pytest.raises(errors.UntrustedArtifact):
                explainers.load_explanation(kind, explainer_id)  # type: ignore[call-overload]
            assert explainers.load_explanation(kind, explainer_id, trust=True)  # type: ignore[call-overload]
        # Rows made in this store need no trust.
        own = runs.create(model_sessions.list()[0].id, "own", "SVC", {})
        runs.save_model(own.id, [1])
        assert runs.load_model(own.id) == [1]


# -- refusals: nothing written ------------------------------------------------------------------------


def _rewrite(
    bundle: Path, out: Path, edit: dict[str, bytes | None], extra: dict[str, bytes] | None = None
) -> Path:
    """A copy of ``bundle`` with members replaced (None: dropped) and ``extra`` added."""
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename in edit:
                if edit[info.filename] is not None:
                    dst.writestr(info, edit[info.filename])  # type: ignore[arg-type]
                continue
            dst.writestr(info, src.read(info))
        for name, data in (extra or {}).items():
            dst.writestr(name, data)
    return out


def _entry(data: bytes) -> dict[str, object]:
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def _tampered(bundle: Path, tmp_path: Path) -> dict[str, tuple[Path, type[errors.StoreError]]]:
    raw = bundle.read_bytes()
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        data_member = next(n for n in names if n.endswith("data.arrow"))
        manifest = json.loads(archive.read("manifest.json"))
        data = archive.read(data_member)
        info = archive.getinfo(data_member)
    cases: dict[str, tuple[Path, type[errors.StoreError]]] = {}
    # One byte flipped inside a stored file member (its bytes sit in the archive as they are).
    flipped = bytearray(raw)
    offset = raw.index(data, info.header_offset) + len(data) // 2
    flipped[offset] ^= 0xFF
    (tmp_path / "flipped.dashai").write_bytes(bytes(flipped))
    cases["flipped byte"] = (tmp_path / "flipped.dashai", errors.BundleRejected)
    (tmp_path / "truncated.dashai").write_bytes(raw[: len(raw) * 2 // 3])
    cases["truncated"] = (tmp_path / "truncated.dashai", errors.BundleRejected)
    # A member replaced with a consistent zip entry: only the manifest's sha256 catches it.
    swapped = data[:-1] + bytes([data[-1] ^ 1])
    cases["member swapped"] = (
        _rewrite(bundle, tmp_path / "swapped.dashai", {data_member: swapped}),
        errors.BundleRejected,
    )
    edited = dict(manifest, rows={**manifest["rows"], "metric": manifest["rows"]["metric"] + 1})
    cases["manifest edited"] = (
        _rewrite(bundle, tmp_path / "edited.dashai", {"manifest.json": json.dumps(edited).encode()}),
        errors.BundleRejected,
    )
    cases["extra member"] = (
        _rewrite(bundle, tmp_path / "extra.dashai", {}, {"files/runs/1/extra.txt": b"x"}),
        errors.BundleRejected,
    )
    cases["path traversal"] = (
        _rewrite(bundle, tmp_path / "traversal.dashai", {}, {"files/../../evil.txt": b"x"}),
        errors.BundleRejected,
    )
    newer = dict(manifest, schema="9999_from_the_future")
    cases["newer schema"] = (
        _rewrite(bundle, tmp_path / "newer.dashai", {"manifest.json": json.dumps(newer).encode()}),
        errors.BundleTooNew,
    )
    # A link and a twice-written member, each listed in the manifest with its true checksum.
    link = zipfile.ZipInfo("files/runs/1/link")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    target = b"/etc/passwd"
    listed = dict(manifest, members={**manifest["members"], link.filename: _entry(target)})
    linked = _rewrite(bundle, tmp_path / "link.dashai", {"manifest.json": json.dumps(listed).encode()})
    with zipfile.ZipFile(linked, "a") as archive:
        archive.writestr(link, target)
    cases["symbolic link"] = (linked, errors.BundleRejected)
    twice = _rewrite(bundle, tmp_path / "twice.dashai", {})
    with warnings.catch_warnings(), zipfile.ZipFile(twice, "a") as archive:
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name: the point
        archive.writestr(data_member, data)
    cases["member twice"] = (twice, errors.BundleRejected)
    # Consistent checksums, rows that break the schema (an unknown status): the database refuses.
    with zipfile.ZipFile(bundle) as archive:
        archive_rows = archive.read("rows/run.jsonl")
    run_rows = archive_rows.replace(b'"status": "NOT_STARTED"', b'"status": "HALF_DONE"')
    assert run_rows != archive_rows
    broken = dict(manifest, members={**manifest["members"], "rows/run.jsonl": _entry(run_rows)})
    cases["rows breaking the schema"] = (
        _rewrite(
            bundle,
            tmp_path / "broken.dashai",
            {"manifest.json": json.dumps(broken).encode(), "rows/run.jsonl": run_rows},
        ),
        errors.BundleRejected,
    )
    with zipfile.ZipFile(bundle) as archive:
        dataset_rows = archive.read("rows/dataset.jsonl")
    nameless = dataset_rows.replace(b'"name": "iris"', b'"name": null')
    assert nameless != dataset_rows
    unnamed = dict(manifest, members={**manifest["members"], "rows/dataset.jsonl": _entry(nameless)})
    cases["a dataset without a name"] = (
        _rewrite(
            bundle,
            tmp_path / "nameless.dashai",
            {"manifest.json": json.dumps(unnamed).encode(), "rows/dataset.jsonl": nameless},
        ),
        errors.BundleRejected,
    )
    no_manifest = _rewrite(bundle, tmp_path / "nomanifest.dashai", {"manifest.json": None})
    cases["no manifest"] = (no_manifest, errors.BundleRejected)
    # A rows member edited in place (same line count, a valid zip entry): only its sha256
    # in the manifest catches it, as for a file member.
    renamed = dataset_rows.replace(b'"name": "iris"', b'"name": "sirI"')
    cases["rows member swapped"] = (
        _rewrite(bundle, tmp_path / "rows-swapped.dashai", {"rows/dataset.jsonl": renamed}),
        errors.BundleRejected,
    )
    # The manifest counts rows of a table whose member it does not list (and the archive lacks).
    counted = dict(manifest, rows={**manifest["rows"], "plugin": 3})
    cases["rows counted, member missing"] = (
        _rewrite(bundle, tmp_path / "counted.dashai", {"manifest.json": json.dumps(counted).encode()}),
        errors.BundleRejected,
    )
    return cases


def test_a_tampered_truncated_or_newer_bundle_is_refused_with_nothing_written(
    tmp_path: Path, source: tuple[Store, Work], dest_url: str | None
) -> None:
    _, work = source
    bundle = export_work(tmp_path, work)
    cases = _tampered(bundle.path, tmp_path)
    dest_home = tmp_path / "dest"
    with open_store(dest_home, database=dest_url) as dest:
        datasets.create("already here", pa.table({"a": [1]}))
        rows_before, files_before = row_counts(dest.db), file_tree(dest_home)
        for case, (path, error) in cases.items():
            with pytest.raises(error) as caught:
                bundles.import_bundle(path)
            assert "nothing was written" in str(caught.value), case
            assert row_counts(dest.db) == rows_before, case
            assert file_tree(dest_home) == files_before, case
        bundles.import_bundle(bundle.path)  # the genuine one still imports
        assert row_counts(dest.db) != rows_before
        # A bundle from an older schema (0005: no origin column yet) imports too.
        with zipfile.ZipFile(bundle.path) as archive:
            manifest = json.loads(archive.read("manifest.json"))
        older = dict(manifest, schema="0005_notebook_source_path")
        path = _rewrite(bundle.path, tmp_path / "older.dashai", {"manifest.json": json.dumps(older).encode()})
        assert bundles.import_bundle(path).schema == "0005_notebook_source_path"


def test_member_names_that_could_escape_are_refused() -> None:
    unsafe = (
        "/etc/passwd",
        "files/../x",
        "files/runs/1/../../x",
        "files\\runs\\1\\x",
        "C:/x",
        "files/backups/db.sqlite",
        "files/db.sqlite",
        "rows/secret.jsonl",
        "other/x",
        "files/runs/1/",
    )
    for name in unsafe:
        with pytest.raises(errors.BundleRejected):
            bundle_manifest.check_name(name)
    bundle_manifest.check_name("files/runs/1/model.joblib")
    bundle_manifest.check_name("rows/run.jsonl")


def test_an_export_inside_a_write_transaction_reads_that_transaction(
    tmp_path: Path, source: tuple[Store, Work]
) -> None:
    from dashai_store.database import run_in_transaction

    _, work = source

    def rename_then_export() -> bundles.BundleRecord:
        datasets.rename(work.dataset, "iris-renamed")
        return bundles.export_bundle(tmp_path / "inside.dashai", datasets=[work.dataset])

    run_in_transaction(rename_then_export)
    with open_store(tmp_path / "dest"):
        added = bundles.import_bundle(tmp_path / "inside.dashai")
        assert datasets.get(added.pieces["datasets"][work.dataset]).name == "iris-renamed"


def test_a_row_edited_by_hand_into_nonsense_is_named_not_exported(
    tmp_path: Path, source: tuple[Store, Work]
) -> None:
    store, work = source
    store.db.execute_sql(f"UPDATE run SET parameters = 'not json' WHERE id = {work.run}")
    with pytest.raises(errors.UnreadableValue, match=f"run {work.run}: parameters"):
        bundles.export_bundle(tmp_path / "bad.dashai", runs=[work.run])
    assert not (tmp_path / "bad.dashai").exists()


def test_two_imports_with_once_at_the_same_time_add_the_bundle_once(
    tmp_path: Path, source: tuple[Store, Work], dest_url: str | None
) -> None:
    import threading

    _, work = source
    bundle = export_work(tmp_path, work)
    with open_store(tmp_path / "dest", database=dest_url) as dest:
        outcomes: list[str] = []
        start = threading.Barrier(2)

        def importer() -> None:
            from dashai_store.database import pinned

            with pinned(dest):
                start.wait()
                try:
                    bundles.import_bundle(bundle.path, once=True)
                    outcomes.append("added")
                except errors.AlreadyImported:
                    outcomes.append("refused")

        threads = [threading.Thread(target=importer) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(outcomes) == ["added", "refused"]
        assert [d.name for d in datasets.list()] == ["iris", "holdout"]


def test_files_behind_a_symbolic_link_in_the_home_stay_home(
    tmp_path: Path, source: tuple[Store, Work]
) -> None:
    store, work = source
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not the store's")
    runs_folder = store.home / "runs"
    (runs_folder / str(work.run) / "linked").symlink_to(outside, target_is_directory=True)
    (runs_folder / str(work.run) / "secret-link.txt").symlink_to(outside / "secret.txt")
    bundle = bundles.export_bundle(tmp_path / "run.dashai", runs=[work.run])
    with zipfile.ZipFile(bundle.path) as archive:
        names = archive.namelist()
    assert f"files/runs/{work.run}/model.joblib" in names
    assert not [n for n in names if "secret" in n or "linked" in n]
    # A whole managed root that is a link is not followed either.
    moved = tmp_path / "runs-elsewhere"
    runs_folder.rename(moved)
    runs_folder.symlink_to(moved, target_is_directory=True)
    bundle = bundles.export_bundle(tmp_path / "run2.dashai", runs=[work.run])
    with zipfile.ZipFile(bundle.path) as archive:
        assert not [n for n in archive.namelist() if n.startswith("files/runs/")]
