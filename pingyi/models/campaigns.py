"""Campaigns (评议活动) with their subjects, evaluator categories and rules."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pingyi.extensions import db

from .base import TenantMixin, Timestamped, UTCDateTime, tenant_fk, tenant_unique

STATES = ("draft", "open", "closed", "published", "archived")
PUBLISHED_STATES = ("published", "archived")  # results may be shown (公示, oversight)
STATE_LABELS = {"draft": "草稿", "open": "进行中", "closed": "已结束", "published": "已公布", "archived": "已归档"}
SCOPES = {"own_unit": "本单位", "group": "全评（整组）"}
PUBLICATION_SCOPES = {"public": "公开", "tenant": "本单位成员", "oversight": "仅上级督导"}
# the stages of a campaign as the seeds' timetables name them (seed 000, 001, 004)
PHASES = {"publicity": "宣传发动", "appraisal": "组织评议", "rectification": "整改落实", "review": "回头看"}
MEETING_KINDS = {"appraisal": "民主评议会", "forum": "座谈会", "mobilization": "动员大会", "report": "情况通报会",
                 "other": "其他会议"}


class Campaign(TenantMixin, Timestamped, db.Model):
    __tablename__ = "campaigns"
    __table_args__ = (tenant_unique(),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    timezone: Mapped[str] = mapped_column(String(50), nullable=False, default="Asia/Shanghai")
    state: Mapped[str] = mapped_column(String(12), nullable=False, default="draft", index=True)
    weighting: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    publication_scope: Mapped[str] = mapped_column(String(12), nullable=False, default="tenant")
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # 公示: the publication page is shown from published_at until publish_until (None: open-ended);
    # opinions (free-text comments) appear on it only if the admin says so.
    publish_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    publish_opinions: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # The summary report's narrative paragraphs as the admin edited them (key → text); a key
    # missing here is generated from the figures when the report is made.
    narrative: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    # While open, results show turnout only unless the admin turns this on; then figures come
    # from the live snapshot, which moves in steps of k ballots (``results.live_view``).
    live_results: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # Built from a season of the tenant above (``pingyi.seasons``): its id there and the parts
    # it fixes (keys of ``models.seasons.FIXABLE``), which this tenant's admins cannot change.
    season_id: Mapped[int | None] = mapped_column(Integer, index=True)
    season_fixed: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    # The seal (``pingyi.verification``), set once when the closing recount has moved every
    # ballot: the Merkle root over the ballots' canonical rows, and the k their (unit, category)
    # groups were coarsened to. Sealed rows cannot change (a PostgreSQL trigger), nor reopen.
    seal_digest: Mapped[str | None] = mapped_column(String(64))
    seal_k: Mapped[int | None] = mapped_column(Integer)
    sealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # 公示: whether the anonymised ballot export may be downloaded from the publication page
    publish_export: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)


class EvaluatorCategory(TenantMixin, db.Model):
    """参评人员类别: weight (a decimal string, exact) and scope (own unit / a group subtree)."""

    __tablename__ = "evaluator_categories"
    __table_args__ = (tenant_unique(), tenant_fk("campaign_id", "campaigns", "CASCADE"),
                      tenant_fk("group_unit_id", "units"), UniqueConstraint("campaign_id", "name"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(50), nullable=False)
    weight: Mapped[str] = mapped_column(String(20), nullable=False, default="1")
    scope: Mapped[str] = mapped_column(String(10), nullable=False, default="own_unit")
    group_unit_id: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    group_unit = relationship("Unit", primaryjoin="EvaluatorCategory.group_unit_id == Unit.id",
                              foreign_keys=[group_unit_id], viewonly=True)


class Subject(TenantMixin, db.Model):
    """评议对象: a unit (基层党组织), a person (党员) or a leadership team (领导班子), with its form."""

    __tablename__ = "subjects"
    __table_args__ = (
        tenant_unique(), tenant_fk("campaign_id", "campaigns", "CASCADE"), tenant_fk("unit_id", "units"),
        tenant_fk("person_id", "people"), tenant_fk("form_id", "forms"),
        UniqueConstraint("campaign_id", "kind", "unit_id", "person_id"),
        Index("ix_subjects_campaign_unit", "campaign_id", "unit_id"),
        # for the foreign-key checks when a person or unit is deleted
        Index("ix_subjects_person", "person_id"), Index("ix_subjects_unit", "unit_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    unit_id: Mapped[int] = mapped_column(Integer, nullable=False)
    person_id: Mapped[int | None] = mapped_column(Integer)
    form_id: Mapped[int] = mapped_column(Integer, nullable=False)
    label: Mapped[str] = mapped_column(String(300), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    unit = relationship("Unit", primaryjoin="Subject.unit_id == Unit.id", foreign_keys=[unit_id], viewonly=True)
    form = relationship("Form", primaryjoin="Subject.form_id == Form.id", foreign_keys=[form_id], viewonly=True)


class Rule(TenantMixin, db.Model):
    """A result rule as data: ``metric op threshold → outcome``; within one ``group`` only the
    last matching rule (by position) applies, so 基本称职 and 不称职 exclude each other."""

    __tablename__ = "rules"
    __table_args__ = (tenant_unique(), tenant_fk("campaign_id", "campaigns", "CASCADE"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    metric: Mapped[str] = mapped_column(String(30), nullable=False)
    op: Mapped[str] = mapped_column(String(2), nullable=False)
    threshold: Mapped[str] = mapped_column(String(20), nullable=False)
    outcome: Mapped[str] = mapped_column(String(100), nullable=False)
    applies_to: Mapped[str] = mapped_column(String(10), nullable=False, default="any")
    group: Mapped[str] = mapped_column(String(30), nullable=False, default="")
    severity: Mapped[str] = mapped_column(String(10), nullable=False, default="action")
    source: Mapped[str] = mapped_column(String(100), nullable=False, default="")


class CampaignPhase(TenantMixin, db.Model):
    """One stage of a campaign's timetable (宣传发动 → 组织评议 → 整改落实 → 回头看) with its dates."""

    __tablename__ = "campaign_phases"
    __table_args__ = (tenant_unique(), tenant_fk("campaign_id", "campaigns", "CASCADE"),
                      UniqueConstraint("campaign_id", "kind"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    starts_on: Mapped[date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[date] = mapped_column(Date, nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")


class Meeting(TenantMixin, Timestamped, db.Model):
    """A meeting a unit held for the campaign (民主评议会, 座谈会, 动员大会…): what the summary
    report counts as 召开评议会议 — a record, never an inference from links used."""

    __tablename__ = "meetings"
    __table_args__ = (tenant_unique(), tenant_fk("campaign_id", "campaigns", "CASCADE"), tenant_fk("unit_id", "units"),
                      Index("ix_meetings_campaign_unit", "campaign_id", "unit_id"), Index("ix_meetings_unit", "unit_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, nullable=False)
    unit_id: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    held_on: Mapped[date] = mapped_column(Date, nullable=False)
    attendance: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    note: Mapped[str] = mapped_column(String(500), nullable=False, default="")
