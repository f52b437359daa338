"""``python -m dashai_store``: the ``dashai-store`` command (see :mod:`dashai_store.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
