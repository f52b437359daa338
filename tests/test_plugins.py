"""plugins: upsert by name, tag replacement, filters, status moves, delete with tags."""

from __future__ import annotations

import random
import subprocess
import sys
from typing import Any

import pytest
from helpers import file_tree, row_counts

from dashai_store import errors, models, plugins
from dashai_store.database import Store
from dashai_store.enums import PluginStatus, PluginTag


def stored_tags(plugin_id: int) -> set[str]:
    """Tag names straight from the tag table (not through the facade)."""
    query = models.Tag.select(models.Tag.name).where(models.Tag.plugin == plugin_id)
    return {row[0] for row in query.tuples()}


def test_register_new_plugin_defaults(store: Store) -> None:
    p = plugins.register("dashai-svm", author="Ana", version="1.2.0", tags=["Model", PluginTag.Task])
    assert p.name == "dashai-svm"
    assert p.author == "Ana"
    assert p.latest_version == "1.2.0"
    assert p.installed_version == ""
    assert p.status is PluginStatus.REGISTERED
    assert p.summary == "" and p.description == ""
    assert p.description_content_type == "text/plain"
    # records list tags in PluginTag declaration order, whatever order they were given in
    assert p.tags == (PluginTag.Task, PluginTag.Model)
    assert plugins.get(p.id) == p
    assert plugins.get_by_name("dashai-svm") == p
    assert p.created == p.last_modified


def test_register_new_plugin_with_status_and_installed_version(store: Store) -> None:
    installed = plugins.register("a", author="x", version="2.0", status="INSTALLED")
    assert installed.status is PluginStatus.INSTALLED
    assert installed.installed_version == "2.0"  # installed implies a version is installed
    older = plugins.register(
        "b", author="x", version="2.0", status=PluginStatus.INSTALLED, installed_version="1.0"
    )
    assert older.installed_version == "1.0"
    assert older.latest_version == "2.0"


def test_upsert_keeps_installed_version_and_status_and_replaces_tags(store: Store) -> None:
    first = plugins.register(
        "dashai-xgb",
        author="Ana",
        version="1.0",
        summary="old",
        description="# old",
        description_content_type="text/markdown",
        tags=["Model", "Task", "Explainer"],
    )
    installed = plugins.upgrade(first.id)
    assert installed.installed_version == "1.0"
    assert installed.status is PluginStatus.INSTALLED

    again = plugins.register(
        "dashai-xgb",
        author="Beatriz",
        version="1.1",
        summary="new",
        description="new text",
        description_content_type="text/x-rst",
        tags=[PluginTag.Model, "Metric"],
        # only used for a new plugin: must not undo the install
        status="REGISTERED",
        installed_version="0.1",
    )
    assert again.id == first.id
    assert again.installed_version == "1.0"
    assert again.status is PluginStatus.INSTALLED
    assert again.latest_version == "1.1"
    assert again.author == "Beatriz"
    assert (again.summary, again.description, again.description_content_type) == (
        "new",
        "new text",
        "text/x-rst",
    )
    assert again.tags == (PluginTag.Model, PluginTag.Metric)
    assert stored_tags(first.id) == {"Model", "Metric"}  # the stale ones are gone from the table
    assert again.created == first.created
    assert again.last_modified >= first.last_modified
    assert models.Plugin.select().count() == 1

    cleared = plugins.register("dashai-xgb", author="Beatriz", version="1.1")
    assert cleared.tags == ()
    assert stored_tags(first.id) == set()

    upgraded = plugins.upgrade(first.id)
    assert upgraded.installed_version == "1.1"


def test_duplicate_tags_collapse(store: Store) -> None:
    p = plugins.register("p", author="a", version="1", tags=["Model", PluginTag.Model, "Model"])
    assert p.tags == (PluginTag.Model,)
    assert stored_tags(p.id) == {"Model"}


def test_tag_filters_return_each_plugin_once(store: Store) -> None:
    plugins.register("zeta", author="a", version="1", tags=["Model", "Metric", "Task"])
    plugins.register("alpha", author="a", version="1", tags=["Model"])
    plugins.register("mid", author="a", version="1", tags=["Converter"])
    plugins.register("bare", author="a", version="1")

    names = [p.name for p in plugins.list(tags=["Model", "Metric", PluginTag.Task])]
    assert names == ["alpha", "zeta"]  # ordered by name, zeta once though it has three matches
    assert [p.name for p in plugins.list(tags=["Converter"])] == ["mid"]
    assert [p.name for p in plugins.list(tags=["Dataloader"])] == []
    assert [p.name for p in plugins.list()] == ["alpha", "bare", "mid", "zeta"]
    assert [p.name for p in plugins.list(tags=[])] == ["alpha", "bare", "mid", "zeta"]
    zeta = next(p for p in plugins.list(tags=["Model"]) if p.name == "zeta")
    assert zeta.tags == (PluginTag.Task, PluginTag.Model, PluginTag.Metric)  # all its tags, not only matches


def test_status_and_tag_filters_combine(store: Store) -> None:
    a = plugins.register("a", author="x", version="1", tags=["Model"])
    plugins.register("b", author="x", version="1", tags=["Model", "Metric"])
    c = plugins.register("c", author="x", version="1", tags=["Metric"])
    plugins.upgrade(a.id)
    plugins.set_status(c.id, PluginStatus.INSTALLED)
    assert [p.name for p in plugins.list(status="INSTALLED")] == ["a", "c"]
    assert [p.name for p in plugins.list(status=PluginStatus.REGISTERED)] == ["b"]
    assert [p.name for p in plugins.list(status="INSTALLED", tags=["Model", "Metric"])] == ["a", "c"]
    assert [p.name for p in plugins.list(status="REGISTERED", tags=["Metric"])] == ["b"]
    assert plugins.list(status="ERROR") == []


def test_tag_filter_matches_a_model_over_many_random_plugins(store: Store) -> None:
    rng = random.Random(6)
    all_tags = list(PluginTag)
    expected: dict[str, set[PluginTag]] = {}
    for i in range(40):
        # each plugin is registered twice: the second tag set is the one that must count
        for _ in range(2):
            chosen = set(rng.sample(all_tags, rng.randint(0, 4)))
            plugins.register(f"plugin-{i:02d}", author="r", version="1", tags=chosen)
        expected[f"plugin-{i:02d}"] = chosen
    for _ in range(20):
        wanted = set(rng.sample(all_tags, rng.randint(1, 3)))
        got = [p.name for p in plugins.list(tags=wanted)]
        assert got == sorted(name for name, tags in expected.items() if tags & wanted)
    assert models.Tag.select().count() == sum(len(tags) for tags in expected.values())


def test_set_status_and_upgrade(store: Store) -> None:
    p = plugins.register("p", author="a", version="3.0")
    failed = plugins.set_status(p.id, "ERROR")
    assert failed.status is PluginStatus.ERROR
    assert failed.installed_version == ""
    assert plugins.get(p.id).status is PluginStatus.ERROR
    upgraded = plugins.upgrade(p.id)
    assert upgraded.status is PluginStatus.INSTALLED
    assert upgraded.installed_version == "3.0"


def test_delete_removes_plugin_and_its_tags(store: Store) -> None:
    keep = plugins.register("keep", author="a", version="1", tags=["Model"])
    gone = plugins.register("gone", author="a", version="1", tags=["Model", "Metric"])
    plugins.delete(gone.id)
    assert stored_tags(gone.id) == set()
    assert stored_tags(keep.id) == {"Model"}
    with pytest.raises(errors.NotFound, match=f"plugin {gone.id} does not exist"):
        plugins.get(gone.id)
    with pytest.raises(errors.NotFound, match="'gone'"):
        plugins.get_by_name("gone")
    with pytest.raises(errors.NotFound, match=f"plugin {gone.id}"):
        plugins.delete(gone.id)
    assert [p.name for p in plugins.list(tags=["Model"])] == ["keep"]
    # the name is free again, and the new row does not inherit anything
    reborn = plugins.register("gone", author="b", version="2")
    assert reborn.id != gone.id
    assert reborn.tags == ()


def test_missing_ids_are_not_found(store: Store) -> None:
    for call in (plugins.get, plugins.upgrade, plugins.delete):
        with pytest.raises(errors.NotFound, match="plugin 999 does not exist"):
            call(999)
    with pytest.raises(errors.NotFound, match="plugin 999 does not exist"):
        plugins.set_status(999, "INSTALLED")


BAD_REGISTRATIONS: list[tuple[str, dict[str, Any], str]] = [
    ("unknown tag", {"tags": ["Model", "Telepathy"]}, "Telepathy"),
    ("tag of wrong type", {"tags": ["Model", 3]}, "PluginTag"),
    ("bare string as tags", {"tags": "Model"}, "list"),
    ("bare member as tags", {"tags": PluginTag.Model}, "list"),
    ("unknown status", {"status": "BROKEN"}, "BROKEN"),
    ("empty version", {"version": ""}, "version"),
    ("version not a str", {"version": 1.2}, "version"),
    ("author not a str", {"author": None}, "author"),
    ("summary not a str", {"summary": 5}, "summary"),
    ("installed_version not a str", {"installed_version": 1}, "installed_version"),
]


@pytest.mark.parametrize(
    ("case", "override", "message"), BAD_REGISTRATIONS, ids=[c[0] for c in BAD_REGISTRATIONS]
)
def test_bad_registration_is_typed_and_writes_nothing(
    store: Store, case: str, override: dict[str, Any], message: str
) -> None:
    existing = plugins.register("existing", author="a", version="1", summary="s", tags=["Model", "Task"])
    for name in ("fresh", "existing"):
        counts, tree = row_counts(store.db), file_tree(store.home)
        kwargs: dict[str, Any] = {"author": "b", "version": "2", "summary": "changed", "tags": ["Metric"]}
        kwargs.update(override)
        with pytest.raises(errors.ValidationError, match=message):
            plugins.register(name, **kwargs)
        assert row_counts(store.db) == counts
        assert file_tree(store.home) == tree
    assert plugins.get(existing.id) == existing  # nothing of the refused upsert leaked in
    assert stored_tags(existing.id) == {"Model", "Task"}


def test_bad_arguments_elsewhere_are_typed(store: Store) -> None:
    p = plugins.register("p", author="a", version="1", tags=["Model"])
    counts = row_counts(store.db)
    with pytest.raises(errors.ValidationError, match="plugin name"):
        plugins.register("", author="a", version="1")
    with pytest.raises(errors.ValidationError, match="plugin name"):
        plugins.register(None, author="a", version="1")  # type: ignore[arg-type]
    with pytest.raises(errors.ValidationError, match="SLEEPING"):
        plugins.set_status(p.id, "SLEEPING")
    with pytest.raises(errors.ValidationError, match="int"):
        plugins.get("1")  # type: ignore[arg-type]
    with pytest.raises(errors.ValidationError, match="int"):
        plugins.upgrade(True)
    with pytest.raises(errors.ValidationError, match="Telepathy"):
        plugins.list(tags=["Telepathy"])
    with pytest.raises(errors.ValidationError, match="BROKEN"):
        plugins.list(status="BROKEN")
    assert row_counts(store.db) == counts
    assert plugins.get(p.id).status is PluginStatus.REGISTERED


def test_import_does_not_load_heavy_modules() -> None:
    code = (
        "import sys, dashai_store.plugins\n"
        "heavy = [m for m in ('pyarrow', 'joblib', 'plotly') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- raw SQL and the renamed column (the README's "Raw SQL" bullet) ----------------------------------


def test_raw_sql_reads_latest_version_and_the_readme_names_the_rename(store: Store) -> None:
    """DashAI's column was ``lastest_version``; the store's is ``latest_version``. The README
    and the models' docstring must say so rather than claim old SQL keeps working as is."""
    import peewee
    from migration_fixtures.support import REPO

    plugins.register("dashai-svm", author="Ana", version="1.2.0")
    assert store.db.execute_sql("SELECT latest_version FROM plugin").fetchall() == [("1.2.0",)]
    with pytest.raises(peewee.DatabaseError), store.db.atomic():
        store.db.execute_sql("SELECT lastest_version FROM plugin")
    readme = " ".join((REPO / "README.md").read_text().split())
    assert "**Raw SQL**" in readme and "`plugin.lastest_version` is now `plugin.latest_version`" in readme
    assert "``plugin.lastest_version`` is ``latest_version``" in " ".join((models.__doc__ or "").split())
