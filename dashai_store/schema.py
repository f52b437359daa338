"""Schema introspection and the drift check.

:func:`describe` reads a live database's schema into plain, comparable data — tables,
columns (type, nullability, default, primary key), indexes, unique constraints, foreign
keys with their ON DELETE action, CHECK constraints, AUTOINCREMENT, triggers and trigger
functions. :func:`drift` builds the schema the models describe in a scratch place (an
in-memory SQLite database, or a PostgreSQL schema inside a transaction that is rolled
back) and lists every difference from the migrated one.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

import peewee

from .database import is_postgres, postgres_schema

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


def _norm(sql: str | None) -> str:
    if sql is None:
        return ""
    text = re.sub(r"\s+", " ", sql.replace('"', "").replace("`", "")).strip()
    return text.rstrip(";").strip()


def _check_clauses(table_sql: str) -> set[str]:
    """Every ``CHECK (...)`` clause of a CREATE TABLE statement, normalised."""
    found: set[str] = set()
    for match in re.finditer(r"\bCHECK\s*\(", table_sql, flags=re.IGNORECASE):
        depth, start = 0, match.end() - 1
        for pos in range(start, len(table_sql)):
            char = table_sql[pos]
            if char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
                if depth == 0:
                    found.add(_norm(table_sql[start + 1 : pos]))
                    break
    return found


def _depth_zero(text: str) -> str:
    """``text`` without anything inside parentheses or quotes (those are other clauses)."""
    kept, depth, quote = [], 0, ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"`":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0:
            kept.append(char)
    return "".join(kept)


def _column_collations(table_sql: str) -> dict[str, str]:
    """Column -> explicit collation (other than the default BINARY) of a CREATE TABLE.

    PRAGMA table_xinfo does not report it, yet ``COLLATE NOCASE`` changes what a UNIQUE
    column accepts.
    """
    body = table_sql[table_sql.find("(") + 1 : table_sql.rfind(")")]
    found: dict[str, str] = {}
    parts, depth, quote, start = [], 0, "", 0
    for pos, char in enumerate(body):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"`":
            quote = char
        elif char in "()":
            depth += 1 if char == "(" else -1
        elif char == "," and depth == 0:
            parts.append(body[start:pos])
            start = pos + 1
    parts.append(body[start:])
    for part in parts:
        words = part.split()
        if not words or words[0].upper() in ("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"):
            continue
        match = re.search(r"\bCOLLATE\s+(\w+)", _depth_zero(part.split(None, 1)[-1]), flags=re.IGNORECASE)
        if match and match.group(1).upper() != "BINARY":
            found[words[0].strip('"`[]')] = match.group(1).upper()
    return found


def _sqlite_index_keys(db: peewee.Database, iname: str) -> str:
    """The key columns of an index with their order and collation (expressions as <expr>)."""
    keys = []
    for _seqno, cid, cname, desc, coll, key in db.execute_sql(f'PRAGMA index_xinfo("{iname}")').fetchall():
        if not key:
            continue
        item = "<expr>" if cid == -2 else str(cname)
        item += " DESC" if desc else ""
        item += f" COLLATE {coll.upper()}" if coll and coll.upper() != "BINARY" else ""
        keys.append(item)
    return ",".join(keys)


def _describe_sqlite(db: peewee.Database) -> Schema:
    schema = Schema()
    index_sql = {
        str(r[0]): str(r[1] or "")
        for r in db.execute_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index'").fetchall()
    }
    rows = db.execute_sql(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type IN ('table', 'trigger') ORDER BY name"
    ).fetchall()
    for kind, name, _table, sql in rows:
        if kind == "trigger":
            schema.triggers[name] = _norm(sql)
            continue
        if name in IGNORED_TABLES or name.startswith("sqlite_"):
            continue
        table = TableSchema(checks=_check_clauses(sql or ""))
        table.autoincrement = "AUTOINCREMENT" in (sql or "").upper()
        collations = _column_collations(sql or "")
        for col in db.execute_sql(f'PRAGMA table_xinfo("{name}")').fetchall():
            _cid, cname, ctype, notnull, default, pk, _hidden = col
            ctype = str(ctype).upper() + (f" COLLATE {collations[cname]}" if cname in collations else "")
            table.columns[cname] = (ctype, bool(notnull), default, bool(pk))
        for idx in db.execute_sql(f'PRAGMA index_list("{name}")').fetchall():
            _seq, iname, unique, origin, partial = idx
            keys = _sqlite_index_keys(db, iname)
            # Automatic indexes (UNIQUE/PRIMARY KEY constraints) get positional names.
            label = iname if origin == "c" else f"<{origin}>"
            # A partial index's WHERE and an expression's text live only in its SQL.
            text = index_sql.get(iname, "")
            shape = str(partial)
            if (partial or "<expr>" in keys) and " ON " in text.upper():
                shape = _norm(text[text.upper().index(" ON ") :])
            table.indexes.add((label, "unique" if unique else "plain", keys, shape))
        for fk in db.execute_sql(f'PRAGMA foreign_key_list("{name}")').fetchall():
            _id, _seq, ref_table, from_col, to_col, on_update, on_delete, _match = fk
            table.foreign_keys.add((from_col, ref_table, str(to_col), on_update, on_delete))
        schema.tables[name] = table
    return schema


def _describe_postgres(db: peewee.Database, schema_name: str) -> Schema:
    schema = Schema()
    qualifier = re.compile(rf"\b{re.escape(schema_name)}\.")

    def strip(text: str | None) -> str | None:
        return None if text is None else qualifier.sub("", text)

    tables = [
        r[0]
        for r in db.execute_sql(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = %s AND table_type = 'BASE TABLE'",
            (schema_name,),
        ).fetchall()
    ]
    pks: dict[str, set[str]] = {}
    for table_name, column in db.execute_sql(
        "SELECT tc.table_name, kcu.column_name FROM information_schema.table_constraints tc "
        "JOIN information_schema.key_column_usage kcu ON tc.constraint_name = kcu.constraint_name "
        "AND tc.table_schema = kcu.table_schema "
        "WHERE tc.table_schema = %s AND tc.constraint_type = 'PRIMARY KEY'",
        (schema_name,),
    ).fetchall():
        pks.setdefault(table_name, set()).add(column)
    for name in tables:
        if name in IGNORED_TABLES:
            continue
        table = TableSchema()
        for cname, dtype, nullable, default, collation in db.execute_sql(
            "SELECT column_name, data_type, is_nullable, column_default, collation_name "
            "FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
            (schema_name, name),
        ).fetchall():
            pk = cname in pks.get(name, set())
            ctype = dtype.upper() + (f" COLLATE {collation}" if collation else "")
            table.columns[cname] = (ctype, nullable == "NO", strip(default), pk)
        for iname, idef in db.execute_sql(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = %s",
            (schema_name, name),
        ).fetchall():
            table.indexes.add((iname, _norm(strip(idef))))
        for cname, ctype, cdef in db.execute_sql(
            "SELECT con.conname, con.contype, pg_get_constraintdef(con.oid) FROM pg_constraint con "
            "JOIN pg_class rel ON rel.oid = con.conrelid "
            "JOIN pg_namespace nsp ON nsp.oid = rel.relnamespace "
            "WHERE nsp.nspname = %s AND rel.relname = %s",
            (schema_name, name),
        ).fetchall():
            text = _norm(strip(cdef))
            if ctype == "c":
                table.checks.add(f"{cname}: {text}")
            elif ctype == "f":
                table.foreign_keys.add((cname, text))
            else:
                table.indexes.add((f"constraint {cname}", ctype, text))
        schema.tables[name] = table
    for tname, tdef, enabled in db.execute_sql(
        "SELECT t.tgname, pg_get_triggerdef(t.oid), t.tgenabled FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND NOT t.tgisinternal",
        (schema_name,),
    ).fetchall():
        # A disabled trigger keeps its definition but enforces nothing ('O' = enabled).
        state = "" if enabled == "O" else f" [tgenabled={enabled}]"
        schema.triggers[tname] = _norm(strip(tdef)) + state
    for fname, fsrc in db.execute_sql(
        "SELECT p.proname, p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = %s",
        (schema_name,),
    ).fetchall():
        schema.triggers[f"function {fname}"] = _norm(fsrc)
    return schema


def describe(db: peewee.Database, schema_name: str | None = None) -> Schema:
    """The schema of ``db`` (on PostgreSQL, of ``schema_name`` or the current schema)."""
    if is_postgres(db):
        return _describe_postgres(db, schema_name or postgres_schema(db))
    return _describe_sqlite(db)


def reference_schema(db: peewee.Database) -> Schema:
    """The schema :mod:`dashai_store.models` describes, built in a scratch place for ``db``."""
    from . import models

    if not is_postgres(db):
        scratch = peewee.SqliteDatabase(":memory:")
        try:
            models.create_schema(scratch)
            return _describe_sqlite(scratch)
        finally:
            scratch.close()
    scratch_name = f"dashai_check_{uuid.uuid4().hex[:12]}"
    with db.atomic() as txn:
        db.execute_sql(f'CREATE SCHEMA "{scratch_name}"')
        db.execute_sql(f'SET LOCAL search_path TO "{scratch_name}"')
        models.create_schema(db)
        result = _describe_postgres(db, scratch_name)
        txn.rollback()
    return result


def diff(actual: Schema, expected: Schema) -> list[str]:
    """Human-readable differences; ``actual`` is the migrated schema, ``expected`` the models'."""
    problems: list[str] = []
    for name in sorted(set(expected.tables) - set(actual.tables)):
        problems.append(f"table {name}: in the models, missing from the database")
    for name in sorted(set(actual.tables) - set(expected.tables)):
        problems.append(f"table {name}: in the database, not in the models")
    for name in sorted(set(actual.tables) & set(expected.tables)):
        got, want = actual.tables[name], expected.tables[name]
        for col in sorted(set(want.columns) | set(got.columns)):
            if col not in got.columns:
                problems.append(f"table {name}: column {col} missing from the database")
            elif col not in want.columns:
                problems.append(f"table {name}: column {col} not in the models")
            elif got.columns[col] != want.columns[col]:
                problems.append(
                    f"table {name}: column {col} differs: database (type, not null, default, pk)"
                    f" = {got.columns[col]}, models = {want.columns[col]}"
                )
        for label, got_set, want_set in (
            ("index/unique", got.indexes, want.indexes),
            ("foreign key", got.foreign_keys, want.foreign_keys),
            ("check", got.checks, want.checks),
        ):
            for item in sorted(want_set - got_set, key=str):
                problems.append(f"table {name}: {label} {item} missing from the database")
            for item in sorted(got_set - want_set, key=str):
                problems.append(f"table {name}: {label} {item} not in the models")
        if got.autoincrement != want.autoincrement:
            problems.append(
                f"table {name}: AUTOINCREMENT is {got.autoincrement} in the database, "
                f"{want.autoincrement} in the models"
            )
    for trig in sorted(set(expected.triggers) | set(actual.triggers)):
        got_sql, want_sql = actual.triggers.get(trig), expected.triggers.get(trig)
        if got_sql is None:
            problems.append(f"trigger {trig}: missing from the database")
        elif want_sql is None:
            problems.append(f"trigger {trig}: in the database, not in the models")
        elif got_sql != want_sql:
            problems.append(f"trigger {trig}: differs: database {got_sql!r}, models {want_sql!r}")
    return problems


def drift(db: peewee.Database) -> list[str]:
    """Every difference between ``db``'s schema and the models' (empty when they agree)."""
    return diff(describe(db), reference_schema(db))
