"""Small-cell and complementary suppression: which parts of a breakdown by evaluator category
are not shown. With three 党员 rating their branch, their category's rate would tell who said
what; and since a subject's total is published, hiding only that cell is not enough — the
total minus the shown categories gives it back. So ``hide`` is the one decision every output
asks (pages, 公示, 意见汇总表, reports): every part under k ballots, then the next smallest
parts until what is hidden rests on at least k ballots (or on none), or everything.

The campaign's own table by category sums the subjects' cells, so it too can be subtracted
from (campaign 员工群众 − every subject's shown 员工群众 = the hidden ones); ``hide_columns``
also hides a campaign-level category whenever such a difference could rest on fewer than k
ballots. k is the ``MIN_CELL`` setting (``PINGYI_MIN_CELL``, default 5).

The ballots behind a cell are the distinct ballots that answered or commented on that subject
in that category (a ballot that only wrote an opinion counts towards the group its opinion
would be shown under). The tally keeps them (``tally_ballots``, ``TallyRun.category_ballots``)
with its cells, so a breakdown is read, never counted, by a page."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from flask import current_app, has_app_context

from pingyi.tenancy import tenant_sql

DEFAULT_K = 5
MAX_AUDITED = 5  # campaign-level categories audited together; beyond, the smallest are hidden first

K = TypeVar("K", bound=Hashable)

# What the tally keeps (``tally.py``): per subject × category × the ballots' unit (voters of
# different units are different people) the distinct ballots behind the cell.
_CELLS = ("SELECT subject_id, category_id, unit_id, ballots FROM tally_ballots "
          "WHERE tenant_id = :tenant_id AND campaign_id = :campaign_id{one}")
# Subjects with some category cell under k: the only rows whose hidden parts the campaign's
# table by category can be weighed against (``hide`` hides nothing where every part has ≥ k).
_SMALL = (" AND subject_id IN (SELECT subject_id FROM tally_ballots WHERE tenant_id = :tenant_id "
          "AND campaign_id = :campaign_id GROUP BY subject_id, category_id HAVING SUM(ballots) < :k)")


def subjects_clause(subjects: int | Iterable[int] | None) -> tuple[str, dict[str, int]]:
    """`` AND subject_id …`` for one subject, several (a page's) or all (``None``), with its
    bound parameters, for this package's raw SQL over answers and cells."""
    if subjects is None:
        return "", {}
    ids = [subjects] if isinstance(subjects, int) else sorted(set(subjects))
    if not ids:
        return " AND 1 = 0", {}
    params = {f"subject_{i}": int(v) for i, v in enumerate(ids)}
    return " AND subject_id IN (" + ", ".join(":" + name for name in params) + ")", params


def min_cell() -> int:
    """k: the fewest ballots a shown figure may rest on."""
    return int(current_app.config.get("MIN_CELL", DEFAULT_K)) if has_app_context() else DEFAULT_K


def _k(k: int | None) -> int:
    return min_cell() if k is None else k


def hidden(ballots: int, k: int | None = None) -> bool:
    """True where one figure on its own rests on too few ballots (for a part of a breakdown,
    ask ``hide``: a part with enough ballots may still have to go)."""
    return ballots < _k(k)


def label(k: int | None = None) -> str:
    """What a suppressed cell, or a suppressed opinion's category, reads: "<5"."""
    return f"<{_k(k)}"


def hide(parts: Mapping[K, int], k: int | None = None, also: Iterable[K] = ()) -> frozenset[K]:
    """The parts of a breakdown not to show, given the ballots behind each (parts are disjoint
    groups of ballots, and their total is published): every part under k ballots and those in
    ``also``, then the next smallest parts (ties: the smaller key) while the hidden ones
    together rest on more than 0 but fewer than k ballots — so ``total − shown`` always rests
    on 0 or at least k ballots. A part with no ballots is never hidden: it reveals nothing."""
    k, also = _k(k), set(also)
    out = {key for key, n in parts.items() if n > 0 and (n < k or key in also)}
    total = sum(parts[key] for key in out)
    for n, key in sorted((n, key) for key, n in parts.items() if n > 0 and key not in out):
        if not 0 < total < k:
            break
        out.add(key)
        total += n
    return frozenset(out)


def _patterns(cols: list[K]) -> Iterator[dict[K, int]]:
    """Every way an attacker can weigh the campaign's columns against each other: equal
    numbers share a class, class 0 weighs nothing (set partitions, as restricted growth)."""
    def grow(i: int, classes: list[int], top: int) -> Iterator[list[int]]:
        if i == len(cols):
            yield classes
            return
        for c in range(top + 2):
            yield from grow(i + 1, [*classes, c], max(top, c))
    for classes in grow(0, [], 0):
        if any(classes):
            yield dict(zip(cols, classes, strict=True))


def _leaky(pattern: dict, rows: list[tuple[dict, list]], k: int) -> bool:
    """Could (Σ aₛ·subject s's hidden cells + Σ b_col·campaign column) rest on fewer than k
    ballots with these column weights? A subject whose hidden cells get two different weights
    cannot be cancelled: at least its hidden cells outside the heaviest class stay. Such
    leftovers drawn from disjoint voters (pools: category × the ballots' unit) add up; within
    shared voters only the largest counts (a lower bound, so the answer errs towards "leaky").
    ``rows``: per subject with hidden cells, their ballots by column and their pools."""
    parent: dict = {}

    def root(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    left: list[tuple[object, int]] = []
    for hid, pools in rows:
        classes: dict[int, int] = defaultdict(int)
        for col, n in hid.items():
            classes[pattern.get(col, 0)] += n
        if len(classes) < 2:
            continue  # one weight over all its hidden cells: the attacker can cancel it
        rest = sum(classes.values()) - max(classes.values())
        if rest >= k:
            return False
        first = root(pools[0])
        for p in pools[1:]:
            parent[root(p)] = first
        left.append((pools[0], rest))
    best: dict = defaultdict(int)
    for pool, rest in left:
        r = root(pool)
        best[r] = max(best[r], rest)
    return bool(left) and sum(best.values()) < k


def hide_columns(columns: Mapping[K, int], rows: Iterable[Mapping[K, Mapping[Hashable, int]]],
                 k: int | None = None) -> frozenset[K]:
    """The categories not to show in a table whose columns sum the rows' cells (a campaign's
    categories over its subjects), each row suppressed by ``hide``. ``columns``: ballots per
    column; ``rows``: per row, per column, the ballots behind the cell by voter pool (the
    ballots' unit). Starts from ``hide(columns)`` and hides one more column while some
    weighing of shown columns against the rows' hidden groups could rest on under k ballots."""
    k = _k(k)
    table = []
    residual: dict = defaultdict(int)
    for cells in rows:
        sizes = {col: sum(pools.values()) for col, pools in cells.items()}
        hid = {col: sizes[col] for col in hide(sizes, k)}
        if hid:
            table.append((hid, [(col, unit) for col in hid for unit in cells[col]]))
            for col, n in hid.items():
                residual[col] += n
    forced: set = set()
    while True:
        out = hide(columns, k, forced)
        cut = sorted((residual[col], col) for col in columns if col not in out and residual[col])
        if not cut:
            return out
        if len(cut) > MAX_AUDITED:
            forced.add(cut[0][1])
            continue
        for pattern in _patterns([col for _n, col in cut]):
            if _leaky(pattern, table, k):
                forced.add(min((residual[col], col) for col, c in pattern.items() if c)[1])
                break
        else:
            return out


@dataclass(frozen=True)
class Breakdown:
    """One breakdown by category: the ballots behind each part, and the parts not shown."""

    ballots: Mapping[int, int] = field(default_factory=dict)
    hidden: frozenset[int] = frozenset()

    def shown(self, category: int) -> bool:
        return category not in self.hidden

    def small(self, category: int) -> bool:
        """Hidden for resting on under k ballots itself (not only to protect another part)."""
        return category in self.hidden and hidden(self.ballots.get(category, 0))

    def name(self, category: int, name: str) -> str:
        """An opinion's category as shown: its name, or "<k" (also where nothing is known)."""
        return name if self.ballots.get(category, 0) and self.shown(category) else label()


def _cells(campaign_id: int, subjects: int | Iterable[int] | None = None,
           small: bool = False) -> dict[int, dict[int, dict[int, int]]]:
    """subject → category → ballots' unit → ballots behind that part of the cell; ``small``:
    only subjects with a category under k."""
    one, params = subjects_clause(subjects)
    if small:
        one, params = one + _SMALL, {**params, "k": min_cell()}
    out: dict = defaultdict(lambda: defaultdict(dict))
    for s, cat, unit, n in tenant_sql(_CELLS.format(one=one), campaign_id=campaign_id, **params).all():
        out[int(s)][int(cat)][int(unit)] = int(n)
    return out


def _breakdown(cells: Mapping[int, Mapping[int, int]]) -> Breakdown:
    ballots = {cat: sum(pools.values()) for cat, pools in cells.items()}
    return Breakdown(ballots, hide(ballots))


def subject_breakdowns(campaign_id: int, subjects: int | Iterable[int] | None = None) -> dict[int, Breakdown]:
    """Each subject's (or one's, or a page's) breakdown by category; a subject nobody rated has
    none (``Breakdown()``: nothing to hide)."""
    return {s: _breakdown(cells) for s, cells in _cells(campaign_id, subjects).items()}


def campaign_breakdown(campaign_id: int) -> Breakdown:
    """The campaign's breakdown by category (the ballots of each category across subjects),
    hiding also what its difference from the subjects' shown cells would give away."""
    per = tenant_sql("SELECT category_ballots FROM tally_runs WHERE tenant_id = :tenant_id "
                     "AND campaign_id = :campaign_id", campaign_id=campaign_id).scalar()
    if isinstance(per, str):  # SQLite hands raw SQL's JSON back as text
        per = json.loads(per)
    ballots = {int(cat): int(n) for cat, n in (per or {}).items() if int(n)}
    return Breakdown(ballots, hide_columns(ballots, _cells(campaign_id, small=True).values()))
