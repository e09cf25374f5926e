"""The audit trail: who changed what, when, in which tenant."""

from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from pingyi.extensions import db

from .base import Timestamped


class AuditEvent(Timestamped, db.Model):
    """Written by ``pingyi.audit`` from each flush; never edited.

    ``tenant_id`` is nullable (platform events such as account changes) so it does not use
    TenantMixin; tenant pages read it through ``tenancy.scoped`` all the same.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_tenant_created", "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(254), nullable=False, default="system")
    action: Mapped[str] = mapped_column(String(20), nullable=False)
    object_type: Mapped[str] = mapped_column(String(50), nullable=False)
    object_id: Mapped[int | None] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    detail: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
