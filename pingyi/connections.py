"""Database connections as the pool hands them out: SQLite's pragmas, and a liveness check
only for a connection that sat idle.

``pool_pre_ping`` costs a round trip at every checkout, on a ballot POST as much as its own
statements. A connection checked in a moment ago on a busy server is as alive as a ping would
show, so only one idle for ``IDLE_PING_AFTER_S`` or longer is pinged: a database restarted
during a quiet spell still costs no request. One restarted under load costs the requests whose
connections were in use then (the ballot page answers them 503, "your code remains valid") and
SQLAlchemy replaces the pool's connections at the first such error.

Behind pgbouncer in transaction mode (PINGYI_DB_PGBOUNCER=1, pingyi.config) the ping runs in
autocommit, so it holds a server connection for that one statement only, and nothing here
keeps session state: the app's locks are transaction-scoped (``pg_advisory_xact_lock``), its
settings ``SET LOCAL``, its scratch tables made and dropped in one transaction.
"""

from __future__ import annotations

import time

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

IDLE_PING_AFTER_S = 2.0


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_conn, _record) -> None:
    """SQLite enforces foreign keys (our composite tenant keys) only when asked, and overwrites
    deleted rows (the mixer's ballot box) only with ``secure_delete``."""
    if type(dbapi_conn).__module__.startswith("sqlite3"):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA secure_delete=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()


def ping_when_idle(engine: Engine, after_s: float = IDLE_PING_AFTER_S) -> None:
    """Check a server connection before use when it sat in the pool ``after_s`` or longer (a
    dead one is replaced before the request sees it, like ``pool_pre_ping``)."""
    if engine.dialect.name == "sqlite":  # a file does not restart under us
        return
    pool, dialect = engine.pool, engine.dialect

    def rested(_dbapi_conn, record) -> None:
        record.info["idle_since"] = time.monotonic()

    def checkout(dbapi_conn, record, _proxy) -> None:
        if time.monotonic() - record.info.get("idle_since", 0.0) < after_s:
            return
        try:
            dialect.do_ping(dbapi_conn)
        except dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(str(exc)) from exc  # the pool discards it and connects anew

    event.listen(pool, "connect", rested)
    event.listen(pool, "checkin", rested)
    event.listen(pool, "checkout", checkout)
