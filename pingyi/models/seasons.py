"""Seasons (年度评议, 统一部署): what an oversight tenant issues down to its subordinates, to whom
it went, what came back up, and the notices it sent.

Rows of a season live in the issuing tenant (``seasons``, ``season_issues``,
``season_submissions``); the campaign a season built lives in the subordinate's, knowing its
season only by id (``Campaign.season_id``) and which parts the season fixes. A notice lives in
the tenant it is addressed to. Crossing from one tenant to another happens only in
``pingyi.seasons.crossing``.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pingyi.extensions import db

from .base import TenantMixin, Timestamped, UTCDateTime, tenant_fk, tenant_unique

SEASON_STATES = {"draft": "草稿", "issued": "已下发", "closed": "已结束"}
# what a season may fix for the campaigns it builds (the rest is the subordinate's to fill in)
FIXABLE = {"forms": "测评表", "rules": "结果规则", "categories": "参评人员类别", "dates": "评议时间和工作安排"}
SUBMISSION_STATES = {"submitted": "已报送", "returned": "已退回修改", "accepted": "已接收"}


class Season(TenantMixin, Timestamped, db.Model):
    """A season as the issuing tenant defines it. ``plan`` holds what each campaign is built
    from: ``forms`` (questionnaire documents, as ``campaigns.questionnaire`` reads them, with
    the subject kind each rates), ``rules`` (rule dicts), ``categories`` (evaluator category
    dicts) and ``phases`` (timetable rows: kind, starts_on, ends_on as ISO dates). ``version``
    grows with every change of the plan, so a re-issue knows which drafts are behind."""

    __tablename__ = "seasons"
    __table_args__ = (tenant_unique(),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    timezone: Mapped[str] = mapped_column(String(50), nullable=False, default="Asia/Shanghai")
    report_due: Mapped[date] = mapped_column(Date, nullable=False)  # 上报 deadline for 统计表 and 总结
    min_turnout: Mapped[str] = mapped_column(String(20), nullable=False, default="80%")  # the line watched
    plan: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    fixed: Mapped[list] = mapped_column(JSON, nullable=False, default=list)  # keys of FIXABLE
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    state: Mapped[str] = mapped_column(String(12), nullable=False, default="draft")

    @property
    def state_label(self) -> str:
        return SEASON_STATES.get(self.state, self.state)


class SeasonIssue(TenantMixin, db.Model):
    """One subordinate a season went to: the draft campaign built there (its id in that
    tenant), the plan version it was built from, and the last reminder sent."""

    __tablename__ = "season_issues"
    __table_args__ = (tenant_unique(), tenant_fk("season_id", "seasons", "CASCADE"),
                      UniqueConstraint("season_id", "target_tenant_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    season_id: Mapped[int] = mapped_column(Integer, nullable=False)
    target_tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False,
                                                  index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SeasonSubmission(TenantMixin, Timestamped, db.Model):
    """A subordinate's report up (上报), kept by the issuing tenant: a snapshot of its 统计表
    (the file) and its 评议工作总结 (the text as edited then) with the figures they rest on.
    A later edit makes a new submission (``number`` + 1); a returned one keeps its comment."""

    __tablename__ = "season_submissions"
    __table_args__ = (tenant_unique(), tenant_fk("issue_id", "season_issues", "CASCADE"),
                      UniqueConstraint("issue_id", "number"), Index("ix_season_submissions_issue", "issue_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issue_id: Mapped[int] = mapped_column(Integer, nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    state: Mapped[str] = mapped_column(String(12), nullable=False, default="submitted")
    summary: Mapped[str] = mapped_column(Text, nullable=False, default="")
    figures: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    table_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    table_data: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    submitted_by: Mapped[str] = mapped_column(String(200), nullable=False, default="")  # the user's e-mail
    comment: Mapped[str] = mapped_column(Text, nullable=False, default="")  # why it was returned
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def state_label(self) -> str:
        return SUBMISSION_STATES.get(self.state, self.state)


class Notice(TenantMixin, Timestamped, db.Model):
    """An in-app notice to a tenant's admins from the tenant above (a season's reminder, a
    returned submission), shown until read."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    from_tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="SET NULL"))
    season_id: Mapped[int | None] = mapped_column(Integer)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
