"""Bulk inserts in the caller's transaction: PostgreSQL ``COPY`` (≈5× faster than batched
INSERTs), a plain executemany elsewhere. The caller supplies ``tenant_id`` (this bypasses the
ORM, so tenant scoping is the caller's job)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from itertools import islice

from sqlalchemy import JSON, Table, text

from pingyi.extensions import db

CHUNK = 50_000


def insert_rows(table: Table, rows: list[dict]) -> None:
    """Rows as dicts with the same keys."""
    if rows:
        columns = list(rows[0])
        insert_tuples(table, columns, (tuple(r[c] for c in columns) for r in rows))


def insert_tuples(table: Table, columns: list[str], rows: Iterable[tuple]) -> None:
    """Rows as tuples in ``columns`` order; any iterable, consumed once (generators stream)."""
    conn = db.session.connection()
    if conn.dialect.name != "postgresql":
        rows = iter(rows)
        while chunk := list(islice(rows, CHUNK)):
            conn.execute(table.insert(), [dict(zip(columns, r, strict=True)) for r in chunk])
        return
    types = {c.name: c.type for c in table.columns}
    binds = [json.dumps if isinstance(types[name], JSON) else types[name].bind_processor(conn.dialect)
             for name in columns]  # COPY takes JSON as text
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        if not any(binds):
            for row in rows:
                copy.write_row(row)
            return
        for row in rows:
            copy.write_row([b(v) if b else v for b, v in zip(binds, row, strict=True)])


def reserve_ids(table: Table, n: int) -> list[int]:
    """``n`` fresh primary keys for a table, so related rows can be bulk-inserted together."""
    if n <= 0:
        return []
    if db.session.connection().dialect.name == "postgresql":
        return list(db.session.execute(text(f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) "  # nosec B608 # the table name comes from the models' metadata, n is bound
                                             "FROM generate_series(1, :n)"), {"n": n}).scalars())
    start = db.session.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {table.name}")).scalar_one() + 1  # nosec B608 # the table name comes from the models' metadata, n is bound
    return list(range(start, start + n))
