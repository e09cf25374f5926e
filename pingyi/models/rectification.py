"""The rectification ledger (整改台账): items with their state, history and evidence files."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pingyi.extensions import db

from .base import TenantMixin, Timestamped, UTCDateTime, tenant_fk, tenant_unique

RECTIFICATION_STATES = ("open", "in_progress", "done", "verified", "cannot_fix")
RECTIFICATION_SOURCES = ("verdict", "opinion", "theme", "feedback")


class RectificationItem(TenantMixin, Timestamped, db.Model):
    """One problem to fix: who fixes it (unit, person), how (measure), by when (deadline, a
    date in the campaign's zone), where it came from (``source`` and its reference) and how
    far it got (``state``; ``overdue`` is set by the daily job, ``overdue.is_overdue`` says
    the same for any moment)."""

    __tablename__ = "rectification_items"
    __audit_ignore__ = ("overdue",)  # the daily job's flag, not a user's change
    __table_args__ = (
        tenant_unique(), tenant_fk("campaign_id", "campaigns", "CASCADE"), tenant_fk("unit_id", "units"),
        tenant_fk("subject_id", "subjects"),
        Index("ix_rectification_items_campaign_state", "campaign_id", "state"),
        Index("ix_rectification_items_unit", "unit_id"), Index("ix_rectification_items_subject", "subject_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, nullable=False)
    source: Mapped[str] = mapped_column(String(10), nullable=False)
    # what in the source it came from ("subject:12" for a verdict, "subject:12/item:3" for an
    # opinion, a theme's or a feedback entry's id) and a label to read it by (for a verdict, the
    # rule's outcome; for an opinion, its text)
    source_ref: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    source_label: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    subject_id: Mapped[int | None] = mapped_column(Integer)
    problem: Mapped[str] = mapped_column(Text, nullable=False)
    unit_id: Mapped[int] = mapped_column(Integer, nullable=False)
    person: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    measure: Mapped[str] = mapped_column(Text, nullable=False, default="")
    deadline: Mapped[date] = mapped_column(Date, nullable=False)
    state: Mapped[str] = mapped_column(String(12), nullable=False, default="open")
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")  # why it cannot be fixed
    evidence: Mapped[str] = mapped_column(Text, nullable=False, default="")  # evidence notes
    overdue: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_by: Mapped[int | None] = mapped_column(Integer)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RectificationEvent(TenantMixin, db.Model):
    """One change of an item (its history): who, when, from which state to which, a note."""

    __tablename__ = "rectification_events"
    __table_args__ = (tenant_fk("item_id", "rectification_items", "CASCADE"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(254), nullable=False, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    from_state: Mapped[str | None] = mapped_column(String(12))
    to_state: Mapped[str] = mapped_column(String(12), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")


class RectificationFile(TenantMixin, Timestamped, db.Model):
    """An evidence file; its bytes live in the database, as job files' do."""

    __tablename__ = "rectification_files"
    __table_args__ = (tenant_fk("item_id", "rectification_items", "CASCADE"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    mime: Mapped[str] = mapped_column(String(100), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    uploaded_by: Mapped[int | None] = mapped_column(Integer)
