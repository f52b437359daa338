"""The migration registry: every step, imported statically, in order.

No directory scanning and no import by string, so a PyInstaller bundle finds every step
without extra configuration. ``tests/test_migration_registry.py`` checks this list
against the module files. Installed as ``dashai_store.migrations``.
"""

from __future__ import annotations

from types import ModuleType

from . import (
    m0001_initial,
    m0002_widen_metric_enums,
    m0003_summary_metrics_job_ids,
    m0004_parameter_history_no_replace,
    m0005_notebook_source_path,
    m0006_bundle_origin,
)

REGISTRY: tuple[ModuleType, ...] = (
    m0001_initial,
    m0002_widen_metric_enums,
    m0003_summary_metrics_job_ids,
    m0004_parameter_history_no_replace,
    m0005_notebook_source_path,
    m0006_bundle_origin,
)
