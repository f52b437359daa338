"""Reading a SQLite database's schema (sqlite_master and the PRAGMAs) into a :class:`Schema`."""

from __future__ import annotations

import re

import peewee

from .schema_types import IGNORED_TABLES, Schema, TableSchema, norm


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
                    found.add(norm(table_sql[start + 1 : pos]))
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


def describe_sqlite(db: peewee.Database) -> Schema:
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
            schema.triggers[name] = norm(sql)
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
                shape = norm(text[text.upper().index(" ON ") :])
            table.indexes.add((label, "unique" if unique else "plain", keys, shape))
        for fk in db.execute_sql(f'PRAGMA foreign_key_list("{name}")').fetchall():
            _id, _seq, ref_table, from_col, to_col, on_update, on_delete, _match = fk
            table.foreign_keys.add((from_col, ref_table, str(to_col), on_update, on_delete))
        schema.tables[name] = table
    return schema
