"""Where the migration steps come from: ``dashai_store.migrations``.

Installed (a wheel, an editable install, a PyInstaller bundle), ``migrations/`` is the
subpackage ``dashai_store.migrations``. In a source checkout run without an editable
install (``python -c 'import dashai_store'`` from the checkout root, next to a normal
install), Python imports ``dashai_store`` from the source tree, where ``migrations/`` sits
beside the package instead of inside it; the same folder is then loaded under the same
name, so the steps and their checksums are the ones a wheel would ship.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

PACKAGE = "dashai_store.migrations"
SOURCE_TREE = Path(__file__).resolve().parent.parent / "migrations"


def load_registry() -> tuple[ModuleType, ...]:
    """The registered steps, in order (``dashai_store.migrations.REGISTRY``)."""
    try:
        package = importlib.import_module(PACKAGE)
    except ModuleNotFoundError as exc:
        if exc.name != PACKAGE or not (SOURCE_TREE / "__init__.py").is_file():
            raise
        package = _load_source_tree()
    registry: tuple[ModuleType, ...] = package.REGISTRY
    return registry


def _load_source_tree() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        PACKAGE, SOURCE_TREE / "__init__.py", submodule_search_locations=[str(SOURCE_TREE)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = module  # before exec: the registry imports its steps relatively
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[PACKAGE]
        raise
    return module
