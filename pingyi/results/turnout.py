"""参评率 (turnout): links used ÷ links issued, per unit, per evaluator category and in total.

Plain functions inside the current tenant scope, over ``voting.tokens.link_counts`` (revoked
links count neither as issued nor as used). Rates are exact fractions (``None`` when nothing
was issued), like the rules' thresholds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy import select

from pingyi.campaigns.lifecycle import categories, rule_specs
from pingyi.extensions import db
from pingyi.models import Campaign, Unit
from pingyi.org.orgtree import unit_label
from pingyi.voting.tokens import Links, link_counts

DEFAULT_THRESHOLD = Fraction(4, 5)  # 种子003 二.2: 参评率不低于 80%
BELOW_OPS = ("lt", "le")


@dataclass(frozen=True)
class Row:
    id: int | None
    name: str
    issued: int
    used: int

    @property
    def rate(self) -> Fraction | None:
        return Links(self.issued, self.used).rate


def _rule(campaign: Campaign):
    return next((r for r in rule_specs(campaign) if r.metric == "turnout" and r.op in BELOW_OPS), None)


def threshold(campaign: Campaign) -> Fraction:
    """The threshold of the campaign's first "turnout lt/le" rule, else 80%."""
    rule = _rule(campaign)
    return rule.fraction if rule is not None else DEFAULT_THRESHOLD


def is_below(rate: Fraction | None, limit: Fraction, op: str = "lt") -> bool:
    """Does ``rate`` fall under the rule (``lt``: < limit, ``le``: ≤ limit)? ``None`` never does."""
    if rate is None:
        return False
    return rate <= limit if op == "le" else rate < limit


def format_rate(rate: Fraction | None, digits: int = 1) -> str:
    """``Fraction(5, 6)`` → ``83.3%`` (half up, exact); ``None`` → ``—``."""
    if rate is None:
        return "—"
    scale = 10 ** digits
    n = math.floor(rate * 100 * scale + Fraction(1, 2))
    if digits == 0:
        return f"{n}%"
    return f"{n // scale}.{n % scale:0{digits}d}%"


def format_threshold(limit: Fraction) -> str:
    """``4/5`` → ``80%``; ``2/3`` → ``66.7%``."""
    return format_rate(limit, 0 if (limit * 100).denominator == 1 else 1)


def units_with_ancestors(unit_ids: set[int]) -> dict[int, Unit]:
    if not unit_ids:
        return {}
    units = {u.id: u for u in db.session.execute(select(Unit).where(Unit.id.in_(unit_ids))).scalars()}
    ancestors = {int(x) for u in units.values() for x in u.path.strip("/").split("/") if x} - set(units)
    if ancestors:
        units.update({u.id: u for u in db.session.execute(select(Unit).where(Unit.id.in_(ancestors))).scalars()})
    return units


def turnout(campaign: Campaign, within: str | None = None) -> dict:
    """``{"units": [Row…], "categories": [Row…], "total": Row, "threshold": Fraction, "op": str}``.

    Units are those that were issued links (a unit whose links were all revoked shows 0 issued
    and no rate), ordered by path label; every category of the campaign is listed in its order.
    Each unit row's ``name`` is its full path label (``公司党委/一矿党委/…``). ``within``: only
    the links of units in that subtree (a unit admin's), categories and total included."""
    per_unit: dict[int, list[int]] = {}
    per_category: dict[int, list[int]] = {}
    counts = link_counts(campaign.id, ("unit", "category"))
    if within:
        inside = set(db.session.execute(select(Unit.id).where(Unit.path.startswith(within, autoescape=True)))
                     .scalars())
        counts = {key: n for key, n in counts.items() if key[0] in inside}
    for (unit_id, category_id), n in counts.items():
        for bucket, key in ((per_unit, unit_id), (per_category, category_id)):
            acc = bucket.setdefault(key, [0, 0])
            acc[0] += n.issued
            acc[1] += n.used
    units = units_with_ancestors(set(per_unit))
    unit_rows = sorted(
        (Row(uid, unit_label(units[uid], units) if uid in units else str(uid), *figures)
         for uid, figures in per_unit.items()),
        key=lambda r: (r.name, r.id))
    category_rows = [Row(k.id, k.name, *per_category.get(k.id, (0, 0))) for k in categories(campaign)]
    rule = _rule(campaign)
    return {
        "units": unit_rows,
        "categories": category_rows,
        "total": Row(None, "", sum(r.issued for r in unit_rows), sum(r.used for r in unit_rows)),
        "threshold": rule.fraction if rule is not None else DEFAULT_THRESHOLD,
        "op": rule.op if rule is not None else "lt",
    }


def lowest_first(rows: list[Row]) -> list[Row]:
    """Lowest rate first; rows without a rate (nothing issued) last; ties by name."""
    return sorted(rows, key=lambda r: (r.rate is None, r.rate or 0, r.name))
