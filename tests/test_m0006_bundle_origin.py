"""Step 0006 (``origin`` on rows owning joblib files, ``dashai_bundle_import``) on the first
release's stores, SQLite and PostgreSQL.

Every existing run and explainer was made in its own store: ``origin`` is NULL and its
model and explanation load with no trust asked. The release's work then travels as a
bundle into the same store, where the imported copies need trust.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_m0002 import release_home, release_pg  # noqa: F401 (fixtures)

from dashai_store import bundles, errors, explainers, open_store, runs
from dashai_store.database import Store
from dashai_store.schema import drift

ORIGIN_TABLES = ("run", "global_explainer", "local_explainer")


def check_marked_and_usable(store: Store, tmp_path: Path) -> None:
    assert drift(store.db) == []
    for table in ORIGIN_TABLES:
        total, unmarked = store.db.execute_sql(
            f"SELECT COUNT(*), COUNT(*) - COUNT(origin) FROM {table}"
        ).fetchone()
        assert total and total == unmarked, table
    assert store.db.execute_sql("SELECT COUNT(*) FROM dashai_bundle_import").fetchone()[0] == 0
    model = runs.load_model(1)  # made here: no trust asked
    explanation = explainers.load_explanation("global", 1)

    bundle = bundles.export_bundle(tmp_path / "release-run.dashai", runs=[1])
    added = bundles.import_bundle(bundle.path)
    copy = added.pieces["runs"][1]
    with pytest.raises(errors.UntrustedArtifact):
        runs.load_model(copy)
    assert runs.load_model(copy, trust=True) == model
    [copied_explainer] = explainers.list_global(copy)
    assert explainers.load_explanation("global", copied_explainer.id, trust=True) == explanation
    assert drift(store.db) == []


def test_a_release_sqlite_home_gets_origins_and_imports(release_home: Path, tmp_path: Path) -> None:  # noqa: F811
    with open_store(release_home, finish_deletions=False) as store:
        check_marked_and_usable(store, tmp_path)


def test_a_release_postgres_schema_gets_origins_and_imports(
    release_pg: tuple[Path, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    home, url = release_pg
    with open_store(home, database=url, finish_deletions=False) as store:
        check_marked_and_usable(store, tmp_path)
