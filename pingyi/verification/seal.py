"""Sealing a closed campaign: every ballot's canonical row hashed into a Merkle root, stored
with the campaign once the closing recount has moved the last ballot out of the box.

Sealing fixes the export's coarsened groups too (``seal_leaves``: each ballot's shown unit and
category), so a unit moved later changes no row. From then on the rows cannot change: the
application refuses to reopen, and on PostgreSQL triggers refuse any write to them (migration
0019).
"""

from __future__ import annotations

from datetime import datetime

from pingyi.bulk import insert_tuples
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import Campaign, SealLeaf, utcnow
from pingyi.tenancy import require_tenant_id
from pingyi.voting import mixer

from . import coarsening, digest
from . import rows as rw

SEALABLE = ("closed", "published", "archived")


def shown_groups(campaign_id: int, k: int) -> dict[str, coarsening.Group]:
    """Each ballot's (unit, category) as the export shows it: coarsened until every group holds
    ≥ k ballots; with fewer than k in all, every ballot at the top of its unit tree."""
    ballots = rw.ballots(campaign_id)
    parent = rw.parents()
    try:
        to = coarsening.coarsen(rw.groups(ballots), parent, k)
    except coarsening.TooFew:
        to = {(u, c): (coarsening.top(u, parent), None) for _b, u, c in ballots}
    return {b: to[(u, c)] for b, u, c in ballots}


def seal_campaign(c: Campaign, now: datetime | None = None) -> str:
    """Seal ``c`` (closed, box empty) and return its digest; a sealed campaign keeps its seal."""
    if c.seal_digest:
        return c.seal_digest
    if c.state not in SEALABLE:
        raise DomainError(_("只有结束的评议活动才能封存"), "state")
    if mixer.waiting(c.id):
        raise DomainError(_("密封票箱中还有评议票，结束评议后的计票完成后才能封存"), "state")
    k = mixer.batch_size()  # MIN_CELL: the k of every figure shown and of the mixer's batches
    shown = shown_groups(c.id, k)
    tenant_id = require_tenant_id()
    # all read before the COPY starts: the answers stream on the connection the COPY then holds
    found = [(tenant_id, c.id, row.ballot_id, row.unit_id, row.category_id, digest.leaf(row))
             for row in rw.rows(c.id, shown)]
    insert_tuples(SealLeaf.__table__, ["tenant_id", "campaign_id", "ballot_id", "unit_id", "category_id", "leaf"],
                  found)
    leaves = [f[-1] for f in found]
    c.seal_digest, c.seal_k, c.sealed_at = digest.root(leaves), k, now or utcnow()
    db.session.flush()
    return c.seal_digest
