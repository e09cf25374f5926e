"""One-time ballot links (测评码). Only a hash of each secret is stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import TenantMixin, UTCDateTime, tenant_fk, tenant_unique


class BallotToken(TenantMixin, db.Model):
    """Eligibility record: which category/unit a link is for and whether it was used.

    Never linked to a ballot: no ballot row references it and it references none.
    """

    __tablename__ = "ballot_tokens"
    __table_args__ = (
        tenant_unique(), tenant_fk("campaign_id", "campaigns", "CASCADE"),
        tenant_fk("category_id", "evaluator_categories", "CASCADE"), tenant_fk("unit_id", "units"),
        Index("ix_tokens_campaign_unit", "campaign_id", "unit_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, nullable=False)
    category_id: Mapped[int] = mapped_column(Integer, nullable=False)
    unit_id: Mapped[int] = mapped_column(Integer, nullable=False)
    secret_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
