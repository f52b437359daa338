"""Plugins and their tags: the catalogue of DashAI extensions, installed or not.

A plugin is known by its unique ``name``. :func:`register` is an upsert: the plugin
index (PyPI) is re-read often, and each pass updates what the index says (author,
latest version, summary, description and its content type, tags) while keeping what
only this machine knows (the installed version and the status).

    >>> from dashai_store import plugins                                    # doctest: +SKIP
    >>> p = plugins.register("dashai-svm", author="A", version="1.2",     # doctest: +SKIP
    ...                      tags=["Model", PluginTag.Task])
    >>> plugins.upgrade(p.id).installed_version                           # doctest: +SKIP
    '1.2'
    >>> [p.name for p in plugins.list(tags=["Model", "Metric"])]          # doctest: +SKIP

Tags are :class:`~dashai_store.enums.PluginTag` members or their names; anything else
is a :class:`~dashai_store.errors.ValidationError` and nothing is written.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Any

from peewee import EXCLUDED

from . import errors, models
from .cascade import delete_rows
from .clock import utcnow
from .database import reads, writes
from .decoding import Unreadable, decode_enum
from .enums import PluginStatus, PluginTag, coerce
from .records import PluginRecord, to_record
from .rows import check_id, check_name, check_text, fetch

__all__ = [
    "delete",
    "get",
    "get_by_name",
    "list",
    "register",
    "set_status",
    "upgrade",
]

# Declaration order of PluginTag: records list their tags in this order.
_TAG_ORDER = {tag.name: position for position, tag in enumerate(PluginTag)}


# -- validation ------------------------------------------------------------------------------


def _tag_names(tags: object, *, plugin: str | None = None) -> builtins.list[str]:
    """Stored names of ``tags`` (members or names), deduplicated, in PluginTag order."""
    where = f" of plugin {plugin!r}" if plugin else ""
    # A bare string would otherwise be read as a sequence of one-letter tags.
    if isinstance(tags, (str, bytes, PluginTag)) or not isinstance(tags, Iterable):
        raise errors.ValidationError(
            f"tags{where} must be a list of PluginTag members or names, got {tags!r}"
        )
    found: set[str] = set()
    for tag in tags:
        try:
            found.add(coerce(PluginTag, tag))
        except errors.ValidationError as exc:
            raise errors.ValidationError(f"tag{where}: {exc}") from None
    return sorted(found, key=_TAG_ORDER.__getitem__)


# -- records ---------------------------------------------------------------------------------


def _tags_by_plugin(plugin_ids: Iterable[int]) -> dict[int, tuple[PluginTag | Unreadable, ...]]:
    ids = sorted(set(plugin_ids))
    grouped: dict[int, builtins.list[str]] = {plugin_id: [] for plugin_id in ids}
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start : chunk_start + 500]
        query = models.Tag.select(models.Tag.plugin, models.Tag.name).where(models.Tag.plugin.in_(chunk))
        for plugin_id, name in query.tuples().iterator():
            grouped[plugin_id].append(name)
    # A tag name this version does not know (written by hand) sorts last, as Unreadable.
    last = len(_TAG_ORDER)
    return {
        plugin_id: tuple(
            decode_enum(PluginTag, name) for name in sorted(names, key=lambda n: (_TAG_ORDER.get(n, last), n))
        )
        for plugin_id, names in grouped.items()
    }


def _record(row: Any, tags: tuple[PluginTag | Unreadable, ...]) -> PluginRecord:
    return to_record(PluginRecord, row, status=decode_enum(PluginStatus, row.status), tags=tags)


def _get(plugin_id: int) -> PluginRecord:
    """Plugin ``plugin_id``'s record (with its tags)."""
    row = fetch(models.Plugin, plugin_id)
    return _record(row, _tags_by_plugin([row.id])[row.id])


# -- writes ----------------------------------------------------------------------------------


@writes
def register(
    name: str,
    *,
    author: str,
    version: str,
    summary: str = "",
    description: str = "",
    description_content_type: str = "text/plain",
    tags: Iterable[PluginTag | str] = (),
    status: PluginStatus | str = PluginStatus.REGISTERED,
    installed_version: str | None = None,
) -> PluginRecord:
    """Insert plugin ``name`` or update it in place (upsert by name); returns its record.

    ``version`` is the latest version the index offers. Always written: ``author``,
    ``latest_version``, ``summary``, ``description``, ``description_content_type`` and the
    tags, which are *replaced* by ``tags`` (stale ones are removed; duplicates collapse).

    Only used when the plugin is new: ``status`` (default REGISTERED) and
    ``installed_version``. A new plugin's installed version is ``installed_version`` if
    given; otherwise ``""`` (nothing installed), except that a plugin registered as
    INSTALLED gets ``version``, since an installed plugin always has an installed version.
    An existing plugin keeps both, so a re-read of the index never undoes an install:
    use :func:`upgrade` and :func:`set_status` for those.

    Everything happens in one transaction; an invalid argument (unknown tag or status,
    wrong type, empty name or version) raises ValidationError and writes nothing.
    """
    check_name(name, "plugin name")
    check_text(author, f"author of plugin {name!r}")
    check_text(version, f"version of plugin {name!r}", required=True)
    check_text(summary, f"summary of plugin {name!r}")
    check_text(description, f"description of plugin {name!r}")
    check_text(description_content_type, f"description_content_type of plugin {name!r}", required=True)
    tag_names = _tag_names(tags, plugin=name)
    status_name = coerce(PluginStatus, status)
    if installed_version is None:
        installed_version = version if status_name == PluginStatus.INSTALLED.name else ""
    check_text(installed_version, f"installed_version of plugin {name!r}")

    now = utcnow()
    plugin = models.Plugin
    # ON CONFLICT rather than select-then-insert: two processes registering the same new
    # plugin at once on PostgreSQL both succeed instead of one failing on the UNIQUE name.
    (
        plugin.insert(
            name=name,
            author=author,
            installed_version=installed_version,
            latest_version=version,
            status=status_name,
            summary=summary,
            description=description,
            description_content_type=description_content_type,
            created=now,
            last_modified=now,
        )
        .on_conflict(
            conflict_target=[plugin.name],
            update={
                plugin.author: EXCLUDED.author,
                plugin.latest_version: EXCLUDED.latest_version,
                plugin.summary: EXCLUDED.summary,
                plugin.description: EXCLUDED.description,
                plugin.description_content_type: EXCLUDED.description_content_type,
                plugin.last_modified: EXCLUDED.last_modified,
            },
        )
        .execute()
    )
    # The id is read back by name: after an upsert that updated, SQLite's lastrowid is not it.
    plugin_id = plugin.select(plugin.id).where(plugin.name == name).scalar()

    tag = models.Tag
    stale = tag.delete().where(tag.plugin == plugin_id)
    if tag_names:
        stale = stale.where(tag.name.not_in(tag_names))
    stale.execute()
    if tag_names:
        tag.insert_many([{"plugin": plugin_id, "name": t} for t in tag_names]).on_conflict_ignore().execute()
    return _get(plugin_id)


@writes
def set_status(plugin_id: int, status: PluginStatus | str) -> PluginRecord:
    """Set plugin ``plugin_id``'s status (a PluginStatus member or its name)."""
    check_id(plugin_id, "plugin")
    status_name = coerce(PluginStatus, status)
    fetch(models.Plugin, plugin_id, lock=True)
    models.Plugin.update(status=status_name, last_modified=utcnow()).where(
        models.Plugin.id == plugin_id
    ).execute()
    return _get(plugin_id)


@writes
def upgrade(plugin_id: int) -> PluginRecord:
    """Record that the latest version is installed: installed_version = latest_version, INSTALLED.

    This is also how a REGISTERED plugin is marked as installed for the first time.
    """
    check_id(plugin_id, "plugin")
    fetch(models.Plugin, plugin_id, lock=True)
    models.Plugin.update(
        installed_version=models.Plugin.latest_version,
        status=PluginStatus.INSTALLED.name,
        last_modified=utcnow(),
    ).where(models.Plugin.id == plugin_id).execute()
    return _get(plugin_id)


@writes
def delete(plugin_id: int) -> None:
    """Delete plugin ``plugin_id``; its tags go with it (ON DELETE CASCADE)."""
    check_id(plugin_id, "plugin")
    fetch(models.Plugin, plugin_id, lock=True)
    delete_rows(models.Plugin, [plugin_id])


# -- reads -----------------------------------------------------------------------------------


@reads
def get(plugin_id: int) -> PluginRecord:
    """Plugin ``plugin_id``; NotFound if there is none."""
    check_id(plugin_id, "plugin")
    return _get(plugin_id)


@reads
def get_by_name(name: str) -> PluginRecord:
    """The plugin called ``name``; NotFound if there is none."""
    check_text(name, "plugin name")
    row = models.Plugin.get_or_none(models.Plugin.name == name)
    if row is None:
        raise errors.NotFound(f"plugin {name!r} does not exist")
    return _record(row, _tags_by_plugin([row.id])[row.id])


@reads
def list(
    status: PluginStatus | str | None = None,
    tags: Iterable[PluginTag | str] | None = None,
) -> builtins.list[PluginRecord]:
    """Plugins ordered by name, optionally only those with ``status`` and/or any of ``tags``.

    A plugin with several of the requested tags appears once. ``tags=None`` or an empty
    collection means no tag filter (what a UI with no tag selected wants).

    >>> plugins.list(status="INSTALLED", tags=[PluginTag.Model, "Metric"])   # doctest: +SKIP
    """
    plugin = models.Plugin
    query = plugin.select()
    if status is not None:
        query = query.where(plugin.status == coerce(PluginStatus, status))
    if tags is not None:
        tag_names = _tag_names(tags)
        if tag_names:
            # A semi-join (IN subquery), not a JOIN: a plugin matching two tags stays one row.
            matching = models.Tag.select(models.Tag.plugin).where(models.Tag.name.in_(tag_names))
            query = query.where(plugin.id.in_(matching))
    rows = builtins.list(query.order_by(plugin.name, plugin.id).iterator())
    tags_of = _tags_by_plugin(row.id for row in rows)
    return [_record(row, tags_of[row.id]) for row in rows]
