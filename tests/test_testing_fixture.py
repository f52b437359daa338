"""dashai_store.testing: fresh_store() and the opt-in pytest fixture ``dashai_fresh_store``.

The fixture is exercised the way an application's test suite meets it: a separate pytest
process (pytester) that finds the plugin through the installed ``pytest11`` entry point.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import peewee
import pytest
from conftest import PG_URL, _need_pg

from dashai_store import errors
from dashai_store.database import connect_postgres, current, run_in_transaction
from dashai_store.migrator import Migrator, default_steps
from dashai_store.models import ALL_MODELS, Plugin
from dashai_store.schema import drift
from dashai_store.testing import DATABASE_URL_ENV, DATABASE_URL_OPTION, _with_search_path, fresh_store

pytest_plugins = ["pytester"]


def _counts(db: peewee.Database) -> dict[str, int]:
    return {
        m._meta.table_name: db.execute_sql(f'SELECT COUNT(*) FROM "{m._meta.table_name}"').fetchone()[0]
        for m in ALL_MODELS
    }


def _schema_exists(name: str) -> bool:
    admin = connect_postgres(PG_URL)
    try:
        row = admin.execute_sql("SELECT 1 FROM pg_namespace WHERE nspname = %s", (name,)).fetchone()
    finally:
        admin.close()
    return row is not None


def _schema_of(url: str) -> str:
    return url.rsplit("search_path%3D", 1)[1]


def _add_plugin(name: str) -> int:
    from dashai_store.clock import utcnow

    def insert() -> int:
        now = utcnow()
        row = Plugin.create(
            name=name,
            author="a",
            installed_version="1",
            latest_version="1",
            status="REGISTERED",
            summary="s",
            description="d",
            description_content_type="text/plain",
            created=now,
            last_modified=now,
        )
        return int(row.id)

    return run_in_transaction(insert)


def _applied_at(db: peewee.Database) -> list[str]:
    return [r[0] for r in db.execute_sql("SELECT applied_at FROM dashai_schema_migration ORDER BY sequence")]


# -- the context manager --------------------------------------------------------------------------


def test_fresh_store_is_migrated_isolated_and_cleaned_up(backend: str) -> None:
    url = PG_URL if backend == "postgresql" else None
    seen: list[tuple[Path, str, list[str]]] = []
    for _ in range(2):
        with fresh_store(url) as store:
            assert store.backend == backend
            assert current() is store
            assert set(_counts(store.db).values()) == {0}
            assert drift(store.db) == []
            assert Migrator(store.home, store.db).status().up_to_date
            # AUTOINCREMENT / sequences start over: the copy carries no used id.
            assert _add_plugin("p") == 1
            (store.home / "datasets").mkdir()
            seen.append((store.home, store.url, _applied_at(store.db)))
        with pytest.raises(errors.StoreNotOpen):
            current()
    (home_a, url_a, applied_a), (home_b, url_b, applied_b) = seen
    assert home_a != home_b and not home_a.exists() and not home_b.exists()
    # Both copies come from one template migrated once in this process.
    assert applied_a == applied_b and len(applied_a) == len(default_steps())
    if backend == "postgresql":
        assert url_a != url_b
        assert not _schema_exists(_schema_of(url_a)) and not _schema_exists(_schema_of(url_b))


def test_fresh_store_cleans_up_when_the_test_fails(backend: str) -> None:
    url = PG_URL if backend == "postgresql" else None
    with pytest.raises(RuntimeError, match="test body failed"), fresh_store(url) as store:
        home, store_url = store.home, store.url
        raise RuntimeError("test body failed")
    assert not home.exists()
    if backend == "postgresql":
        assert not _schema_exists(_schema_of(store_url))


def test_fresh_store_with_a_given_home_leaves_it(tmp_path: Path) -> None:
    home = tmp_path / "h"
    with fresh_store(home=home) as store:
        assert store.home == home.resolve()
        (home / "kept.txt").write_text("x")
    assert (home / "kept.txt").exists() and (home / "db.sqlite").exists()
    with pytest.raises(errors.ValidationError, match="empty or missing home"), fresh_store(home=home):
        pass  # pragma: no cover


@pytest.mark.parametrize("bad", ["sqlite:///x.db", "mysql://u@h/db", 42])
def test_fresh_store_refuses_what_is_not_a_postgres_url(bad: Any, tmp_path: Path) -> None:
    home = tmp_path / "h"
    with pytest.raises(errors.ValidationError, match="postgresql:// URL or None"):
        with fresh_store(bad, home=home):
            pass  # pragma: no cover
    assert not home.exists()


def test_search_path_joins_the_options_already_in_the_url() -> None:
    url = _with_search_path("postgresql://u@h:5/db?sslmode=disable&options=-cstatement_timeout%3D5000", "s1")
    query = parse_qs(urlparse(url).query)
    assert query == {"sslmode": ["disable"], "options": ["-cstatement_timeout=5000 -csearch_path=s1"]}


def test_fresh_store_keeps_the_url_options_on_postgres() -> None:
    _need_pg()
    sep = "&" if "?" in PG_URL else "?"
    with fresh_store(f"{PG_URL}{sep}options=-cstatement_timeout%3D61000") as store:
        assert store.db.execute_sql("SHOW statement_timeout").fetchone()[0] == "61s"
        schema = store.db.execute_sql("SELECT current_schema()").fetchone()[0]
        assert schema.startswith("dashai_test_") and _counts(store.db)["plugin"] == 0
    assert not _schema_exists(schema)


# -- the pytest fixture, in a separate pytest process ------------------------------------------------

APP_TESTS = """
import json, os
from pathlib import Path

import pytest

from dashai_store import errors
from dashai_store.database import current, run_in_transaction
from dashai_store.migrator import Migrator
from dashai_store.models import ALL_MODELS, Plugin
from dashai_store.schema import drift
from dashai_store.clock import utcnow

OUT = Path(os.environ["PROBE_OUT"])


def probe(store, name):
    counts = {m._meta.table_name: m.select().count() for m in ALL_MODELS}
    assert set(counts.values()) == {0}, counts            # nothing from the other test
    if not os.environ.get("PROBE_QUICK"):
        assert drift(store.db) == []                      # the copy has the models' schema
    status = Migrator(store.home, store.db).status(verify_checksums=True)
    assert status.up_to_date and not status.checksum_mismatches
    now = utcnow()
    row_id = run_in_transaction(lambda: Plugin.create(
        name="shared-name", author="a", installed_version="1", latest_version="1",
        status="REGISTERED", summary="s", description="d", description_content_type="t",
        created=now, last_modified=now).id)
    applied = [r[0] for r in store.db.execute_sql(
        "SELECT applied_at FROM dashai_schema_migration ORDER BY sequence")]
    (OUT / f"{name}.json").write_text(json.dumps({
        "backend": store.backend, "home": str(store.home), "url": store.url,
        "row_id": row_id, "applied_at": applied}))


def test_one(dashai_fresh_store):
    probe(dashai_fresh_store, "one")


def test_two(dashai_fresh_store):
    probe(dashai_fresh_store, "two")


def test_without_the_fixture_no_store_is_open(request):
    # The plugin is loaded (under its entry-point name, so through pytest11) and yet does
    # nothing to a test that does not ask for its fixture: it is opt-in.
    assert request.config.pluginmanager.get_plugin("dashai_store") is not None
    with pytest.raises(errors.StoreNotOpen):
        current()
"""


def _run_app_tests(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, out: Path, *args: str
) -> pytest.RunResult:
    pytester.makepyfile(test_app=APP_TESTS)
    out.mkdir(exist_ok=True)
    monkeypatch.setenv("PROBE_OUT", str(out))
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


def _probes(out: Path) -> tuple[dict[str, object], dict[str, object]]:
    one = json.loads((out / "one.json").read_text())
    two = json.loads((out / "two.json").read_text())
    return one, two


def test_fixture_gives_each_test_a_fresh_sqlite_store(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    out = tmp_path / "out"
    result = _run_app_tests(pytester, monkeypatch, out)
    result.assert_outcomes(passed=3)
    one, two = _probes(out)
    assert one["backend"] == two["backend"] == "sqlite"
    assert one["home"] != two["home"]
    # Each test wrote the same unique name and got id 1: neither saw the other's rows.
    assert one["row_id"] == two["row_id"] == 1
    # Migrated once per process: both copies carry the template's history rows.
    assert one["applied_at"] == two["applied_at"] and one["applied_at"]


def test_fixture_uses_postgres_from_the_option(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _need_pg()
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    out = tmp_path / "out"
    result = _run_app_tests(pytester, monkeypatch, out, f"{DATABASE_URL_OPTION}={PG_URL}")
    result.assert_outcomes(passed=3)
    one, two = _probes(out)
    assert one["backend"] == two["backend"] == "postgresql"
    assert one["row_id"] == two["row_id"] == 1
    assert one["applied_at"] == two["applied_at"] and one["applied_at"]
    schemas = [_schema_of(str(one["url"])), _schema_of(str(two["url"]))]
    assert schemas[0] != schemas[1]
    assert not any(_schema_exists(s) for s in schemas)  # dropped after each test


def test_fixture_uses_postgres_from_the_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _need_pg()
    monkeypatch.setenv(DATABASE_URL_ENV, PG_URL)
    monkeypatch.setenv("PROBE_QUICK", "1")  # the drift check already ran in the test above
    out = tmp_path / "out"
    result = _run_app_tests(pytester, monkeypatch, out, "-k", "one")
    result.assert_outcomes(passed=1, deselected=2)
    assert json.loads((out / "one.json").read_text())["backend"] == "postgresql"
