"""Opinion themes (意见主题): a tenant's keyword rules, and a campaign's counts per theme and unit
as the worker last computed them (``pingyi.themes``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pingyi.extensions import db

from .base import TenantMixin, UTCDateTime, tenant_fk, tenant_unique


class ThemeRule(TenantMixin, db.Model):
    """One theme of the tenant's rules: a name, keywords or phrases, exclusion words. A tenant
    with no rows uses the default set (seed 002 第五篇's four themes)."""

    __tablename__ = "theme_rules"
    __table_args__ = (tenant_unique(), UniqueConstraint("tenant_id", "name"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    name: Mapped[str] = mapped_column(String(50), nullable=False)
    keywords: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    excludes: Mapped[list] = mapped_column(JSON, nullable=False, default=list)


class ThemeRun(TenantMixin, db.Model):
    """A campaign's last grouping: when, on which tally version, with which rules (a copy, so
    the page lists the texts the counts were made of even after the rules changed)."""

    __tablename__ = "theme_runs"
    __table_args__ = (tenant_fk("campaign_id", "campaigns", "CASCADE"),)

    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    tally_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rules: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    opinions: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class ThemeCount(TenantMixin, db.Model):
    """Opinions and the distinct ballots behind them, per theme, for the whole campaign
    (``unit_id`` None) and per unit subtree (the subjects' units and their ancestors). Figures
    only; whether one may be shown is decided when it is read (``pingyi.themes.counts``)."""

    __tablename__ = "theme_counts"
    __table_args__ = (tenant_fk("campaign_id", "campaigns", "CASCADE"), tenant_fk("unit_id", "units", "CASCADE"),
                      Index("ix_theme_counts_campaign", "campaign_id", "theme"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, nullable=False)
    theme: Mapped[str] = mapped_column(String(50), nullable=False)
    unit_id: Mapped[int | None] = mapped_column(Integer)
    opinions: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    ballots: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
