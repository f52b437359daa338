"""The comparable shape of a schema, as the backends' introspection reads it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Tables the drift check leaves alone: the migration runner's own table and SQLite's.
IGNORED_TABLES = frozenset({"dashai_schema_migration", "sqlite_sequence", "sqlite_stat1"})


@dataclass
class TableSchema:
    columns: dict[str, tuple[str, bool, str | None, bool]] = field(default_factory=dict)
    indexes: set[tuple[str, ...]] = field(default_factory=set)
    foreign_keys: set[tuple[str, ...]] = field(default_factory=set)
    checks: set[str] = field(default_factory=set)
    autoincrement: bool = False


@dataclass
class Schema:
    tables: dict[str, TableSchema] = field(default_factory=dict)
    triggers: dict[str, str] = field(default_factory=dict)


def norm(sql: str | None) -> str:
    if sql is None:
        return ""
    text = re.sub(r"\s+", " ", sql.replace('"', "").replace("`", "")).strip()
    return text.rstrip(";").strip()
