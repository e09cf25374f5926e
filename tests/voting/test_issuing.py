"""Bulk issuing: the job, its files (CSV, Excel, QR slip PDF), download-once, revocation,
retry after a failure, and the command line."""

from __future__ import annotations

import csv
import io
import json
import re

import openpyxl
import pypdfium2
import pytest
import zxingcpp
from sqlalchemy import func, select

from pingyi.campaigns import lifecycle as cp
from pingyi.campaigns import questionnaire as q
from pingyi.extensions import db
from pingyi.models import BallotToken, Job, Unit
from pingyi.tenancy import tenant_context
from pingyi.voting import tokens
from tests import clock, servers
from tests.factories import login

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted


def _campaign(app, world) -> tuple[int, int]:
    with app.app_context(), tenant_context(world.a.id):
        c = cp.create_campaign("发放测试", clock.wall(-1), clock.wall(18, 18))
        cp.add_subjects_bulk(c, "unit", db.session.get(Unit, world.a.root), q.copy_template("seed002-org"), ["branch"])
        k = cp.set_categories(c, [{"name": "单位参评人员"}, {"name": "全评参评人员", "scope": "group",
                                                              "group_unit_id": world.a.root}])[0]
        db.session.commit()
        return c.id, k.id


def _issue(client, cid, kid, root, count, kinds=("branch",)):
    r = client.post(f"/t/alpha/campaigns/{cid}/links", data={"category_id": kid, "unit_id": root, "count": count,
                                                             "unit_kinds": list(kinds)}, follow_redirects=True)
    return r


def _files(page: str) -> dict[str, str]:
    return {m.group(2): m.group(1) for m in re.finditer(r'href="(/t/alpha/jobs/\d+/files/\d+)">[^<]*\.(\w+)<', page)}


@pytest.fixture(autouse=True)
def _font():
    servers.require("font")


def test_issue_for_every_branch_with_files(app, world):
    cid, kid = _campaign(app, world)
    c = app.test_client()
    login(c, world.a.admin)
    page = _issue(c, cid, kid, world.a.root, 15).text
    assert "已生成 30 个测评码（2 个单位），PDF 共 3 页。" in page and 'value="100"' in page
    files = _files(page)
    assert set(files) == {"csv", "xlsx", "pdf"}
    rows = list(csv.reader(io.StringIO(c.get(files["csv"]).data.decode("utf-8-sig"))))
    assert rows[0] == ["单位", "参评类别", "序号", "测评链接", "短码"] and len(rows) == 31
    assert {r[0] for r in rows[1:]} == {"公司党委/一矿党委/采煤一队党支部", "公司党委/机关党支部"}
    assert sorted(int(r[2]) for r in rows[1:] if r[0].endswith("机关党支部")) == list(range(1, 16))
    # a link from the file opens the ballot page; its short code opens the same link
    url, code = rows[1][3], rows[1][4]
    assert c.get(url.replace("http://localhost", "")).status_code == 403  # the campaign is still a draft: 未开始
    ws = openpyxl.load_workbook(io.BytesIO(c.get(files["xlsx"]).data)).active
    assert [cell.value for cell in ws[1]] == ["单位", "参评类别", "序号", "测评链接", "短码"] and ws.max_row == 31
    pdf = pypdfium2.PdfDocument(c.get(files["pdf"]).data)
    assert len(pdf) == 3
    image = pdf[0].render(scale=2).to_pil()
    decoded = sorted(r.text for r in zxingcpp.read_barcodes(image))
    assert len(decoded) == 12 and set(decoded) <= {r[3] for r in rows[1:]}
    text = pdf[0].get_textpage().get_text_range()
    assert "采煤一队党支部" in text and code in text and re.search(r"No\.00(0[1-9]|1[0-5])", text)
    # each file downloads once: the secrets are not kept
    again = c.get(files["csv"], follow_redirects=True)
    assert "已下载过" in again.text
    with app.app_context(), tenant_context(world.a.id):
        assert db.session.execute(select(func.count()).select_from(BallotToken)).scalar() == 30
        hashes = set(db.session.execute(select(BallotToken.secret_hash)).scalars())
    assert not any(url.rsplit("/", 1)[1] in h for h in hashes)


def test_slips_are_in_a_random_order_within_each_unit(app, world):
    """三重随机: the CSV, the Excel and the PDF list the slips in one hand-out order, which is not
    the serial order: each unit's slips together, within the unit a random permutation of all
    the links issued there."""
    cid, kid = _campaign(app, world)
    c = app.test_client()
    login(c, world.a.admin)
    files = _files(_issue(c, cid, kid, world.a.root, 24).text)
    rows = list(csv.reader(io.StringIO(c.get(files["csv"]).data.decode("utf-8-sig"))))[1:]
    units = [r[0] for r in rows]
    assert units == sorted(units, key=units.index) and len(set(units)) == 2  # each unit's slips together
    with app.app_context(), tenant_context(world.a.id):
        issued = set(db.session.execute(select(BallotToken.short_hash)).scalars())
    assert {tokens.short_hash(tokens.normalize_code(r[4])) for r in rows} == issued and len(rows) == 48
    orders = []
    for unit in set(units):
        serials = [int(r[2]) for r in rows if r[0] == unit]
        assert sorted(serials) == list(range(1, 25))
        assert serials != sorted(serials)  # by chance: 1 in 24! (6e23)
        orders.append(serials)
    assert orders[0] != orders[1]  # not one fixed permutation
    sheet = openpyxl.load_workbook(io.BytesIO(c.get(files["xlsx"]).data)).active
    assert [[str(v) for v in row] for row in sheet.iter_rows(min_row=2, values_only=True)] == rows
    # the PDF's first page holds the first 12 slips, in reading order
    page = pypdfium2.PdfDocument(c.get(files["pdf"]).data)[0]
    found = sorted(zxingcpp.read_barcodes(page.render(scale=2).to_pil()), key=lambda r: r.position.top_left.y)
    lines = [sorted(found[i:i + 3], key=lambda r: r.position.top_left.x) for i in range(0, 12, 3)]  # 3 a row
    assert [r.text for line in lines for r in line] == [r[3] for r in rows[:12]]


def test_serials_continue_and_revocation(app, world):
    cid, kid = _campaign(app, world)
    c = app.test_client()
    login(c, world.a.admin)
    _issue(c, cid, kid, world.a.branch, 3, kinds=())
    page = _issue(c, cid, kid, world.a.branch, 2, kinds=()).text
    rows = list(csv.reader(io.StringIO(c.get(_files(page)["csv"]).data.decode("utf-8-sig"))))
    assert sorted(r[2] for r in rows[1:]) == ["4", "5"]
    r = c.post(f"/t/alpha/campaigns/{cid}/links", data={"op": "revoke", "short_code": rows[1][4].lower()},
               follow_redirects=True)
    assert "已作废 1 个测评码" in r.text
    r = c.post(f"/t/alpha/campaigns/{cid}/links", data={"op": "revoke", "unit_id": world.a.branch, "serial": "1"},
               follow_redirects=True)
    assert "已作废 1 个测评码" in r.text
    r = c.post(f"/t/alpha/campaigns/{cid}/links", data={"op": "revoke", "unit_id": world.a.branch},
               follow_redirects=True)
    assert "已作废 3 个测评码" in r.text
    r = c.post(f"/t/alpha/campaigns/{cid}/links", data={"op": "revoke", "short_code": "bad"}, follow_redirects=True)
    assert "短码格式不正确" in r.text
    with app.app_context(), tenant_context(world.a.id):
        live = db.session.execute(select(func.count()).select_from(BallotToken)
                                  .where(BallotToken.revoked_at.is_(None))).scalar()
    assert live == 0


def test_failed_job_shows_error_and_retry_issues_exactly_once(app, world, monkeypatch):
    from pingyi.voting import slips

    cid, kid = _campaign(app, world)
    c = app.test_client()
    login(c, world.a.admin)
    real = slips.render

    def broken(*args, **kwargs):
        raise OSError("磁盘已满")

    monkeypatch.setattr(slips, "render", broken)
    page = _issue(c, cid, kid, world.a.root, 5).text
    assert "任务失败：磁盘已满" in page
    with app.app_context(), tenant_context(world.a.id):
        job = db.session.execute(select(Job).order_by(Job.id.desc())).scalars().first()
        job_id = job.id
        assert job.state == "failed" and job.error == "磁盘已满"
        partial = db.session.execute(select(func.count()).select_from(BallotToken)).scalar()
    assert partial == 10  # committed in chunks before the PDF step failed
    monkeypatch.setattr(slips, "render", real)
    page = c.post(f"/t/alpha/jobs/{job_id}/retry", follow_redirects=True).text
    assert "已生成 10 个测评码" in page
    with app.app_context(), tenant_context(world.a.id):
        assert db.session.execute(select(func.count()).select_from(BallotToken)).scalar() == 10
        serials = sorted(db.session.execute(select(BallotToken.serial)).scalars())
        assert db.session.get(Job, job_id).attempts == 2
    assert serials == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_bad_issue_requests(app, world):
    cid, kid = _campaign(app, world)
    c = app.test_client()
    login(c, world.a.admin)
    assert "数量应在 1 到 1000" in _issue(c, cid, kid, world.a.root, 0).text
    assert "没有这些类型的单位" in _issue(c, cid, kid, world.a.branch, 5, kinds=("committee",)).text
    viewer = app.test_client()
    login(viewer, world.a.viewer)
    assert _issue(viewer, cid, kid, world.a.root, 5).status_code == 403


def test_links_issue_command(app, world, tmp_path):
    from pingyi.cli import main

    cid, _kid = _campaign(app, world)
    out, pdf = tmp_path / "links.csv", tmp_path / "slips.pdf"
    r = app.test_cli_runner().invoke(main, ["links", "issue", "--tenant", "alpha", "--campaign", str(cid),
                                            "--category", "单位参评人员", "--unit", "公司党委", "--each", "branch",
                                            "--count", "4", "--out", str(out), "--pdf", str(pdf)])
    assert r.exit_code == 0, r.output
    assert "已发放 8 个测评码（2 个单位）" in r.output
    assert len(out.read_bytes().decode("utf-8-sig").splitlines()) == 9
    assert len(pypdfium2.PdfDocument(str(pdf))) == 1
    r = app.test_cli_runner().invoke(main, ["links", "issue", "--tenant", "alpha", "--campaign", str(cid),
                                            "--category", "无此类别", "--unit", "公司党委", "--count", "4",
                                            "--out", str(out)])
    assert r.exit_code == 1 and "没有参评人员类别" in r.output


@pytest.mark.slow
def test_bench_links_prints_one_json_line(app):
    from pingyi.cli import main

    r = app.test_cli_runner().invoke(main, ["bench", "links", "--count", "240", "--per-unit", "24"])
    assert r.exit_code == 0, r.output
    figures = json.loads(r.output.strip().splitlines()[-1])
    assert figures["links"] == 240 and figures["pdf_pages"] == 20 and figures["seconds"] > 0
    assert {"links_s", "tables_s", "pdf_s", "store_s", "peak_mb"} <= set(figures)


def test_slips_come_in_parts_of_whole_units_and_the_parts_keep_the_hand_out_order(app, world, monkeypatch,
                                                                                   tmp_path):
    """A big batch's PDF is cut into parts (the PDF library holds a file's every page until it
    is written): each part at most PDF_PART_SLIPS slips, ending at a unit's end where it can;
    read one after the other they are the CSV's order."""
    from pingyi.cli import main
    from pingyi.voting import issuing

    assert issuing.pdf_parts(list("aaabbbbcc"), 4) == [(0, 3), (3, 7), (7, 9)]
    assert issuing.pdf_parts(list("aaaaaaaaab"), 4) == [(0, 4), (4, 8), (8, 10)]  # a unit beyond the bound
    assert issuing.pdf_parts([], 4) == [] and issuing.pdf_parts(list("ab"), 4) == [(0, 2)]
    monkeypatch.setattr(issuing, "PDF_PART_SLIPS", 12)
    cid, kid = _campaign(app, world)
    c = app.test_client()
    login(c, world.a.admin)
    page = _issue(c, cid, kid, world.a.root, 7).text  # 2 units × 7: parts of 7 and 7 (not 12 and 2)
    parts = re.findall(r'href="(/t/alpha/jobs/\d+/files/\d+)">([^<]*第(\d)册\.pdf)<', page)
    assert [n for _u, _name, n in parts] == ["1", "2"]
    rows = list(csv.reader(io.StringIO(c.get(_files(page)["csv"]).data.decode("utf-8-sig"))))[1:]
    read = []
    for url, _name, _n in parts:
        pdf = pypdfium2.PdfDocument(c.get(url).data)
        assert len(pdf) == 1
        found = sorted(zxingcpp.read_barcodes(pdf[0].render(scale=2).to_pil()),
                       key=lambda r: (round(r.position.top_left.y / 50), r.position.top_left.x))
        read.append([r.text for r in found])
    assert [len(x) for x in read] == [7, 7] and read[0] + read[1] == [r[3] for r in rows]
    # the command line writes the parts beside the name it was given
    pdf = tmp_path / "slips.pdf"
    r = app.test_cli_runner().invoke(main, ["links", "issue", "--tenant", "alpha", "--campaign", str(cid),
                                            "--category", "单位参评人员", "--unit", "公司党委", "--each", "branch",
                                            "--count", "9", "--out", str(tmp_path / "links.csv"), "--pdf", str(pdf)])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in tmp_path.glob("*.pdf")) == ["slips-1.pdf", "slips-2.pdf"]


def test_files_nobody_downloaded_expire_and_the_page_says_so(app, world):
    """Job files live in the database; the worker's maintenance drops those older than
    JOB_FILE_KEEP_DAYS that were never downloaded (a link list nobody collected is a secret
    lying about), keeps a running job's input, and the job's page says what happened."""
    from datetime import timedelta

    from pingyi import jobs
    from pingyi.models import JobFile, utcnow
    from pingyi.tenancy import unscoped

    cid, kid = _campaign(app, world)
    c = app.test_client()
    login(c, world.a.admin)
    page = _issue(c, cid, kid, world.a.root, 3).text
    files = _files(page)
    c.get(files["csv"])  # downloaded: gone at once, and said so
    with app.app_context():
        with tenant_context(world.a.id):
            job_id = db.session.execute(select(Job.id)).scalars().first()
            busy = jobs.create("import_people", {})
            jobs.add_input(busy, "people.xlsx", b"input")
            db.session.commit()
        now = utcnow()
        assert jobs.expire_files(now) == 0  # nothing is old yet
        later = now + timedelta(days=app.config["JOB_FILE_KEEP_DAYS"], minutes=1)
        assert jobs.expire_files(later) == 2  # the xlsx and the pdf; the running job's input stays
        with unscoped():
            held = dict(db.session.execute(select(JobFile.name, JobFile.held)).all())
        assert held.pop("people.xlsx") is True and len(held) == 3 and not any(held.values())
    job_page = c.get(f"/t/alpha/jobs/{job_id}").text
    assert job_page.count('data-testid="expired"') == 2 and "已于" in job_page
    assert "已删除" in c.get(files["pdf"], follow_redirects=True).text


def test_a_file_beyond_the_bound_fails_the_job_with_the_reason(app, world):
    from pingyi import jobs

    with app.app_context(), tenant_context(world.a.id):
        job = jobs.create("report", {})
        app.config["JOB_FILE_MAX_MB"] = 1
        with pytest.raises(jobs.DomainError, match="超过 1 MB"):
            jobs.add_file(job, "big.pdf", "application/pdf", b"x" * (1024 * 1024 + 1))
        assert jobs.add_file(job, "fits.pdf", "application/pdf", b"x" * (1024 * 1024)).size == 1024 * 1024
