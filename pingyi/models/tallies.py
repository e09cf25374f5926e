"""Stored tallies: answer counts per subject × item × choice × category, replaced as a whole by
each tally run (in one transaction, so a run killed half-way leaves the previous result)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from pingyi.extensions import db

from .base import TenantMixin, UTCDateTime, tenant_fk


class TallyCount(TenantMixin, db.Model):
    """Derived, and by far the largest write of a tally (1.8 M cells for 10 M answers), so no
    foreign keys: per-row key checks would double a cold tally's time. A trigger on
    ``campaigns`` deletes a campaign's counts with it (migration 0005)."""

    __tablename__ = "tally_counts"

    tenant_id: Mapped[int] = mapped_column(Integer, nullable=False)

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
    full: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)  # last run: full or incremental
    # Campaign totals from the roll-up (what an oversight tenant reads once published).
    subjects: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rated: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    issued: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    used: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    valid: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # answers on a rating scale
    satisfied: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    lowest: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Ballots per evaluator category that answered or commented on anything: the campaign's
    # breakdown by category (``results.suppression``), kept with the cells so no page counts them.
    category_ballots: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)  # {category_id: n}


class TallySubject(TenantMixin, db.Model):
    """One subject's figures summed over its cells (answers, satisfied, lowest choice), kept by
    every tally run for the subjects it changed: verdicts, the lowest subjects and the subject
    table read these rows instead of summing 1.8 M cells per view."""

    __tablename__ = "tally_subjects"
    __table_args__ = (tenant_fk("campaign_id", "campaigns", "CASCADE"),
                      Index("ix_tally_subjects_rate", "campaign_id", "rate"))

    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    total: Mapped[int] = mapped_column(Integer, nullable=False)
    satisfied: Mapped[int] = mapped_column(Integer, nullable=False)
    lowest: Mapped[int] = mapped_column(Integer, nullable=False)
    # satisfied / total (NULL without answers), for sorting by an index: two different shares
    # of a few million answers differ far above a double's precision, so its order is exact.
    rate: Mapped[float | None] = mapped_column(Float)


class TallyBallots(TenantMixin, db.Model):
    """The ballots behind a subject's cell by evaluator category, split by the ballots' unit
    (``results.suppression`` decides from these what a breakdown may show). Kept by every
    tally run: a campaign's breakdown would otherwise count distinct ballots over every answer
    on each view (20 s at 10 M answers)."""

    __tablename__ = "tally_ballots"
    __table_args__ = (tenant_fk("campaign_id", "campaigns", "CASCADE"),)

    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ballots: Mapped[int] = mapped_column(Integer, nullable=False)


class TallyItem(TenantMixin, db.Model):
    """Answers per form item × category × choice across the campaign's subjects (seed 002 §四's
    figures per item, and the table by category), kept with the cells like ``TallySubject``:
    the results page reads some fifty rows instead of grouping every cell."""

    __tablename__ = "tally_items"
    __table_args__ = (tenant_fk("campaign_id", "campaigns", "CASCADE"),)

    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    choice_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False)


class TallyInbox(TenantMixin, db.Model):
    """Ballots not yet counted. A database trigger adds a row with every ballot (in the ballot's
    own transaction, whatever code inserts it); a tally claims and deletes them, so incremental
    counting needs no voting order or timestamps on ballots and nothing remains afterwards."""

    __tablename__ = "tally_inbox"
    __table_args__ = (tenant_fk("campaign_id", "campaigns", "CASCADE"),)

    ballot_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    claimed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class TallyUnit(TenantMixin, db.Model):
    """Roll-up of one campaign over a unit's subtree: coverage (subjects rated of subjects),
    turnout (links used of issued) and the distribution of choices about its subjects."""

    __tablename__ = "tally_units"
    __table_args__ = (tenant_fk("campaign_id", "campaigns", "CASCADE"),)

    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subjects: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rated: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    issued: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    used: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    valid: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    satisfied: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    lowest: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    by_choice: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)  # {choice_id: count}


class LiveItem(TenantMixin, db.Model):
    """Live results (``results.live_view``): how many answers the shown snapshot of one subject
    × item rests on, and the tally run that last took it. Written by tally runs only."""

    __tablename__ = "live_items"
    __table_args__ = (tenant_fk("campaign_id", "campaigns", "CASCADE"),)

    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shown: Mapped[int] = mapped_column(Integer, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)


class LiveCount(TenantMixin, db.Model):
    """The shown snapshot's counts per subject × item × choice (no category: an open campaign
    shows no breakdown by category)."""

    __tablename__ = "live_counts"
    __table_args__ = (tenant_fk("campaign_id", "campaigns", "CASCADE"),)

    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    choice_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
