"""dashai_store: DashAI's embedded metadata store.

    >>> from dashai_store import open_store, datasets     # doctest: +SKIP
    >>> with open_store("~/.DashAI") as store:             # doctest: +SKIP
    ...     ds = datasets.create("iris", table)

Facade areas are submodules (``datasets``, ``runs``, ``metrics``, ...) imported on use, and
``open_store``/``Store`` are loaded on first use, so ``import dashai_store`` stays cheap at
application start and ``python -m dashai_store`` can say which dependency is missing
instead of failing with a traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import errors
from ._version import __version__

if TYPE_CHECKING:
    from .database import Store
    from .store import open_store

__all__ = ["Store", "__version__", "errors", "open_store"]


def __getattr__(name: str) -> Any:
    if name == "open_store":
        from .store import open_store

        return open_store
    if name == "Store":
        from .database import Store

        return Store
    raise AttributeError(f"module 'dashai_store' has no attribute {name!r}")
