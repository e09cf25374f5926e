"""The summary report (评议工作总结): Word and PDF made by the report job from the stored tally,
checked sentence by sentence and cell by cell against that tally; the narrative the admin
rewrites shows up verbatim in both files and goes back to the generated text when cleared;
refusals are clear and lose nothing; the command line makes the same files."""

from __future__ import annotations

import io
import re
from pathlib import Path

import docx as docxlib
import pypdfium2
import pytest
from sqlalchemy import select

from pingyi.campaigns import lifecycle as cp
from pingyi.extensions import db
from pingyi.models import AuditEvent, Campaign, FormItem, JobFile, TallyRun, Unit
from pingyi.reports import summary
from pingyi.results import dashboard as rs
from pingyi.results import rollup, tally
from pingyi.tenancy import tenant_context
from tests.ballot_world import build, close_and_count, vote
from tests.factories import login

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted

ARTIFACTS = Path(__file__).parents[1] / "artifacts"
EDITED = "本单位将认真梳理群众意见，对满意率偏低的支部逐一约谈，限期整改到位。"


def _flat(text: str) -> str:
    """PDF text comes back with line breaks wherever CJK wrapping cut a line."""
    return re.sub(r"\s+", "", text)


def _voted(app, world):
    """Two branches rated: 采煤一队党支部 50% satisfied, 机关党支部 0% (so rules fire)."""
    app.config["_tenant"] = world.a.id
    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:3], (0, 1, 3))
        vote(world, bw, bw.group[:1], (2,))
        vote(world, bw, bw.other_branch[:1], (3,))
        with tenant_context(world.a.id):
            cp.add_preset(db.session.get(Campaign, bw.campaign_id), "seed001-3")
            db.session.commit()
        close_and_count(world, bw)  # an open campaign's summary holds no figures, and no file is made
    return bw


def _file(client, campaign_id: int, fmt: str) -> bytes:
    """Through the page's button: the report job, its page, its file."""
    r = client.post(f"/t/alpha/campaigns/{campaign_id}/reports", data={"kind": "summary", "format": fmt})
    assert r.status_code == 302 and "/jobs/" in r.location, r.text[:300]
    job_id = int(r.location.rstrip("/").rsplit("/", 1)[1])
    page = client.get(f"/t/alpha/jobs/{job_id}").text
    assert "已完成" in page and f"评议工作总结.{fmt}" in page
    app = client.application
    with app.app_context(), tenant_context(app.config["_tenant"]):
        file_id = db.session.execute(select(JobFile.id).where(JobFile.job_id == job_id)).scalar_one()
    r = client.get(f"/t/alpha/jobs/{job_id}/files/{file_id}")
    assert r.status_code == 200 and r.mimetype == summary_mime(fmt)
    return r.data


def summary_mime(fmt: str) -> str:
    from pingyi.reports.registry import MIME

    return MIME[fmt]


def _docx_text(data: bytes) -> tuple[docxlib.document.Document, str]:
    doc = docxlib.Document(io.BytesIO(data))
    return doc, "\n".join(p.text for p in doc.paragraphs)


def _pdf_text(data: bytes) -> str:
    pdf = pypdfium2.PdfDocument(data)
    return "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))


def _expected(app, world, campaign_id: int):
    """From the stored tally, independently of the summary module: each item's sentence, the
    depth-1 units' figures and the campaign totals."""
    with app.app_context(), tenant_context(world.a.id):
        result, _kinds = tally.stored_result(campaign_id)
        texts = dict(db.session.execute(select(FormItem.id, FormItem.text)
                                        .where(FormItem.id.in_(list(result.by_item)))).all())
        by_text = {texts[i]: f for i, f in result.by_item.items()}
        c = db.session.get(Campaign, campaign_id)
        order = [it.text for it in rs.campaign_results(c).items]
        sentences = [f"{t}满意率为{tally.percent(by_text[t].satisfied_share)}" for t in order]
        subtrees = rollup.stored_subtrees(campaign_id)
        names = dict(db.session.execute(select(Unit.id, Unit.name).where(Unit.depth == 1)).all())
        units = {names[u]: [tally.percent(f.coverage), tally.percent(f.turnout), str(f.valid),
                            tally.percent(f.satisfied_share)] for u, f in subtrees.items() if u in names}
        run = rollup.Figures.of(db.session.execute(select(TallyRun)).scalar_one())
        total = [tally.percent(run.coverage), tally.percent(run.turnout), str(run.valid),
                 tally.percent(run.satisfied_share)]
        generated = {p.key: p.generated for p in summary.paragraphs(c)}
    assert len(sentences) == 8 and len(units) == 2  # 5 org + 3 member items; 一矿党委, 机关党支部
    return sentences, units, total, generated


def _narrative(app, world, campaign_id: int) -> dict:
    with app.app_context(), tenant_context(world.a.id):
        return dict(db.session.get(Campaign, campaign_id).narrative or {})


def test_summary_files_carry_the_stored_tally(app, world, client):
    bw = _voted(app, world)
    sentences, units, total, generated = _expected(app, world, bw.campaign_id)
    login(client, world.a.admin)
    page = client.get(f"/t/alpha/campaigns/{bw.campaign_id}/summary").text
    assert 'value="summary"' in page and 'value="docx"' in page and 'value="pdf"' in page
    assert 'data-testid="make-pdf"' in page and generated["results"] in page

    doc, text = _docx_text(_file(client, bw.campaign_id, "docx"))
    assert doc.paragraphs[0].text == "《测试评议》评议工作总结"
    headings = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert headings == ["一、全面铺开，广泛开展", "二、认真评议，效果明显", "三、评议结果认定", "四、通报情况，落实责任"]
    # §四: one sentence per item, form order (org items, then member items), tally.percent exactly
    assert "全体参评人员对基层党组织" + sentences[0] in text and "全体参评人员对党员" + sentences[5] in text
    positions = [text.index(s) for s in sentences]
    assert positions == sorted(positions)
    # by hand: 采煤一队 满意, 比较满意, 不满意, 不太满意; 机关 不太满意, 不满意 → 2 of 6 satisfied
    assert sentences[0].endswith("满意率为33.3%")
    # §二: the scope figures
    assert "发放测评码9个" in text and "《基层党组织开展创先争优活动群众评议表》9份" in text
    assert "收回评议票5张" in text and f"评议覆盖率为{total[0]}" in text and f"参评率为{total[1]}" in text
    assert "1个党委、2个党支部" in text and "2个基层党组织、2名党员" in text
    # the committee table: depth-1 units, then the total
    committees = doc.tables[0]
    rows = [[c.text for c in r.cells] for r in committees.rows]
    assert rows[0] == ["单位", "覆盖率", "参评率", "回答", "满意率"]
    assert {r[0]: r[1:] for r in rows[1:-1]} == units and rows[-1] == ["合计", *total]
    # verdict lists: 机关党支部 0% → 限期整改 and (不满意 1/2 > 1/3) 基本称职
    verdicts = [t for t in doc.tables[1:] if t.rows[0].cells[0].text == "评议对象"]
    assert len(verdicts) == 2
    assert [c.text for c in verdicts[0].rows[0].cells] == ["评议对象", "回答", "满意率", "不满意率"]
    assert "机关党支部" in [r.cells[0].text for r in verdicts[0].rows]
    assert "属于“限期整改，本年度不得评先评优”情形" in text
    assert len(doc.inline_shapes) == 2  # the item chart and the distribution
    # Word shows Chinese through the East Asian font of the styles
    rfonts = doc.styles["Normal"].element.rPr.rFonts
    assert rfonts.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia") == "宋体"

    pdf_bytes = _file(client, bw.campaign_id, "pdf")
    flat = _flat(_pdf_text(pdf_bytes))
    assert "《测试评议》评议工作总结" in flat and "三、评议结果认定" in flat
    for s in sentences:
        assert s in flat
    assert _flat(generated["scope"]) in flat and _flat(generated["results"]) in flat
    assert "一矿党委" in flat and "机关党支部" in flat

    # a look at the first page: Chinese glyphs, not boxes (tests/artifacts/ is for a human)
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = pypdfium2.PdfDocument(pdf_bytes)
    pdf[0].render(scale=1).to_pil().save(ARTIFACTS / "summary-page1.png")
    assert (ARTIFACTS / "summary-page1.png").stat().st_size > 10_000


def test_edited_paragraph_appears_verbatim_and_clearing_restores_it(app, world, client):
    bw = _voted(app, world)
    *_rest, generated = _expected(app, world, bw.campaign_id)
    login(client, world.a.admin)
    url = f"/t/alpha/campaigns/{bw.campaign_id}/summary"
    r = client.post(url, data={"text-closing": EDITED + "\r\n", "text-scope": generated["scope"],
                               "text-intro": "另写的开头", "reset-intro": "1"})
    assert r.status_code == 302
    assert _narrative(app, world, bw.campaign_id) == {"closing": EDITED}  # unchanged/reset ones are not stored
    page = client.get(url).text
    assert EDITED in page and "已修改" in page
    with app.app_context(), tenant_context(world.a.id):
        event = db.session.execute(select(AuditEvent).where(AuditEvent.object_type == "campaigns",
                                                            AuditEvent.action == "update")
                                   .order_by(AuditEvent.id.desc())).scalars().first()
        assert event is not None and "narrative" in event.detail["changes"] and event.actor_id is not None

    doc, _text = _docx_text(_file(client, bw.campaign_id, "docx"))
    assert EDITED in [p.text for p in doc.paragraphs]
    assert generated["closing"] not in [p.text for p in doc.paragraphs]
    assert EDITED in _flat(_pdf_text(_file(client, bw.campaign_id, "pdf")))

    assert client.post(url, data={"text-closing": "  "}).status_code == 302  # cleared: generated again
    assert _narrative(app, world, bw.campaign_id) == {}
    doc, _text = _docx_text(_file(client, bw.campaign_id, "docx"))
    assert generated["closing"] in [p.text for p in doc.paragraphs] and EDITED not in _text
    flat = _flat(_pdf_text(_file(client, bw.campaign_id, "pdf")))
    assert _flat(generated["closing"]) in flat and EDITED not in flat


def test_bad_input_is_refused_and_loses_nothing(app, world, client):
    bw = _voted(app, world)
    login(client, world.a.admin)
    url = f"/t/alpha/campaigns/{bw.campaign_id}/summary"
    assert client.post(url, data={"text-closing": EDITED}).status_code == 302
    typed = "新写的开头，尚未保存"
    r = client.post(url, data={"text-intro": typed, "text-results": "长" * (summary.MAX_CHARS + 1)})
    assert r.status_code == 200
    assert "段落“认真评议，效果明显”过长：5001 字，最多 5000 字，未保存任何修改" in r.text
    assert typed in r.text  # what was typed stays in the form
    assert _narrative(app, world, bw.campaign_id) == {"closing": EDITED}
    r = client.post(url, data={"text-intro": typed, "text-bogus": "x"})
    assert "未知的段落：bogus" in r.text and typed in r.text
    assert _narrative(app, world, bw.campaign_id) == {"closing": EDITED}
    with app.app_context(), tenant_context(world.a.id):
        c = db.session.get(Campaign, bw.campaign_id)
        with pytest.raises(Exception, match="必须是文字"):
            summary.save_narrative(c, {"intro": 5})
        db.session.rollback()

    client.post("/logout")
    login(client, world.a.viewer)
    page = client.get(url)
    assert page.status_code == 200 and EDITED in page.text and 'data-testid="make-docx"' not in page.text
    assert client.post(url, data={"text-closing": "viewer"}).status_code == 403
    assert client.post(f"/t/alpha/campaigns/{bw.campaign_id}/reports",
                       data={"kind": "summary", "format": "pdf"}).status_code == 403
    assert _narrative(app, world, bw.campaign_id) == {"closing": EDITED}


def test_no_tally_no_files(app, world, client):
    app.config["_tenant"] = world.a.id
    with app.app_context():
        bw = build(world)
    login(client, world.a.admin)
    page = client.get(f"/t/alpha/campaigns/{bw.campaign_id}/summary").text
    assert 'data-testid="no-tally"' in page and 'data-testid="make-docx"' not in page
    r = client.post(f"/t/alpha/campaigns/{bw.campaign_id}/reports", data={"kind": "summary", "format": "docx"},
                    follow_redirects=True)
    assert "尚未统计" in r.text


@pytest.mark.parametrize("fmt", ["docx", "pdf"])
def test_report_command_writes_the_summary(app, world, tmp_path, fmt):
    from pingyi.cli import main

    bw = _voted(app, world)
    sentences, _units, _total, _generated = _expected(app, world, bw.campaign_id)
    out = tmp_path / f"总结.{fmt}"
    r = app.test_cli_runner().invoke(main, ["report", "--tenant", "alpha", "--campaign", str(bw.campaign_id),
                                            "--kind", "summary", "--format", fmt, "--out", str(out)])
    assert r.exit_code == 0, r.output
    text = _docx_text(out.read_bytes())[1] if fmt == "docx" else _flat(_pdf_text(out.read_bytes()))
    for s in sentences:
        assert s in text


def _category_sentences(app, world, campaign_id: int) -> dict[str, str]:
    """Each category's first org-form sentence, from its own cells of the stored tally."""
    with app.app_context(), tenant_context(world.a.id):
        c = db.session.get(Campaign, campaign_id)
        cells = {}
        for (_subject, item, choice, category), n in ((r[:4], r[4]) for r in tally.stored_rows(campaign_id)):
            cells.setdefault(category, []).append((item, choice, n))
        first = rs.campaign_results(c).items[0]
        infos = tally.subject_facts(campaign_id)[1]
        out = {}
        for k in cp.categories(c):
            figures = tally.Figures()
            for item, choice, n in cells.get(k.id, []):
                if item == first.id:
                    figures.add(choice, infos[choice], n)
            out[k.name] = f"{k.name}对基层党组织{first.text}满意率为{tally.percent(figures.satisfied_share)}"
        return out


def test_summary_names_who_gave_each_rate_and_counts_nothing_it_has_no_record_of(unbatched, world):
    """Seed 002's report called pooled rates 员工群众's and counted units as meetings: the pooled
    rate is 全体参评人员's, each category with enough ballots gets its own sentence from its own
    cells, participants are counted per category, and no meeting figure is invented."""
    app = unbatched  # k = 1: every category may be shown on its own
    bw = _voted(app, world)  # 群众: 4 ballots (three 采煤一队, one 机关), 全评: 1
    own = _category_sentences(app, world, bw.campaign_id)
    with app.app_context(), tenant_context(world.a.id):
        c = db.session.get(Campaign, bw.campaign_id)
        text = {p.key: p.generated for p in summary.paragraphs(c)}
    assert "有5人参加了评议活动（其中群众4人、全评1人）" in text["scope"]
    assert "会议" not in text["scope"] and "员工群众" not in text["scope"] + text["results"]
    assert "其中，" + own["群众"] in text["results"] and own["全评"] in text["results"]
    assert own["群众"] != own["全评"]  # 全评's one ballot chose 不太满意 throughout

    app.config["MIN_CELL"] = 3  # 全评 rests on one ballot; hiding it alone would leave it by subtraction
    with app.app_context(), tenant_context(world.a.id):
        c = db.session.get(Campaign, bw.campaign_id)
        results = {p.key: p.generated for p in summary.paragraphs(c)}["results"]
    assert "全评对" not in results and "群众对" not in results.replace("全体参评人员", "")
    assert "为保护评议人，票数不足3张或可被推算的类别不单独列出：群众、全评。" in results


def test_the_closing_counts_the_rectification_ledger_as_recorded(unbatched, world):
    """Item 2: the ledger's items by state and the overdue ones, on the day the report is made;
    no sentence while the ledger is empty."""
    from datetime import timedelta

    from pingyi.models import User, utcnow
    from pingyi.rectification import ledger

    app = unbatched
    bw = _voted(app, world)
    with app.app_context(), tenant_context(world.a.id):
        c = db.session.get(Campaign, bw.campaign_id)
        assert "整改事项" not in {p.key: p.generated for p in summary.paragraphs(c)}["closing"]
        admin = db.session.execute(select(User).where(User.email == world.a.admin)).scalar_one()
        actor, now = ledger.Actor(admin.id, admin.email, "admin"), utcnow()
        today = ledger.local_today(now, c.timezone)
        items = [ledger.create_item(c, ledger.Draft(f"问题{i}", world.a.branch, today + timedelta(days=d)), actor,
                                    "opinion", now=now) for i, d in enumerate((5, 5, 30))]
        ledger.transition(items[0], "in_progress", actor, now=now)
        ledger.transition(items[0], "done", actor, now=now)
        db.session.commit()
        later = now + timedelta(days=10)  # items[1] is past its deadline then
        closing = {p.key: p.generated for p in summary.paragraphs(c, later)}["closing"]
    assert f"截至{later.astimezone(cp.zone(c.timezone)).year}年" in closing
    assert "已建立整改事项3项（待整改2项、已完成1项），其中逾期未完成1项。" in closing
