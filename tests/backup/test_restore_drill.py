"""The restore drill, on SQLite and PostgreSQL: a campaign voted, closed and counted is backed up
(``pingyi backup``), restored into a fresh database, and there a full recount equals the
stored tally cell by cell, a voter's receipt still checks, logins and the tenant scope hold;
the backup holds no ballot secret (links, codes, receipts: only their hashes), not even those of
a link list still waiting to be downloaded; a database with tables is not restored over unless
forced."""

from __future__ import annotations

import re
import subprocess

import pytest
from sqlalchemy import func, select

from pingyi.backup import BackupError, backup, restore
from pingyi.campaigns import lifecycle as cp
from pingyi.cli import main
from pingyi.extensions import db
from pingyi.models import Campaign, Job, JobFile, Unit
from pingyi.results import live, tally
from pingyi.tenancy import TenantScopeError, tenant_context
from pingyi.verification import check
from pingyi.voting import ballots, issuing
from tests import servers
from tests.ballot_world import build, close_and_count, full_answers, vote
from tests.conftest import empty_database, make_app
from tests.factories import login

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted

COMMENT = "食堂饭菜要改进"


@pytest.fixture
def fresh_url(database, tmp_path):
    """An empty database to restore into, of the same kind as the test's."""
    with empty_database(database[0], tmp_path, "restored") as url:
        yield url


def readable(backend: str, path) -> bytes:
    """The backup as bytes a search can read: the SQLite file itself; pg_dump's archive (its
    table data compressed) as the SQL that pg_restore would run (bytea printed as hex)."""
    if backend == "sqlite":
        return path.read_bytes()
    return subprocess.run(["pg_restore", "--file", "-", str(path)], check=True, capture_output=True).stdout


def found(dump: bytes, secret: str) -> bool:
    return secret.encode() in dump or secret.encode().hex().encode() in dump


def test_restore_drill(app, world, database, fresh_url, tmp_path):
    backend, url = database
    if backend == "postgresql":
        servers.require("pg_dump")
    with app.app_context():
        bw = build(world, links=6)
        first = bw.own[0]
        with tenant_context(world.a.id):
            state = ballots.resolve(first.secret)
            subjects = ballots.subjects_for(state.token, state.category)
            receipt = ballots.cast(first.secret, ballots.parse(full_answers(world, bw, first.secret, 0, COMMENT),
                                                               subjects, ballots.forms_of(subjects)))
        vote(world, bw, bw.own[1:], (1, 0, 3, 0, 2), comment=COMMENT)
        vote(world, bw, bw.group, (0, 1))
        with tenant_context(world.a.id):  # a link list made by a job and not downloaded yet
            c = db.session.get(Campaign, bw.campaign_id)
            own = cp.categories(c)[0]
            job = issuing.submit_issue(c, own, db.session.get(Unit, world.a.other_branch), None, 3,
                                       "https://pingyi.example", run_here=True)
            assert job.state == "done", job.error
            job_id = job.id
            listed = db.session.execute(select(JobFile.data).where(JobFile.job_id == job.id,
                                                                  JobFile.mime == "text/csv")).scalar_one()
            waiting = re.findall(r"/b/([A-Za-z0-9_-]{20,})", listed.decode("utf-8-sig"))
            assert len(waiting) == 3
        close_and_count(world, bw)
        with tenant_context(world.a.id):
            c = db.session.get(Campaign, bw.campaign_id)
            assert ballots.check_receipt(c, receipt) == "counted"
            stored = sorted(tally.stored_rows(c.id))
            counted_ballots = tally.stored_run(c.id).ballots
        db.session.remove()
    assert counted_ballots == 8 and stored
    links = bw.own + bw.group + bw.other_branch
    known = [*waiting, *(ln.secret for ln in links), *(ln.short_code for ln in links)]

    out = tmp_path / "pingyi.backup"
    r = app.test_cli_runner().invoke(main, ["backup", "--out", str(out)], catch_exceptions=False)
    assert r.exit_code == 0 and "已备份到" in r.output, r.output
    assert not (tmp_path / "pingyi.backup.part").exists()

    # no link secret in it, only hashes: what the search finds shows it would find the rest (a
    # counted receipt code is there, in the list the 公示 page publishes, apart from its ballot)
    dump = readable(backend, out)
    assert found(dump, ballots.receipt_hash(receipt)) and COMMENT.encode() in dump and found(dump, receipt)
    assert [s for s in known if found(dump, s)] == []
    with_files = tmp_path / "with-files.backup"
    backup(url, with_files, job_files=True)  # the files jobs made, on request: the waiting list's links
    assert all(found(readable(backend, with_files), s) for s in waiting)

    restore(out, fresh_url)
    restored = make_app((backend, fresh_url))
    try:
        with restored.app_context():
            with tenant_context(world.a.id):
                c = db.session.get(Campaign, bw.campaign_id)
                assert sorted(tally.stored_rows(c.id)) == stored
                assert sorted(tally.count_rows(c.id)) == stored  # the answers counted again, cell by cell
                run = tally.recount(c.id)
                db.session.commit()
                assert sorted(tally.stored_rows(c.id)) == stored and run.ballots == counted_ballots
                assert ballots.check_receipt(c, receipt) == "counted"
                report = check.database(c)  # the seal: every ballot's leaf and the digest, as sealed
                assert report.ok and c.seal_digest, report.problems
                assert db.session.execute(select(func.count()).select_from(JobFile)).scalar_one() == 0
                assert db.session.get(Job, job_id).state == "done"  # the job's row is kept, not its files
            with tenant_context(world.b.id):
                assert db.session.get(Campaign, bw.campaign_id) is None
                assert db.session.execute(select(Campaign)).scalars().all() == []
            with pytest.raises(TenantScopeError):
                db.session.execute(select(Campaign)).all()
            db.session.rollback()
        client = restored.test_client()
        page = client.post(f"/p/alpha/{bw.campaign_id}/receipt", data={"code": receipt})
        assert page.status_code == 200 and "已计入" in page.text
        assert client.post(f"/p/beta/{bw.campaign_id}/receipt", data={"code": receipt}).status_code == 404
        login(client, world.a.admin)
        assert client.get(f"/t/alpha/campaigns/{bw.campaign_id}/results").status_code == 200
        assert client.get(f"/t/beta/campaigns/{bw.campaign_id}/results").status_code in (403, 404)
        live.drain(restored)
        with restored.app_context():
            db.session.remove()
            db.engine.dispose()

        # a database with tables is refused, whole, unless forced
        with pytest.raises(BackupError, match="已有"):
            restore(out, fresh_url)
        r = restored.test_cli_runner().invoke(main, ["restore", str(out), "--into", fresh_url])
        assert r.exit_code == 1 and "错误：" in r.output and "--force" in r.output
        restore(out, fresh_url, force=True)
        with restored.app_context(), tenant_context(world.a.id):
            assert sorted(tally.stored_rows(bw.campaign_id)) == stored
    finally:
        with restored.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_backup_goes_back_only_where_it_came_from(tmp_path):
    sqlite_file = tmp_path / "x.backup"
    sqlite_file.write_bytes(b"SQLite format 3\x00" + bytes(100))
    with pytest.raises(BackupError, match="不能恢复到 postgresql"):
        restore(sqlite_file, "postgresql://postgres@127.0.0.1:1/none")
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    with pytest.raises(BackupError, match="不是 pingyi backup 生成的备份文件"):
        restore(other, "sqlite:///" + str(tmp_path / "y.sqlite3"))
    with pytest.raises(BackupError, match="不支持的数据库地址"):
        backup("sqlite://", tmp_path / "z.backup")
