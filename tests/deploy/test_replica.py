"""A real streaming replica (``pg_basebackup -R`` of a private primary, a hot standby on another
loopback port): ballots, the closing tally and every write go to the primary only; reports made
from the replica equal those made from the primary; the results pages and the public page read
there, within the tenant's scope; a write inside ``replica_reads`` is a clear error; a replica
that lags or stops hands the reads back to the primary.

One test, one pair of clusters: the parts depend on each other's data, and a module fixture
would be built once per xdist worker."""

from __future__ import annotations

import io
import threading
import time

import docx
import openpyxl
import psycopg
import pytest
from sqlalchemy import event, select, update

from pingyi.extensions import db
from pingyi.models import Campaign, JobFile, Subject
from pingyi.replica import ReplicaWriteError, on_replica, replica_reads
from pingyi.reports import registry
from pingyi.results import live
from pingyi.tenancy import tenant_context, tenant_sql
from tests.ballot_world import build, close_and_count, vote
from tests.conftest import _migrate, make_app
from tests.factories import build_world, login
from tests.replica import StreamingPair

REPORTS = (("tally", "xlsx"), ("opinions", "xlsx"), ("summary", "docx"), ("rollup", "xlsx"))


def _schema(primary) -> None:
    with psycopg.connect(primary.url(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE pingyi")
    _migrate(primary.url("pingyi"))


@pytest.fixture
def pair():
    p = StreamingPair(on_primary=_schema)  # the schema is made during the base backup and streams over
    try:
        yield p
    finally:
        p.close()


class Statements:
    """Every statement each engine of ``app`` sends, as (engine, SQL)."""

    def __init__(self, app) -> None:
        self.seen: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        with app.app_context():
            for name, engine in (("primary", db.engine), ("replica", db.engines["replica"])):
                event.listen(engine, "before_cursor_execute", self._recorder(name))

    def _recorder(self, name: str):
        def record(_conn, _cursor, statement, *_args) -> None:
            with self.lock:
                self.seen.append((name, statement))
        return record

    def on(self, name: str) -> list[str]:
        with self.lock:
            return [s for n, s in self.seen if n == name]

    def clear(self) -> None:
        with self.lock:
            self.seen.clear()


def reads_only(statements: list[str]) -> bool:
    return all(s.lstrip().split(None, 1)[0].upper() in ("SELECT", "WITH") for s in statements)


def content(fmt: str, data: bytes):
    """What a report says (cells, paragraphs, table cells), without the file's own timestamps."""
    if fmt == "xlsx":
        wb = openpyxl.load_workbook(io.BytesIO(data))
        return [(ws.title, list(ws.iter_rows(values_only=True))) for ws in wb.worksheets]
    d = docx.Document(io.BytesIO(data))
    return ([p.text for p in d.paragraphs],
            [[[cell.text for cell in row.cells] for row in t.rows] for t in d.tables])


def reports(app, tenant_id: int, campaign_id: int) -> dict:
    with app.app_context(), tenant_context(tenant_id):
        c = db.session.get(Campaign, campaign_id)
        return {kind: content(fmt, registry.make(c, kind, fmt)[2]) for kind, fmt in REPORTS}


def wait_received(pair: StreamingPair, timeout: float = 20) -> None:
    """Until the standby has received (not necessarily replayed) all the primary's WAL."""
    with psycopg.connect(pair.primary.url(), autocommit=True) as conn:
        target = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    deadline = time.monotonic() + timeout
    with psycopg.connect(pair.standby.url(), autocommit=True) as conn:
        while not conn.execute("SELECT pg_last_wal_receive_lsn() >= %s::pg_lsn", (target,)).fetchone()[0]:
            assert time.monotonic() < deadline, "the standby receives no WAL"
            time.sleep(0.05)


def campaign_name(app, tenant_id: int, campaign_id: int) -> tuple[bool, str]:
    """(read on the replica?, the campaign's name as read there)."""
    with app.app_context(), tenant_context(tenant_id), replica_reads():
        return on_replica(), db.session.execute(select(Campaign.name).where(Campaign.id == campaign_id)).scalar_one()


def test_reads_that_opt_in_are_served_by_a_streaming_replica(pair):
    primary_url, standby_url = pair.primary.url("pingyi"), pair.standby.url("pingyi")
    app = make_app(("postgresql", primary_url), DATABASE_REPLICA_URL=standby_url, REPLICA_CHECK_INTERVAL=0)
    primary_only = make_app(("postgresql", primary_url))
    sql = Statements(app)
    try:
        # ballots, the closing job (box, reshuffle, full recount) and every write: the primary only
        with app.app_context():
            world = build_world()
            bw = build(world, links=6)
            vote(world, bw, bw.own, (0, 1, 0, 2, 3, 0), comment="食堂饭菜要改进")
            vote(world, bw, bw.group, (1, 0))
            close_and_count(world, bw)
        a, cid = world.a.id, bw.campaign_id
        assert sql.on("primary") and sql.on("replica") == []
        pair.caught_up()

        # the reports: the same from the replica as from the primary; their reads all went there
        sql.clear()
        from_replica = reports(app, a, cid)
        replica_reads_seen = sql.on("replica")
        assert any("tally_counts" in s for s in replica_reads_seen) and reads_only(replica_reads_seen)
        assert from_replica == reports(primary_only, a, cid)
        assert from_replica["tally"][0][0] == "汇总" and len(from_replica["tally"][0][1]) > 3
        assert any("食堂饭菜要改进" in str(row) for _title, rows in from_replica["opinions"] for row in rows)

        # a report job: reads on the replica, its state and its file written to the primary
        sql.clear()
        with app.app_context(), tenant_context(a):
            job = registry.submit(db.session.get(Campaign, cid), "tally", "xlsx", run_here=True)
            assert job.state == "done", job.error
            data = db.session.execute(select(JobFile.data).where(JobFile.job_id == job.id)).scalar_one()
        assert content("xlsx", data) == from_replica["tally"]
        assert any("tally_counts" in s for s in sql.on("replica")) and reads_only(sql.on("replica"))
        assert any(s.lstrip().startswith("INSERT INTO job_files") for s in sql.on("primary"))

        # the results pages and the public page read on the replica, in the tenant's scope
        client = app.test_client()
        login(client, world.a.admin)
        with app.app_context(), tenant_context(a):
            subject_id = db.session.execute(select(Subject.id).where(Subject.campaign_id == cid)).scalars().first()
        for path in (f"/t/alpha/campaigns/{cid}/results", f"/t/alpha/campaigns/{cid}/results/subjects",
                     f"/t/alpha/campaigns/{cid}/results/subjects/{subject_id}"):
            sql.clear()
            r = client.get(path)
            assert r.status_code == 200, (path, r.text[:300])
            assert any("tally" in s for s in sql.on("replica")) and reads_only(sql.on("replica")), path
        other = app.test_client()
        login(other, world.b.admin)
        assert other.get(f"/t/beta/campaigns/{cid}/results").status_code == 404  # alpha's, read on the replica
        with app.app_context(), tenant_context(a):
            from pingyi.campaigns import lifecycle

            lifecycle.transition(db.session.get(Campaign, cid), "publish")
            db.session.commit()
        pair.caught_up()
        sql.clear()
        r = client.get(f"/p/alpha/{cid}")
        assert r.status_code == 200 and "测试评议" in r.text
        assert any("tally" in s for s in sql.on("replica")) and reads_only(sql.on("replica"))
        with app.app_context(), replica_reads():
            assert on_replica()
            with tenant_context(world.b.id):
                assert db.session.execute(select(Campaign)).scalars().all() == []
                assert db.session.get(Campaign, cid) is None
            with tenant_context(a):
                assert db.session.execute(select(Campaign.id)).scalars().all() == [cid]

        # a write inside replica_reads is refused before it leaves the app, however it is made
        with app.app_context(), tenant_context(a):
            c = db.session.get(Campaign, cid)
            with pytest.raises(ReplicaWriteError, match=r"write inside replica_reads\(\): Campaign changed"), \
                    replica_reads():
                c.description = "改写"
                db.session.flush()
            db.session.rollback()
            with pytest.raises(ReplicaWriteError, match="UPDATE campaigns"), replica_reads():
                db.session.execute(update(Campaign).where(Campaign.id == cid).values(description="改写"))
            with pytest.raises(ReplicaWriteError, match="DELETE FROM tally_counts"), replica_reads():
                tenant_sql("DELETE FROM tally_counts WHERE tenant_id = :tenant_id")
            db.session.rollback()
        with psycopg.connect(standby_url, autocommit=True) as conn, \
                pytest.raises(psycopg.errors.ReadOnlySqlTransaction):  # and the standby would refuse it
            conn.execute("DELETE FROM tally_counts")
        # a transaction that has written reads its own writes: on the primary
        with app.app_context(), tenant_context(a):
            db.session.get(Campaign, cid).description = "改写"
            db.session.flush()
            with replica_reads():
                assert not on_replica()
                assert db.session.execute(select(Campaign.description)).scalar_one() == "改写"
            db.session.rollback()
            with replica_reads():
                assert on_replica()
                assert db.session.execute(select(Campaign.description)).scalar_one() == ""

        # a replica behind by more than REPLICA_MAX_LAG is passed over: the newest figures come
        # from the primary (and, told to wait longer, the replica shows what it has replayed)
        with psycopg.connect(standby_url, autocommit=True) as conn:
            conn.execute("SELECT pg_wal_replay_pause()")
            paused = time.monotonic()
            with primary_only.app_context(), tenant_context(a):
                db.session.get(Campaign, cid).name = "测试评议（更正）"
                db.session.commit()
            wait_received(pair)
            deadline = time.monotonic() + 20  # replay stops before the new WAL's first record
            while conn.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()[0] != "paused":
                assert time.monotonic() < deadline, "replay did not pause"
                time.sleep(0.05)
            time.sleep(max(0.0, 0.8 - (time.monotonic() - paused)))
            app.config["REPLICA_MAX_LAG"] = 0.5
            assert campaign_name(app, a, cid) == (False, "测试评议（更正）")
            app.config["REPLICA_MAX_LAG"] = 3600
            assert campaign_name(app, a, cid) == (True, "测试评议")
            conn.execute("SELECT pg_wal_replay_resume()")
        pair.caught_up()
        assert campaign_name(app, a, cid) == (True, "测试评议（更正）")

        # a replica that stops: the pages read from the primary
        pair.standby.stop()
        assert campaign_name(app, a, cid) == (False, "测试评议（更正）")
        sql.clear()
        assert client.get(f"/t/alpha/campaigns/{cid}/results").status_code == 200
        assert any("tally" in s for s in sql.on("primary"))
    finally:
        for each in (app, primary_only):
            live.drain(each)
            with each.app_context():
                db.session.remove()
                for engine in db.engines.values():
                    engine.dispose()


def test_without_a_replica_reads_stay_on_the_primary_and_writes_still_raise(ctx, world):
    """The rule is checked wherever the code runs (SQLite too), not only where a replica is."""
    with tenant_context(world.a.id):
        bw = build(world, links=1)
        c = db.session.get(Campaign, bw.campaign_id)
        with replica_reads():
            assert not on_replica()
            assert db.session.execute(select(Campaign.id)).scalars().all() == [bw.campaign_id]
            with replica_reads():  # nested: the outer block decides
                assert not on_replica()
        with pytest.raises(ReplicaWriteError, match="Campaign changed"), replica_reads():
            c.description = "改写"
            db.session.flush()
        db.session.rollback()
        c.description = "改写"  # a change made before the block is written as the block starts
        with replica_reads():
            assert db.session.execute(select(Campaign.description)).scalar_one() == "改写"
        db.session.rollback()


def test_a_replica_needs_a_postgresql_primary(tmp_path):
    from pingyi.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="DATABASE_REPLICA_URL needs a PostgreSQL DATABASE_URL"):
        load_config(str(tmp_path), {"DATABASE_URL": "sqlite:///" + str(tmp_path / "x.sqlite3"),
                                    "DATABASE_REPLICA_URL": "postgresql://replica/pingyi"})
    cfg = load_config(str(tmp_path), {"DATABASE_URL": "postgresql://primary/pingyi",
                                      "DATABASE_REPLICA_URL": "postgresql://replica/pingyi"})
    replica = cfg["SQLALCHEMY_BINDS"]["replica"]
    assert replica["url"] == "postgresql+psycopg://replica/pingyi"
    assert replica["pool_size"] == cfg["SQLALCHEMY_ENGINE_OPTIONS"]["pool_size"]
