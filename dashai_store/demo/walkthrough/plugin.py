"""Step: a plugin registered with tags, registered again (stale tags go), upgraded."""

from __future__ import annotations

from ..exceptions import DemoFailed
from .state import Walk

__all__ = ["plugin"]


def plugin(walk: Walk) -> None:
    """Register, re-register with other tags, upgrade; it must list as an INSTALLED Explainer."""
    from ... import plugins

    name = f"{walk.prefix}dashai-churn-models".replace("#", "n").replace(" ", "-")
    plugins.register(
        name,
        author="DashAI demo",
        version="1.2.0",
        summary="churn models",
        tags=["DashAI", "Model", "Task"],
    )
    # The index is read again: a newer version, one tag dropped, one added.
    record = plugins.register(
        name,
        author="DashAI demo",
        version="1.3.0",
        summary="churn models and explainers",
        tags=["Model", "Explainer"],
    )
    record = plugins.upgrade(record.id)
    found = [p.id for p in plugins.list(status="INSTALLED", tags=["Explainer"])]
    if record.id not in found:
        raise DemoFailed(f"plugin {record.id} is not listed as an INSTALLED Explainer")
    walk.ids["plugin"] = record.id
    walk.facts.update(
        plugin_name=record.name,
        plugin_version=record.installed_version,
        plugin_tags=[t.value for t in record.tags],
    )
