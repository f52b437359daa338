"""Step 0005 (``notebook.source_path``) on the first release's stores, SQLite and PostgreSQL.

Every notebook gets the dataset version it started from (its dataset's file: the only
version there was); a notebook past step 0 can then still go back to it after its
dataset is edited in place.
"""

from __future__ import annotations

from pathlib import Path

from test_m0002 import release_home, release_pg  # noqa: F401 (fixtures)

from dashai_store import datasets, notebooks, open_store
from dashai_store.database import Store


def source_paths(store: Store) -> list[tuple[int, str | None, str | None]]:
    rows = store.db.execute_sql(
        "SELECT notebook.id, notebook.source_path, dataset.file_path FROM notebook "
        "JOIN dataset ON dataset.id = notebook.dataset_id ORDER BY notebook.id"
    ).fetchall()
    return [(int(r[0]), r[1], r[2]) for r in rows]


def check_backfilled_and_kept(store: Store) -> None:
    found = source_paths(store)
    assert found, "the release store has notebooks"
    assert all(source == dataset_file for _, source, dataset_file in found)
    sources = {nb_id: source for nb_id, source, _ in found}
    # A notebook past step 0 keeps its version when a column of its dataset is renamed.
    nb_id = next(nb_id for nb_id in sources if notebooks.get(nb_id).current_position > 0)
    nb = notebooks.get(nb_id)
    original = notebooks.load_table(nb_id, step=0)
    column = original.column_names[0]
    datasets.rename_column(nb.dataset_id, column, f"{column}_renamed")
    assert notebooks.load_table(nb_id, step=0).equals(original)
    assert notebooks.revert(nb_id, 0).file_path == store.home / str(sources[nb_id])
    assert notebooks.load_table(nb_id).equals(original)


def test_a_release_sqlite_home_gets_each_notebook_source(release_home: Path) -> None:  # noqa: F811
    with open_store(release_home, finish_deletions=False) as store:
        check_backfilled_and_kept(store)


def test_a_release_postgres_schema_gets_each_notebook_source(release_pg: tuple[Path, str]) -> None:  # noqa: F811
    home, url = release_pg
    with open_store(home, database=url, finish_deletions=False) as store:
        check_backfilled_and_kept(store)
