"""Watch (issue 19 item 2): per subordinate, the campaign's state and live turnout against the
season's line (from the real link counts after real votes), the deadlines missed, the latest
submission; reminders land as notices in the tenants behind schedule, and only there."""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta
from fractions import Fraction

import pytest
from sqlalchemy import select

from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.models import Campaign, Notice, Season, SeasonIssue, SeasonSubmission, utcnow
from pingyi.seasons import notices, watch
from pingyi.tenancy import tenant_context
from pingyi.voting import tokens
from tests.ballot_world import cast
from tests.seasons.conftest import NAME, issue_to, make_season, open_with_links

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted


def _campaign(tenant_id: int, season_id: int) -> int:
    with tenant_context(tenant_id):
        return db.session.execute(select(Campaign.id).where(Campaign.season_id == season_id)).scalar_one()


def _watch(county: int, season_id: int, now) -> dict[str, watch.WatchRow]:
    with tenant_context(county):
        return {r.slug: r for r in watch.watch(db.session.get(Season, season_id), now)}


def test_watch_reads_live_turnout_and_the_deadlines_missed(app, tree):
    with app.app_context():
        sid = make_season(tree.county)
        issue_to(tree.county, sid, ["alpha", "school"])
        alpha_campaign = _campaign(tree.alpha, sid)
        links = open_with_links(tree.alpha, alpha_campaign, links=5)
        cast(links[:3], (0, 0, 1))
        with tenant_context(tree.alpha):
            live = tokens.link_counts(alpha_campaign).get(())
        assert (live.issued, live.used) == (5, 3)
        now = utcnow()
        rows = _watch(tree.county, sid, now)
        assert list(rows) == ["alpha", "school"]
        a, s = rows["alpha"], rows["school"]
        assert (a.state, a.state_label, a.issued, a.used, a.turnout) == ("open", "进行中", live.issued, live.used,
                                                                         Fraction(3, 5))
        assert a.below_line and a.missed == [] and a.submission is None and not watch.behind(a)
        assert (s.state, s.turnout, s.below_line) == ("draft", None, False)  # a draft has no turnout yet
        assert len(s.missed) == 1 and s.missed[0].startswith("未按时开始评议") and watch.behind(s)
        # figures only cross: the row holds nothing else of the subordinate
        assert {f.name for f in fields(watch.WatchRow)} == {
            "slug", "name", "issue_id", "campaign_id", "state", "state_label", "issued", "used", "turnout",
            "below_line", "missed", "submission", "reminded_at"}
        cast(links[3:], (1, 2))  # the rest vote: the line is reached
        a = _watch(tree.county, sid, now)["alpha"]
        assert (a.used, a.turnout, a.below_line) == (5, 1, False)
        with tenant_context(tree.county):
            season = db.session.get(Season, sid)
            closes, due = season.closes_at, season.report_due
        late = _watch(tree.county, sid, closes + timedelta(minutes=1))["alpha"]
        assert [m[:8] for m in late.missed] == ["已过结束时间仍未"]
        after_due = utcnow() + timedelta(days=(due - utcnow().date()).days + 2)
        rows = _watch(tree.county, sid, after_due)
        assert [m[:6] for m in rows["alpha"].missed] == ["已过结束时间", "未按期报送统"]
        with tenant_context(tree.county):  # a submission came up and was returned (helper B's rows)
            issue = db.session.execute(select(SeasonIssue).where(SeasonIssue.target_tenant_id == tree.alpha)
                                       ).scalar_one()
            db.session.add(SeasonSubmission(issue_id=issue.id, number=1, state="returned", summary="总结",
                                            comment="请补充", returned_at=now))
            db.session.commit()
        a = _watch(tree.county, sid, after_due)["alpha"]
        assert (a.submission.number, a.submission.state, a.submission.state_label) == (1, "returned", "已退回修改")
        assert [m[:6] for m in a.missed] == ["已过结束时间", "退回修改的报"]
        assert _watch(tree.county, sid, now)["alpha"].missed == []  # returned before the deadline: time left


def test_reminders_reach_the_tenants_behind_and_no_one_else(app, tree):
    with app.app_context():
        sid = make_season(tree.county)
        issue_to(tree.county, sid, ["alpha", "school"])
        links = open_with_links(tree.alpha, _campaign(tree.alpha, sid), links=5)
        cast(links[:2], (0, 0))
        now = utcnow()
        with tenant_context(tree.county):
            season = db.session.get(Season, sid)
            assert watch.remind(season, None, now) == 1  # the school never opened; alpha is on time
            db.session.commit()
            reminded = dict(db.session.execute(select(SeasonIssue.target_tenant_id, SeasonIssue.reminded_at)).all())
            assert reminded[tree.school] is not None and reminded[tree.alpha] is None
            assert db.session.execute(select(Notice)).scalars().all() == []  # nothing written in the issuer
            with pytest.raises(DomainError, match="没有下发给"):
                watch.remind(season, ["gamma"], now)
        with tenant_context(tree.school):
            (n,) = notices.unread()
            assert (n.kind, n.season_id, n.from_tenant_id) == ("reminder", sid, tree.county)
            assert f"“{NAME}”" in n.text and "未按时开始评议" in n.text and n.text.startswith("县委提醒")
            notice_id = n.id
        for tid in (tree.alpha, tree.gamma, tree.beta):
            with tenant_context(tid):
                assert notices.unread() == []
                with pytest.raises(DomainError):
                    notices.mark_read(notice_id)  # another tenant's notice
        with tenant_context(tree.school):
            notices.mark_read(notice_id)
            db.session.commit()
            assert notices.unread() == []
        with tenant_context(tree.county):  # chosen by name: alpha, whose turnout is under the line
            assert watch.remind(db.session.get(Season, sid), ["alpha"], now) == 1
            db.session.commit()
        with tenant_context(tree.alpha):
            (n,) = notices.unread()
            assert "参评率 40.0%，低于 80% 的要求" in n.text
        assert _watch(tree.county, sid, now)["alpha"].reminded_at is not None
