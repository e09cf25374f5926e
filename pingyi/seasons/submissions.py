"""Reports up (上报): a subordinate submits its 统计表 and 评议工作总结 to the season its campaign
was built from; the issuer reads them, returns one with a comment or accepts it, and exports
one 汇总表 (a row per subordinate) and an archive of the latest submissions.

A submission is a snapshot, made in the subordinate's own scope before anything crosses: the
统计表 file as ``reports.tally_table`` makes it, the 总结 as text (the narrative as edited then)
and the figures both rest on (counts only: coverage, turnout, satisfaction, verdicts per
outcome, the rectification ledger once published). Later edits never change it; they make the
next submission. The rows live in the issuer (``SeasonSubmission``); the subordinate reads back
only its own through ``crossing.in_issuer``, as plain dicts.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from sqlalchemy import func, select

from pingyi import audit
from pingyi.campaigns.lifecycle import local, rule_specs
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import (
    PUBLISHED_STATES,
    STATE_LABELS,
    SUBMISSION_STATES,
    Campaign,
    Season,
    SeasonIssue,
    SeasonSubmission,
    Tenant,
)
from pingyi.rectification import overdue
from pingyi.reports import summary as sm
from pingyi.reports import tally_table
from pingyi.results import dashboard as rs
from pingyi.results import live_view as lv
from pingyi.results.rollup import Figures
from pingyi.results.tally import stored_run
from pingyi.tenancy import get_scoped, require_tenant_id
from pingyi.voting import mixer
from pingyi.voting.tokens import Links, link_counts
from pingyi.xlsx import Workbook

from . import crossing, notices

MAX_SUMMARY = len(sm.SECTIONS) * sm.MAX_CHARS + 2000  # every paragraph at its longest, plus headings
MAX_COMMENT = 2000
SUBMITTABLE = ("closed", *PUBLISHED_STATES)
FINISHED = ("done", "verified")  # 整改事项 finished (as the 统计表 counts them)
TABLE_COLUMNS = ("单位", "活动状态", "覆盖率", "参评率", "满意率")
LEDGER_COLUMNS = ("整改事项", "已完成")
TAIL_COLUMNS = ("报送状态", "报送时间")


# ---- the snapshot, in the subordinate's scope ---------------------------------------------------

def summary_text(c: Campaign, now: datetime) -> str:
    """The 评议工作总结 as plain text: title, numbered headings and the paragraphs as the admin
    left them (a paragraph not rewritten follows the figures), signed by the tenant."""
    lines = [f"《{c.name}》评议工作总结", ""]
    n = 0
    for p in sm.paragraphs(c, now):
        if sm.SECTIONS[p.key][1]:
            lines.append(f"{sm.NUMERALS[n]}、{p.title}")
            n += 1
        lines.extend(line.strip() for line in p.text.split("\n") if line.strip())
        lines.append("")
    tenant = db.session.get(Tenant, c.tenant_id)
    lines.append(tenant.name if tenant else "")
    return "\n".join(lines).strip() + "\n"


def figures_of(c: Campaign, now: datetime) -> dict:
    """What the submission's figures are: the stored tally's totals (counts, so the rates stay
    exact), verdicts per outcome of the rules (0 where none hit) and, once published, the
    rectification ledger's items and finished ones. JSON-ready."""
    run = stored_run(c.id)
    total = Figures.of(run) if run is not None else Figures()
    counts = {spec.outcome: 0 for spec in rule_specs(c) if spec.metric != "turnout"}
    if run is not None:
        for outcome, _severity, rows in rs.by_verdict(c, lv.view_of(c)):
            counts[outcome] = len(rows)
    ledger = None
    if c.state in PUBLISHED_STATES:
        t = overdue.totals(c.id, now)
        ledger = {"items": t.total, "finished": sum(t.by_state.get(k, 0) for k in FINISHED), "overdue": t.overdue}
    return {"campaign": c.name, "state": c.state, "tally_version": run.version if run else 0,
            "ballots": run.ballots if run else 0, **{name: getattr(total, name) for name in Figures.COUNTS},
            "verdicts": [[outcome, n] for outcome, n in counts.items()], "rectification": ledger}


def _clean_summary(text: str) -> str:
    if not isinstance(text, str):
        raise DomainError(_("评议工作总结必须是文字"), "summary")
    text = "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")).strip()
    if not text:
        raise DomainError(_("评议工作总结不能为空"), "summary")
    if len(text) > MAX_SUMMARY:
        raise DomainError(_("评议工作总结过长：%(n)d 字，最多 %(m)d 字", n=len(text), m=MAX_SUMMARY), "summary")
    return text + "\n"


def _latest_of(issue_id: int) -> SeasonSubmission | None:
    return db.session.execute(select(SeasonSubmission).where(SeasonSubmission.issue_id == issue_id)
                              .order_by(SeasonSubmission.number.desc()).limit(1)).scalar_one_or_none()


def submit(campaign: Campaign, user, now: datetime, summary: str | None = None) -> SeasonSubmission:
    """Report ``campaign`` (of the current tenant, built by a season) up to the season: a new
    submission numbered after the last. Refused while the campaign runs, before it is counted,
    once the season is closed, and when nothing changed since a submission not returned.
    ``summary``: the 总结's text as the admin sends it (default: the narrative as edited).
    Returns the row just added (read it before the transaction ends: it is the issuer's)."""
    c = campaign
    if c.state not in SUBMITTABLE:
        raise DomainError(_("评议结束后才能报送统计表和评议工作总结（当前状态：%(s)s）",
                            s=_(STATE_LABELS.get(c.state, c.state))), "state")
    if stored_run(c.id) is None:
        raise DomainError(_("该评议活动尚未统计，请先统计"), "tally")
    boxed = mixer.waiting(c.id)  # the closing count has not run yet: its figures are not final
    if boxed:
        raise DomainError(_("还有 %(n)d 张评议票在密封票箱中，计票完成后才能报送", n=boxed), "tally")
    if crossing.issuer_of(c) is None:
        raise DomainError(_("本活动不是上级统一部署的年度评议"), "season")
    # the snapshot, made here in the subordinate's scope before anything crosses
    text = summary_text(c, now) if summary is None else _clean_summary(summary)
    figures = figures_of(c, now)
    table = tally_table.workbook(c)
    table_name = f"{c.name}-统计表.xlsx"
    by = getattr(user, "email", "") or ""
    with crossing.in_issuer(c) as (season, issue):
        if season.state != "issued":
            raise DomainError(_("年度评议“%(n)s”已结束，不再接收报送", n=season.name), "season")
        # one submitter at a time per issue (PostgreSQL; SQLite writes one at a time anyway)
        db.session.execute(select(SeasonIssue.id).where(SeasonIssue.id == issue.id).with_for_update())
        last = _latest_of(issue.id)
        if last is not None and last.state != "returned" and last.summary == text and last.figures == figures:
            raise DomainError(_("第 %(n)d 次报送的内容没有变化，无需重复报送", n=last.number), "summary")
        row = SeasonSubmission(issue_id=issue.id, number=(last.number if last else 0) + 1, state="submitted",
                               summary=text, figures=figures, table_name=table_name, table_data=table,
                               submitted_by=by, created_at=now)
        db.session.add(row)
        db.session.flush()
        season_id, number = season.id, row.number
    audit.record_bulk("submit", "season_submissions", 1,
                      {"season_id": season_id, "campaign_id": c.id, "number": number})
    return row


def _plain(s: SeasonSubmission) -> dict:
    return {"id": s.id, "number": s.number, "state": s.state, "state_label": s.state_label, "comment": s.comment,
            "submitted_at": s.created_at, "returned_at": s.returned_at, "submitted_by": s.submitted_by,
            "table_name": s.table_name}


def history(campaign: Campaign) -> list[dict]:
    """The current tenant's own submissions of ``campaign``, newest first, as plain data
    (number, state, comment, dates); ``[]`` for a campaign no season built."""
    if campaign.season_id is None:
        return []
    with crossing.in_issuer(campaign) as (_season, issue):
        rows = db.session.execute(select(SeasonSubmission).where(SeasonSubmission.issue_id == issue.id)
                                  .order_by(SeasonSubmission.number.desc())).scalars().all()
        return [_plain(s) for s in rows]


def season_of(campaign: Campaign) -> dict | None:
    """The season ``campaign`` reports to, as plain data (name, report_due, state), for the
    subordinate's page; ``None`` for a campaign no season built."""
    if campaign.season_id is None or crossing.issuer_of(campaign) is None:
        return None
    with crossing.in_issuer(campaign) as (season, _issue):
        return {"id": season.id, "name": season.name, "report_due": season.report_due, "state": season.state,
                "state_label": season.state_label}


# ---- the issuer's side ----------------------------------------------------------------------------

def _mine(season: Season) -> None:
    """Only the issuing tenant acts on a season's submissions."""
    if season.tenant_id != require_tenant_id():
        raise DomainError(_("只有下发本年度评议的单位可以处理报送"), "season")


def latest(season: Season) -> dict[int, SeasonSubmission]:
    """issue id → its newest submission, for the issuer's pages (current tenant = issuer)."""
    _mine(season)
    newest = (select(SeasonSubmission.issue_id, func.max(SeasonSubmission.number).label("n"))
              .join(SeasonIssue, SeasonIssue.id == SeasonSubmission.issue_id)
              .where(SeasonIssue.season_id == season.id).group_by(SeasonSubmission.issue_id).subquery())
    rows = db.session.execute(select(SeasonSubmission).join(
        newest, (newest.c.issue_id == SeasonSubmission.issue_id) & (newest.c.n == SeasonSubmission.number))
    ).scalars().all()
    return {s.issue_id: s for s in rows}


def _submission(season: Season, submission_id) -> tuple[SeasonSubmission, SeasonIssue]:
    """A submission of ``season`` (in the issuer's scope) that is the newest of its issue."""
    _mine(season)
    s = get_scoped(SeasonSubmission, submission_id)
    issue = get_scoped(SeasonIssue, s.issue_id) if s is not None else None
    if s is None or issue is None or issue.season_id != season.id:
        raise DomainError(_("没有这次报送"), "submission")
    newest = _latest_of(issue.id)
    if newest is not None and newest.id != s.id:
        raise DomainError(_("已有更新的第 %(n)d 次报送，请处理最新的一次", n=newest.number), "submission")
    if s.state != "submitted":
        raise DomainError(_("“%(s)s”的报送不能再处理", s=_(s.state_label)), "state")
    return s, issue


def _slug(tenant_id: int) -> str:
    t = db.session.get(Tenant, tenant_id)
    return t.slug if t else str(tenant_id)


def return_submission(season: Season, submission_id, comment: str, now: datetime) -> SeasonSubmission:
    """Return a submission for correction (退回修改) with the reason, and tell the subordinate
    by a notice; it may then submit again."""
    comment = comment.strip() if isinstance(comment, str) else ""
    if not comment:
        raise DomainError(_("退回修改须填写意见"), "comment")
    if len(comment) > MAX_COMMENT:
        raise DomainError(_("意见过长：%(n)d 字，最多 %(m)d 字", n=len(comment), m=MAX_COMMENT), "comment")
    s, issue = _submission(season, submission_id)
    s.state, s.comment, s.returned_at = "returned", comment, now
    db.session.flush()
    text = _("“%(season)s”第 %(n)d 次报送已退回修改：%(comment)s", season=season.name, n=s.number, comment=comment)
    _notify(issue, season, "returned", text)
    audit.record_bulk("return", "season_submissions", 1,
                      {"season_id": season.id, "tenant": _slug(issue.target_tenant_id), "number": s.number})
    return s


def accept(season: Season, submission_id, now: datetime) -> SeasonSubmission:
    """Accept a submission (已接收): the subordinate's report for the season is done."""
    s, issue = _submission(season, submission_id)
    s.state = "accepted"
    db.session.flush()
    audit.record_bulk("accept", "season_submissions", 1,
                      {"season_id": season.id, "tenant": _slug(issue.target_tenant_id), "number": s.number})
    return s


def _notify(issue: SeasonIssue, season: Season, kind: str, text: str) -> None:
    sender, season_id, target = season.tenant_id, season.id, issue.target_tenant_id
    with crossing.in_target(issue):
        notices.send(target, kind, text, season_id=season_id, from_tenant_id=sender)


# ---- 汇总表 and the archive ---------------------------------------------------------------------

@dataclass
class Row:
    """One subordinate in the 汇总表: from its latest submission's figures, or (nothing
    submitted) its campaign's state and live turnout only."""

    slug: str
    name: str
    state: str
    figures: Figures
    verdicts: dict[str, int]
    ledger: dict | None
    submission: SeasonSubmission | None


def _issues(season: Season) -> list[SeasonIssue]:
    return db.session.execute(select(SeasonIssue).where(SeasonIssue.season_id == season.id)
                              .order_by(SeasonIssue.id)).scalars().all()


def _unsubmitted(issue: SeasonIssue) -> tuple[str, Links]:
    """The campaign's state and live link counts, read in the subordinate (no other figure)."""
    with crossing.in_target(issue):
        c = get_scoped(Campaign, issue.campaign_id) if issue.campaign_id is not None else None
        if c is None:
            return "", Links()
        return c.state, link_counts(c.id).get((), Links())


def rows(season: Season) -> list[Row]:
    """The 汇总表's rows, one per subordinate the season was issued to, in issue order."""
    _mine(season)
    newest = latest(season)
    out = []
    for issue in _issues(season):
        tenant = db.session.get(Tenant, issue.target_tenant_id)
        s = newest.get(issue.id)
        if s is not None:
            f = s.figures
            figures = Figures(**{name: int(f.get(name, 0)) for name in Figures.COUNTS})
            out.append(Row(tenant.slug, tenant.name, f.get("state", ""), figures,
                           {o: int(n) for o, n in f.get("verdicts", [])}, f.get("rectification"), s))
        else:
            state, links = _unsubmitted(issue)
            out.append(Row(tenant.slug, tenant.name, state, Figures(issued=links.issued, used=links.used), {},
                           None, None))
    return out


def _rate(value: Fraction | None) -> float | None:
    return float(value) if value is not None else None


def summary_table(season: Season) -> bytes:
    """汇总表.xlsx: one row per subordinate (单位, 活动状态, 覆盖率, 参评率, 满意率, a column per
    verdict outcome, 整改事项/已完成 once published, 报送状态 and 报送时间), from each one's latest
    submission; where nothing was submitted, its state and turnout only. The file is in Chinese
    whatever the reader's language, like the other reports."""
    lines = rows(season)
    outcomes: list[str] = []
    for line in lines:
        outcomes += [o for o in line.verdicts if o not in outcomes]
    columns = [*TABLE_COLUMNS, *outcomes, *LEDGER_COLUMNS, *TAIL_COLUMNS]
    buf = io.BytesIO()
    wb = Workbook(buf, {"in_memory": True})
    head = wb.add_format({"bold": True, "bg_color": "#EFEFEF", "border": 1, "text_wrap": True, "valign": "vcenter",
                          "align": "center"})
    pct = wb.add_format({"num_format": "0.0%"})
    title = wb.add_format({"bold": True, "font_size": 14})
    ws = wb.add_worksheet("汇总表")
    ws.write_string(0, 0, f"{season.name} 汇总表", title)
    for col, text in enumerate(columns):
        ws.write_string(2, col, text, head)
    ws.freeze_panes(3, 1)
    ws.set_column(0, 0, 28)
    ws.set_column(1, len(columns) - 1, 12)
    for r, line in enumerate(lines, start=3):
        f, s = line.figures, line.submission
        submitted = s is not None
        cells: list = [line.name, STATE_LABELS.get(line.state, line.state),
                       _rate(f.coverage) if submitted else None, _rate(f.turnout),
                       _rate(f.satisfied_share) if submitted else None]
        cells += [line.verdicts.get(o, 0) if submitted else None for o in outcomes]
        cells += [line.ledger["items"], line.ledger["finished"]] if line.ledger else [None, None]
        cells += [f"{SUBMISSION_STATES.get(s.state, s.state)}（第{s.number}次）" if submitted else "未报送",
                  local(s.created_at, season.timezone).strftime("%Y-%m-%d %H:%M") if submitted else None]
        for col, v in enumerate(cells):
            if v is None:
                ws.write_blank(r, col, None)
            elif isinstance(v, float):
                ws.write_number(r, col, v, pct)
            elif isinstance(v, int):
                ws.write_number(r, col, v)
            else:
                ws.write_string(r, col, v)
    ws.write_string(len(lines) + 4, 0, "覆盖率 = 已评价的评议对象 ÷ 评议对象；参评率 = 已参评 ÷ 有效测评码；"
                    "满意率 = 计入满意的回答 ÷ 有效回答。已报送的单位取最近一次报送的数据，未报送的单位只列活动状态和实时参评率。")
    wb.close()
    return buf.getvalue()


def archive(season: Season) -> bytes:
    """One zip of the season's reports: each subordinate's latest submission as
    ``<slug>-<n>-统计表.xlsx`` and ``<slug>-<n>-总结.txt``, and ``汇总表.xlsx``."""
    _mine(season)
    newest = latest(season)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for issue in _issues(season):
            s = newest.get(issue.id)
            if s is None:
                continue
            stem = f"{_slug(issue.target_tenant_id)}-{s.number}"
            z.writestr(f"{stem}-统计表.xlsx", s.table_data or b"")
            z.writestr(f"{stem}-总结.txt", s.summary.encode("utf-8"))
        z.writestr("汇总表.xlsx", summary_table(season))
    return buf.getvalue()
