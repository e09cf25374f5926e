"""One-time ballot links: issuing, looking up and revoking. The single place that knows how a
link's secret and short code become hashes.

A link carries a 128-bit URL-safe secret (in the QR code) and a 12-character short code
(Crockford base32, 60 bits, for typing a printed slip by hand). Only SHA-256 hashes of both
are stored; the secrets exist once, in the issuing job's files.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Collection
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import NamedTuple

from sqlalchemy import and_, bindparam, case, func, select, update

from pingyi.audit import record_bulk
from pingyi.bulk import insert_rows
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import BallotToken, Campaign, EvaluatorCategory, Tenant, Unit, utcnow
from pingyi.org.orgtree import subtree_filter
from pingyi.security import hash_secret
from pingyi.tenancy import require_tenant_id, unscoped

SECRET_BYTES = 16  # 128 bits → 22 URL-safe characters
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SHORT_LEN = 12
MAX_PER_CALL = 200_000
_READS_AS = {"O": "0", "I": "1", "L": "1", "U": "V"}


@dataclass(frozen=True)
class IssuedLink:
    secret: str
    short_code: str
    serial: int
    unit_id: int
    category_id: int


def new_short_code() -> str:
    """12 Crockford characters from 60 random bits."""
    n = int.from_bytes(secrets.token_bytes(8), "big")
    return "".join(CROCKFORD[(n >> (5 * i)) & 31] for i in range(SHORT_LEN))


def format_code(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def normalize_code(text: str) -> str | None:
    """What a person typed (spaces, dashes, lower case, O for 0…) → the canonical code, or None."""
    code = "".join(ch for ch in (text or "").upper() if ch.isalnum())
    code = "".join(_READS_AS.get(ch, ch) for ch in code)
    if len(code) != SHORT_LEN or any(ch not in CROCKFORD for ch in code):
        return None
    return code


def short_hash(code: str) -> str:
    return hash_secret("short:" + code)


def is_secret(text: str) -> bool:
    """Shaped like a link's secret (22 URL-safe characters, 128 random bits): never guessed, and
    never typed (a QR code or a printed URL carries it)."""
    return len(text) == 22 and all(ch.isalnum() or ch in "-_" for ch in text)


def credential_hash(text: str) -> tuple[str, str] | None:
    """A link secret or a short code → (column, hash) to look it up by; None if it is neither."""
    if is_secret(text):
        return "secret_hash", hash_secret(text)
    code = normalize_code(text)
    return ("short_hash", short_hash(code)) if code else None


def lookup(text: str) -> BallotToken | None:
    """Find a link by its secret or short code, in any tenant: the link is the credential and
    tells which tenant the request belongs to."""
    found = credential_hash(text or "")
    if found is None:
        return None
    column, digest = found
    with unscoped():
        return db.session.execute(select(BallotToken).where(getattr(BallotToken, column) == digest)).scalar_one_or_none()


def issue_links(campaign: Campaign, category: EvaluatorCategory, unit: Unit, count: int,
                secret_source: Callable[[int, int], tuple[str, str]] | None = None,
                batch_id: int | None = None) -> list[IssuedLink]:
    """Issue ``count`` links for evaluators of ``category`` at ``unit``, numbered after the unit's
    existing slips. ``secret_source`` ((unit id, index) → (secret, short code)) is for the demo only."""
    return issue_many(campaign, category, [unit], count, secret_source, batch_id)


def issue_many(campaign: Campaign, category: EvaluatorCategory, units: list[Unit], per_unit: int,
               secret_source: Callable[[int, int], tuple[str, str]] | None = None,
               batch_id: int | None = None) -> list[IssuedLink]:
    """``per_unit`` links for each of ``units``: one serial query, one insert, one audit row."""
    if campaign.state not in ("draft", "open"):
        raise DomainError(_("只有草稿或进行中的评议活动可以发放测评码"))
    if category.campaign_id != campaign.id:
        raise DomainError(_("参评类别不属于该评议活动"), "category")
    if not 1 <= per_unit * len(units) <= MAX_PER_CALL:
        raise DomainError(_("发放数量应在 1 到 %(n)d 之间", n=MAX_PER_CALL), "count")
    tid, now = require_tenant_id(), utcnow()
    last = dict(db.session.execute(
        select(BallotToken.unit_id, func.max(BallotToken.serial))
        .where(BallotToken.campaign_id == campaign.id, BallotToken.unit_id.in_([u.id for u in units]))
        .group_by(BallotToken.unit_id)).all())
    links, rows = [], []
    for unit in units:
        first = (last.get(unit.id) or 0) + 1
        for i in range(per_unit):
            secret, code = (secret_source(unit.id, i) if secret_source
                            else (secrets.token_urlsafe(SECRET_BYTES), new_short_code()))
            links.append(IssuedLink(secret, code, first + i, unit.id, category.id))
            rows.append({"tenant_id": tid, "campaign_id": campaign.id, "category_id": category.id,
                         "unit_id": unit.id, "secret_hash": hash_secret(secret), "short_hash": short_hash(code),
                         "serial": first + i, "batch_id": batch_id, "issued_at": now})
    insert_rows(BallotToken.__table__, rows)
    record_bulk("create", "ballot_tokens", len(rows), {"campaign_id": campaign.id, "category": category.name,
                                                       "units": len(units), "per_unit": per_unit,
                                                       "unit": units[0].name if len(units) == 1 else None})
    return links


def revoke(campaign: Campaign, *, unit: Unit | None = None, serial: int | None = None,
           short_code: str | None = None, category: EvaluatorCategory | None = None) -> int:
    """作废: one link (by short code, or unit + serial) or every unused link of a unit
    (optionally of one category). Used links stay counted. Returns how many were revoked."""
    q = update(BallotToken).where(BallotToken.campaign_id == campaign.id, BallotToken.used.is_(False),
                                  BallotToken.revoked_at.is_(None))
    if short_code is not None:
        code = normalize_code(short_code)
        if code is None:
            raise DomainError(_("短码格式不正确"), "short_code")
        q = q.where(BallotToken.short_hash == short_hash(code))
    elif unit is not None:
        q = q.where(BallotToken.unit_id == unit.id)
        if serial is not None:
            q = q.where(BallotToken.serial == serial)
    else:
        raise DomainError(_("请指定要作废的测评码或单位"))
    if category is not None:
        q = q.where(BallotToken.category_id == category.id)
    n = db.session.execute(q.values(revoked_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    if n:
        record_bulk("revoke", "ballot_tokens", n, {"campaign_id": campaign.id, "unit": unit.name if unit else None,
                                                   "serial": serial})
    return n


class Links(NamedTuple):
    """Links issued and used; a revoked link counts as neither (its slip no longer votes)."""

    issued: int = 0
    used: int = 0

    @property
    def rate(self) -> Fraction | None:
        """参评率: used ÷ issued, exact; ``None`` when nothing was issued."""
        return Fraction(self.used, self.issued) if self.issued else None


GROUPS = {"campaign": BallotToken.campaign_id, "unit": BallotToken.unit_id, "category": BallotToken.category_id}


def link_counts(campaigns: int | Collection[int], by: tuple[str, ...] = (),
                within: str | None = None) -> dict[tuple[int, ...], Links]:
    """The one count of links issued and used, for one campaign or several, grouped by any of
    ``GROUPS`` (keys are tuples in ``by`` order; ``()`` for the total). A group whose every link
    was revoked is listed with zeros; a group that never had a link is absent. ``within``: only
    the links of units in that subtree (a unit admin's)."""
    keys = [GROUPS[name] for name in by]
    ids = [campaigns] if isinstance(campaigns, int) else list(campaigns)
    live = BallotToken.revoked_at.is_(None)
    stmt = (select(*keys, func.count(case((live, 1))), func.count(case((and_(live, BallotToken.used), 1))))
            .where(BallotToken.campaign_id.in_(ids)))
    if within:
        stmt = stmt.where(BallotToken.unit_id.in_(select(Unit.id).where(subtree_filter(within))))
    rows = db.session.execute(stmt.group_by(*keys)).all()
    return {tuple(r[:-2]): Links(r[-2], r[-1]) for r in rows}


def issued_count(campaign: Campaign, within: str | None = None) -> int:
    return link_counts(campaign.id, within=within).get((), Links()).issued


@cache
def redeem_statement(token_column: str):
    """Built once per column, on the table (Core, not the ORM's bulk update): constructing and
    routing the statement cost more than running it. Core bypasses the tenant criteria, so the
    tenant is a bound parameter of its own."""
    t, campaigns, tenants = BallotToken.__table__, Campaign.__table__, Tenant.__table__
    return (update(t)
            .where(t.c[token_column] == bindparam("digest"), t.c.tenant_id == bindparam("link_tenant"),
                   t.c.used.is_(False), t.c.revoked_at.is_(None),
                   t.c.campaign_id.in_(select(campaigns.c.id).where(campaigns.c.state == "open")),
                   t.c.tenant_id.in_(select(tenants.c.id).where(tenants.c.is_active.is_(True))))
            .values(used=True)
            .returning(t.c.campaign_id, t.c.category_id, t.c.unit_id))


def redeem(token_column: str, digest: str) -> tuple[int, int, int] | None:
    """Mark a link used: one atomic conditional UPDATE … RETURNING, safe under concurrent
    double submits on SQLite and PostgreSQL; only while its campaign is open (a submit racing
    the close is refused rather than left in the box after the final mix) and its tenant active
    (a deactivated tenant takes no ballot, whenever its page was opened). Returns
    (campaign, category, unit) or None. No time is kept: whether it was used is all."""
    row = db.session.connection().execute(redeem_statement(token_column),
                                          {"digest": digest, "link_tenant": require_tenant_id()}).first()
    return tuple(row) if row else None
