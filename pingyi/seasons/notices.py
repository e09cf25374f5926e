"""In-app notices (通知) to a tenant's admins from the tenant above: a season's reminder, a
returned submission. A notice is the addressee's row, so it is written in the addressee's
scope — the issuer's code reaches it through ``crossing.in_target`` — and read there until
marked read.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import Notice, utcnow
from pingyi.tenancy import TenantScopeError, get_scoped, require_tenant_id

KINDS = {"reminder": "督办提醒", "returned": "报送退回"}
MAX_TEXT = 2000


def send(tenant_id: int, kind: str, text: str, season_id: int | None = None,
         from_tenant_id: int | None = None) -> Notice:
    """A notice to ``tenant_id``, which must be the current scope (``crossing.in_target``)."""
    if require_tenant_id() != tenant_id:
        raise TenantScopeError("a notice is written in its addressee's scope (seasons.crossing.in_target)")
    if kind not in KINDS:
        raise ValueError(f"unknown notice kind {kind!r}")
    n = Notice(tenant_id=tenant_id, kind=kind, text=(text or "").strip()[:MAX_TEXT], season_id=season_id,
               from_tenant_id=from_tenant_id)
    db.session.add(n)
    db.session.flush()
    return n


def unread(limit: int = 20) -> list[Notice]:
    """The current tenant's unread notices, newest first."""
    return db.session.execute(select(Notice).where(Notice.read_at.is_(None))
                              .order_by(Notice.id.desc()).limit(limit)).scalars().all()


def mark_read(notice_id, now: datetime | None = None) -> Notice:
    """Mark one of the current tenant's notices read (again: no change)."""
    n = get_scoped(Notice, notice_id)
    if n is None:
        raise DomainError(_("找不到这条通知"), "notice")
    n.read_at = n.read_at or now or utcnow()
    db.session.flush()
    return n
