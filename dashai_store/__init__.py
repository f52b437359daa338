"""dashai_store: DashAI's embedded metadata store.

    >>> from dashai_store import open_store, datasets     # doctest: +SKIP
    >>> with open_store("~/.DashAI") as store:             # doctest: +SKIP
    ...     ds = datasets.create("iris", table)

Facade areas are submodules (``datasets``, ``runs``, ``metrics``, ...) imported on use, so
``import dashai_store`` stays cheap at application start.
"""

from . import errors
from ._version import __version__
from .database import Store
from .store import open_store

__all__ = ["Store", "__version__", "errors", "open_store"]
