"""Reads a streaming replica may serve (``DATABASE_REPLICA_URL``), and only those.

Reads opt in, explicitly: ``with replica_reads():`` (or ``@replica_reads()`` on a view) around
the results dashboard, the public page (公示) and the making of report files. Every write, the
tally and the live tallies, and anything else stay on the primary. Inside the block:

- the session's statements go to the replica's engine (the Flask-SQLAlchemy bind ``replica``,
  through ``extensions.Session.get_bind``); the tenant criteria belong to the session, not to
  an engine, so they hold there as on the primary;
- a write — a flush, an INSERT/UPDATE/DELETE, raw SQL that is not a read — raises
  ``ReplicaWriteError`` at once, with or without a replica, so every test of these pages checks
  the rule on SQLite too (on the replica itself PostgreSQL would refuse it, less clearly);
- the reads stay on the primary when there is no replica (SQLite, development), when the
  session has written in its open transaction (its reads must see its own writes), and when the
  replica is unreachable or more than ``REPLICA_MAX_LAG`` seconds behind (asked at most every
  ``REPLICA_CHECK_INTERVAL`` seconds per process).

A job that reads on the replica and writes a file reads inside the block and writes after it
(``reports.registry``): the session's transaction then holds a connection to each, and its
commit ends both.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql.elements import TextClause

from pingyi.extensions import REPLICA_READS, db

BIND = "replica"  # SQLALCHEMY_BINDS key (pingyi.config)
WROTE = "pingyi.wrote"  # session.info: the open transaction has written
_READ_WORDS = ("SELECT", "WITH", "SHOW", "VALUES", "TABLE", "EXPLAIN", "SET")
log = logging.getLogger(__name__)

# Seconds the replica is behind: none when it has replayed everything it received and still
# streams; else since the last transaction it replayed (a replica whose stream stopped looks
# current by WAL positions alone). NULL (nothing replayed yet) counts as too far behind.
_LAG = text(
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0"
    " WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()"
    " AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') THEN 0"
    " ELSE EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()) END")
_checked: dict[int, tuple[float, bool]] = {}  # id(engine) → (when, usable)


class ReplicaWriteError(RuntimeError):
    """A write inside ``replica_reads``: the block's reads may be served by a read-only replica."""


def engine() -> Engine | None:
    """The replica's engine, or None when ``DATABASE_REPLICA_URL`` is not set."""
    return db.engines.get(BIND)


def lag_seconds(replica: Engine) -> float:
    """How far the replica is behind its primary, in seconds (``inf``: nothing replayed yet)."""
    with replica.connect() as conn:
        lag = conn.execute(_LAG).scalar()
    return math.inf if lag is None else float(lag)


def usable(replica: Engine) -> bool:
    """May the replica serve reads now: reachable and within ``REPLICA_MAX_LAG``? The answer is
    kept ``REPLICA_CHECK_INTERVAL`` seconds (a dashboard page does not pay a round trip for it)."""
    config, now = current_app.config, time.monotonic()
    seen = _checked.get(id(replica))
    if seen is not None and now - seen[0] < config["REPLICA_CHECK_INTERVAL"]:
        return seen[1]
    try:
        lag = lag_seconds(replica)
        ok = lag <= config["REPLICA_MAX_LAG"]
        if not ok:
            log.warning("replica %.1f s behind (REPLICA_MAX_LAG %s): reading from the primary", lag,
                        config["REPLICA_MAX_LAG"])
    except SQLAlchemyError as exc:
        log.warning("replica unreachable, reading from the primary: %s", exc)
        ok = False
    _checked[id(replica)] = (now, ok)
    return ok


@contextmanager
def replica_reads() -> Iterator[None]:
    """Reads in this block may be served by the replica; writes raise ``ReplicaWriteError``.
    A no-op for the reads without a replica. Nested blocks follow the outermost."""
    s = db.session()
    if REPLICA_READS in s.info:
        yield
        return
    if s.new or s.dirty or s.deleted:
        s.flush()  # what autoflush would write at the block's first read, written before the guard
    replica = engine()
    if replica is not None and (s.info.get(WROTE) or not usable(replica)):
        replica = None
    s.info[REPLICA_READS] = replica
    try:
        yield
    finally:
        s.info.pop(REPLICA_READS, None)


def on_replica() -> bool:
    """Are this session's reads going to the replica right now?"""
    return db.session().info.get(REPLICA_READS) is not None


def writes(statement) -> bool:
    """Does the statement write? DML, and raw SQL that does not start as a read does."""
    if getattr(statement, "is_dml", False):
        return True
    if isinstance(statement, TextClause):
        words = statement.text.lstrip(" \t\r\n(").split(None, 1)
        return not words or words[0].upper() not in _READ_WORDS
    return False


def route(session: Session, clause) -> Engine | None:
    """``Session.get_bind`` inside ``replica_reads``: the replica's engine for a read (None: the
    primary's); a write raises."""
    if clause is not None and writes(clause):
        raise ReplicaWriteError(f"write inside replica_reads(): {str(clause)[:200]}")
    return session.info.get(REPLICA_READS)


@event.listens_for(Session, "before_flush")
def _no_flush(session: Session, _context, _instances) -> None:
    if REPLICA_READS in session.info:
        changed = next(iter(list(session.new) + list(session.dirty) + list(session.deleted)), None)
        raise ReplicaWriteError(f"write inside replica_reads(): {type(changed).__name__} changed")


@event.listens_for(Session, "after_flush")
def _wrote_flush(session: Session, _context) -> None:
    session.info[WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _wrote_statement(state: ORMExecuteState) -> None:
    if not state.is_select and writes(state.statement):
        state.session.info[WROTE] = True


@event.listens_for(Session, "after_transaction_end")
def _transaction_ended(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(WROTE, None)
