"""One-time ballot links: issuing (the secret is shown once, only its hash is kept).

Redemption, short codes, QR slips and revocation build on this module.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from sqlalchemy import func, select

from .audit import record_bulk
from .errors import DomainError
from .extensions import db
from .i18n import _
from .models import BallotToken, Campaign, EvaluatorCategory, Unit, utcnow
from .security import hash_secret
from .tenancy import require_tenant_id

SECRET_BYTES = 16  # 128 bits, URL-safe base64 → 22 characters
MAX_PER_CALL = 200_000


def issue_links(campaign: Campaign, category: EvaluatorCategory, unit: Unit, count: int,
                secret_source: Callable[[int], str] | None = None) -> list[str]:
    """Issue ``count`` links for evaluators of ``category`` at ``unit``; returns the secrets.
    ``secret_source`` (index → secret) exists for the demo's reproducible links only."""
    if campaign.state not in ("draft", "open"):
        raise DomainError(_("只有草稿或进行中的评议活动可以发放测评码"))
    if category.campaign_id != campaign.id:
        raise DomainError(_("参评类别不属于该评议活动"), "category")
    if not 1 <= count <= MAX_PER_CALL:
        raise DomainError(_("发放数量应在 1 到 %(n)d 之间", n=MAX_PER_CALL), "count")
    tid, now = require_tenant_id(), utcnow()
    out, rows = [], []
    for i in range(count):
        secret = secret_source(i) if secret_source else secrets.token_urlsafe(SECRET_BYTES)
        out.append(secret)
        rows.append({"tenant_id": tid, "campaign_id": campaign.id, "category_id": category.id, "unit_id": unit.id,
                     "secret_hash": hash_secret(secret), "issued_at": now})
    db.session.execute(BallotToken.__table__.insert(), rows)
    record_bulk("create", "ballot_tokens", count, {"campaign_id": campaign.id, "category": category.name,
                                                   "unit": unit.name})
    return out


def live_link_count(campaign: Campaign) -> int:
    return db.session.execute(select(func.count()).select_from(BallotToken).where(
        BallotToken.campaign_id == campaign.id, BallotToken.revoked_at.is_(None))).scalar_one()
