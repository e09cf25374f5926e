"""Paper ballots by double entry: two different people type the same paper form (found by the
short code on its slip); the ballot counts only when two entries agree, and then every entry
of that form is deleted, so nothing links the stored ballot to the slip. An entry names its
link, so what was typed is sealed with the app's key (``security.seal``): the bytes a deleted
entry leaves on its page or in the WAL are ciphertext.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, select

from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import BallotToken, Campaign, PaperEntry, Unit
from pingyi.org.orgtree import subtree_filter
from pingyi.security import seal, unseal
from pingyi.tenancy import require_tenant_id

from . import ballots, mixer, tokens


@dataclass
class EntryResult:
    status: str  # pending | counted | mismatch
    receipt: str | None = None
    diffs: list[tuple[int, int, str, str]] = field(default_factory=list)  # subject, item, mine, theirs


def token_for(campaign: Campaign, code: str) -> BallotToken:
    """The unused link of this campaign printed on a paper form, or a clear refusal."""
    if tokens.normalize_code(code or "") is None:
        raise DomainError(_("短码应为 12 位字母和数字，如 ABCD-EFGH-JKMN"), "code")
    token = tokens.lookup(code)
    if token is None or token.tenant_id != require_tenant_id() or token.campaign_id != campaign.id:
        raise DomainError(_("本评议活动中没有这个短码"), "code")
    if token.revoked_at is not None:
        raise DomainError(_("该测评码已作废"), "code")
    if token.used:
        raise DomainError(_("该测评码已经计票，不能重复录入"), "code")
    if campaign.state != "open":
        raise DomainError(_("只有进行中的评议活动可以录入纸质票"), "state")
    return token


def _as_map(payload: dict) -> dict[tuple[int, int], str]:
    out = {(s, i): str(c) for s, i, c in payload["answers"]}
    out.update({(s, i): t for s, i, t in payload["comments"]})
    return out


def differences(mine: dict, theirs: dict) -> list[tuple[int, int, str, str]]:
    a, b = _as_map(mine), _as_map(theirs)
    return [(s, i, a.get((s, i), ""), b.get((s, i), "")) for s, i in sorted(set(a) | set(b))
            if a.get((s, i)) != b.get((s, i))]


ENTRY_SEAL = "paper-entry"


def typed(entry: PaperEntry) -> dict:
    """What the entry's typist typed (``{"answers": …, "comments": …}``); an entry typed before
    entries were sealed holds it as it is."""
    return unseal(entry.payload["sealed"], ENTRY_SEAL) if "sealed" in entry.payload else entry.payload


def enter(campaign: Campaign, code: str, sub: ballots.Submission, user_id: int) -> EntryResult:
    """Record one person's typing of a paper form; count it when another person's entry matches."""
    token = token_for(campaign, code)
    payload = sub.payload()
    others = db.session.execute(select(PaperEntry).where(PaperEntry.token_id == token.id,
                                                         PaperEntry.entered_by != user_id)).scalars().all()
    if any(typed(o) == payload for o in others):
        db.session.execute(delete(PaperEntry).where(PaperEntry.token_id == token.id))
        receipt = ballots.cast(code, sub, paper=True)  # commits; raises AlreadyUsed on a race
        mixer.vacuum("paper_entries")
        return EntryResult("counted", receipt)
    mine = db.session.execute(select(PaperEntry).where(PaperEntry.token_id == token.id,
                                                       PaperEntry.entered_by == user_id)).scalar_one_or_none()
    sealed = {"sealed": seal(payload, ENTRY_SEAL)}
    if mine is None:
        mine = PaperEntry(tenant_id=token.tenant_id, campaign_id=campaign.id, token_id=token.id, entered_by=user_id,
                          payload=sealed)
        db.session.add(mine)
    mine.payload, mine.mismatch = sealed, bool(others)
    for o in others:
        o.mismatch = True
    db.session.commit()
    if others:
        return EntryResult("mismatch", diffs=differences(payload, typed(others[0])))
    return EntryResult("pending")


def pending_counts(campaign: Campaign, within: str | None = None) -> tuple[int, int]:
    """(forms waiting for a second entry, forms whose entries disagree); ``within``: of the
    links of units in that subtree (a unit admin's)."""
    stmt = select(PaperEntry.token_id, PaperEntry.mismatch).where(PaperEntry.campaign_id == campaign.id)
    if within:
        stmt = stmt.where(PaperEntry.token_id.in_(
            select(BallotToken.id).join(Unit, Unit.id == BallotToken.unit_id).where(subtree_filter(within))))
    rows = db.session.execute(stmt).all()
    forms = {}
    for token_id, mismatch in rows:
        forms[token_id] = forms.get(token_id, False) or mismatch
    return sum(1 for m in forms.values() if not m), sum(1 for m in forms.values() if m)
