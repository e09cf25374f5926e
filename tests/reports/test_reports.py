"""The 统计表 workbook: made by a report job from the stored tally and checked cell by cell
against the tally; refusals are clear and queue nothing; the command line makes the same file."""

from __future__ import annotations

import io
from fractions import Fraction as F

import openpyxl
import pytest
from sqlalchemy import select

from pingyi.cli import main
from pingyi.extensions import db
from pingyi.models import Job, JobFile, Subject, TallyRun
from pingyi.results import tally
from pingyi.tenancy import tenant_context
from tests.ballot_world import build, close_and_count, vote
from tests.factories import login

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted


def _workbook(client, job_id: int) -> openpyxl.Workbook:
    page = client.get(f"/t/alpha/jobs/{job_id}").text
    assert "已完成" in page and "统计表.xlsx" in page
    with client.application.app_context(), tenant_context(client.application.config["_tenant"]):
        f = db.session.execute(select(JobFile).where(JobFile.job_id == job_id)).scalar_one()
        file_id = f.id
    r = client.get(f"/t/alpha/jobs/{job_id}/files/{file_id}")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    return openpyxl.load_workbook(io.BytesIO(r.data))


def test_tally_workbook_matches_the_stored_tally(app, world, client):
    app.config["_tenant"] = world.a.id
    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:3], (0, 1, 3))
        vote(world, bw, bw.group[:1], (2,))
        close_and_count(world, bw)  # result reports are refused while open (tests/web/test_live_results_pages.py)
    login(client, world.a.admin)
    r = client.post(f"/t/alpha/campaigns/{bw.campaign_id}/reports", data={"kind": "tally", "format": "xlsx"})
    assert r.status_code == 302 and "/jobs/" in r.location
    job_id = int(r.location.rstrip("/").rsplit("/", 1)[1])
    wb = _workbook(client, job_id)
    assert wb.sheetnames[0] == "汇总" and len(wb.sheetnames) == 3  # summary + the org and member forms
    summary = wb["汇总"]
    assert summary.freeze_panes == "B4"
    header = [c.value for c in summary[3]]
    root = [c.value for c in summary[4]]
    with app.app_context(), tenant_context(world.a.id):
        run = db.session.execute(select(TallyRun)).scalar_one()
        result, _kinds = tally.stored_result(bw.campaign_id)
        branch_subject = db.session.execute(select(Subject).where(
            Subject.campaign_id == bw.campaign_id, Subject.kind == "unit", Subject.unit_id == world.a.branch)
        ).scalar_one()
        label, form_id = branch_subject.label, branch_subject.form_id
    assert root[0] == "公司党委"
    figures = dict(zip(header, root, strict=True))
    assert (figures["有效回答"], figures["满意（含比较满意）"], figures["已参评"], figures["有效测评码"]) == \
        (run.valid, run.satisfied, 4, 9)
    assert abs(figures["满意率"] - float(F(run.satisfied, run.valid))) < 1e-12
    sheet = next(ws for ws in wb.worksheets[1:] if any(c.value == label for c in ws["A"]))
    assert sheet.freeze_panes == "B3"
    row = next(r for r in sheet.iter_rows(min_row=3, values_only=True) if r[0] == label)
    totals = dict(zip([c.value for c in sheet[2]], row, strict=True))  # last two columns: 合计
    subject_figures = result.by_subject[branch_subject.id]
    assert row[-2] == subject_figures.total == 4 * 5  # 4 ballots × 5 org items
    assert abs(row[-1] - float(subject_figures.satisfied_share)) < 1e-12 and totals["有效回答"] == row[-2]
    # first item: 满意 1, 比较满意 1, 不太满意 1, 不满意 1 → 50%
    assert list(row[2:7]) == [1, 1, 1, 1, 0.5]
    assert form_id


def test_refusals_queue_nothing(app, world, client):
    with app.app_context():
        bw = build(world)
    login(client, world.a.admin)
    r = client.post(f"/t/alpha/campaigns/{bw.campaign_id}/reports", data={"kind": "tally", "format": "xlsx"},
                    follow_redirects=True)
    assert "尚未统计" in r.text  # no tally yet
    r = client.post(f"/t/alpha/campaigns/{bw.campaign_id}/reports", data={"kind": "nonsense", "format": "xlsx"},
                    follow_redirects=True)
    assert "暂不支持该报表" in r.text
    with app.app_context(), tenant_context(world.a.id):
        assert db.session.execute(select(Job).where(Job.kind == "report")).first() is None
    client.post("/logout")
    login(client, world.a.viewer)
    assert client.post(f"/t/alpha/campaigns/{bw.campaign_id}/reports",
                       data={"kind": "tally", "format": "xlsx"}).status_code == 403


def test_report_command(app, world, tmp_path):
    from pingyi.cli import main

    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:2], (0, 3))
        close_and_count(world, bw)
    out = tmp_path / "统计表.xlsx"
    r = app.test_cli_runner().invoke(main, ["report", "--tenant", "alpha", "--campaign", str(bw.campaign_id),
                                            "--kind", "tally", "--format", "xlsx", "--out", str(out)])
    assert r.exit_code == 0, r.output
    wb = openpyxl.load_workbook(out)
    assert wb["汇总"]["A4"].value == "公司党委"
    r = app.test_cli_runner().invoke(main, ["report", "--tenant", "alpha", "--campaign", str(bw.campaign_id),
                                            "--kind", "summary", "--format", "xlsx", "--out", str(tmp_path / "x.pdf")])
    assert r.exit_code == 1 and "暂不支持该报表" in r.output and not (tmp_path / "x.pdf").exists()
    r = app.test_cli_runner().invoke(main, ["report", "--tenant", "beta", "--campaign", str(bw.campaign_id),
                                            "--out", str(tmp_path / "y.xlsx")])
    assert r.exit_code == 1 and not (tmp_path / "y.xlsx").exists()  # another tenant's campaign id


def test_rollup_report_from_the_command_line(app, world, tmp_path):
    """A tenant's own campaign through its tree, and the county's report of its subordinates'
    published campaigns — empty until the campaign is published."""
    from pingyi.campaigns import lifecycle as cp
    from pingyi.models import Campaign

    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:3], (0, 1, 3))
        close_and_count(world, bw)
        with tenant_context(world.a.id):
            run = db.session.execute(select(TallyRun)).scalar_one()
            totals = (run.subjects, run.used, run.valid)

    def report(*args: str):
        out = tmp_path / f"r{len(list(tmp_path.iterdir()))}.xlsx"
        r = app.test_cli_runner().invoke(main, ["report", *args, "--kind", "rollup", "--format", "xlsx",
                                                "--out", str(out)])
        assert r.exit_code == 0, r.output
        return [row for row in openpyxl.load_workbook(out)["汇总"].iter_rows(min_row=4, values_only=True) if row[1]]

    own = report("--tenant", "alpha", "--campaign", str(bw.campaign_id))
    assert own[0][1] == "测试评议" and (own[0][2], own[0][6], own[0][8]) == totals
    assert len(own) > 3  # every depth of the tree
    assert report("--tenant", "county") == []  # closed, not published: nothing leaves alpha
    with app.app_context(), tenant_context(world.a.id):
        cp.transition(db.session.get(Campaign, bw.campaign_id), "publish")
        db.session.commit()
    county = report("--tenant", "county")
    assert (county[0][2], county[0][6], county[0][8]) == totals and "甲公司" in county[0][0]


def test_tally_workbook_counts_the_rectification_ledger_per_subtree(app, world):
    """Once a campaign has a 整改台账, the 汇总 sheet counts its items per unit subtree: all,
    finished (done or verified) and overdue today."""
    from datetime import timedelta

    from pingyi.models import Campaign, User, utcnow
    from pingyi.rectification import ledger
    from pingyi.reports import tally_table

    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:2], (0, 1))
        close_and_count(world, bw)
        with tenant_context(world.a.id):
            c = db.session.get(Campaign, bw.campaign_id)
            plain = openpyxl.load_workbook(io.BytesIO(tally_table.workbook(c)))["汇总"]
            assert "整改事项" not in [cell.value for cell in plain[3]]  # no ledger, no columns
            admin = db.session.execute(select(User).where(User.email == world.a.admin)).scalar_one()
            actor, month_ago = ledger.Actor(admin.id, admin.email, "admin"), utcnow() - timedelta(days=30)
            day = ledger.local_today(month_ago, c.timezone)
            done, late = (ledger.create_item(c, ledger.Draft(p, u, day + timedelta(days=10)), actor, "opinion",
                                             now=month_ago)
                          for p, u in (("已整改的问题", world.a.branch), ("逾期的问题", world.a.other_branch)))
            ledger.transition(done, "in_progress", actor, now=month_ago)
            ledger.transition(done, "done", actor, now=month_ago + timedelta(days=5))
            db.session.commit()
            ws = openpyxl.load_workbook(io.BytesIO(tally_table.workbook(c)))["汇总"]
    header = [cell.value for cell in ws[3]]
    rows = {r[0].strip("　"): dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=4, values_only=True)}
    counts = {name: (r["整改事项"], r["已完成（含已验收）"], r["逾期未完成"]) for name, r in rows.items()}
    assert counts["公司党委"] == (2, 1, 1) and counts["采煤一队党支部"] == (1, 1, 0) and counts["机关党支部"] == (1, 0, 1)
