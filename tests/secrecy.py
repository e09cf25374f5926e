"""The attacker's tools for the secrecy tests: where rows lie on disk, which transactions wrote
them (PostgreSQL's hidden ``xmin``, also of dead row versions, read off the heap pages as a
superuser could with pageinspect), and how far an order follows another."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import text

from pingyi.extensions import db


def spearman(a, b) -> float:
    """Rank correlation of two sequences (ties averaged): ≈ 0 when one order tells nothing of the other."""
    return float(np.corrcoef(pd.Series(list(a)).rank(), pd.Series(list(b)).rank())[0, 1])


def in_physical_order(table: str, columns: str) -> list[tuple]:
    """``columns`` of every row, in the order the rows lie in the table (ctid; SQLite: rowid)."""
    if db.engine.dialect.name == "postgresql":
        rows = db.session.execute(text(f"SELECT ctid::text, {columns} FROM {table}")).all()
        return [tuple(r[1:]) for r in sorted(rows, key=lambda r: tuple(int(x) for x in r[0].strip("()").split(",")))]
    return [tuple(r) for r in db.session.execute(text(f"SELECT {columns} FROM {table} ORDER BY rowid")).all()]


def sharing_xmin(table: str, other: str) -> int:
    """Live rows of ``table`` written by a transaction that also wrote a live row of ``other``."""
    return db.session.execute(text(
        f"SELECT COUNT(*) FROM {table} x JOIN {other} y ON y.xmin::text = x.xmin::text")).scalar_one()


def transactions_on_pages(table: str) -> set[str]:
    """Every transaction id that inserted or deleted a row version still on ``table``'s pages,
    dead ones included (the extension is created in the test's own database)."""
    db.session.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
    rows = db.session.execute(text(
        "SELECT p.t_xmin::text, p.t_xmax::text FROM generate_series(0, "
        "(pg_relation_size(CAST(:t AS regclass)) / current_setting('block_size')::int) - 1) AS blk, "
        "heap_page_items(get_raw_page(CAST(:t AS text), blk::int)) AS p WHERE p.t_xmin IS NOT NULL"),
        {"t": table}).all()
    return {x for row in rows for x in row if x and x != "0"}


def bytes_left(table: str, needle: str) -> int:
    """Where ``needle`` lies in raw bytes, deleted rows not yet overwritten included: on
    PostgreSQL the number of ``table``'s pages holding it (``get_raw_page``, as a superuser
    reads them); on SQLite the number of times the database file holds it (``table`` aside:
    a deleted row's bytes could be on any free page)."""
    data = needle.encode()
    if db.engine.dialect.name != "postgresql":
        db.session.commit()
        with open(db.engine.url.database, "rb") as f:
            return f.read().count(data)
    db.session.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
    return db.session.execute(text(
        "SELECT COUNT(*) FROM generate_series(0, (pg_relation_size(CAST(:t AS regclass)) / "
        "current_setting('block_size')::int) - 1) AS blk "
        "WHERE position(:n in get_raw_page(CAST(:t AS text), blk::int)) > 0"), {"t": table, "n": data}).scalar_one()
