"""Oversight (下级督导): a county over two subordinate companies. The index shows each
subordinate's campaigns with live turnout and, once published, the stored totals; the roll-up
page of a published campaign shows unit figures only; the cross-tenant 汇总报告 (xlsx, pdf) is a
job of the county whose figures equal the stored runs. Unpublished or foreign campaigns answer
404 and queue nothing; siblings and unrelated tenants see none of the county's pages."""

from __future__ import annotations

import io
import re
from fractions import Fraction
from pathlib import Path

import openpyxl
import pypdfium2
import pytest
from sqlalchemy import func, select

from pingyi.campaigns import lifecycle as cp
from pingyi.extensions import db
from pingyi.models import Campaign, Job, JobFile, TallyRun
from pingyi.org import accounts
from pingyi.results import rollup
from pingyi.results.tally import percent
from pingyi.tenancy import tenant_context
from tests.ballot_world import build, cast, close, published_campaign, vote
from tests.factories import PASSWORD, build_tenant, login

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted

ARTIFACTS = Path(__file__).parents[1] / "artifacts"


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _publish(tenant_id: int, campaign_id: int) -> None:
    close(tenant_id, campaign_id, publish=True)


def _run(tenant_id: int, campaign_id: int) -> rollup.Figures:
    with tenant_context(tenant_id):
        return rollup.Figures.of(db.session.execute(
            select(TallyRun).where(TallyRun.campaign_id == campaign_id)).scalar_one())


def _jobs(tenant_id: int) -> int:
    with tenant_context(tenant_id):
        return db.session.execute(select(func.count()).select_from(Job)).scalar_one()


@pytest.fixture
def county(app, world):
    """The county over alpha (from the world) and gamma (built here); beta stays unrelated.
    Alpha runs the open ballot-world campaign (2 of 9 links used, a comment on each ballot);
    gamma has one published campaign."""
    with app.app_context():
        gamma = build_tenant("gamma", "丙公司", "county")
        viewer = accounts.create_user("viewer@county.test", PASSWORD)
        accounts.grant(accounts.tenant_by_slug("county"), viewer, "viewer")
        db.session.commit()
        bw = build(world)
        cast(bw.own[:2], (0, 3), comment="食堂排队太久")
        gamma_cid = published_campaign(gamma, "丙公司评议")
        county_id = accounts.tenant_by_slug("county").id
    return {"world": world, "bw": bw, "gamma": gamma, "gamma_cid": gamma_cid, "county_id": county_id}


def test_index_shows_live_turnout_and_published_totals(app, county, client):
    world, bw, gamma = county["world"], county["bw"], county["gamma"]
    login(client, world.county_admin)
    page = _text(client.get("/t/county/oversight/").text)
    # alpha's campaign is open: live turnout only, no totals and no roll-up link yet
    assert re.search(r"甲公司 测试评议 进行中 22\.2% 2/9 尚未公布结果", page), page
    assert f"/t/county/oversight/alpha/campaigns/{bw.campaign_id}" not in client.get("/t/county/oversight/").text
    with app.app_context():
        f = _run(gamma.id, county["gamma_cid"])
    assert re.search(rf"丙公司 丙公司评议 已公布 {re.escape(percent(f.turnout))} 3/6 \S+ \S+ "
                     rf"{re.escape(percent(f.coverage))} {f.valid} {re.escape(percent(f.satisfied_share))} — 按组织汇总",  # — : no 整改台账 items
                     page), page
    assert "乙公司" not in page  # beta is not under the county
    assert "食堂排队太久" not in page  # never a subordinate's comments
    # the same figures the stored run holds: 3 ballots × 5 items, one of them 不满意 everywhere
    assert (f.used, f.issued, f.valid, f.satisfied_share) == (3, 6, 15, Fraction(2, 3))


def test_roll_up_page_404_before_publish_and_for_non_subordinates(app, county, client):
    world, bw = county["world"], county["bw"]
    with app.app_context():
        beta_cid = published_campaign(world.b, "乙公司评议")
    login(client, world.county_admin)
    url = f"/t/county/oversight/alpha/campaigns/{bw.campaign_id}"
    assert client.get(url).status_code == 404  # open, not published
    assert client.post(url + "/reports", data={"format": "xlsx"}).status_code == 404
    assert client.get(f"/t/county/oversight/beta/campaigns/{beta_cid}").status_code == 404  # not a subordinate
    assert client.get(f"/t/county/oversight/alpha/campaigns/{beta_cid}").status_code == 404  # beta's id under alpha
    assert client.get("/t/county/oversight/nope/campaigns/1").status_code == 404
    with app.app_context():
        _publish(world.a.id, bw.campaign_id)
        f = _run(world.a.id, bw.campaign_id)
        with tenant_context(world.a.id):
            subtrees = rollup.stored_subtrees(bw.campaign_id)
    r = client.get(url)
    assert r.status_code == 200
    page = _text(r.text)
    assert f"{percent(f.turnout)} 参评率（{f.used} / {f.issued}）" in page
    root = subtrees[world.a.root]
    assert re.search(rf"公司党委 {re.escape(percent(root.coverage))} {root.rated}/{root.subjects} "
                     rf"{re.escape(percent(root.turnout))} {root.used}/{root.issued} {root.valid} "
                     rf"{re.escape(percent(root.satisfied_share))}", page), page
    assert "机关党支部" in page and "采煤一队党支部" not in page  # depth ≤ 1 by default
    assert "采煤一队党支部" in client.get(url + "?depth=all").text
    assert "食堂排队太久" not in r.text
    # scope "tenant" (the default): no link to the publication page; "oversight": a link that opens
    assert 'data-testid="publication-link"' not in r.text
    with app.app_context(), tenant_context(world.a.id):
        c = db.session.get(Campaign, bw.campaign_id)
        cp.set_publication(c, "oversight", None, True)
        db.session.commit()
    r = client.get(url)
    link = re.search(r'href="([^"]+)" data-testid="publication-link"', r.text).group(1)
    assert link == f"/p/alpha/{bw.campaign_id}"
    assert "食堂排队太久" in client.get(link).text  # the subordinate chose to publish its opinions to oversight


def test_siblings_and_strangers_cannot_see_the_county_pages(app, county):
    world, gamma = county["world"], county["gamma"]
    url = f"/t/county/oversight/gamma/campaigns/{county['gamma_cid']}"
    for email in (world.a.admin, world.b.admin, gamma.admin):
        client = app.test_client()
        login(client, email)
        for path in ("/t/county/oversight/", url):
            assert client.get(path).status_code == 404, (email, path)
        assert client.post("/t/county/oversight/reports", data={"format": "xlsx"}).status_code == 404
        # nor a sibling's roll-up through its own slug
        assert client.get(f"/t/{email.split('@')[1].split('.')[0]}/oversight/gamma/campaigns/"
                          f"{county['gamma_cid']}").status_code == 404
    with app.app_context():
        assert _jobs(county["county_id"]) == 0


def test_county_viewer_reads_but_cannot_start_reports(app, county):
    client = app.test_client()
    login(client, "viewer@county.test")
    url = f"/t/county/oversight/gamma/campaigns/{county['gamma_cid']}"
    assert client.get("/t/county/oversight/").status_code == 200
    assert client.get(url).status_code == 200
    assert 'data-testid="report-xlsx"' not in client.get(url).text
    assert client.post("/t/county/oversight/reports", data={"format": "xlsx"}).status_code == 403
    assert client.post(url + "/reports", data={"format": "pdf"}).status_code == 403
    with app.app_context():
        assert _jobs(county["county_id"]) == 0


def _file(client, location: str, county_id: int) -> tuple[str, bytes]:
    assert "/t/county/jobs/" in location, location
    job_id = int(location.rstrip("/").rsplit("/", 1)[1])
    page = client.get(location).text
    assert "已完成" in page, _text(page)
    with client.application.app_context(), tenant_context(county_id):
        f = db.session.execute(select(JobFile).where(JobFile.job_id == job_id)).scalar_one()
        file_id, name = f.id, f.name
    r = client.get(f"/t/county/jobs/{job_id}/files/{file_id}")
    assert r.status_code == 200
    return name, r.data


def _sheet_rows(data: bytes) -> tuple[openpyxl.worksheet.worksheet.Worksheet, dict[str, dict]]:
    ws = openpyxl.load_workbook(io.BytesIO(data))["汇总"]
    header = [c.value for c in ws[3]]
    rows = {}
    for row in ws.iter_rows(min_row=4, values_only=True):
        if row[1]:
            rows[(row[0] or "").strip("　") + "|" + row[1]] = dict(zip(header, row, strict=True))
    return ws, rows


def _assert_row(row: dict, f: rollup.Figures) -> None:
    assert (row["评议对象"], row["已评价"], row["有效测评码"], row["已参评"], row["有效回答"]) == \
        (f.subjects, f.rated, f.issued, f.used, f.valid)
    for column, share in (("覆盖率", f.coverage), ("参评率", f.turnout), ("满意率", f.satisfied_share)):
        if share is None:
            assert row[column] is None, column  # nothing to divide by: an empty cell, not 0%
        else:
            assert abs(row[column] - float(share)) < 1e-12, column


def test_roll_up_reports_through_the_job_route(app, county, client):
    world, bw, gamma = county["world"], county["bw"], county["gamma"]
    with app.app_context():
        _publish(world.a.id, bw.campaign_id)
        alpha_f, gamma_f = _run(world.a.id, bw.campaign_id), _run(gamma.id, county["gamma_cid"])
        with tenant_context(world.a.id):
            alpha_units = rollup.stored_subtrees(bw.campaign_id)
    login(client, world.county_admin)
    assert 'data-testid="report-pdf"' in client.get("/t/county/oversight/").text
    r = client.post("/t/county/oversight/reports", data={"format": "xlsx"})
    assert r.status_code == 302
    name, data = _file(client, r.location, county["county_id"])
    assert name.endswith("汇总报告.xlsx")
    ws, rows = _sheet_rows(data)
    assert ws.freeze_panes == "B4"
    assert [c.value for c in ws[3]] == ["单位", "评议活动", "评议对象", "已评价", "覆盖率", "有效测评码", "已参评",
                                        "参评率", "有效回答", "满意率"]
    assert ws.cell(4, 5).number_format == "0.0%"
    _assert_row(rows["甲公司（合计）|测试评议"], alpha_f)
    _assert_row(rows["丙公司（合计）|丙公司评议"], gamma_f)
    _assert_row(rows["机关党支部|测试评议"], alpha_units[world.a.other_branch])  # depth 1
    assert "采煤一队党支部|测试评议" not in rows  # depth 2: not in the cross-tenant report
    assert not any("乙公司" in k for k in rows)

    r = client.post("/t/county/oversight/reports", data={"format": "pdf"})
    name, data = _file(client, r.location, county["county_id"])
    assert name.endswith(".pdf") and data.startswith(b"%PDF")
    pdf = pypdfium2.PdfDocument(data)
    text = "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    for label in ("县委 下级单位评议汇总报告", "甲公司（合计）", "丙公司（合计）", "满意率", "参评率", "机关党支部"):
        assert label in text, label
    for f in (alpha_f, gamma_f):
        assert re.search(rf"{f.subjects}\s+{f.rated}\s+{re.escape(percent(f.coverage))}\s+{f.issued}\s+{f.used}\s+"
                         rf"{re.escape(percent(f.turnout))}\s+{f.valid}\s+{re.escape(percent(f.satisfied_share))}",
                         text), text
    ARTIFACTS.mkdir(exist_ok=True)
    pdf[0].render(scale=1.5).to_pil().save(ARTIFACTS / "rollup-page1.png")

    # one campaign: only that campaign's rows
    r = client.post(f"/t/county/oversight/gamma/campaigns/{county['gamma_cid']}/reports", data={"format": "xlsx"})
    _name, data = _file(client, r.location, county["county_id"])
    _ws, rows = _sheet_rows(data)
    assert {k.split("|")[1] for k in rows} == {"丙公司评议"}
    _assert_row(rows["丙公司（合计）|丙公司评议"], gamma_f)


def test_unpublished_campaign_report_is_404_and_queues_nothing(app, county, client):
    world, bw = county["world"], county["bw"]
    with app.app_context(), tenant_context(world.a.id):
        closed = db.session.get(Campaign, bw.campaign_id)
        cp.transition(closed, "close")
        db.session.commit()
    login(client, world.county_admin)
    r = client.post(f"/t/county/oversight/alpha/campaigns/{bw.campaign_id}/reports", data={"format": "pdf"})
    assert r.status_code == 404
    r = client.post(f"/t/county/oversight/gamma/campaigns/{bw.campaign_id + 999}/reports", data={"format": "pdf"})
    assert r.status_code == 404
    with app.app_context():
        assert _jobs(county["county_id"]) == 0
        # the job itself refuses a source that is not a subordinate's published campaign
        from pingyi.reports import rollup_report

        with tenant_context(county["county_id"]):
            for source in ({"tenant_id": world.a.id, "campaign_id": bw.campaign_id},  # closed, not published
                           {"tenant_id": world.b.id, "campaign_id": 1},  # not a subordinate
                           {"tenant_id": "x"}):
                with pytest.raises(LookupError):
                    rollup_report.make("xlsx", None, source)


def test_own_campaign_roll_up_has_every_depth(app, world, client):
    """Through the admin's report route: kind "rollup" of one campaign, the unit tree to the leaves."""
    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:2], (0, 1))
        _publish(world.a.id, bw.campaign_id)
        f = _run(world.a.id, bw.campaign_id)
        with tenant_context(world.a.id):
            branch = rollup.stored_subtrees(bw.campaign_id)[world.a.branch]
    login(client, world.a.admin)
    r = client.post(f"/t/alpha/campaigns/{bw.campaign_id}/reports", data={"kind": "rollup", "format": "xlsx"})
    assert r.status_code == 302 and "/t/alpha/jobs/" in r.location
    job_id = int(r.location.rstrip("/").rsplit("/", 1)[1])
    assert "已完成" in client.get(r.location).text
    with app.app_context(), tenant_context(world.a.id):
        file_id = db.session.execute(select(JobFile.id).where(JobFile.job_id == job_id)).scalar_one()
    _ws, rows = _sheet_rows(client.get(f"/t/alpha/jobs/{job_id}/files/{file_id}").data)
    _assert_row(rows["甲公司（合计）|测试评议"], f)
    _assert_row(rows["采煤一队党支部|测试评议"], branch)
