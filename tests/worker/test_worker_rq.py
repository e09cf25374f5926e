"""The production path: with REDIS_URL set, jobs go through RQ (JSON serializer) to a real
`pingyi worker` process against a real Redis, on queues of this test's own."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import select

from pingyi.extensions import db
from pingyi.models import BallotToken, Job, JobFile, TallyRun, Unit
from pingyi.tenancy import tenant_context
from tests import clock, servers


def _burst(app, database, queue: str) -> None:
    """Run a real `pingyi worker --burst` on ``queue`` (this test's prefix) until it is empty."""
    env = {**os.environ, "DATABASE_URL": database[1], "REDIS_URL": servers.REDIS_URL,
           "PINGYI_RQ_PREFIX": app.config["RQ_PREFIX"], "SECRET_KEY": "test"}
    done = subprocess.run([sys.executable, "-m", "pingyi.cli", "worker", "--burst", "--queues", queue],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def test_issue_job_runs_on_a_real_rq_worker(rq_app, world, database):
    from pingyi.campaigns import lifecycle as cp
    from pingyi.voting import issuing

    servers.require("font")
    app = rq_app
    with app.app_context(), tenant_context(world.a.id):
        c = cp.create_campaign("队列测试", clock.wall(-1), clock.wall(18, 18))
        k = cp.set_categories(c, [{"name": "群众"}])[0]
        db.session.commit()
        job = issuing.submit_issue(c, k, db.session.get(Unit, world.a.root), ["branch"], 6, "http://h")
        job_id = job.id
        assert job.state == "queued"  # queued on Redis, not run in this process
    _burst(app, database, "bulk")
    with app.app_context(), tenant_context(world.a.id):
        job = db.session.get(Job, job_id)
        assert (job.state, job.result["links"], job.attempts) == ("done", 12, 1), job.error
        names = sorted(f.name.rsplit(".", 1)[1] for f in db.session.execute(
            select(JobFile).where(JobFile.job_id == job_id)).scalars())
        assert names == ["csv", "pdf", "xlsx"]
        assert len(db.session.execute(select(BallotToken)).scalars().all()) == 12


def test_wait_runs_here_even_with_redis_configured(rq_app, world):
    """`pingyi tally --wait` must not hand its job to a worker that may not be running."""
    from pingyi.campaigns import lifecycle as cp
    from pingyi.cli import main

    with rq_app.app_context(), tenant_context(world.a.id):
        c = cp.create_campaign("等待", clock.wall(-1), clock.wall(18, 18))
        db.session.commit()
        cid = c.id
    r = rq_app.test_cli_runner().invoke(main, ["tally", "--tenant", "alpha", "--campaign", str(cid), "--wait"])
    assert r.exit_code == 0 and "第 1 次统计，0 张票" in r.output, r.output
    r = rq_app.test_cli_runner().invoke(main, ["tally", "--tenant", "alpha", "--campaign", str(cid)])
    assert r.exit_code == 0 and "（queued）" in r.output


def test_report_jobs_run_on_a_real_rq_worker(rq_app, world, database):
    """Every campaign report kind through the reports queue on a real worker process; a report
    asked of an untallied campaign is refused before anything is queued."""
    import io

    import openpyxl
    import pypdfium2
    from docx import Document

    from pingyi.models import Campaign
    from pingyi.reports import registry as reports
    from pingyi.results import tally
    from tests.ballot_world import build, close_and_count, vote

    servers.require("font")
    app = rq_app
    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:2], (0, 3), comment="建议多开展培训")
        close_and_count(world, bw)  # result reports wait for the close; the closing job is queued
    _burst(app, database, "tally")
    with app.app_context(), tenant_context(world.a.id):
        c = db.session.get(Campaign, bw.campaign_id)
        jobs = {(k, f): reports.submit(c, k, f).id for k, f in
                (("tally", "xlsx"), ("opinions", "xlsx"), ("summary", "docx"), ("summary", "pdf"),
                 ("rollup", "pdf"))}
        assert {db.session.get(Job, i).state for i in jobs.values()} == {"queued"}
        subjects = db.session.execute(select(TallyRun.subjects)).scalar_one()
        percent = tally.percent(tally.stored_result(c.id)[0].by_item[
            min(tally.stored_result(c.id)[0].by_item)].satisfied_share)
    _burst(app, database, "reports")
    with app.app_context(), tenant_context(world.a.id):
        files = {}
        for key, job_id in jobs.items():
            job = db.session.get(Job, job_id)
            assert (job.state, job.attempts) == ("done", 1), job.error
            files[key] = db.session.execute(select(JobFile).where(JobFile.job_id == job_id)).scalar_one().data
    assert openpyxl.load_workbook(io.BytesIO(files["tally", "xlsx"]))["汇总"]["B4"].value == subjects
    opinions = openpyxl.load_workbook(io.BytesIO(files["opinions", "xlsx"]))
    assert "建议多开展培训" in [c for n in opinions.sheetnames for r in opinions[n].iter_rows(values_only=True)
                            for c in r]
    assert f"满意率为{percent}" in "".join(p.text for p in Document(io.BytesIO(files["summary", "docx"])).paragraphs)
    pdf = pypdfium2.PdfDocument(files["summary", "pdf"])
    assert f"满意率为{percent}" in "".join(pdf[0].get_textpage().get_text_range().split())
    assert files["rollup", "pdf"].startswith(b"%PDF")
