"""Bulk inserts in the caller's transaction: PostgreSQL ``COPY`` (≈5× faster than batched
INSERTs), a plain executemany elsewhere. The caller supplies ``tenant_id`` (this bypasses the
ORM, so tenant scoping is the caller's job).

Tables a transaction filled with many rows are analysed right after it commits, when they grew
by a fifth since their last analysis: the planner would otherwise plan the next queries for the
empty tables it last saw (a live roll-up on a freshly loaded demo took 15.8 s instead of 30 ms),
until autovacuum comes by.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable
from itertools import islice

from sqlalchemy import JSON, Table, event, text

from pingyi.extensions import Session, db

CHUNK = 50_000
ANALYZE_AFTER_ROWS = 1000  # rows one transaction adds to a table before it is analysed after the commit
_FILLED = "pingyi.bulk_filled"
log = logging.getLogger(__name__)


def note_filled(table: str, rows: int) -> None:
    """Count rows this transaction adds to ``table`` (bulk inserts do; so may ORM bulk adds)."""
    db.session.info.setdefault(_FILLED, Counter())[table] += rows


@event.listens_for(Session, "after_commit")
def _analyze_filled(session) -> None:
    filled = session.info.pop(_FILLED, None)
    tables = sorted(t for t, n in (filled or {}).items() if n >= ANALYZE_AFTER_ROWS)
    if not tables:
        return
    if db.engine.dialect.name == "postgresql":
        analyze_grown(*tables)
    else:
        analyze(*tables)


@event.listens_for(Session, "after_rollback")
def _forget_filled(session) -> None:
    session.info.pop(_FILLED, None)


def analyze_grown(*tables: str, share: float = 0.2) -> list[str]:
    """PostgreSQL: analyse those of ``tables`` changed by more than ``share`` of their rows (and
    at least ``ANALYZE_AFTER_ROWS``) since their last analysis. For tables a live campaign grows
    all day (answers): autovacuum comes by about once a minute, while a plan made for a
    hundredth of the rows turns a 50 ms live tally into 10 s. Returns the tables analysed."""
    if db.engine.dialect.name != "postgresql":
        return []
    with db.engine.connect() as conn:
        grown = list(conn.execute(text(
            "SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema() "
            "AND relname = ANY(:tables) AND n_mod_since_analyze > GREATEST(:least, :share * n_live_tup)"),
            {"tables": list(tables), "least": ANALYZE_AFTER_ROWS, "share": share}).scalars())
    if grown:
        analyze(*sorted(grown))
    return grown


def analyze(*tables: str) -> None:
    """Refresh the planner's statistics of these tables (all, if none are named; SQLite: all)."""
    postgres = db.engine.dialect.name == "postgresql"
    outside_transaction(["ANALYZE " + ", ".join(tables) if tables and postgres else "ANALYZE"])


def outside_transaction(statements: list[str]) -> None:
    """Maintenance (VACUUM, ANALYZE) on a connection of its own in autocommit mode (VACUUM
    cannot run inside a transaction); a failure is logged, never raised: autovacuum gets
    there later."""
    try:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for statement in statements:
                conn.execute(text(statement))
    except Exception:
        log.exception("%s failed", "; ".join(statements))


def insert_rows(table: Table, rows: list[dict]) -> None:
    """Rows as dicts with the same keys."""
    if rows:
        columns = list(rows[0])
        insert_tuples(table, columns, (tuple(r[c] for c in columns) for r in rows))


def insert_tuples(table: Table, columns: list[str], rows: Iterable[tuple]) -> None:
    """Rows as tuples in ``columns`` order; any iterable, consumed once (generators stream)."""
    conn = db.session.connection()
    counted = _counting(table.name, rows)
    if conn.dialect.name != "postgresql":
        while chunk := list(islice(counted, CHUNK)):
            conn.execute(table.insert(), [dict(zip(columns, r, strict=True)) for r in chunk])
        return
    rows = counted
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


def _counting(table: str, rows: Iterable[tuple]) -> Iterable[tuple]:
    n = 0
    for row in rows:
        n += 1
        yield row
    note_filled(table, n)


def reserve_ids(table: Table, n: int) -> list[int]:
    """``n`` fresh primary keys for a table, so related rows can be bulk-inserted together."""
    if n <= 0:
        return []
    if db.session.connection().dialect.name == "postgresql":
        return list(db.session.execute(text(f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) "  # nosec B608 # the table name comes from the models' metadata, n is bound
                                             "FROM generate_series(1, :n)"), {"n": n}).scalars())
    start = db.session.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {table.name}")).scalar_one() + 1  # nosec B608 # the table name comes from the models' metadata, n is bound
    return list(range(start, start + n))
