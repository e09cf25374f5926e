"""Casting a ballot: what a link may rate, reading a submission, and storing it anonymously.

``cast`` is the one place a link is redeemed: the conditional UPDATE of the link and the
ballot's entry into the sealed ballot box happen in one transaction, so a ballot is never
lost nor counted twice. That transaction is all the box row and the token share; the mixer
(``mixer.mix``) moves boxed ballots into ``ballots`` later, in a random batch, under a new id.
Nothing written carries a time, request data or an audit row.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from blinker import Signal
from sqlalchemy import select

from pingyi.extensions import db
from pingyi.models import (
    Ballot,
    BallotToken,
    BoxedBallot,
    Campaign,
    EvaluatorCategory,
    Form,
    Subject,
    Tenant,
    Unit,
    utcnow,
)
from pingyi.security import hash_secret, seal
from pingyi.tenancy import require_tenant_id, set_tenant, unscoped

from . import sheet, tokens
from .sheet import Sheet, Submission, field_name  # noqa: F401  (the ballot's names, used with these functions)

# Sent after a ballot's transaction has committed it to the box, with its ``tenant_id`` and
# ``campaign_id``. The live tally listens (``pingyi.results.live``): it asks for a mix and a
# count later, never in the voter's request; voting knows nothing of it.
ballot_boxed = Signal("ballot-boxed")

# "inactive": the link's tenant was deactivated (``pingyi tenant deactivate``): it serves no ballot
# and, like an unknown link, shows nothing of its campaign.
STATUS_HTTP = {"unknown": 404, "inactive": 404, "used": 409, "revoked": 410, "not_started": 403, "ended": 410}


@dataclass
class LinkState:
    status: str  # ok | unknown | inactive | used | revoked | not_started | ended
    token: BallotToken | None = None
    campaign: Campaign | None = None
    category: EvaluatorCategory | None = None
    tenant_slug: str = ""
    unit_name: str = ""

    def sheet(self) -> Sheet:
        """What this link may rate (``voting.sheet``: cached once the campaign has opened)."""
        token, category = self.token, self.category
        return sheet.for_link(token.tenant_id, token.campaign_id, self.campaign.opened_at, category.id,
                              category.scope, category.group_unit_id, token.unit_id)


def resolve(text: str, now: datetime | None = None) -> LinkState:
    """Look a link up and say whether it may vote now; binds the session to its tenant. One
    indexed read brings the link with its campaign, category, tenant and unit name."""
    found = tokens.credential_hash(text or "")
    if found is None:
        return LinkState("unknown")
    column, digest = found
    with unscoped():
        row = db.session.execute(
            select(BallotToken, Campaign, EvaluatorCategory, Tenant.is_active, Tenant.slug, Unit.name)
            .join(Campaign, Campaign.id == BallotToken.campaign_id)
            .join(EvaluatorCategory, EvaluatorCategory.id == BallotToken.category_id)
            .join(Tenant, Tenant.id == BallotToken.tenant_id)
            .outerjoin(Unit, Unit.id == BallotToken.unit_id)
            .where(getattr(BallotToken, column) == digest)).first()
    if row is None:
        return LinkState("unknown")
    token, campaign, category, active, slug, unit_name = row
    set_tenant(token.tenant_id)
    if not active:
        return LinkState("inactive")
    now = now or utcnow()
    if token.revoked_at is not None:
        status = "revoked"
    elif token.used:
        status = "used"
    elif campaign.state in ("draft",) or now < campaign.opens_at:
        status = "not_started"
    elif campaign.state != "open" or now >= campaign.closes_at:
        status = "ended"
    else:
        status = "ok"
    return LinkState(status, token, campaign, category, slug, unit_name or "")


def subjects_for(token: BallotToken, category: EvaluatorCategory) -> list[Subject]:
    """The subjects a link may rate, in page order (``voting.sheet.subjects_for``)."""
    return sheet.subjects_for(token.campaign_id, category.scope, category.group_unit_id, token.unit_id)


def forms_of(subjects: list[Subject]) -> dict[int, Form]:
    return sheet.forms_of(subjects)


def parse(data: Mapping[str, str], subjects: list[Subject], forms: dict[int, Form]) -> Submission:
    """Read a submission for these subjects on these forms (``voting.sheet.read``)."""
    return sheet.read(data, sheet.build(subjects, forms))


read = sheet.read  # a submission against a link's sheet (``LinkState.sheet``)


class AlreadyUsed(Exception):
    """The link was used (or revoked) between the page load and this submit."""


def new_receipt() -> str:
    return tokens.new_short_code()


def receipt_hash(code: str) -> str:
    return hash_secret("receipt:" + code)


def box_receipt_hash(code: str) -> str:
    """The same receipt as the box knows it: no value in the box equals one on the ballot."""
    return hash_secret("box-receipt:" + code)


BOX_SEAL = "ballot-box"  # the purpose the box's content is sealed under (security.seal)


def cast(link_text: str, sub: Submission, paper: bool = False) -> str:
    """Redeem the link and put the ballot into the box in one transaction; return the receipt
    code. Raises ``AlreadyUsed`` (nothing stored) when another submit won the race."""
    found = tokens.credential_hash(link_text)
    if found is None:
        raise AlreadyUsed()
    redeemed = tokens.redeem(*found)
    if redeemed is None:
        db.session.rollback()
        raise AlreadyUsed()
    campaign_id, category_id, unit_id = redeemed
    receipt = new_receipt()
    content = {"category_id": category_id, "unit_id": unit_id, "paper": paper, "receipt_hash": receipt_hash(receipt),
               "answers": [list(a) for a in sub.answers], "comments": [list(c) for c in sub.comments]}
    db.session.execute(BoxedBallot.__table__.insert(), [{
        "id": secrets.token_hex(16), "tenant_id": require_tenant_id(), "campaign_id": campaign_id,
        "receipt_hash": box_receipt_hash(receipt), "sealed": seal(content, BOX_SEAL)}])
    db.session.commit()
    try:  # the ballot is stored: nothing after the commit may cost the voter the receipt
        ballot_boxed.send(None, tenant_id=require_tenant_id(), campaign_id=campaign_id)
    except Exception:  # whoever listens logs its own failures; the box row waits for the next run
        db.session.rollback()
    return receipt


def check_receipt(campaign: Campaign, code: str) -> str | None:
    """Where the ballot with this receipt is in ``campaign``: ``"counted"`` (in the ballot
    tables), ``"waiting"`` (in the sealed box until the mixer moves a batch), or None (no such
    receipt). Reveals nothing else."""
    normalized = tokens.normalize_code(code)
    if normalized is None:
        return None
    for status, model, digest in (("counted", Ballot, receipt_hash(normalized)),
                                  ("waiting", BoxedBallot, box_receipt_hash(normalized))):
        if db.session.execute(select(model.id).where(model.campaign_id == campaign.id,
                                                     model.receipt_hash == digest)).first() is not None:
            return status
    return None
