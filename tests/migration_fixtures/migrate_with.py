"""Run the migrate command line with test-only steps appended to the real registry.

    python tests/migration_fixtures/migrate_with.py next_slow[,m0005_x] [migrate.py arguments]

Exits with the code ``dashai_store.cli.migrate_main`` returns, like ``scripts/migrate.py``.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashai_store.migrations import REGISTRY

from dashai_store.cli import migrate_main
from dashai_store.migrator import steps_from


def run(argv: list[str]) -> int:
    names, rest = argv[0], argv[1:]
    extra = tuple(importlib.import_module(f"migration_fixtures.{name}") for name in names.split(",") if name)
    return migrate_main(rest, steps=steps_from((*REGISTRY, *extra)))


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
