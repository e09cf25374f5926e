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
from dataclasses import dataclass, field
from datetime import datetime

from blinker import Signal
from sqlalchemy import select

from pingyi.extensions import db
from pingyi.i18n import _
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
from pingyi.org.orgtree import subtree_filter
from pingyi.security import hash_secret, seal
from pingyi.tenancy import require_tenant_id, set_tenant

from . import tokens

# Sent after a ballot's transaction has committed it to the box, with its ``campaign_id``, in
# the ballot's tenant scope. The live tally listens (``pingyi.results.live``): it runs the
# mixer, then counts what was moved; voting knows nothing of it.
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


def resolve(text: str, now: datetime | None = None) -> LinkState:
    """Look a link up and say whether it may vote now; binds the session to its tenant."""
    token = tokens.lookup(text)
    if token is None:
        return LinkState("unknown")
    set_tenant(token.tenant_id)
    tenant = db.session.get(Tenant, token.tenant_id)
    if tenant is None or not tenant.is_active:
        return LinkState("inactive")
    campaign = db.session.get(Campaign, token.campaign_id)
    category = db.session.get(EvaluatorCategory, token.category_id)
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
    return LinkState(status, token, campaign, category)


def subjects_for(token: BallotToken, category: EvaluatorCategory) -> list[Subject]:
    """本单位 links rate the subjects of their own unit; 全评 links every subject in the group."""
    q = select(Subject).where(Subject.campaign_id == token.campaign_id)
    if category.scope == "group" and category.group_unit_id:
        group = db.session.get(Unit, category.group_unit_id)
        q = q.join(Unit, Unit.id == Subject.unit_id).where(subtree_filter(group.path)).order_by(Unit.path)
    else:
        q = q.where(Subject.unit_id == token.unit_id)
    kind_order = {"unit": 0, "team": 1, "person": 2}
    subjects = db.session.execute(q.order_by(Subject.position)).scalars().all()
    return sorted(subjects, key=lambda s: (kind_order.get(s.kind, 3), s.position))


def forms_of(subjects: list[Subject]) -> dict[int, Form]:
    ids = {s.form_id for s in subjects}
    return {f.id: f for f in db.session.execute(select(Form).where(Form.id.in_(ids))).scalars()}


@dataclass
class Submission:
    answers: list[tuple[int, int, int]] = field(default_factory=list)  # subject, item, choice
    comments: list[tuple[int, int, str]] = field(default_factory=list)  # subject, item, text
    errors: dict[str, str] = field(default_factory=dict)  # field name → message

    def payload(self) -> dict:
        """A comparable form of the answers (paper double entry compares these)."""
        return {"answers": sorted([list(a) for a in self.answers]),
                "comments": sorted([list(c) for c in self.comments])}


def field_name(prefix: str, subject_id: int, item_id: int) -> str:
    return f"{prefix}_{subject_id}_{item_id}"


def parse(data: Mapping[str, str], subjects: list[Subject], forms: dict[int, Form]) -> Submission:
    """Read posted fields ``a_<subject>_<item>`` (a choice id) and ``c_<subject>_<item>`` (text).
    Required items must be answered, choices must belong to the item's scale, texts are
    length-limited; unknown fields are ignored."""
    sub = Submission()
    for s in subjects:
        for section in forms[s.form_id].sections:
            for item in section.items:
                if item.kind == "rating":
                    name = field_name("a", s.id, item.id)
                    raw = (data.get(name) or "").strip()
                    valid = {c.id for c in item.scale.choices} if item.scale else set()
                    if not raw:
                        if item.required:
                            sub.errors[name] = _("请选择")
                        continue
                    # ASCII digits of an id's length only: int() of 5 000 digits raises, and of "²" too
                    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10) or int(raw) not in valid:
                        sub.errors[name] = _("选项无效")
                        continue
                    sub.answers.append((s.id, item.id, int(raw)))
                else:
                    name = field_name("c", s.id, item.id)
                    text = (data.get(name) or "").strip()
                    if len(text) > item.max_length:
                        sub.errors[name] = _("不能超过 %(n)d 字", n=item.max_length)
                    elif text:
                        sub.comments.append((s.id, item.id, text))
                    elif item.required:
                        sub.errors[name] = _("请填写")
    return sub


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
    ballot_boxed.send(None, campaign_id=campaign_id)
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
