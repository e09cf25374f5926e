"""Bulk inserts in the caller's transaction: PostgreSQL ``COPY`` (≈5× faster than batched
INSERTs), a plain executemany elsewhere. Rows are dicts with the same keys; the caller
supplies ``tenant_id`` (this bypasses the ORM, so tenant scoping is the caller's job)."""

from __future__ import annotations

import json

from sqlalchemy import JSON, Table

from .extensions import db


def insert_rows(table: Table, rows: list[dict]) -> None:
    if not rows:
        return
    conn = db.session.connection()
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), rows)
        return
    columns = list(rows[0])
    types = {c.name: c.type for c in table.columns}
    binds = {name: json.dumps if isinstance(types[name], JSON) else types[name].bind_processor(conn.dialect)
             for name in columns}  # COPY takes JSON as text
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(
            f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([binds[c](row[c]) if binds[c] else row[c] for c in columns])
