"""What makes a closed campaign's count checkable from outside (``pingyi.verification``).

``counted_receipts`` lists the receipt codes of the counted ballots with nothing else: no ballot
id, no order worth reading (the mixer writes them with their batch, the closing reshuffle
rewrites them all in random order), so the public list proves a ballot was counted without
saying which one. ``seal_leaves`` keeps, per ballot, the hash its row contributes to the seal
digest (``Campaign.seal_digest``): ``pingyi verify`` then names the ballot whose row changed.
On PostgreSQL a trigger refuses changes to a sealed campaign's rows here and in
``ballots``/``answers``/``comments`` (migration 0019).
"""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from pingyi.extensions import db

from .base import TenantMixin, tenant_fk


class CountedReceipt(TenantMixin, db.Model):
    """A receipt code handed to a voter whose ballot is in ``ballots`` (not its ballot)."""

    __tablename__ = "counted_receipts"
    __table_args__ = (tenant_fk("campaign_id", "campaigns", "CASCADE"),)

    campaign_id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), primary_key=True)


class SealLeaf(TenantMixin, db.Model):
    """One ballot's leaf in its sealed campaign's Merkle tree (``verification.digest.leaf``),
    with the unit and category its row shows once small groups are coarsened (``None``:
    categories merged), fixed at sealing so a later change of the unit tree changes no row."""

    __tablename__ = "seal_leaves"
    __table_args__ = (tenant_fk("campaign_id", "campaigns", "CASCADE"),)

    campaign_id: Mapped[int] = mapped_column(primary_key=True)
    ballot_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    unit_id: Mapped[int] = mapped_column(nullable=False)
    category_id: Mapped[int | None] = mapped_column()
    leaf: Mapped[str] = mapped_column(String(64), nullable=False)
