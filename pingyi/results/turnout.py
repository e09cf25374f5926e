"""参评率 (turnout): links used ÷ links issued, per unit, per evaluator category and in total.

Plain functions inside the current tenant scope, over ``voting.tokens.link_counts`` (revoked
links count neither as issued nor as used). Rates are exact fractions (``None`` when nothing
was issued), like the rules' thresholds.

The unit tree (``unit_tree``) sums each subtree from one count per unit and one read of the
units, so a committee's bar is its branches' links, whatever the size of the tree; building and
sorting it (``build_tree``, ``sort_tree``) are pure functions of those rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import NamedTuple

from sqlalchemy import select

from pingyi.campaigns.lifecycle import categories, rule_specs
from pingyi.extensions import db
from pingyi.models import Campaign, Unit
from pingyi.org.orgtree import subtree_filter, unit_label
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


def category_rows(campaign: Campaign, within: str | None = None) -> list[Row]:
    """Every category of the campaign, in its order, with its links (``within`` a subtree)."""
    counts = link_counts(campaign.id, ("category",), within)
    return [Row(k.id, k.name, *counts.get((k.id,), Links())) for k in categories(campaign)]


# ---- the unit tree ------------------------------------------------------------------------------

class UnitInfo(NamedTuple):
    id: int
    parent_id: int | None
    name: str
    kind: str = "other"
    sort_order: int = 0


@dataclass(frozen=True)
class Node:
    """A unit and its subtree: ``own`` its own links, ``total`` its subtree's (own included).
    ``own_row``: the "（本级）" leaf that shows a unit's own links beside its children's."""

    id: int
    name: str
    kind: str
    own: Links
    total: Links
    children: tuple[Node, ...] = ()
    own_row: bool = False
    sort_order: int = 0

    @property
    def rate(self) -> Fraction | None:
        return self.total.rate

    def walk(self, depth: int = 0) -> Iterator[tuple[int, Node]]:
        """Its descendants, depth first in sibling order, with their depth below it (1, 2…)."""
        for child in self.children:
            yield depth + 1, child
            yield from child.walk(depth + 1)

    def leaves(self) -> Iterator[Node]:
        """The rows that hold links of their own: leaves and "（本级）" rows (itself if a leaf)."""
        if not self.children:
            yield self
        for _depth, node in self.walk():
            if not node.children:
                yield node


SORTS = ("tree", "rate", "behind", "name")


@dataclass(frozen=True)
class Tree:
    """The page's tree: ``groups`` are what it folds by (the top unit's children — committees —
    or, with several top units, those); ``root`` the one unit above them, if there is one."""

    root: Node | None
    groups: tuple[Node, ...]
    total: Links
    limit: Fraction = DEFAULT_THRESHOLD
    op: str = "lt"

    def below(self, node: Node) -> bool:
        return is_below(node.rate, self.limit, self.op)

    @property
    def total_below(self) -> bool:
        return is_below(self.total.rate, self.limit, self.op)

    def behind(self, node: Node) -> int:
        """Links still to be used before the subtree meets the line (0 once it does): the
        number to phone a committee about."""
        issued, used = node.total
        if not issued:
            return 0
        need = self.limit * issued
        needed = math.floor(need) + 1 if self.op == "le" else math.ceil(need)
        return max(0, min(issued, needed) - used)

    def below_count(self, node: Node | None = None) -> int:
        """Units (rows with links of their own) below the line, in ``node``'s subtree or all."""
        nodes = [node] if node is not None else list(self.groups)
        return sum(1 for n in nodes for leaf in n.leaves() if self.below(leaf))


def build_tree(links: Mapping[int, Links], units: Iterable[UnitInfo], limit: Fraction = DEFAULT_THRESHOLD,
               op: str = "lt") -> Tree:
    """The units whose subtree holds links (revoked ones too: 0 issued, no rate), each with its
    own and its subtree's counts, siblings in tree order (``sort_order``, name). ``links``:
    unit id → its own links; ``units``: the tenant's units or a subtree's (whose parent is
    absent: its top). Links of a unit not among ``units`` count in the total only."""
    info = {u.id: u for u in units}
    kids: dict[int | None, list[int]] = {}
    for u in info.values():
        kids.setdefault(u.parent_id if u.parent_id in info else None, []).append(u.id)

    def node(uid: int) -> Node | None:
        u = info[uid]
        children = [n for n in (node(c) for c in kids.get(uid, ())) if n is not None]
        own = links.get(uid)
        if own is None and not children:
            return None  # nothing was ever issued in this subtree
        own = own or Links()
        if uid in links and children:  # its own links beside its children's: a leaf of its own
            children.insert(0, Node(uid, u.name, u.kind, own, own, own_row=True, sort_order=u.sort_order))
        total = Links(sum(c.total.issued for c in children), sum(c.total.used for c in children)) if children else own
        return Node(uid, u.name, u.kind, own, total, tuple(children), sort_order=u.sort_order)

    tops = [n for n in (node(uid) for uid in kids.get(None, ())) if n is not None]
    total = Links(sum(n.issued for n in links.values()), sum(n.used for n in links.values()))
    tree = Tree(None, tuple(tops), total, limit, op)
    tree = sort_tree(tree, "tree")
    if len(tree.groups) == 1 and tree.groups[0].children:
        return replace(tree, root=tree.groups[0], groups=tree.groups[0].children)
    return tree


def _sorted(nodes: Iterable[Node], by: str, limit: Fraction, op: str) -> list[Node]:
    probe = Tree(None, (), Links(), limit, op)
    keys = {
        "tree": lambda n: (not n.own_row, n.sort_order, n.name, n.id),
        "name": lambda n: (n.name, n.own_row, n.id),
        "rate": lambda n: (n.rate is None, n.rate or 0, n.name, n.id),
        "behind": lambda n: (-probe.behind(n), n.rate is None, n.rate or 0, n.name, n.id),
    }
    return sorted(nodes, key=keys[by])


def sort_tree(tree: Tree, by: str) -> Tree:
    """The same tree, siblings at every level ordered ``by`` one of ``SORTS``: tree order;
    lowest rate first (no rate last); most links behind the line first; name."""
    by = by if by in SORTS else "tree"

    def again(n: Node) -> Node:
        return replace(n, children=tuple(_sorted((again(c) for c in n.children), by, tree.limit, tree.op)))

    groups = tuple(_sorted((again(g) for g in tree.groups), by, tree.limit, tree.op))
    root = replace(tree.root, children=groups) if tree.root is not None else None
    return replace(tree, root=root, groups=groups)


def unit_tree(campaign: Campaign, within: str | None = None) -> Tree:
    """The campaign's turnout tree (``within`` a unit admin's subtree: it is the top), against
    the campaign's line (``threshold``): one count of links per unit, one read of the units."""
    counts = {key[0]: n for key, n in link_counts(campaign.id, ("unit",), within).items()}
    q = select(Unit.id, Unit.parent_id, Unit.name, Unit.kind, Unit.sort_order)
    if within:
        q = q.where(subtree_filter(within))
    units = [UnitInfo(*row) for row in db.session.execute(q)]
    rule = _rule(campaign)
    return build_tree(counts, units, *((rule.fraction, rule.op) if rule is not None else (DEFAULT_THRESHOLD, "lt")))
