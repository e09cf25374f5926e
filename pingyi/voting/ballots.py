"""Casting a ballot: what a link may rate, reading a submission, and storing it anonymously.

``cast`` is the one place a link is redeemed: the conditional UPDATE of the link and the
ballot's entry into the sealed ballot box happen in one transaction, so a ballot is never
lost nor counted twice. That transaction is all the box row and the token share; the mixer
(``mixer.mix``) moves boxed ballots into ``ballots`` later, in a random batch, under a new id.
Nothing written carries a time, request data or an audit row.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache

from blinker import Signal
from sqlalchemy import bindparam, select

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

log = logging.getLogger(__name__)

# Sent after a ballot's transaction has committed it to the box, with its ``tenant_id`` and
# ``campaign_id``. The live tally listens (``pingyi.results.live``): it asks for a mix and a
# count later, never in the voter's request; voting knows nothing of it.
ballot_boxed = Signal("ballot-boxed")

# "inactive": the link's tenant was deactivated (``pingyi tenant deactivate``): it serves no ballot
# and, like an unknown link, shows nothing of its campaign.
STATUS_HTTP = {"unknown": 404, "inactive": 404, "used": 409, "revoked": 410, "not_started": 403, "ended": 410}


@dataclass(frozen=True, slots=True)
class Link:
    """What a ballot page reads of a link (``BallotToken``'s columns of these names)."""
    id: int
    tenant_id: int
    campaign_id: int
    category_id: int
    unit_id: int
    used: bool
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class LinkCampaign:
    """What a ballot page reads of the link's campaign (``Campaign``'s columns)."""
    id: int
    name: str
    state: str
    opens_at: datetime
    closes_at: datetime
    opened_at: datetime | None
    timezone: str


@dataclass(frozen=True, slots=True)
class LinkCategory:
    """What a ballot page reads of the link's evaluator category (``EvaluatorCategory``'s columns)."""
    id: int
    name: str
    scope: str
    group_unit_id: int | None


@dataclass
class LinkState:
    status: str  # ok | unknown | inactive | used | revoked | not_started | ended
    token: Link | None = None
    campaign: LinkCampaign | None = None
    category: LinkCategory | None = None
    tenant_slug: str = ""
    unit_name: str = ""

    def sheet(self) -> Sheet:
        """What this link may rate (``voting.sheet``: cached once the campaign has opened)."""
        token, category = self.token, self.category
        return sheet.for_link(token.tenant_id, token.campaign_id, self.campaign.opened_at, category.id,
                              category.scope, category.group_unit_id, token.unit_id)


_PARTS = ((Link, BallotToken), (LinkCampaign, Campaign), (LinkCategory, EvaluatorCategory))


@cache
def _link_statement(column: str):
    """The link with all a ballot page needs of it, by one of its hashes: plain columns, no
    entities to track (built once per column: constructing the statement cost more than
    running it)."""
    columns = [getattr(model, f.name) for part, model in _PARTS for f in fields(part)]
    return (select(*columns, Tenant.is_active, Tenant.slug, Unit.name)
            .join(Campaign, Campaign.id == BallotToken.campaign_id)
            .join(EvaluatorCategory, EvaluatorCategory.id == BallotToken.category_id)
            .join(Tenant, Tenant.id == BallotToken.tenant_id)
            .outerjoin(Unit, Unit.id == BallotToken.unit_id)
            .where(getattr(BallotToken, column) == bindparam("digest")))


def resolve(text: str, now: datetime | None = None) -> LinkState:
    """Look a link up and say whether it may vote now; binds the session to its tenant. One
    indexed read brings the link with its campaign, category, tenant and unit name."""
    found = tokens.credential_hash(text or "")
    if found is None:
        return LinkState("unknown")
    column, digest = found
    with unscoped():  # a link is found by its secret alone; its row names the tenant
        row = db.session.connection().execute(_link_statement(column), {"digest": digest}).first()
    if row is None:
        return LinkState("unknown")
    values, parts = iter(row), []
    for part, _model in _PARTS:
        parts.append(part(*(next(values) for _ in fields(part))))
    token, campaign, category = parts
    active, slug, unit_name = values
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


def subjects_for(token: Link, category: LinkCategory) -> list[Subject]:
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
_BOX_INSERT = BoxedBallot.__table__.insert()


@cache
def _cast_statement(column: str):
    """PostgreSQL: the redeem and the box row in one statement (a data-modifying CTE): the box
    row is written only if the link was redeemed, both or neither, in one round trip."""
    redeemed = tokens.redeem_statement(column).cte("redeemed")
    box = BoxedBallot.__table__
    return (box.insert()
            .from_select(["id", "tenant_id", "campaign_id", "receipt_hash", "sealed"],
                         select(bindparam("box_id", type_=box.c.id.type), bindparam("link_tenant"),
                                redeemed.c.campaign_id, bindparam("box_receipt", type_=box.c.receipt_hash.type),
                                bindparam("box_sealed", type_=box.c.sealed.type)).select_from(redeemed))
            .returning(box.c.id))


def single_statements() -> None:
    """For the ballot pages on PostgreSQL: the session's statements run without a transaction
    around them (no BEGIN, no COMMIT round trips). Reads need none, and ``cast`` is one
    statement there. Call before the request's first statement (a session already in a
    transaction keeps it)."""
    if db.engine.dialect.name == "postgresql" and not db.session().in_transaction():
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def cast(link_text: str, sub: Submission, paper: bool = False, link: LinkState | None = None) -> str:
    """Redeem the link and put the ballot into the box in one transaction; return the receipt
    code. Raises ``AlreadyUsed`` (nothing stored) when another submit won the race. ``link``:
    the link as ``resolve`` found it in this request (else it is looked up again)."""
    found = tokens.credential_hash(link_text)
    if found is None:
        raise AlreadyUsed()
    state = link if link is not None and link.token is not None else resolve(link_text)
    if state.token is None:
        raise AlreadyUsed()
    token = state.token  # its campaign, category and unit never change once issued
    tenant_id, campaign_id = token.tenant_id, token.campaign_id  # read before the commit expires ``token``
    receipt = new_receipt()
    content = {"category_id": token.category_id, "unit_id": token.unit_id, "paper": paper,
               "receipt_hash": receipt_hash(receipt), "receipt": receipt,
               "answers": [list(a) for a in sub.answers], "comments": [list(c) for c in sub.comments]}
    # the session's tenant, bound on its own (Core statements bypass the tenant criteria): a
    # link of another tenant is not redeemed here
    box = {"box_id": secrets.token_hex(16), "link_tenant": require_tenant_id(), "box_receipt": box_receipt_hash(receipt),
           "box_sealed": seal(content, BOX_SEAL)}
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        stored = conn.execute(_cast_statement(found[0]), {"digest": found[1], **box}).first() is not None
    else:  # SQLite: no data-modifying CTE; two statements in the session's transaction
        redeemed = tokens.redeem(*found)
        if redeemed is not None:
            conn.execute(_BOX_INSERT, {"id": box["box_id"], "tenant_id": box["link_tenant"], "campaign_id": redeemed[0],
                                       "receipt_hash": box["box_receipt"], "sealed": box["box_sealed"]})
        stored = redeemed is not None
    if not stored:
        db.session.rollback()
        raise AlreadyUsed()
    db.session.commit()
    try:  # the ballot is stored: nothing after the commit may cost the voter the receipt
        ballot_boxed.send(None, tenant_id=tenant_id, campaign_id=campaign_id)
    except Exception:  # whoever listens logs its own failures; the box row waits for the next run
        log.exception("after ballot of campaign %s", campaign_id)
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
