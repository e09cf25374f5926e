"""结果运用: what the tenant decided about a subject after reviewing (复核) its result."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pingyi.extensions import db

from .base import TenantMixin, Timestamped, tenant_fk, tenant_unique

# the uses the seeds name for a result: 评先评优 for the best, talks and rectification for the worst
DECISION_KINDS = {"commend": "评先评优推荐", "reminder": "提醒谈话", "admonish": "诫勉谈话", "rectify": "限期整改",
                  "adjust": "组织调整", "other": "其他"}


class SubjectDecision(TenantMixin, Timestamped, db.Model):
    """One decision about one subject of a campaign, with the review it rests on. Admins only:
    never shown to evaluators, nor on the public page, nor to oversight."""

    __tablename__ = "subject_decisions"
    __table_args__ = (tenant_unique(), tenant_fk("campaign_id", "campaigns", "CASCADE"),
                      tenant_fk("subject_id", "subjects", "CASCADE"),
                      Index("ix_subject_decisions_campaign", "campaign_id"), Index("ix_subject_decisions_subject", "subject_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, nullable=False)
    subject_id: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    review: Mapped[str] = mapped_column(Text, nullable=False)  # 复核意见: what the decision rests on
    decided_on: Mapped[date] = mapped_column(Date, nullable=False)
    decided_by: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(500), nullable=False, default="")
