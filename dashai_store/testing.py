"""A fresh, migrated, isolated store per test, for the application's own unit tests.

Two ways in:

* :func:`fresh_store` — a context manager, usable from any test framework::

      from dashai_store.testing import fresh_store
      from dashai_store import datasets

      def test_import() -> None:
          with fresh_store() as store:          # SQLite in a temporary home
              datasets.create("iris", table)

  With ``fresh_store("postgresql://user@host/db")`` the store lives in a new schema of
  that database, dropped on exit (only the CREATE privilege on the database is needed).

* the pytest fixture ``dashai_fresh_store``. This module is a pytest plugin registered
  through the ``pytest11`` entry point, so pytest loads it wherever dashai_store is
  installed, but it is opt-in: it defines no autouse fixture and no hooks beyond one
  command-line option, so nothing happens until a test names the fixture::

      def test_import(dashai_fresh_store):      # a dashai_store.Store, bound to the facade
          datasets.create("iris", table)

  The fixture uses SQLite unless a PostgreSQL URL is given with
  ``--dashai-store-database-url=URL`` or the ``DASHAI_STORE_TEST_DATABASE_URL`` environment
  variable. Disable the plugin with ``-p no:dashai_store``; where plugin autoloading is off
  (``PYTEST_DISABLE_PLUGIN_AUTOLOAD``), enable it with ``-p dashai_store.testing``.

Why it is cheap: the schema is migrated once per process into a template, and each
fresh store is a copy of it. On SQLite the template's ``db.sqlite`` (checkpointed, so one
file holds everything) is copied into the new home. On PostgreSQL the statements the
migrator ran inside its step transactions are recorded once (with their parameters
inlined) and replayed in a new schema, in one transaction and one round trip; PostgreSQL
has no cheaper clone (``CREATE DATABASE ... TEMPLATE`` measured slower than migrating, and
needs CREATEDB). Because the copy was migrated by the real migrator, its history rows (ids,
checksums, applied_at) are the template's; each copy is opened with ``migrate=False``, so a
copy that were not up to date would fail loudly instead of being migrated behind the test's
back.

One store is open per process (``open_store`` binds the facade), so opening a fresh store
closes whatever store the process had open, and leaving it unbinds the facade.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlparse

if TYPE_CHECKING:
    import peewee

    from .database import Store

DATABASE_URL_ENV = "DASHAI_STORE_TEST_DATABASE_URL"
DATABASE_URL_OPTION = "--dashai-store-database-url"
SCHEMA_PREFIX = "dashai_test_"

__all__ = ["DATABASE_URL_ENV", "DATABASE_URL_OPTION", "fresh_store"]


# -- the per-process templates --------------------------------------------------------------


@dataclass(frozen=True)
class _SqliteTemplate:
    db_file: Path


@dataclass(frozen=True)
class _PostgresTemplate:
    script: str  # every statement of every migration step, parameters inlined, ';'-joined


_lock = threading.Lock()
_sqlite_template: _SqliteTemplate | None = None
_postgres_templates: dict[str, _PostgresTemplate] = {}
_template_root: Path | None = None


def _root() -> Path:
    """A process-wide scratch folder for the templates, removed when the process exits."""
    global _template_root
    if _template_root is None:
        _template_root = Path(tempfile.mkdtemp(prefix="dashai-store-template-"))
        atexit.register(shutil.rmtree, _template_root, True)
    return _template_root


def _sqlite() -> _SqliteTemplate:
    global _sqlite_template
    with _lock:
        if _sqlite_template is None:
            from .database import DB_FILENAME, connect_sqlite
            from .migrator import Migrator

            folder = _root() / "sqlite"
            folder.mkdir()
            db = connect_sqlite(folder / DB_FILENAME)
            try:
                Migrator(folder, db).migrate()
                # Fold the WAL into the main file so that copying db.sqlite copies everything.
                db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                db.close()
            _sqlite_template = _SqliteTemplate(folder / DB_FILENAME)
        return _sqlite_template


def _postgres(database_url: str) -> _PostgresTemplate:
    with _lock:
        template = _postgres_templates.get(database_url)
        if template is None:
            template = _record_postgres_migration(database_url)
            _postgres_templates[database_url] = template
        return template


def _record_postgres_migration(database_url: str) -> _PostgresTemplate:
    """Migrate a scratch schema with the real migrator, recording what its steps execute."""
    from . import errors
    from .database import connect_postgres
    from .migrator import Migrator

    admin = connect_postgres(database_url)
    schema = _new_schema_name()
    statements: list[str] = []
    try:
        admin.execute_sql(f'CREATE SCHEMA "{schema}"')
        db = connect_postgres(_with_search_path(database_url, schema))
        execute_sql: Callable[..., Any] = db.execute_sql

        def recording(sql: str, params: Any = None) -> Any:
            # Only statements inside a transaction belong to a step; the runner's reads
            # and its advisory lock run outside one.
            if db.in_transaction():
                statements.append(_inline(db, sql, params))
            return execute_sql(sql, params)

        db.execute_sql = recording  # type: ignore[method-assign]
        try:
            Migrator(_root(), db).migrate()
        finally:
            db.close()
    finally:
        admin.execute_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.close()
    if not statements:
        raise errors.MigrationError("recording the migration for the test template captured nothing")
    return _PostgresTemplate(";\n".join(statements))


def _inline(db: peewee.Database, sql: str, params: Any) -> str:
    if not params:
        return sql
    cursor = db.cursor()
    mogrify: Callable[[str, Any], bytes | str] | None = getattr(cursor, "mogrify", None)
    if mogrify is None:  # psycopg 3's server-side cursors cannot inline parameters
        from . import errors

        raise errors.StoreError("dashai_store.testing needs psycopg2 to copy a PostgreSQL template")
    text = mogrify(sql, params)
    return text.decode() if isinstance(text, bytes) else text


# -- PostgreSQL helpers ------------------------------------------------------------------------


def _new_schema_name() -> str:
    return f"{SCHEMA_PREFIX}{uuid.uuid4().hex[:16]}"


def _with_search_path(database_url: str, schema: str) -> str:
    """The URL with ``schema`` first on the search path (added to any existing ``options``)."""
    parsed = urlparse(database_url)
    query = dict(parse_qsl(parsed.query))
    flag = f"-csearch_path={schema}"
    query["options"] = f"{query['options']} {flag}" if query.get("options") else flag
    return parsed._replace(query=urlencode(query)).geturl()


def _is_postgres_url(url: str) -> bool:
    return urlparse(url).scheme in ("postgres", "postgresql")


# -- the context manager ------------------------------------------------------------------------


@contextmanager
def fresh_store(
    database_url: str | None = None, *, home: str | os.PathLike[str] | None = None
) -> Iterator[Store]:
    """A fresh, migrated, isolated store, bound to the facade until the block ends.

    ``database_url=None`` gives a SQLite store in a new temporary home; a
    ``postgresql://`` URL gives a store in a new schema of that database (files still go to
    the temporary home). On exit the store is closed, the schema dropped and the temporary
    home removed. Pass ``home`` (an empty or missing folder) to choose the home yourself; it
    is then left in place, e.g. for pytest's ``tmp_path`` to keep after a failure.

    >>> from dashai_store.testing import fresh_store     # doctest: +SKIP
    >>> with fresh_store() as store:                       # doctest: +SKIP
    ...     assert store.backend == "sqlite"
    """
    from . import errors
    from .database import DB_FILENAME, connect_postgres, redact
    from .store import open_store

    if database_url is not None and not (isinstance(database_url, str) and _is_postgres_url(database_url)):
        shown = redact(database_url) if isinstance(database_url, str) else type(database_url).__name__
        raise errors.ValidationError(
            f"fresh_store() takes a postgresql:// URL or None (SQLite), got {shown!r}"
        )
    if home is None:
        home_path = Path(tempfile.mkdtemp(prefix="dashai-store-test-"))
        owns_home = True
    else:
        home_path = Path(home)
        if home_path.exists() and (not home_path.is_dir() or any(home_path.iterdir())):
            raise errors.ValidationError(
                f"fresh_store() needs an empty or missing home folder, got {home_path}"
            )
        home_path.mkdir(parents=True, exist_ok=True)
        owns_home = False

    schema: str | None = None
    admin: peewee.Database | None = None
    try:
        if database_url is None:
            shutil.copyfile(_sqlite().db_file, home_path / DB_FILENAME)
            url = None
        else:
            script = _postgres(database_url).script
            schema = _new_schema_name()
            admin = connect_postgres(database_url)
            with admin.atomic():
                # A throw-away schema: no need to wait for the WAL flush at COMMIT.
                admin.execute_sql("SET LOCAL synchronous_commit TO off")
                admin.execute_sql(f'CREATE SCHEMA "{schema}"')
                admin.execute_sql(f'SET LOCAL search_path TO "{schema}"')
                admin.execute_sql(script)
            url = _with_search_path(database_url, schema)
        with open_store(home_path, database=url, migrate=False) as store:
            yield store
    finally:
        try:
            if admin is not None and schema is not None:
                with admin.atomic():
                    admin.execute_sql("SET LOCAL synchronous_commit TO off")
                    admin.execute_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            if admin is not None:
                admin.close()
            if owns_home:
                shutil.rmtree(home_path, ignore_errors=True)


# -- the pytest plugin ---------------------------------------------------------------------------

try:
    import pytest
except ImportError:  # pragma: no cover - fresh_store works without pytest; the fixture needs it
    _HAVE_PYTEST = False
else:
    _HAVE_PYTEST = True

if _HAVE_PYTEST:

    def pytest_addoption(parser: pytest.Parser) -> None:
        parser.getgroup("dashai_store").addoption(
            DATABASE_URL_OPTION,
            dest="dashai_store_database_url",
            default=None,
            metavar="URL",
            help=f"run the dashai_fresh_store fixture on this PostgreSQL database (a new schema "
            f"per test) instead of SQLite; default ${DATABASE_URL_ENV}",
        )

    @pytest.fixture
    def dashai_fresh_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
        """A fresh, migrated dashai_store per test, bound to the facade (see dashai_store.testing)."""
        option = request.config.getoption("dashai_store_database_url", default=None)
        url = option or os.environ.get(DATABASE_URL_ENV) or None
        with fresh_store(url, home=tmp_path / "dashai_home") as store:
            yield store
