"""个别访谈 (种子004 五.5): about ten evaluators per unit drawn at random for an interview.

The sample is drawn from the issued, non-revoked links and named by their slip serials
("No.0007" within a unit), so staff can find those slips; it never touches ballots. A draw is
reproducible: the same links and seed always give the same sample, whatever their order.
"""

from __future__ import annotations

import random
import secrets
from itertools import groupby

from sqlalchemy import select

from pingyi.errors import DomainError, int_in_range
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import INTEGER_RANGE, BallotToken, Campaign, InterviewSample

MAX_PER_UNIT = 100
MAX_SEED = INTEGER_RANGE[1]  # the column is an INTEGER


def draw(links: list[tuple[int, int]], seed: int, per_unit: int) -> list[tuple[int, int]]:
    """From (unit_id, serial) pairs, ``min(per_unit, available)`` pairs per unit, chosen with
    ``random.Random(seed)``. Input order and duplicates do not matter (the pairs are sorted and
    de-duplicated first); the result is sorted by unit, then serial."""
    rng = random.Random(seed)  # nosec B311 # the interview sample is drawn from a recorded seed so that it can be drawn again and checked; it protects nothing
    chosen: list[tuple[int, int]] = []
    for unit_id, pairs in groupby(sorted(set(links)), key=lambda p: p[0]):
        serials = [serial for _unit, serial in pairs]
        chosen.extend((unit_id, s) for s in sorted(rng.sample(serials, min(per_unit, len(serials)))))
    return chosen


def issued_links(campaign: Campaign) -> list[tuple[int, int]]:
    """(unit_id, serial) of every issued, non-revoked link of the campaign (used ones included)."""
    return [(u, s) for u, s in db.session.execute(
        select(BallotToken.unit_id, BallotToken.serial)
        .where(BallotToken.campaign_id == campaign.id, BallotToken.revoked_at.is_(None),
               BallotToken.serial.is_not(None))).all()]


def create_sample(campaign: Campaign, per_unit: int | str = 10, seed: int | str | None = None) -> InterviewSample:
    """Draw and store a sample (its seed and entries); the caller commits."""
    per_unit = int_in_range(per_unit, 1, MAX_PER_UNIT,
                       _("每个单位抽取人数应在 1 到 %(n)d 之间", n=MAX_PER_UNIT), "per_unit")
    if seed is None or (isinstance(seed, str) and not seed.strip()):
        seed = secrets.randbelow(2**31)
    else:
        seed = int_in_range(seed, 0, MAX_SEED, _("随机种子应为 0 到 %(n)d 之间的整数", n=MAX_SEED), "seed")
    links = issued_links(campaign)
    if not links:
        raise DomainError(_("该评议活动尚未发放测评码，无法抽取"))
    entries = draw(links, seed, per_unit)
    sample = InterviewSample(campaign_id=campaign.id, seed=seed, per_unit=per_unit,
                             entries=[[u, s] for u, s in entries])
    db.session.add(sample)
    db.session.flush()
    return sample


def samples(campaign: Campaign) -> list[InterviewSample]:
    """The campaign's stored samples, newest first."""
    return db.session.execute(select(InterviewSample).where(InterviewSample.campaign_id == campaign.id)
                              .order_by(InterviewSample.id.desc())).scalars().all()


def format_serial(serial: int) -> str:
    return f"No.{serial:04d}"
