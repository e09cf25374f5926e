"""Stored tallies: answer counts per subject × item × choice × category, replaced as a whole by
each tally run (in one transaction, so a run killed half-way leaves the previous result)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import TenantMixin, UTCDateTime, tenant_fk


class TallyCount(TenantMixin, db.Model):
    __tablename__ = "tally_counts"
    __table_args__ = (tenant_fk("campaign_id", "campaigns", "CASCADE"),)

    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    choice_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False)


class TallyRun(TenantMixin, db.Model):
    """The latest tally of a campaign: its version grows by one per run."""

    __tablename__ = "tally_runs"
    __table_args__ = (tenant_fk("campaign_id", "campaigns", "CASCADE"),)

    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    ballots: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    answers: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
