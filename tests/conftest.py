"""Fixtures: every database test runs on SQLite and on a real PostgreSQL database of its own
(``pingyi_test_<random>``, dropped afterwards); the schema comes from the migrations."""

from __future__ import annotations

import io
import logging
import re
import secrets
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from sqlalchemy import text

from pingyi import create_app
from pingyi.extensions import db as _db
from tests import servers

FAST_HASH = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
_notices: set[str] = set()


def pytest_addoption(parser):
    parser.addoption("--clock-shift", type=float, default=0, metavar="DAYS",
                     help="move this process's clock DAYS days ahead (negative: back) for the whole session, "
                          "ticking (fractions allowed: 0.5 is 12 hours); `make test` runs `-m dates` with 548 "
                          "to prove no test date is fixed")


_clock_shift = pytest.StashKey()


def pytest_configure(config):
    """Register the ``dates`` marker; start the clock shift (before collection, so module-level
    dates move too); compile the translation catalogs when stale, so a bare ``pytest`` works too."""
    from pathlib import Path

    config.addinivalue_line("markers", "dates: depends on today's date (campaign windows, publication periods, "
                                       "ballots, the demo); `make test` runs these again with --clock-shift")
    days = config.getoption("clock_shift")
    if days:
        from datetime import UTC, datetime, timedelta

        import time_machine

        # PostgreSQL's now() stays on the real clock, but the app never uses it (every timestamp
        # comes from pingyi.models.utcnow()); subprocesses (worker tests) and Chromium don't move.
        traveller = time_machine.travel(datetime.now(UTC) + timedelta(days=days), tick=True)
        traveller.start()
        config.stash[_clock_shift] = traveller

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in Path(__file__).parent.parent.glob("pingyi/translations/*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as f:
                catalog = read_po(f)
            with mo.open("wb") as f:
                write_mo(f, catalog)


def pytest_unconfigure(config):
    traveller = config.stash.get(_clock_shift, None)
    if traveller is not None:
        traveller.stop()


def pytest_report_header(config):
    days = config.getoption("clock_shift")
    if days:
        from datetime import UTC, datetime

        return f"clock shifted {days:+g} days: now is {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    return None


def pytest_collection_modifyitems(config, items):
    if config.getoption("clock_shift"):
        # RQ schedules by this process's (shifted) clock, a worker process runs on the real one
        real_clock = pytest.mark.skip(reason="--clock-shift moves this process only, not a real RQ worker's clock")
        for item in items:
            if "rq_app" in getattr(item, "fixturenames", ()):
                item.add_marker(real_clock)
    if not servers.IN_CI:
        for what in ("postgresql", "redis", "chromium", "font"):
            if not servers.available(what):
                _notices.add(servers.HINTS[what] % {"postgresql": servers.PG_ADMIN_URL,
                                                    "redis": servers.REDIS_URL,
                                                    "chromium": servers.CHROMIUM, "font": "fontconfig"}[what])


def pytest_terminal_summary(terminalreporter, config):
    if config.getoption("clock_shift"):
        from datetime import UTC, datetime

        terminalreporter.write_line(f"clock shifted {config.getoption('clock_shift'):+g} days: "
                                    f"these tests ran at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    for line in sorted(_notices):
        terminalreporter.write_line(f"NOTICE: skipped tests — {line}")


def _pg_url(dbname: str) -> str:
    return re.sub(r"/[^/]*$", f"/{dbname}", servers.PG_ADMIN_URL)


def _admin_conn():
    return psycopg.connect(servers.PG_ADMIN_URL, autocommit=True)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database(request, tmp_path_factory):
    """A migrated, empty database for the session: (backend name, URL)."""
    backend = request.param
    if backend == "sqlite":
        url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")
        _migrate(url)
        yield backend, url
        return
    servers.require("postgresql")
    name = f"pingyi_test_{secrets.token_hex(6)}"
    with _admin_conn() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _pg_url(name)
    try:
        _migrate(url)
        yield backend, url
    finally:
        with _admin_conn() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def empty_database(backend: str, tmp_path, stem: str = "empty") -> Iterator[str]:
    """An empty, unmigrated database of the test's own (its URL), dropped after: a SQLite file
    in ``tmp_path`` or a ``pingyi_test_<random>`` database on the local PostgreSQL."""
    if backend == "sqlite":
        yield "sqlite:///" + str(Path(tmp_path) / f"{stem}.sqlite3")
        return
    servers.require("postgresql")
    name = f"pingyi_test_{secrets.token_hex(6)}"
    with _admin_conn() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url(name)
    finally:
        with _admin_conn() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_db(request, tmp_path):
    """An empty, unmigrated database of this test's own (URL), for migrating step by step."""
    with empty_database(request.param, tmp_path, "migrate") as url:
        yield url


@contextmanager
def served_app(tmp_dir, secret: str = "browser") -> Iterator[tuple[Flask, str]]:
    """For the browser tests: a migrated SQLite file database, the app on it (fast password
    hashes, jobs in-process), and werkzeug serving it on a free loopback port from a thread —
    ``(app, base URL)``; serving starts at once, so fill the database before the first request.
    Stopped and disposed after."""
    from werkzeug.serving import make_server

    url = "sqlite:///" + str(Path(tmp_dir) / "live.sqlite3")
    _migrate(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": secret, "PASSWORD_HASH_PARAMS": FAST_HASH,
                      "REDIS_URL": None})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        with app.app_context():
            _db.engine.dispose()


def _migrate(url: str) -> None:
    from flask_migrate import upgrade

    app = create_app({"DATABASE_URL": url, "TESTING": True})
    with app.app_context():
        upgrade()
        _db.engine.dispose()


def _wipe() -> None:
    """Empty every table, children first, and restart the ids. DELETE, not TRUNCATE: on the
    few rows a test leaves it is 4× faster on PostgreSQL (TRUNCATE makes new files per table).
    On PostgreSQL without triggers for the transaction: a sealed campaign's rows refuse DELETE."""
    if _db.engine.dialect.name == "postgresql":
        _db.session.execute(text("SET LOCAL session_replication_role = replica"))
    for t in reversed(_db.metadata.sorted_tables):
        _db.session.execute(text(f"DELETE FROM {t.name}"))
    if _db.engine.dialect.name == "postgresql":
        sequences = _db.session.execute(text(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")).scalars().all()
        for name in sequences:
            _db.session.execute(text(f'ALTER SEQUENCE "{name}" RESTART'))
    _db.session.commit()


def make_app(database, **overrides):
    backend, url = database
    config = {"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False,
              "PASSWORD_HASH_PARAMS": FAST_HASH, "SERVER_NAME": None, "REDIS_URL": None}
    config.update(overrides)
    return create_app(config)


@pytest.fixture
def app(database):
    app = make_app(database)
    with app.app_context():
        _wipe()
    yield app
    from pingyi.results import live

    live.drain(app)  # no live tally of this test may run into the next one's data
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def rq_app(database):
    """The production path: REDIS_URL set, queues (and every RQ key) under a prefix of this
    test's own, deleted afterwards."""
    servers.require("redis")
    prefix = f"pingyi_test_{secrets.token_hex(4)}_"
    app = make_app(database, REDIS_URL=servers.REDIS_URL, RQ_PREFIX=prefix)
    yield app
    from redis import Redis

    r = Redis.from_url(servers.REDIS_URL)
    for key in r.scan_iter(f"*{prefix}*"):
        r.delete(key)
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture
def unbatched(app):
    """k = 1 for the mixer: every ballot leaves the sealed box on its own, as soon as it is cast
    (tests of tally mechanics, where batching is beside the point; tests/voting/test_mixing.py
    tests the batches). Also lowers suppression and live results to k = 1."""
    app.config["MIN_CELL"] = 1
    return app


@pytest.fixture
def ctx(app):
    """An app context with a clean session (for domain-level tests)."""
    with app.app_context():
        yield app
        _db.session.rollback()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def world(app):
    """Two tenants with overlapping names (units, people, users' roles) plus oversight: the
    minimum for any test that must prove a cross-tenant read is impossible."""
    from tests.factories import build_world

    with app.app_context():
        w = build_world()
    return w


warnings.filterwarnings("ignore", category=DeprecationWarning, module="flask_babel")


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium through Playwright, one per test module (skipped, or failed under CI,
    without it)."""
    servers.require("chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=servers.CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


@pytest.fixture
def root_log(caplog):
    """A real handler on the root logger, at INFO, as a deployment's logging would have."""
    caplog.set_level(logging.INFO)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logging.getLogger().addHandler(handler)
    yield stream
    logging.getLogger().removeHandler(handler)
