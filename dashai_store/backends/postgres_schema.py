"""Reading a PostgreSQL schema (information_schema and the catalogs) into a :class:`Schema`."""

from __future__ import annotations

import re

import peewee

from .schema_types import IGNORED_TABLES, Schema, TableSchema, norm


def describe_postgres(db: peewee.Database, schema_name: str) -> Schema:
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
            table.indexes.add((iname, norm(strip(idef))))
        for cname, ctype, cdef in db.execute_sql(
            "SELECT con.conname, con.contype, pg_get_constraintdef(con.oid) FROM pg_constraint con "
            "JOIN pg_class rel ON rel.oid = con.conrelid "
            "JOIN pg_namespace nsp ON nsp.oid = rel.relnamespace "
            "WHERE nsp.nspname = %s AND rel.relname = %s",
            (schema_name, name),
        ).fetchall():
            text = norm(strip(cdef))
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
        schema.triggers[tname] = norm(strip(tdef)) + state
    for fname, fsrc in db.execute_sql(
        "SELECT p.proname, p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = %s",
        (schema_name,),
    ).fetchall():
        schema.triggers[f"function {fname}"] = norm(fsrc)
    return schema
