"""Issue 16, part 3: ``copy`` moves a whole store, every row with its id and every file.

Real stores on both backends (the demo's walkthrough plus metric edge values, a series
crossing the read batches and a deleted top id), compared row by row and byte by byte.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
from conftest import PgSchema
from home_copy_support import (
    copy_tree,
    managed_files,
    populate,
    raw_sqlite_rows,
    rows_of,
    tree,
)
from installed import LEGACY_FIXTURE

from dashai_store import datasets, errors, maintenance, open_store, runs
from dashai_store.home_copy import copy_home
from dashai_store.home_copy.destination import MARKER


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A populated SQLite home, built once; tests copy it before changing anything."""
    home = tmp_path_factory.mktemp("populated") / "home"
    populate(home)
    return home


def _marks(home: Path) -> dict[str, int]:
    return dict(raw_sqlite_rows(home / "db.sqlite")["sqlite_sequence"])


def _check_ok(home: Path, database: str | None) -> None:
    with open_store(home, database=database, migrate=False, finish_deletions=False):
        report = maintenance.check(grace_s=0)
    assert report.ok, report


def test_sqlite_to_sqlite_copies_every_row_id_mark_and_file(populated: Path, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    record = copy_home(populated, to_home=dest)
    assert not record.already_done and not record.resumed and record.ok
    assert raw_sqlite_rows(dest / "db.sqlite") == raw_sqlite_rows(populated / "db.sqlite")
    assert managed_files(dest) == managed_files(populated)
    assert record.files == len(managed_files(populated)) and record.rows["metric"] > 12_000
    _check_ok(dest, None)
    with open_store(dest):  # the deleted top dataset's id is never handed out again
        new = datasets.create("after-the-copy", pa.table({"x": [1]}))
        assert new.id == _marks(populated)["dataset"] + 1


def test_the_source_is_never_written(populated: Path, tmp_path: Path) -> None:
    source = copy_tree(populated, tmp_path / "source")
    before = tree(source)
    assert not (source / "db.sqlite-wal").exists()  # closed: read as immutable
    copy_home(source, to_home=tmp_path / "dest")
    assert tree(source) == before  # listing, bytes and mtimes


@pytest.mark.skipif(not LEGACY_FIXTURE.is_dir(), reason="legacy DashAI fixture not available")
def test_an_adopted_legacy_home_copies_and_stays_untouched(tmp_path: Path) -> None:
    legacy = copy_tree(LEGACY_FIXTURE, tmp_path / "legacy")
    for path in [legacy, *legacy.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    with pytest.raises(errors.SchemaOutdated, match="dashai-store migrate --home"):
        copy_home(legacy, to_home=tmp_path / "refused")
    assert not (tmp_path / "refused").exists()
    with open_store(legacy):  # adoption
        pass
    before = tree(legacy)
    copy_home(legacy, to_home=tmp_path / "dest")
    assert tree(legacy) == before
    assert raw_sqlite_rows(tmp_path / "dest" / "db.sqlite") == raw_sqlite_rows(legacy / "db.sqlite")
    assert managed_files(tmp_path / "dest") == managed_files(legacy)


def test_a_source_in_use_is_read_through_its_wal(populated: Path, tmp_path: Path) -> None:
    source = copy_tree(populated, tmp_path / "source")
    with open_store(source):
        datasets.create("while-open", pa.table({"x": [1]}))
        assert (source / "db.sqlite-wal").exists()
        copy_home(source, to_home=tmp_path / "dest")
        with open_store(tmp_path / "dest", migrate=False):
            assert datasets.get_by_name("while-open").name == "while-open"


def test_sqlite_postgresql_sqlite_round_trip_is_equal_row_by_row(
    populated: Path, pg_schema: PgSchema, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    untouched = tree(populated)
    record = copy_home(populated, to_home=shared, to_database=pg_schema.url)
    assert record.backend == "postgresql"
    assert tree(populated) == untouched
    assert rows_of(shared, pg_schema.url) == rows_of(populated, None)
    _check_ok(shared, pg_schema.url)
    back = tmp_path / "back"
    shared_files = tree(shared)
    copy_home(shared, database=pg_schema.url, to_home=back)
    assert tree(shared) == shared_files  # a PostgreSQL source's folder is not written either
    # Raw storage, not only what the models read: -0.0's BLOB, NaN's NULL, timestamps' text.
    assert raw_sqlite_rows(back / "db.sqlite") == raw_sqlite_rows(populated / "db.sqlite")
    assert managed_files(back) == managed_files(populated)
    with open_store(shared, database=pg_schema.url, migrate=False):  # sequences moved past the ids
        marks = _marks(populated)
        assert datasets.create("new", pa.table({"x": [1]})).id == marks["dataset"] + 1
        run = runs.list()[0]
        assert runs.create(run.model_session_id, "new-run", "SVC", {}).id == marks["run"] + 1


def test_postgresql_source_to_postgresql(populated: Path, tmp_path: Path) -> None:
    from conftest import PG_URL

    if not PG_URL:
        pytest.skip("no PostgreSQL server: set DASHAI_TEST_POSTGRES_URL")
    first, second = PgSchema(), PgSchema()
    try:
        copy_home(populated, to_home=tmp_path / "a", to_database=first.url)
        copy_home(tmp_path / "a", database=first.url, to_home=tmp_path / "b", to_database=second.url)
        assert rows_of(tmp_path / "b", second.url) == rows_of(populated, None)
        _check_ok(tmp_path / "b", second.url)
    finally:
        first.drop()
        second.drop()


def test_a_second_run_says_it_is_already_done(populated: Path, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    first = copy_home(populated, to_home=dest)
    before = tree(dest)
    again = copy_home(populated, to_home=dest)
    assert again.already_done and again.rows == first.rows and again.files == first.files
    assert tree(dest) == before
    result = _cli("copy", "--home", str(populated), "--to-home", str(dest), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["already_done"] is True


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dashai_store", *args], capture_output=True, text=True, timeout=300
    )


def test_a_destination_holding_a_store_is_refused_and_left_as_it_was(populated: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    with open_store(other):
        datasets.create("mine", pa.table({"x": [1]}))
    before = tree(other)
    with pytest.raises(errors.DestinationNotEmpty, match="not empty"):
        copy_home(populated, to_home=other)
    assert tree(other) == before
    result = _cli("copy", "--home", str(populated), "--to-home", str(other))
    assert result.returncode == 1 and "not empty" in result.stderr
    assert tree(other) == before


HOLD_COPY_LOCK = """
import sys, time
from pathlib import Path
from dashai_store.home_copy.run import lock_path
from dashai_store.locks import held
with held(lock_path(Path(sys.argv[1]), None), shared=False, timeout_s=None):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_second_copy_into_the_same_destination_is_refused_and_writes_nothing(
    populated: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "dest"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_COPY_LOCK, str(dest.resolve())], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(errors.StoreBusy, match="another copy into"):
            copy_home(populated, to_home=dest)
        assert not dest.exists()
        assert _cli("copy", "--home", str(populated), "--to-home", str(dest), "-q").returncode == 1
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert copy_home(populated, to_home=dest).rows  # the lock died with its holder


def test_a_destination_whose_rows_own_no_files_is_still_refused(populated: Path, tmp_path: Path) -> None:
    # Rows alone (a pending dataset, no file yet) make a store that is not empty.
    other = tmp_path / "rows-only"
    with open_store(other):
        datasets.create_pending("waiting for its upload")
    before = tree(other)
    with pytest.raises(errors.DestinationNotEmpty, match=r"holds 1 row"):
        copy_home(populated, to_home=other)
    assert tree(other) == before


def test_a_destination_made_by_a_newer_version_is_refused(populated: Path, tmp_path: Path) -> None:
    newer = tmp_path / "newer"
    with open_store(newer) as store:
        store.db.execute_sql(
            "INSERT INTO dashai_schema_migration "
            "(sequence, id, checksum, applied_at, library_version, duration_ms) "
            "VALUES (9999, '9999_future', '', '2100-01-01', '99.0', 0)"
        )
    before = tree(newer)
    with pytest.raises(errors.SchemaTooNew):
        copy_home(populated, to_home=newer)
    assert tree(newer) == before
    assert _cli("copy", "--home", str(populated), "--to-home", str(newer)).returncode == 3


def test_a_destination_with_other_things_or_another_copy_is_refused(populated: Path, tmp_path: Path) -> None:
    papers = tmp_path / "papers"
    papers.mkdir()
    (papers / "thesis.txt").write_text("mine")
    with pytest.raises(errors.DestinationNotEmpty, match=r"thesis\.txt"):
        copy_home(populated, to_home=papers)
    assert sorted(p.name for p in papers.iterdir()) == ["thesis.txt"]
    # A copy of another store, interrupted, is not taken for this one's.
    other_source = tmp_path / "other-source"
    with open_store(other_source):
        datasets.create("x", pa.table({"x": [1]}))
    half = tmp_path / "half"
    half.mkdir()
    (half / MARKER).write_text(json.dumps({"state": "copying", "source": {"home": str(other_source)}}))
    with pytest.raises(errors.DestinationNotEmpty, match="copy of"):
        copy_home(populated, to_home=half)


def test_an_empty_migrated_destination_is_used(populated: Path, pg_schema: PgSchema, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    with open_store(shared, database=pg_schema.url):  # the first client migrated it, wrote nothing
        pass
    copy_home(populated, to_home=shared, to_database=pg_schema.url)
    assert rows_of(shared, pg_schema.url) == rows_of(populated, None)


def test_source_and_destination_may_not_overlap(populated: Path) -> None:
    with pytest.raises(errors.ValidationError, match="overlap"):
        copy_home(populated, to_home=populated / "inside")
    with pytest.raises(errors.ValidationError, match="overlap"):
        copy_home(populated, to_home=populated)
    assert not (populated / "inside").exists()


def test_a_source_at_an_older_version_is_refused_and_not_migrated(populated: Path, tmp_path: Path) -> None:
    source = copy_tree(populated, tmp_path / "source")
    conn = sqlite3.connect(source / "db.sqlite")
    with conn:
        last = conn.execute("SELECT MAX(sequence) FROM dashai_schema_migration").fetchone()[0]
        conn.execute("DELETE FROM dashai_schema_migration WHERE sequence = ?", (last,))
    conn.close()
    before = tree(source)
    result = _cli("copy", "--home", str(source), "--to-home", str(tmp_path / "dest"))
    assert result.returncode == 4, result.stderr
    assert f"dashai-store migrate --home {source}" in result.stderr
    assert tree(source) == before and not (tmp_path / "dest").exists()


def test_an_outdated_or_missing_source_is_refused_with_the_command_to_run(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = _cli("copy", "--home", str(empty), "--to-home", str(tmp_path / "d"))
    assert result.returncode == 4 and "no store" in result.stderr
    assert not (tmp_path / "d").exists()


def test_links_are_reported_not_followed_and_damaged_files_reported(populated: Path, tmp_path: Path) -> None:
    source = copy_tree(populated, tmp_path / "source")
    secret = tmp_path / "secret.txt"
    secret.write_text("outside the home")
    (source / "runs" / "leak.txt").symlink_to(secret)
    with open_store(source, migrate=False):
        run = next(r for r in runs.list() if r.artifacts and "model" in r.artifacts)
    model = source / run.artifacts["model"]["path"]
    model.chmod(0o644)
    model.write_bytes(model.read_bytes() + b"tampered")
    record = copy_home(source, to_home=tmp_path / "dest")
    assert record.links == ("runs/leak.txt",)
    assert not os.path.lexists(tmp_path / "dest" / "runs" / "leak.txt")
    assert record.damaged_files == (run.artifacts["model"]["path"],) and not record.ok
    result = _cli("copy", "--home", str(source), "--to-home", str(tmp_path / "dest2"), "--quiet")
    assert result.returncode == 1 and "damaged" in result.stdout and "leak.txt" in result.stdout


def test_staging_and_backups_are_not_copied(populated: Path, tmp_path: Path) -> None:
    source = copy_tree(populated, tmp_path / "source")
    (source / "datasets" / "incoming-abc123.arrow").write_bytes(b"half an upload")
    (source / "runs" / ".model.joblib.x1y2.tmp").write_bytes(b"half a write")
    (source / "backups").mkdir(exist_ok=True)
    (source / "backups" / "db-old.sqlite").write_bytes(b"old")
    copy_home(source, to_home=tmp_path / "dest")
    dest = tmp_path / "dest"
    assert not (dest / "datasets" / "incoming-abc123.arrow").exists()
    assert not (dest / "runs" / ".model.joblib.x1y2.tmp").exists()
    assert not (dest / "backups" / "db-old.sqlite").exists()


def test_progress_goes_to_stderr_and_quiet_silences_it(populated: Path, tmp_path: Path) -> None:
    loud = _cli("copy", "--home", str(populated), "--to-home", str(tmp_path / "a"))
    assert loud.returncode == 0, loud.stderr
    assert "copy: files" in loud.stderr and "copy: rows" in loud.stderr
    assert len(loud.stderr.splitlines()) < 40
    quiet = _cli("copy", "--home", str(populated), "--to-home", str(tmp_path / "b"), "--quiet")
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert "copied:" in quiet.stdout


def test_rows_written_to_the_destination_meanwhile_commit_nothing(populated: Path, tmp_path: Path) -> None:
    # The emptiness is checked again inside the rows' transaction (another client started).
    from dashai_store.home_copy import run as copy_run

    dest = tmp_path / "dest"
    original = copy_run._copy_rows

    def sneak_in(source: object, store: object, progress: object) -> dict[str, int]:
        datasets.create("sneaked", pa.table({"x": [1]}))  # the destination store is current
        return original(source, store, progress)  # type: ignore[arg-type]

    copy_run._copy_rows = sneak_in  # type: ignore[assignment]
    try:
        with pytest.raises(errors.DestinationNotEmpty, match="appeared"):
            copy_home(populated, to_home=dest)
    finally:
        copy_run._copy_rows = original  # type: ignore[assignment]
    with pytest.raises(errors.CopyUnfinished):  # the copy did not finish: no app may start there
        open_store(dest, migrate=False)
    db = sqlite3.connect(dest / "db.sqlite")
    try:
        assert [name for (name,) in db.execute("SELECT name FROM dataset")] == ["sneaked"]
    finally:
        db.close()


def test_a_destination_file_changed_since_an_interrupted_run_is_copied_again(
    populated: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "dest"
    copy_home(populated, to_home=dest)
    shutil.rmtree(dest)
    # Simulate the state after a kill in the files phase: marker copying, a wrong file there.
    copy_home(populated, to_home=dest)
    marker = json.loads((dest / MARKER).read_text())
    marker["state"] = "copying"
    (dest / MARKER).write_text(json.dumps(marker))
    db = sqlite3.connect(dest / "db.sqlite")
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    tables.sort(key=lambda t: t != "generative_session")  # parameter_history's trigger wants it gone
    with db:
        for table in tables:
            if table not in ("dashai_schema_migration", "sqlite_sequence"):
                db.execute(f'DELETE FROM "{table}"')
    db.close()
    victim = next(iter(managed_files(dest)))
    (dest / victim).write_bytes(b"not the source's bytes")
    (dest / "runs" / "stray.bin").write_bytes(b"left by nobody")
    record = copy_home(populated, to_home=dest)
    assert record.resumed and record.skipped_files == record.files - 1
    assert managed_files(dest) == managed_files(populated)
    assert raw_sqlite_rows(dest / "db.sqlite") == raw_sqlite_rows(populated / "db.sqlite")
