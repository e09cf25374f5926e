"""`pingyi doctor` (issue 18 item 9): run with a production host's environment against the real
PostgreSQL and Redis, it passes what is there and fails, naming the setting or the command, what
is missing — no worker on the queues until a real `pingyi worker` listens, the embedded SQLite,
a schema one migration behind, a Redis nobody answers on, a setting that stops the start.
Exit 1 on a FAIL, 0 otherwise; --json parses; no password or secret key is ever printed."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from redis import Redis
from sqlalchemy.engine import make_url

from pingyi import create_app
from pingyi.cli import main
from pingyi.extensions import db
from tests import servers
from tests.conftest import _migrate, empty_database

SECRET = "doctor-" + secrets.token_urlsafe(40)
PASSWORD = "pw-" + secrets.token_hex(8)  # in DATABASE_URL: the local PostgreSQL trusts, and ignores it


@pytest.fixture(autouse=True)
def bare_environment(monkeypatch):
    """Only what each test sets: none of this shell's PINGYI_* settings, keys or URLs."""
    for name in list(os.environ):
        if (name.startswith("PINGYI_") and not name.startswith("PINGYI_TEST_")) or name in (
                "SECRET_KEY", "SECRET_KEY_FALLBACKS", "DATABASE_URL", "DATABASE_REPLICA_URL", "REDIS_URL"):
            monkeypatch.delenv(name)


def _with_password(url: str) -> tuple[str, str]:
    u = make_url(url)
    password = u.password or PASSWORD
    return u.set(password=password).render_as_string(hide_password=False), password


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """A scratch PostgreSQL database at the migrations' head: its URL, with a password."""
    with empty_database("postgresql", tmp_path_factory.mktemp("doctor")) as url:
        _migrate(url)
        yield _with_password(url)


@pytest.fixture
def prefix():
    """Queues of this test's own; their keys are deleted afterwards."""
    servers.require("redis")
    name = f"pingyi_test_{secrets.token_hex(4)}_"
    yield name
    r = Redis.from_url(servers.REDIS_URL)
    for key in r.scan_iter(f"*{name}*"):
        r.delete(key)


def production(url: str, **more: str) -> dict[str, str]:
    """A production host's environment, as deploy/pingyi.env.example and docs/deploy.md set it."""
    return {"PINGYI_ENV": "production", "SECRET_KEY": SECRET, "DATABASE_URL": url,
            "PINGYI_TRUSTED_PROXIES": "1", "PINGYI_PUBLIC_BASE_URL": "https://pingyi.example.cn",
            "PINGYI_LOG_FORMAT": "json", **more}


def doctor(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["doctor", *args], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout


def checks(env: dict[str, str]) -> tuple[int, dict[str, dict], str]:
    """Exit code, the --json checks by name, and the JSON text."""
    code, out = doctor(env, "--json")
    data = json.loads(out)
    assert data["ok"] == (code == 0)
    return code, {c["name"]: c for c in data["checks"]}, out


def statuses(found: dict[str, dict]) -> dict[str, str]:
    return {name: c["status"] for name, c in found.items()}


def failing(found: dict[str, dict]) -> set[str]:
    return {name for name, c in found.items() if c["status"] == "FAIL"}


def no_secrets(*outputs: str, password: str = PASSWORD) -> None:
    for out in outputs:
        assert password not in out and SECRET not in out


def _start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    with open(log_path, "w") as log:
        return subprocess.Popen([sys.executable, "-m", "pingyi.cli", "worker"],
                                env={**os.environ, **env, "PINGYI_WORKER_MAINTENANCE_INTERVAL": "1"},
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def test_a_production_host_passes_once_a_worker_listens_on_every_queue(migrated, prefix, tmp_path):
    url, password = migrated
    env = production(url, REDIS_URL=servers.REDIS_URL, PINGYI_RQ_PREFIX=prefix)
    code, found, as_json = checks(env)
    assert code == 1
    must_pass = ("config", "environment", "secret_key", "database_url", "database", "migrations", "pgbouncer",
                 "replica", "redis", "rate_limits", "proxies", "base_url", "log_format")
    assert {n: statuses(found)[n] for n in must_pass} == dict.fromkeys(must_pass, "ok")
    assert "PostgreSQL" in found["database"]["detail"] and found["migrations"]["detail"].startswith("在最新版本")
    fonts = set() if servers.available("font") else {"fonts"}
    assert failing(found) == {"workers", "scheduler"} | fonts  # Redis answers, nobody takes the jobs
    assert "pingyi worker" in found["workers"]["fix"] and "tally 0 个" in found["workers"]["detail"]
    code, text = doctor(env)
    assert code == 1 and "FAIL  后台任务进程：" in text and text.splitlines()[-1].startswith("共 ")
    no_secrets(as_json, text, password=password)

    log_path = tmp_path / "worker.log"
    worker = _start_worker(env, log_path)
    try:
        deadline = time.monotonic() + 90
        while failing(found) - fonts:
            assert worker.poll() is None and time.monotonic() < deadline, (
                f"doctor still fails {failing(found)}\n{log_path.read_text()[-2000:]}")
            time.sleep(0.5)
            code, found, as_json = checks(env)
        assert code == (1 if fonts else 0)
        assert statuses(found)["workers"] == statuses(found)["scheduler"] == "ok"
        assert all(f"{q} 1 个" in found["workers"]["detail"] for q in ("tally", "reports", "bulk", "default"))
        code, text = doctor(env)
        assert code == (1 if fonts else 0) and "ok    后台任务进程：" in text
        no_secrets(as_json, text, password=password)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)


def test_a_database_one_migration_behind_fails_naming_the_upgrade(tmp_path):
    from alembic.script import ScriptDirectory
    from flask_migrate import upgrade

    with empty_database("postgresql", tmp_path) as url:
        app = create_app({"DATABASE_URL": url, "TESTING": True})
        with app.app_context():
            script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
            (head,) = script.get_heads()
            before = script.get_revision(head).down_revision
            upgrade(revision=before)
            db.engine.dispose()
        code, found, _ = checks(production(url))
        assert code == 1
        assert found["database"]["status"] == "ok"
        migrations = found["migrations"]
        assert migrations["status"] == "FAIL" and "pingyi db upgrade" in migrations["fix"]
        assert before in migrations["detail"] and head in migrations["detail"]
        code, text = doctor(production(url))
        assert code == 1 and "FAIL  数据库迁移：" in text and "pingyi db upgrade" in text


def test_the_embedded_sqlite_fails_naming_database_url(tmp_path):
    url = f"sqlite:///{tmp_path}/pingyi.sqlite3"
    _migrate(url)
    code, found, _ = checks(production(url))
    assert code == 1
    check = found["database_url"]
    assert check["status"] == "FAIL" and "DATABASE_URL" in check["detail"] and "DATABASE_URL=postgresql://" in check["fix"]
    # the file itself answers and is migrated: only its kind is wrong
    assert (found["database"]["status"], found["migrations"]["status"]) == ("ok", "ok")
    assert "pgbouncer" not in found and found["redis"]["status"] == "FAIL"  # no REDIS_URL: jobs in-process
    code, text = doctor(production(url))
    assert code == 1 and "FAIL  数据库地址：DATABASE_URL 是 sqlite" in text


def test_a_redis_nobody_answers_on_fails_and_its_dependants_are_skipped(migrated):
    url, password = migrated
    redis_password = "redis-" + secrets.token_hex(8)
    port = servers.free_port()  # nothing listens there
    env = production(url, REDIS_URL=f"redis://:{redis_password}@127.0.0.1:{port}/0")
    started = time.monotonic()
    code, found, as_json = checks(env)
    assert time.monotonic() - started < 15
    assert code == 1 and failing(found) <= {"redis", "fonts"} and "redis" in failing(found)
    assert f"127.0.0.1:{port}" in found["redis"]["detail"] and "REDIS_URL" in found["redis"]["fix"]
    assert {statuses(found)[n] for n in ("redis_memory", "workers", "scheduler")} == {"skip"}
    code, text = doctor(env)
    assert code == 1 and "FAIL  Redis：" in text
    no_secrets(as_json, text, password=password)
    no_secrets(as_json, text, password=redis_password)


def test_a_setting_that_stops_the_start_is_a_failed_check(tmp_path):
    short = "short-" + secrets.token_hex(4)
    env = {"PINGYI_ENV": "production", "SECRET_KEY": short, "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"}
    code, found, as_json = checks(env)
    assert code == 1 and found["config"]["status"] == "FAIL" and "SECRET_KEY" in found["config"]["detail"]
    assert set(found) == {"config", "fonts"}  # nothing else can be asked without the app
    code, text = doctor(env)
    assert code == 1 and text.startswith("FAIL  配置：") and short not in text and short not in as_json
    code, text = doctor({"PINGYI_ENV": "prod"})
    assert code == 1 and "PINGYI_ENV='prod'" in text


def test_a_replica_that_is_not_a_standby_fails(migrated):
    url, password = migrated
    code, found, as_json = checks(production(url, DATABASE_REPLICA_URL=url))
    assert code == 1
    assert found["replica"]["status"] == "FAIL" and "pg_is_in_recovery" in found["replica"]["detail"]
    no_secrets(as_json, password=password)


def test_pgbouncer_is_recognised_and_the_setting_matched(migrated):
    url, _password = migrated
    bouncer = servers.PgBouncer()
    bouncer.start()
    try:
        through = bouncer.url(make_url(url).database)
        _, found, _ = checks(production(through))
        assert found["database"]["status"] == "ok" and found["migrations"]["status"] == "ok"
        assert found["pgbouncer"]["status"] == "warn" and "PINGYI_DB_PGBOUNCER=1" in found["pgbouncer"]["fix"]
        _, found, _ = checks(production(through, PINGYI_DB_PGBOUNCER="1"))
        assert found["pgbouncer"]["status"] == "ok"
    finally:
        bouncer.close()
    _, found, _ = checks(production(url, PINGYI_DB_PGBOUNCER="1"))  # direct, with the setting on
    assert found["pgbouncer"]["status"] == "warn" and "PINGYI_DB_PGBOUNCER" in found["pgbouncer"]["fix"]


def test_a_streaming_replica_is_checked_for_recovery_and_lag():
    """A real hot standby (tests/replica.py): current → ok; replay paused behind the primary's
    writes → warn naming the lag; stopped → warn (its reads go to the primary)."""
    import psycopg

    from tests.replica import StreamingPair

    def schema(primary) -> None:
        with psycopg.connect(primary.url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE pingyi")
        _migrate(primary.url("pingyi"))

    pair = StreamingPair(on_primary=schema)
    try:
        pair.caught_up()
        env = production(pair.primary.url("pingyi"), DATABASE_REPLICA_URL=pair.standby.url("pingyi"))
        _, found, _ = checks(env)
        assert (found["database"]["status"], found["migrations"]["status"]) == ("ok", "ok")
        assert found["replica"]["status"] == "ok" and "热备库" in found["replica"]["detail"], found["replica"]
        with psycopg.connect(pair.standby.url("pingyi"), autocommit=True) as standby:
            standby.execute("SELECT pg_wal_replay_pause()")
            with psycopg.connect(pair.primary.url("pingyi"), autocommit=True) as primary:
                primary.execute("CREATE TABLE doctor_probe (x int)")
            deadline = time.monotonic() + 20
            while not standby.execute("SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()").fetchone()[0]:
                assert time.monotonic() < deadline, "the standby neither received the write nor paused"
                time.sleep(0.05)
            time.sleep(0.6)
            # 0.5 s for the paused replay only: the primary's background WAL (a standby snapshot
            # every 15 s) may leave any standby that far behind for a moment
            _, found, _ = checks({**env, "PINGYI_REPLICA_MAX_LAG": "0.5"})
            assert found["replica"]["status"] == "warn" and "落后" in found["replica"]["detail"], found["replica"]
            assert "PINGYI_REPLICA_MAX_LAG=0.5" in found["replica"]["detail"]
            standby.execute("SELECT pg_wal_replay_resume()")
        pair.standby.stop()
        _, found, _ = checks(env)
        assert found["replica"]["status"] == "warn" and "未应答" in found["replica"]["detail"]
        assert "replica" not in failing(found)  # the app reads the primary meanwhile
    finally:
        pair.close()
