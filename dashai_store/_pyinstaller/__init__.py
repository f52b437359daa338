"""PyInstaller support: the hook directory, announced through the ``pyinstaller40`` entry point.

An application that bundles dashai_store needs no ``--hidden-import`` or ``--collect-*``
flags: PyInstaller (>= 4) reads ``[project.entry-points.pyinstaller40] hook-dirs`` from
the installed distribution and runs ``hook-dashai_store.py`` from this folder.
"""

from __future__ import annotations

from pathlib import Path


def get_hook_dirs() -> list[str]:
    """The folders PyInstaller searches for dashai_store's hooks."""
    return [str(Path(__file__).resolve().parent)]
