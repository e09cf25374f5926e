"""The counted receipt codes of a campaign: sorted, with nothing beside them.

The mixer writes a code when it moves its ballot out of the box (``voting.mixer``); no column
ties it to the ballot, so the list proves that a receipt was counted and not what was chosen.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import func, select

from pingyi.extensions import db
from pingyi.models import Campaign, CountedReceipt
from pingyi.voting.tokens import format_code

from .rows import by_bytes


def count(c: Campaign) -> int:
    return db.session.execute(select(func.count()).select_from(CountedReceipt)
                              .where(CountedReceipt.campaign_id == c.id)).scalar_one()


def _codes(c: Campaign):
    return select(CountedReceipt.code).where(CountedReceipt.campaign_id == c.id).order_by(by_bytes(CountedReceipt.code))


def page(c: Campaign, page: int, per_page: int) -> list[str]:
    """One page of the sorted codes, formatted as printed (ABCD-EFGH-JKMN)."""
    q = _codes(c).offset(max(0, page - 1) * per_page).limit(per_page)
    return [format_code(code) for code in db.session.execute(q).scalars()]


def lines(c: Campaign) -> Iterator[str]:
    """Every code on a line of its own, sorted (the downloadable list)."""
    for code in db.session.execute(_codes(c).execution_options(yield_per=20_000)).scalars():
        yield format_code(code) + "\n"
