"""Watching a season (督导): per subordinate it went to, the campaign's state, its live turnout
against the season's line, the deadlines it missed, its latest submission, and reminders
(in-app notices) to those behind schedule.

What crosses from a subordinate is read in its scope and handed back as plain figures: the
campaign's state and its links issued and used (``tokens.link_counts``) — never a ballot, an
opinion or a subject, before publication or after. The deadlines are the season's (what the
tenant above asked for), whatever a subordinate did to its own campaign's window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction

from sqlalchemy import func, select

from pingyi.campaigns import lifecycle
from pingyi.campaigns import rules as rl
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import SUBMISSION_STATES, Campaign, Season, SeasonIssue, SeasonSubmission, Tenant
from pingyi.tenancy import require_tenant_id
from pingyi.voting.tokens import Links, link_counts

from . import crossing, notices

RUNNING = ("open", "closed", "published", "archived")  # past draft: turnout means something


@dataclass(frozen=True)
class SubmissionInfo:
    """The latest submission of a subordinate, as the watch table shows it."""

    id: int
    number: int
    state: str
    submitted_at: datetime | None

    @property
    def state_label(self) -> str:
        return SUBMISSION_STATES.get(self.state, self.state)


@dataclass(frozen=True)
class WatchRow:
    slug: str
    name: str
    issue_id: int
    campaign_id: int | None
    state: str  # the campaign's state; "" when it was deleted
    state_label: str
    issued: int
    used: int
    turnout: Fraction | None  # None before the campaign opens (or with no link issued)
    below_line: bool
    missed: list[str] = field(default_factory=list)  # the deadlines missed, as sentences
    submission: SubmissionInfo | None = None
    reminded_at: datetime | None = None


def behind(row: WatchRow) -> bool:
    """Behind schedule: a deadline of the season was missed."""
    return bool(row.missed)


def _latest(issue_ids: list[int]) -> dict[int, SubmissionInfo]:
    newest = (select(SeasonSubmission.issue_id, func.max(SeasonSubmission.number).label("n"))
              .where(SeasonSubmission.issue_id.in_(issue_ids)).group_by(SeasonSubmission.issue_id).subquery())
    rows = db.session.execute(select(SeasonSubmission.id, SeasonSubmission.issue_id, SeasonSubmission.number,
                                     SeasonSubmission.state, SeasonSubmission.created_at).join(
        newest, (SeasonSubmission.issue_id == newest.c.issue_id) & (SeasonSubmission.number == newest.c.n))).all()
    return {r.issue_id: SubmissionInfo(r.id, r.number, r.state, r.created_at) for r in rows}


def _campaign_figures(campaign_id: int | None) -> tuple[str, str, Links] | None:
    """State, its label and link counts of a campaign of the current (target) tenant."""
    c = db.session.get(Campaign, campaign_id) if campaign_id is not None else None
    if c is None:
        return None
    return c.state, c.state_label, link_counts(c.id).get((), Links())


def watch(season: Season, now: datetime) -> list[WatchRow]:
    """One row per subordinate ``season`` was issued to, in issue order."""
    db.session.flush()  # nothing of the issuer may be left to flush inside a subordinate's scope
    line = rl.parse_threshold(season.min_turnout)
    tz, opens_at, closes_at, due = season.timezone, season.opens_at, season.closes_at, season.report_due
    today = lifecycle.local(now, tz).date()
    issues = db.session.execute(select(SeasonIssue).where(SeasonIssue.season_id == season.id)
                                .order_by(SeasonIssue.id)).scalars().all()
    tenants = {t.id: t for t in db.session.execute(
        select(Tenant).where(Tenant.id.in_([i.target_tenant_id for i in issues]))).scalars()}
    latest = _latest([i.id for i in issues])
    at = lambda dt: lifecycle.local(dt, tz).strftime("%Y-%m-%d %H:%M")  # noqa: E731
    rows = []
    for issue in issues:
        with crossing.in_target(issue):
            got = _campaign_figures(issue.campaign_id)
        state, label, links = got if got is not None else ("", _("活动已删除"), Links())
        sub = latest.get(issue.id)
        missed = []
        if got is None:
            missed.append(_("下发的评议活动已被删除"))
        if state == "draft" and now >= opens_at:
            missed.append(_("未按时开始评议（应于 %(t)s 开始）", t=at(opens_at)))
        if state == "open" and now >= closes_at:
            missed.append(_("已过结束时间仍未结束评议（应于 %(t)s 结束）", t=at(closes_at)))
        if today > due and sub is None:
            missed.append(_("未按期报送统计表和评议工作总结（截止 %(d)s）", d=due.isoformat()))
        if today > due and sub is not None and sub.state == "returned":
            missed.append(_("退回修改的报送未按期重新报送（截止 %(d)s）", d=due.isoformat()))
        turnout = links.rate if state in RUNNING else None
        tenant = tenants[issue.target_tenant_id]
        rows.append(WatchRow(tenant.slug, tenant.name, issue.id, issue.campaign_id, state, _(label), links.issued,
                             links.used, turnout, turnout is not None and turnout < line, missed, sub,
                             issue.reminded_at))
    return rows


def _percent(value: Fraction) -> str:
    return f"{float(value) * 100:.1f}%"


def reminder_text(season_name: str, issuer_name: str, row: WatchRow, min_turnout: str) -> str:
    """The notice's text: who reminds, of which season, and what is late."""
    late = list(row.missed)
    if row.below_line and row.state == "open":
        late.append(_("参评率 %(r)s，低于 %(line)s 的要求", r=_percent(row.turnout), line=min_turnout))
    if not late:
        return _("%(issuer)s提醒：请按年度评议“%(season)s”的安排推进评议工作。", issuer=issuer_name, season=season_name)
    return _("%(issuer)s提醒：年度评议“%(season)s”%(late)s，请抓紧办理。", issuer=issuer_name, season=season_name,
             late="；".join(late))


def remind(season: Season, slugs: list[str] | None, now: datetime) -> int:
    """Send a reminder notice to the subordinates ``slugs`` (``None``: every one behind
    schedule), each in its own tenant, and note when; returns how many were sent."""
    rows = watch(season, now)
    if slugs is None:
        chosen = [r for r in rows if behind(r)]
    else:
        by_slug = {r.slug: r for r in rows}
        unknown = [s for s in slugs if s not in by_slug]
        if unknown:
            raise DomainError(_("年度评议“%(n)s”没有下发给：%(s)s", n=season.name, s="、".join(unknown)), "slugs")
        chosen = [by_slug[s] for s in dict.fromkeys(slugs)]
    if not chosen:
        return 0
    issuer = db.session.get(Tenant, require_tenant_id())
    issues = {i.id: i for i in db.session.execute(
        select(SeasonIssue).where(SeasonIssue.id.in_([r.issue_id for r in chosen]))).scalars()}
    for r in chosen:
        text = reminder_text(season.name, issuer.name, r, season.min_turnout)
        issue = issues[r.issue_id]
        with crossing.in_target(issue):
            notices.send(issue.target_tenant_id, "reminder", text, season_id=season.id, from_tenant_id=issuer.id)
    for r in chosen:
        issues[r.issue_id].reminded_at = now
    db.session.flush()
    return len(chosen)
