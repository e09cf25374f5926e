"""The feedback box (信息收集箱): opinions anyone leaves for a unit, and the admins' answers."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from pingyi.extensions import db

from .base import TenantMixin, UTCDateTime, tenant_fk, tenant_unique


class FeedbackEntry(TenantMixin, db.Model):
    """One opinion left on the public page, for a unit and optionally a campaign.

    Secrecy is the product: the row holds the text, the unit, the campaign and the *date* it
    was left (in Asia/Shanghai) — no time of day, address, user agent, cookie or session, and
    it is written by a Core statement the audit trail does not see, with a random id, so the
    rows' order says nothing about the order they came in (``feedback.box.submit``).
    The answer is the admins' (audited like any admin write); ``published`` shows it with the
    opinion on the campaign's 公示 page, or on the feedback page for entries without a campaign.
    """

    __tablename__ = "feedback_entries"
    __table_args__ = (tenant_unique(), tenant_fk("unit_id", "units"), tenant_fk("campaign_id", "campaigns", "CASCADE"),
                      Index("ix_feedback_entries_unit", "unit_id"), Index("ix_feedback_entries_campaign", "campaign_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, nullable=False)
    campaign_id: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    submitted_on: Mapped[date] = mapped_column(Date, nullable=False)
    answer: Mapped[str] = mapped_column(Text, nullable=False, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
