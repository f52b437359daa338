#!/usr/bin/env python3
"""DashAI's startup step: bring the store's database to the current schema.

    python scripts/migrate.py [--home DIR | --database URL] [--status | --check | --dry-run]

Exit codes: 0 up to date or migrated; 1 a step failed (rolled back, backup kept);
2 bad usage; 3 the database was made by a newer version (nothing written).
Kept tiny on purpose: it imports no pyarrow, plotly or joblib, so an up-to-date start is cheap.
"""

import sys

from dashai_store.cli import migrate_main as main

if __name__ == "__main__":
    sys.exit(main())
