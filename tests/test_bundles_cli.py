"""``dashai-store export`` and ``dashai-store import``, run as a user would (real subprocesses)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from helpers import file_tree, row_counts
from test_bundles import Work, populate
from test_cli import run_cli

from dashai_store import datasets, open_store, runs
from dashai_store.cli import EXIT_FAILED, EXIT_NOT_FOUND, EXIT_OK, EXIT_TOO_NEW, EXIT_USAGE


@pytest.fixture
def source_home(tmp_path: Path) -> tuple[Path, Work]:
    home = tmp_path / "source"
    with open_store(home):
        work = populate()
    return home, work


def test_export_then_import_into_sqlite_and_postgresql(
    tmp_path: Path, source_home: tuple[Path, Work], database_url: str | None
) -> None:
    home, work = source_home
    bundle = tmp_path / "work.dashai"
    exported = run_cli(
        "export",
        "--home",
        str(home),
        "--run",
        str(work.run),
        "--notebook",
        str(work.notebook),
        "-o",
        str(bundle),
    )
    assert exported.returncode == EXIT_OK, exported.stderr
    assert f"wrote {bundle}" in exported.stdout and zipfile.is_zipfile(bundle)

    dest = tmp_path / "dest"
    target = ["--home", str(dest), *(["--database", database_url] if database_url else [])]
    assert run_cli("migrate", *target).returncode == EXIT_OK
    imported = run_cli("import", str(bundle), *target, "--json")
    assert imported.returncode == EXIT_OK, imported.stderr
    document = json.loads(imported.stdout)
    new_run = document["pieces"]["runs"][str(work.run)]
    assert document["trusted"] is False and document["rows"]["run"] == 1
    with open_store(dest, database=database_url):
        assert runs.get(new_run).name == "svm"
        assert datasets.get_by_name("iris").file_path is not None

    # Again: a second copy, names made unique; --once refuses a third.
    again = run_cli("import", str(bundle), *target)
    assert again.returncode == EXIT_OK, again.stderr
    assert "renamed dataset 'iris' -> 'iris (2)'" in again.stdout
    assert "load only when trusted" in again.stdout
    once = run_cli("import", str(bundle), *target, "--once")
    assert once.returncode == EXIT_FAILED and "imported before" in once.stderr
    trusted = run_cli("import", str(bundle), *target, "--trust", "--json")
    assert trusted.returncode == EXIT_OK and json.loads(trusted.stdout)["trusted"] is True
    with open_store(dest, database=database_url):
        copy = json.loads(trusted.stdout)["pieces"]["runs"][str(work.run)]
        assert runs.load_model(copy) == {"weights": [1, 2, 3]}  # no trust argument needed


def test_exit_codes_of_refused_bundles(tmp_path: Path, source_home: tuple[Path, Work]) -> None:
    home, work = source_home
    bundle = tmp_path / "run.dashai"
    assert (
        run_cli("export", "--home", str(home), "--run", str(work.run), "-o", str(bundle)).returncode
        == EXIT_OK
    )
    with zipfile.ZipFile(bundle) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        members = {
            info: archive.read(info) for info in archive.infolist() if info.filename != "manifest.json"
        }
    newer = tmp_path / "newer.dashai"
    with zipfile.ZipFile(newer, "w") as archive:
        for info, data in members.items():
            archive.writestr(info, data)
        archive.writestr("manifest.json", json.dumps(dict(manifest, format_version=99)))
    truncated = tmp_path / "truncated.dashai"
    truncated.write_bytes(bundle.read_bytes()[:-200])

    dest = tmp_path / "dest"
    assert run_cli("migrate", "--home", str(dest)).returncode == EXIT_OK
    with open_store(dest) as store:
        before_rows, before_files = row_counts(store.db), file_tree(dest)
    results = {
        "newer": run_cli("import", str(newer), "--home", str(dest)),
        "truncated": run_cli("import", str(truncated), "--home", str(dest)),
        "missing": run_cli("import", str(tmp_path / "nope.dashai"), "--home", str(dest)),
        "no piece": run_cli("export", "--home", str(home), "-o", str(tmp_path / "x.dashai")),
        "unknown run": run_cli(
            "export", "--home", str(home), "--run", "999", "-o", str(tmp_path / "x.dashai")
        ),
    }
    codes = {case: result.returncode for case, result in results.items()}
    assert codes == {
        "newer": EXIT_TOO_NEW,
        "truncated": EXIT_FAILED,
        "missing": EXIT_NOT_FOUND,
        "no piece": EXIT_USAGE,
        "unknown run": EXIT_NOT_FOUND,
    }, {case: r.stderr for case, r in results.items()}
    assert "format version 99" in results["newer"].stderr
    with open_store(dest) as store:
        assert row_counts(store.db) == before_rows and file_tree(dest) == before_files
    assert not (tmp_path / "x.dashai").exists()


def test_help_documents_both_commands() -> None:
    result = run_cli("--help")
    assert "export" in result.stdout and "import" in result.stdout
    for command in ("export", "import"):
        text = run_cli(command, "--help").stdout
        assert "Exit code" in text


def test_import_into_a_home_that_does_not_exist_yet_creates_the_store(
    tmp_path: Path, source_home: tuple[Path, Work]
) -> None:
    # A supervisor's fresh install has no ~/.DashAI yet: the import makes it, as a start would.
    home, work = source_home
    bundle = tmp_path / "work.dashai"
    assert (
        run_cli("export", "--home", str(home), "--run", str(work.run), "-o", str(bundle)).returncode
        == EXIT_OK
    )
    fresh = tmp_path / "fresh" / "home"

    imported = run_cli("import", str(bundle), "--home", str(fresh))

    assert imported.returncode == EXIT_OK, imported.stderr
    with open_store(fresh, migrate=False):
        assert len(runs.list()) == 1
