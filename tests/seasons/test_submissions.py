"""Reports up (issue 19 item 3): a subordinate's submission is a snapshot of its 统计表, its
总结 and their figures; the issuer returns one with a comment (a notice to that subordinate
only) or accepts it, and exports the 汇总表 and an archive; only the issuer acts, and a
subordinate reads back only its own submissions."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction

import openpyxl
import pytest
from sqlalchemy import func, select

from pingyi.campaigns import lifecycle as cp
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.models import (
    AuditEvent,
    Campaign,
    Notice,
    RectificationItem,
    Season,
    SeasonIssue,
    SeasonSubmission,
    Unit,
    User,
    utcnow,
)
from pingyi.rectification import ledger
from pingyi.reports import summary as sm
from pingyi.results.tally import stored_run
from pingyi.seasons import submissions as sb
from pingyi.tenancy import tenant_context
from pingyi.voting import tokens
from tests import clock
from tests.ballot_world import cast, close
from tests.rectification.ledger_world import actors
from tests.seasons.conftest import NAME, issue_to, make_season, open_with_links

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted

OUTCOME = "限期整改"  # conftest.RULES: satisfaction under 60%


@dataclass
class Setup:
    county: int
    alpha: int
    gamma: int
    beta: int
    season: int
    campaign: int  # alpha's, built by the season: open, four links to its first branch
    gamma_campaign: int  # gamma's, still the draft the season built, three links
    links: list


def _campaign(tenant_id: int, season_id: int) -> int:
    with tenant_context(tenant_id):
        return db.session.execute(select(Campaign.id).where(Campaign.season_id == season_id)).scalar_one()


def _setup(tree) -> Setup:
    """The county's season issued to alpha and gamma (siblings); alpha's campaign open with
    four links, gamma's a draft with three links."""
    sid = make_season(tree.county)
    issue_to(tree.county, sid, ["alpha", "gamma"])
    alpha, gamma = _campaign(tree.alpha, sid), _campaign(tree.gamma, sid)
    links = open_with_links(tree.alpha, alpha, links=4)
    with tenant_context(tree.gamma):
        g = db.session.get(Campaign, gamma)
        branch = db.session.execute(select(Unit).where(Unit.kind == "branch").order_by(Unit.id).limit(1)).scalar()
        tokens.issue_links(g, cp.categories(g)[0], branch, 3)
        db.session.commit()
    return Setup(tree.county, tree.alpha, tree.gamma, tree.beta, sid, alpha, gamma, links)


def _counted(s: Setup, publish: bool = False) -> None:
    """Three of the four links vote: one 满意, two 不满意 (the branch at 1/3 → 限期整改)."""
    cast(s.links[:3], (0, 3, 3))
    close(s.alpha, s.campaign, publish=publish)


def _user(email: str) -> User:
    return db.session.execute(select(User).where(User.email == email)).scalar_one()


def _submit(world, s: Setup, summary: str | None = None) -> tuple[int, int]:
    with tenant_context(s.alpha):
        row = sb.submit(db.session.get(Campaign, s.campaign), _user(world.a.admin), utcnow(), summary)
        out = row.id, row.number
        db.session.commit()
    return out


def _stored(s: Setup) -> list[SeasonSubmission]:
    with tenant_context(s.county):
        return db.session.execute(select(SeasonSubmission).order_by(SeasonSubmission.number)).scalars().all()


def _season(s: Setup) -> Season:
    with tenant_context(s.county):
        return db.session.get(Season, s.season)


def _notices(tenant_id: int) -> list[Notice]:
    with tenant_context(tenant_id):
        return db.session.execute(select(Notice)).scalars().all()


def _events(tenant_id: int, action: str) -> list[AuditEvent]:
    return db.session.execute(select(AuditEvent).where(
        AuditEvent.tenant_id == tenant_id, AuditEvent.action == action,
        AuditEvent.object_type == "season_submissions").order_by(AuditEvent.id)).scalars().all()


def test_no_submission_while_the_campaign_runs_or_before_it_is_counted(app, world, tree):
    with app.app_context():
        s = _setup(tree)
        with tenant_context(s.alpha):
            c = db.session.get(Campaign, s.campaign)
            with pytest.raises(DomainError, match="评议结束后才能报送"):
                sb.submit(c, _user(world.a.admin), utcnow())
            cp.transition(c, "close")  # closed, but not yet counted
            with pytest.raises(DomainError, match="尚未统计"):
                sb.submit(c, _user(world.a.admin), utcnow())
            db.session.rollback()
        assert _stored(s) == []


def test_a_submission_is_a_snapshot_and_a_later_edit_makes_the_next(app, world, tree):
    with app.app_context():
        s = _setup(tree)
        _counted(s)
        sid, number = _submit(world, s)
        assert number == 1
        (first,) = _stored(s)
        assert (first.state, first.submitted_by) == ("submitted", world.a.admin)
        with tenant_context(s.alpha):
            c = db.session.get(Campaign, s.campaign)
            name = c.name
            run = stored_run(c.id)
            generated = {p.key: p.generated for p in sm.paragraphs(c)}
            assert generated["intro"] in first.summary and generated["scope"] in first.summary
            counts = (run.subjects, run.rated, run.issued, run.used, run.valid, run.satisfied)
        assert first.summary.startswith(f"《{name}》评议工作总结\n")
        assert "一、全面铺开，广泛开展" in first.summary and first.summary.rstrip().endswith("甲公司")
        f = first.figures
        assert (f["subjects"], f["rated"], f["issued"], f["used"], f["valid"], f["satisfied"]) == counts
        assert (f["subjects"], f["rated"], f["issued"], f["used"]) == (2, 1, 4, 3)  # two branches, one voted on
        assert Fraction(f["satisfied"], f["valid"]) == Fraction(1, 3) and f["valid"] == 3 * 5  # 5 items each
        assert f["verdicts"] == [[OUTCOME, 1]]  # the branch
        assert f["rectification"] is None and f["state"] == "closed"
        book = openpyxl.load_workbook(io.BytesIO(first.table_data), read_only=True)
        assert book.sheetnames[0] == "汇总" and first.table_name == f"{name}-统计表.xlsx"

        with tenant_context(s.alpha):  # nothing changed: nothing to submit again
            with pytest.raises(DomainError, match="没有变化"):
                sb.submit(db.session.get(Campaign, s.campaign), _user(world.a.admin), utcnow())
            db.session.rollback()
            sm.save_narrative(db.session.get(Campaign, s.campaign), {"intro": "按照县委部署，我公司认真开展了评议。"})
            db.session.commit()
        assert [x.summary for x in _stored(s)] == [first.summary]  # the edit left the snapshot alone
        assert "我公司认真开展了评议" not in first.summary

        assert _submit(world, s)[1] == 2
        one, two = _stored(s)
        assert one.summary == first.summary and one.state == "submitted"
        assert "按照县委部署，我公司认真开展了评议。" in two.summary and generated["intro"] not in two.summary
        assert two.figures == one.figures
        with tenant_context(s.alpha):
            hist = sb.history(db.session.get(Campaign, s.campaign))
        assert [(h["number"], h["state"], h["submitted_by"]) for h in hist] == [
            (2, "submitted", world.a.admin), (1, "submitted", world.a.admin)]
        # audited where each happened: the submitting in alpha, the rows in the county's trail
        assert [e.detail["number"] for e in _events(s.alpha, "submit")] == [1, 2]
        assert len(_events(s.county, "create")) == 2 and not _events(s.alpha, "create")


def test_a_summary_sent_with_the_submission_is_the_one_kept(app, world, tree):
    with app.app_context():
        s = _setup(tree)
        _counted(s)
        with tenant_context(s.alpha), pytest.raises(DomainError, match="不能为空"):
            sb.submit(db.session.get(Campaign, s.campaign), _user(world.a.admin), utcnow(), " \n ")
        db.session.rollback()
        _submit(world, s, "评议工作总结\r\n\r\n  我们完成了评议。  ")
        assert _stored(s)[0].summary == "评议工作总结\n\n  我们完成了评议。\n"


def test_return_needs_a_comment_and_tells_the_subordinate_only(app, world, tree):
    with app.app_context():
        s = _setup(tree)
        _counted(s)
        sid, _n = _submit(world, s)
        season = _season(s)
        with tenant_context(s.county):
            for blank in ("", "   ", None):
                with pytest.raises(DomainError, match="须填写意见"):
                    sb.return_submission(season, sid, blank, utcnow())
            now = utcnow()
            sb.return_submission(season, sid, "参评率低于80%，请补充说明。", now)
            db.session.commit()
        (row,) = _stored(s)
        assert (row.state, row.comment, row.returned_at) == ("returned", "参评率低于80%，请补充说明。", now)
        (notice,) = _notices(s.alpha)
        assert "参评率低于80%，请补充说明。" in notice.text and NAME in notice.text
        assert (notice.kind, notice.from_tenant_id, notice.season_id, notice.read_at) == (
            "returned", s.county, s.season, None)
        assert _notices(s.county) == [] and _notices(s.gamma) == []
        with tenant_context(s.alpha):
            (h,) = sb.history(db.session.get(Campaign, s.campaign))
        assert (h["state"], h["state_label"], h["comment"]) == ("returned", "已退回修改", "参评率低于80%，请补充说明。")
        assert [e.detail["number"] for e in _events(s.county, "return")] == [1]

        # returned: the same content may go up again, as number 2; only that one is handled now
        sid2, n2 = _submit(world, s)
        assert n2 == 2
        season = _season(s)
        with tenant_context(s.county):
            with pytest.raises(DomainError, match="最新"):
                sb.accept(season, sid, utcnow())
            sb.accept(season, sid2, utcnow())
            db.session.commit()
            with pytest.raises(DomainError, match="不能再处理"):
                sb.return_submission(season, sid2, "再改改", utcnow())
            assert {k: v.number for k, v in sb.latest(season).items()} == {_issue_id(s, s.alpha): 2}
        assert [x.state for x in _stored(s)] == ["returned", "accepted"]
        assert len(_events(s.county, "accept")) == 1


def _issue_id(s: Setup, tenant_id: int) -> int:
    with tenant_context(s.county):
        return db.session.execute(select(SeasonIssue.id).where(SeasonIssue.target_tenant_id == tenant_id)).scalar_one()


def test_only_the_issuer_returns_or_accepts(app, world, tree):
    with app.app_context():
        s = _setup(tree)
        _counted(s)
        sid, _n = _submit(world, s)
        season = _season(s)
        for tenant in (s.alpha, s.gamma, s.beta):  # the submitter, a sibling, a tenant of another tree
            with tenant_context(tenant):
                with pytest.raises(DomainError, match="只有下发"):
                    sb.return_submission(season, sid, "退回", utcnow())
                with pytest.raises(DomainError, match="只有下发"):
                    sb.accept(season, sid, utcnow())
                with pytest.raises(DomainError, match="只有下发"):
                    sb.summary_table(season)
        with tenant_context(s.county):  # and the issuer only for its season's submissions
            other = Season(name="另一年度", opens_at=season.opens_at, closes_at=season.closes_at,
                           report_due=season.report_due, plan={}, fixed=[], version=1, state="issued")
            db.session.add(other)
            db.session.flush()
            with pytest.raises(DomainError, match="没有这次报送"):
                sb.accept(other, sid, utcnow())
            with pytest.raises(DomainError, match="没有这次报送"):
                sb.accept(season, "x", utcnow())
            db.session.rollback()
        assert [x.state for x in _stored(s)] == ["submitted"] and _notices(s.alpha) == []


def test_a_subordinate_reads_back_its_own_submissions_only(app, world, tree):
    with app.app_context():
        s = _setup(tree)
        _counted(s)
        _submit(world, s)
        with tenant_context(s.gamma):
            g = db.session.get(Campaign, s.gamma_campaign)
            assert sb.history(g) == []  # alpha's submission is not gamma's to see
            assert sb.season_of(g)["name"] == NAME
            # a campaign of gamma's that claims the season but is not the one issued to it
            stray = cp.create_campaign("冒名活动", g.opens_at, g.closes_at)
            stray.season_id = s.season
            stray.state = "closed"
            db.session.flush()
            with pytest.raises(DomainError, match="不是上级统一部署"):
                sb.history(stray)
            with pytest.raises(DomainError):
                sb.submit(stray, None, utcnow())
            db.session.rollback()
        with tenant_context(s.beta):  # a tenant outside the county's tree naming the season
            c = cp.create_campaign("乙公司评议", utcnow(), utcnow() + timedelta(days=1))
            c.season_id = s.season
            db.session.flush()
            with pytest.raises(DomainError, match="不是上级统一部署"):
                sb.history(c)
            assert sb.season_of(c) is None
            db.session.rollback()
        with tenant_context(s.alpha):
            assert [h["number"] for h in sb.history(db.session.get(Campaign, s.campaign))] == [1]
        assert len(_stored(s)) == 1


def _sheet_rows(data: bytes) -> list[tuple]:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    ws = book["汇总表"]
    return [tuple(r) for r in ws.iter_rows(values_only=True)]


def test_summary_table_and_archive_follow_the_latest_submissions(app, world, tree):
    with app.app_context():
        s = _setup(tree)
        _counted(s, publish=True)
        with tenant_context(s.alpha):  # the ledger: the flagged branch's item (finished) and one more
            c = db.session.get(Campaign, s.campaign)
            who = actors(world.a)
            (item,) = ledger.from_verdict_list(c, OUTCOME, who.admin, clock.day(30).date())
            ledger.create_item(c, ledger.Draft("食堂卫生问题", world.a.other_branch, clock.day(30).date()), who.admin,
                               "feedback")
            ledger.transition(item, "in_progress", who.admin)
            ledger.transition(item, "done", who.admin)
            db.session.commit()
            assert db.session.execute(select(func.count()).select_from(RectificationItem)).scalar() == 2
        sid, _n = _submit(world, s, "第一次的总结")
        with tenant_context(s.county):
            sb.return_submission(_season(s), sid, "请修改", utcnow())
            db.session.commit()
        _submit(world, s, "第二次的总结")
        latest = _stored(s)[-1]
        f = latest.figures
        assert f["rectification"] == {"items": 2, "finished": 1, "overdue": 0} and f["state"] == "published"

        season = _season(s)
        with tenant_context(s.county):
            table = sb.summary_table(season)
            zipped = sb.archive(season)
        rows = _sheet_rows(table)
        assert rows[0][0] == f"{NAME} 汇总表"
        header = rows[2]
        assert header == ("单位", "活动状态", "覆盖率", "参评率", "满意率", OUTCOME, "整改事项", "已完成", "报送状态",
                          "报送时间")
        alpha, gamma = rows[3], rows[4]
        assert alpha[:2] == ("甲公司", "已公布")
        assert alpha[2] == pytest.approx(f["rated"] / f["subjects"]) and alpha[2] == pytest.approx(0.5)
        assert alpha[3] == pytest.approx(3 / 4) and alpha[4] == pytest.approx(1 / 3)
        assert alpha[5:8] == (1, 2, 1) and alpha[8] == "已报送（第2次）" and alpha[9]
        # gamma submitted nothing: its draft's state and live turnout (0 of 3 links) only
        assert gamma == ("丙公司", "草稿", None, 0, None, None, None, None, "未报送", None)

        z = zipfile.ZipFile(io.BytesIO(zipped))
        assert sorted(z.namelist()) == sorted(["alpha-2-统计表.xlsx", "alpha-2-总结.txt", "汇总表.xlsx"])
        assert z.read("alpha-2-总结.txt").decode("utf-8") == "第二次的总结\n"
        assert z.read("alpha-2-统计表.xlsx") == latest.table_data
        assert openpyxl.load_workbook(io.BytesIO(z.read("alpha-2-统计表.xlsx"))).sheetnames[0] == "汇总"
        assert [r[:9] for r in _sheet_rows(z.read("汇总表.xlsx"))] == [r[:9] for r in rows]
