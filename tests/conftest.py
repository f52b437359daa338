"""Shared fixtures: a fresh, migrated store per test on SQLite and on PostgreSQL.

PostgreSQL runs when ``DASHAI_TEST_POSTGRES_URL`` names a server database (``.ci/run``
starts one); each test gets its own schema, dropped afterwards. Without the variable the
PostgreSQL cases are skipped, unless ``DASHAI_TEST_REQUIRE_POSTGRES=1`` (as in CI), which
turns the missing server into a failure instead of a silent skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from installed import WheelVenv, build_wheel_venv

from dashai_store import open_store
from dashai_store.database import Store, connect_postgres

PG_URL = os.environ.get("DASHAI_TEST_POSTGRES_URL", "")
REQUIRE_PG = os.environ.get("DASHAI_TEST_REQUIRE_POSTGRES") == "1"
BACKENDS = ["sqlite", "postgresql"]


def pg_schema_url(schema: str) -> str:
    """The test server's URL with ``schema`` as the search path."""
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options={quote(f'-csearch_path={schema}')}"


class PgSchema:
    """A throw-away PostgreSQL schema; ``url`` connects with it as the search path."""

    def __init__(self) -> None:
        self.name = f"t_{uuid.uuid4().hex[:16]}"
        self.admin = connect_postgres(PG_URL)
        self.admin.execute_sql(f'CREATE SCHEMA "{self.name}"')
        self.url = pg_schema_url(self.name)

    def drop(self) -> None:
        self.admin.execute_sql(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')
        self.admin.close()


def _need_pg() -> None:
    if not PG_URL:
        if REQUIRE_PG:
            pytest.fail("DASHAI_TEST_REQUIRE_POSTGRES=1 but DASHAI_TEST_POSTGRES_URL is not set")
        pytest.skip("no PostgreSQL server: set DASHAI_TEST_POSTGRES_URL")


@pytest.fixture
def pg_schema() -> Iterator[PgSchema]:
    """A fresh PostgreSQL schema (skips, or fails under CI, without a server)."""
    _need_pg()
    schema = PgSchema()
    try:
        yield schema
    finally:
        schema.drop()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        _need_pg()
    return str(request.param)


@contextmanager
def database_for(backend: str) -> Iterator[str | None]:
    """None for SQLite (the home's db.sqlite); a throw-away schema's URL for PostgreSQL."""
    if backend == "sqlite":
        yield None
        return
    schema = PgSchema()
    try:
        yield schema.url
    finally:
        schema.drop()


@pytest.fixture
def database_url(backend: str) -> Iterator[str | None]:
    """None for SQLite (the home's db.sqlite); a per-test schema URL for PostgreSQL."""
    with database_for(backend) as url:
        yield url


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def store(home: Path, database_url: str | None) -> Iterator[Store]:
    """A fresh, migrated store bound to the facade, on each backend."""
    with open_store(home, database=database_url) as opened:
        yield opened


@pytest.fixture
def sqlite_store(home: Path) -> Iterator[Store]:
    """A fresh, migrated SQLite store, for behaviour that exists only on SQLite."""
    with open_store(home) as opened:
        yield opened


@pytest.fixture(scope="session")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> WheelVenv:
    """A wheel of this checkout installed into a clean venv (built once per test session)."""
    return build_wheel_venv(tmp_path_factory.mktemp("wheel-venv"))
