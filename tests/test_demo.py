"""``dashai-store demo``, run as a newcomer runs it: the installed console script, a subprocess.

The walkthrough's results are then read back from the store it made, and the report's
charts are compared with the store's own data.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from migration_fixtures.support import BASE

from dashai_store import (
    datasets,
    explainers,
    generative,
    maintenance,
    metrics,
    open_store,
    predictions,
    runs,
)
from dashai_store.cli import EXIT_TOO_NEW
from dashai_store.demo import MARKER, ChurnModel, png_bytes

# The venv's own console script: /work/venv in development, .venv in CI.
SCRIPT = str(Path(sys.executable).parent / "dashai-store")

# What one walkthrough makes (the demo is deterministic).
EXPECTED_COUNTS = {
    "dataset": 2,
    "model_session": 1,
    "run": 1,
    "metric": 12 * 2 + 40 * 4 + 3 * 2,  # TRIAL (loss, accuracy) + STEP per epoch + LAST
    "prediction": 1,
    "notebook": 1,
    "converter": 3,
    "explorer": 1,
    "generative_session": 1,
    "parameter_history": 5,
    "generative_process": 3,
    "process_data": 8,
    "plugin": 1,
    "tag": 2,
    "global_explainer": 1,
    "local_explainer": 1,
}


def run_demo(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> tuple[subprocess.CompletedProcess[str], float]:
    environment = {k: v for k, v in os.environ.items() if k != "DASHAI_HOME"}
    environment.update(env or {})
    started = time.perf_counter()
    result = subprocess.run(
        [SCRIPT, "demo", *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout
    )
    return result, time.perf_counter() - started


def figure_data(page: str, div_id: str) -> list[dict[str, Any]]:
    """The traces Plotly.newPlot draws into ``div_id`` (the JSON array after the id)."""
    match = re.search(r'Plotly\.newPlot\(\s*"' + re.escape(div_id) + r'",\s*', page)
    assert match is not None, f"no figure {div_id!r} in the report"
    data, _ = json.JSONDecoder().raw_decode(page, match.end())
    assert isinstance(data, list)
    return data


def embedded_document(page: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="demo-data">(.*?)</script>', page, re.S)
    assert match is not None
    document = json.loads(match.group(1))
    assert isinstance(document, dict)
    return document


def everything(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes (the database included)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def check_self_contained(page: str) -> None:
    # Nothing is fetched: no external script, stylesheet, image or frame; plotly.js is inline.
    assert not re.search(r"<script\b[^>]*\bsrc\s*=", page, re.I)
    assert not re.search(r"<link\b[^>]*\bhref\s*=\s*[\"']?(https?:)?//", page, re.I)
    assert not re.search(r"<(img|iframe)\b[^>]*\bsrc\s*=\s*[\"']?(https?:)?//", page, re.I)
    assert not re.search(r"""\bsrc\s*=\s*["']?(https?:)?//""", page, re.I)
    assert not re.search(r"@import|url\(\s*[\"']?https?:", page, re.I)
    # plotly.js itself names its CDN once, as the default topojsonURL of geo maps (none here).
    assert page.count("cdn.plot.ly") <= 1
    assert page.count("plotly.js v") >= 1  # the library's banner: inlined, once per page
    assert page.count("Plotly.newPlot(") >= 10


# -- the walkthrough, on both backends ------------------------------------------------------------


def test_demo_walks_the_product_and_the_report_shows_the_store(
    tmp_path: Path, home: Path, database_url: str | None
) -> None:
    args = ["--home", str(home), "--json", *(["--database", database_url] if database_url else [])]
    result, wall = run_demo(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["ok"] is True
    assert summary["check"] == {"ok": True, "problems": []}
    assert summary["backend"] == ("postgresql" if database_url else "sqlite")
    assert summary["home"] == str(home)
    assert summary["migration"]["applied"] == BASE and summary["migration"]["head"] == BASE[-1]
    assert summary["walkthrough"] == 1
    assert summary["counts"] == EXPECTED_COUNTS
    assert set(summary["timings_s"]) >= {"migrate", "dataset", "notebook", "training", "check", "report"}
    assert wall < 60, f"the demo took {wall:.1f} s"  # seconds, not minutes (about 1-2 s here)
    # Progress went to stderr, one line per phase.
    assert "demo: training" in result.stderr
    facts = summary["facts"]
    assert facts["dataset_rows"] == 500
    assert [s["converter"] for s in facts["lineage"]["steps"]] == [
        "DropColumn",
        "StandardScaler",
        "DropNulls",
    ]
    assert 0 < facts["undone_filter_rows"] < 500
    assert facts["plots"] == ["history", "slice", "contour", "importance"]
    assert 0.75 < facts["test_accuracy"] <= 1.0  # the generated problem is learnable

    report = Path(summary["report"])
    assert report == home / "report.html"
    page = report.read_text(encoding="utf-8")
    check_self_contained(page)
    assert embedded_document(page)["ids"] == summary["ids"]
    ids = summary["ids"]

    with open_store(home, database=database_url, migrate=False):
        # The store is clean by the strictest measure (no grace for young unowned files).
        assert maintenance.check(grace_s=0).ok
        run_id = ids["run"]
        assert runs.get(run_id).status.name == "FINISHED"
        assert isinstance(runs.load_model(run_id), ChurnModel)
        for kind in runs.PLOT_KINDS:
            assert runs.load_plot(run_id, kind, as_figure=False)["data"]

        # The report's metric curves are the run's STEP history, point for point.
        traces = {t["name"]: t for t in figure_data(page, "metric-curves")}
        assert set(traces) == {f"{s} {n}" for s in ("TRAIN", "VALIDATION") for n in ("loss", "accuracy")}
        for name, trace in traces.items():
            split, metric = name.split()
            history = metrics.history_table(run_id, name=metric, split=split, level="STEP").to_pylist()
            assert trace["x"] == [row["step"] for row in history] == list(range(1, 41))
            assert trace["y"] == [row["value"] for row in history]
        loss = traces["TRAIN loss"]["y"]
        assert loss[-1] < loss[0]  # training did train
        assert metrics.latest(run_id)["TEST"]["accuracy"] == facts["test_accuracy"]

        # The parameter timeline: one step chart per numeric parameter, over every snapshot.
        snapshots = generative.parameter_history(ids["generative_session"])
        assert len(snapshots) == 5
        assert snapshots[-1].parameters == snapshots[1].parameters  # the restore of snapshot 2
        timeline = {t["name"]: t for t in figure_data(page, "parameter-timeline")}
        assert set(timeline) == {"temperature", "max_new_tokens", "top_p", "seed"}
        for key, trace in timeline.items():
            assert trace["line"]["shape"] == "hv"
            assert trace["y"] == [s.parameters.get(key) for s in snapshots]
        processes = generative.list_processes(ids["generative_session"])
        assert [p.status.name for p in processes] == ["FINISHED"] * 3
        image = [p for p in generative.payloads(processes[-1].id) if p.data_type.value == "image"]
        assert len(image) == 1 and image[0].value.startswith(b"\x89PNG\r\n\x1a\n")
        assert "data:image/png;base64," in page

        saved = datasets.get(ids["saved_dataset"])
        assert saved.lineage is not None and saved.lineage["source_dataset_id"] == ids["dataset"]
        table = datasets.load_table(ids["saved_dataset"])
        assert "notes" not in table.column_names and table.column("income").null_count == 0
        assert abs(sum(table.column("income").to_pylist()) / table.num_rows) < 0.05  # standardised
        results = predictions.load_results(ids["prediction"])
        assert results.num_rows == table.num_rows == facts["saved_rows"]
        assert set(explainers.load_explanation("global", ids["global_explainer"])["importances"]) == {
            "income",
            "age",
            "visits",
            "plan",
        }


# -- the home ---------------------------------------------------------------------------------------


def test_default_home_is_under_the_current_folder_and_never_dot_dashai(tmp_path: Path) -> None:
    fake_user = tmp_path / "user"
    fake_user.mkdir()
    elsewhere = tmp_path / "from-env"
    work = tmp_path / "work"
    work.mkdir()
    result, _ = run_demo(cwd=work, env={"HOME": str(fake_user), "DASHAI_HOME": str(elsewhere)})
    assert result.returncode == 0, result.stderr
    home = work / "dashai-demo"
    assert (home / "db.sqlite").is_file() and (home / "report.html").is_file() and (home / MARKER).is_file()
    assert not (fake_user / ".DashAI").exists()
    assert not elsewhere.exists()  # the demo ignores DASHAI_HOME: only --home chooses another store
    # The human summary: one line per area, the check, the report's path, the wall time.
    out = result.stdout
    assert f"walkthrough 1 in {home} (sqlite)" in out
    for area in ("migrate", "dataset", "notebook", "run", "plots", "prediction", "generative", "plugin"):
        assert re.search(rf"^  {area}\s", out, re.M), area
    assert re.search(r"^  check\s+ok\s", out, re.M)
    assert f"report: {home / 'report.html'}" in out
    total = re.search(r"^total: ([0-9.]+) s$", out, re.M)
    assert total is not None and 0 < float(total.group(1)) < 60


def test_an_earlier_demo_home_gets_another_walkthrough(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    first, _ = run_demo("--home", str(home), "--json", "--quiet", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""  # --quiet
    second, _ = run_demo("--home", str(home), "--json", "--quiet", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    summary = json.loads(second.stdout)
    assert summary["walkthrough"] == 2
    assert summary["migration"]["applied"] == []  # already up to date
    assert summary["facts"]["dataset_name"] == "#2 customers"
    assert summary["counts"]["dataset"] == 4 and summary["counts"]["run"] == 2
    assert summary["check"]["ok"] is True
    marker = json.loads((home / MARKER).read_text())
    assert [w["number"] for w in marker["walkthroughs"]] == [1, 2]


def test_a_demo_home_from_a_newer_version_exits_3_untouched(
    tmp_path: Path, home: Path, database_url: str | None
) -> None:
    # An earlier demo home whose database a newer dashai_store has since migrated further.
    target = ["--home", str(home), "--quiet", *(["--database", database_url] if database_url else [])]
    first, _ = run_demo(*target, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    with open_store(home, database=database_url, migrate=False) as store:
        p = store.db.param
        store.db.execute_sql(
            "INSERT INTO dashai_schema_migration (sequence, id, checksum, applied_at, library_version, "
            f"duration_ms) VALUES ({p}, {p}, {p}, {p}, {p}, {p})",
            (9999, "9999_future", "", "2100-01-01", "99.0", 0),
        )
    # The database is left out: SQLite checkpoints its WAL when the refused run's reader
    # closes, which changes the bytes of db.sqlite without writing anything.
    before = {name: data for name, data in everything(home).items() if not name.startswith("db.sqlite")}
    result, _ = run_demo(*target, cwd=tmp_path)
    assert result.returncode == EXIT_TOO_NEW, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "9999_future" in lines[0] and "newer" in lines[0], result.stderr
    after = {name: data for name, data in everything(home).items() if not name.startswith("db.sqlite")}
    assert after == before  # the marker, the report, every stored file


@pytest.mark.parametrize("kind", ["foreign folder", "file"])
def test_a_home_that_is_not_ours_is_refused_untouched(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "precious"
    if kind == "file":
        target.write_text("not a folder")
    else:
        target.mkdir()
        (target / "thesis.txt").write_text("years of work")
        (target / "db.sqlite").write_bytes(b"someone else's database")
    before = everything(tmp_path)
    result, _ = run_demo("--home", str(target), cwd=tmp_path)
    assert result.returncode == 2
    assert str(target) in result.stderr
    assert ("not a folder" if kind == "file" else "not empty") in result.stderr
    assert everything(tmp_path) == before
    assert not (target / MARKER).exists()
    assert result.stdout == ""


def test_the_image_payload_is_a_valid_png() -> None:
    import zlib

    data = png_bytes(3, 2, lambda x, y: (x * 100, y * 200, 7))
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    # Chunks: IHDR (3x2, 8-bit RGB), IDAT, IEND, each with a correct CRC.
    pos, chunks = 8, []
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        tag, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        crc = int.from_bytes(data[pos + 8 + length : pos + 12 + length], "big")
        assert crc == zlib.crc32(tag + body)
        chunks.append((tag, body))
        pos += 12 + length
    assert [tag for tag, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    assert chunks[0][1] == (3).to_bytes(4, "big") + (2).to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    raw = zlib.decompress(chunks[1][1])
    assert raw == bytes([0, 0, 0, 7, 100, 0, 7, 200, 0, 7, 0, 0, 200, 7, 100, 200, 7, 200, 200, 7])


def test_importing_every_demo_module_stays_cheap() -> None:
    # The heavy libraries are imported inside the functions that use them: `dashai-store
    # --help` and the other commands import the demo package without paying for them.
    code = (
        "import importlib, pkgutil, sys\n"
        "import dashai_store.demo as demo\n"
        "names = [m.name for m in pkgutil.walk_packages(demo.__path__, 'dashai_store.demo.')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "print(len(names), [m for m in ('pyarrow', 'plotly', 'joblib') if m in sys.modules])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    count, heavy = result.stdout.split(" ", 1)
    assert int(count) >= 20  # the walk found the package's modules, report/ and walkthrough/ included
    assert heavy.strip() == "[]"
