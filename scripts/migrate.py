#!/usr/bin/env python3
"""DashAI's startup step: bring the store's database to the current schema.

    python scripts/migrate.py [--home DIR | --database URL] [--status | --check | --dry-run]

Run it with the Python that has dashai_store installed (the app's own interpreter, e.g.
``.venv/bin/python scripts/migrate.py``). Exit codes: 0 up to date or migrated; 1 a step
failed (rolled back, backup kept); 2 bad usage; 3 the database was made by a newer version
(nothing written); 6 this Python lacks dashai_store or one of its dependencies (nothing
written). Kept tiny on purpose: it imports no pyarrow, plotly or joblib, so an up-to-date
start is cheap.
"""

import sys

EXIT_MISSING_DEPENDENCY = 6

try:
    from dashai_store.cli import migrate_main as main
except ModuleNotFoundError as exc:  # this interpreter lacks the package or a dependency
    missing = (exc.name or "dashai_store").partition(".")[0]
    print(
        f"migrate.py: error: {missing} is not installed for this Python ({sys.executable}); "
        f"install dashai_store into it: `{sys.executable} -m pip install <dashai_store checkout or wheel>`",
        file=sys.stderr,
    )
    sys.exit(EXIT_MISSING_DEPENDENCY)

if __name__ == "__main__":
    sys.exit(main())
