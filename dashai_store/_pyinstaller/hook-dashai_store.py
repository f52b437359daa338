"""PyInstaller hook for dashai_store: an app that bundles it needs no extra flags.

What a bundle needs that PyInstaller's import analysis alone would not give it:

* every dashai_store module and every migration step (``collect_submodules``), so that a
  facade area the app reaches only by name (``dashai-store`` looks ``metrics`` up with
  ``find_spec``) ships too. Imports inside function bodies are found by PyInstaller's own
  analysis, and the migration registry imports its steps statically; collecting them is
  belt and braces. ``dashai_store.testing`` (pytest) and this hook's package stay out.
* the migration modules' ``.py`` sources as data: the runner records a sha256 of each
  step's source (``inspect.getsource``) and compares it on ``--status``. Frozen modules
  carry no source, so without these files a bundle would record an empty checksum; with
  them it records the same checksum as a source install, and a home migrated by either
  one reads the same.
* the Peewee extensions the runner uses (``playhouse.migrate``) and, when installed,
  psycopg2 for PostgreSQL homes (optional: a SQLite-only bundle builds without it).
* pyarrow, plotly and joblib are heavy imports done inside function bodies; they are
  named here so PyInstaller runs their own hooks (pyinstaller-hooks-contrib ships hooks
  for pyarrow and plotly; plotly's hook collects its ``validators/_validators.json`` and
  ``package_data``, without which ``plotly.io.from_json`` cannot build a ``Figure``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from PyInstaller.utils.hooks import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
    collect_data_files,
    collect_submodules,
)

_EXCLUDED = ("dashai_store.testing", "dashai_store._pyinstaller")


def _wanted(name: str) -> bool:
    return not any(name == skip or name.startswith(skip + ".") for skip in _EXCLUDED)


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _migration_sources() -> list[tuple[str, str]]:
    # dashai_store.migrations is installed from the repository's migrations/ folder through
    # a package-dir mapping, so its files are located through the import system rather
    # than through a path relative to dashai_store.
    spec = importlib.util.find_spec("dashai_store.migrations")
    if spec is None or not spec.submodule_search_locations:
        return []
    folder = Path(next(iter(spec.submodule_search_locations)))
    return [(str(path), "dashai_store/migrations") for path in sorted(folder.glob("*.py"))]


hiddenimports = collect_submodules("dashai_store", filter=_wanted)
hiddenimports += collect_submodules("dashai_store.migrations")
hiddenimports += ["playhouse.migrate", "joblib", "pyarrow", "pyarrow.ipc"]
hiddenimports += ["plotly", "plotly.io", "plotly.graph_objects"]
if _installed("psycopg2"):
    hiddenimports += ["psycopg2", "psycopg2.extensions", "psycopg2.extras"]

datas = _migration_sources()
# The contrib hook for plotly collects these too; naming them here keeps Figure loading
# working with an older pyinstaller-hooks-contrib whose plotly hook predates _validators.json.
datas += collect_data_files("plotly", includes=["validators/**/*.json", "package_data/**/*.*"])
