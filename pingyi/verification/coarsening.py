"""Small groups merged until every (unit, category) group of an export rests on ≥ k ballots.

First a unit's small categories are merged into one group of the unit (category ``None``); a
merged group still under k is raised to the parent unit, deepest units first; at the top a
group still under k takes in the smallest groups beside it. Plain data in, plain data out.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Mapping

Group = tuple[int, int | None]  # (unit id, category id or None: merged)


class TooFew(ValueError):
    """Fewer than k ballots in all: no grouping can hide one."""


def _depth(unit: int, parent: Mapping[int, int | None]) -> int:
    depth, seen = 0, {unit}
    while (unit := parent.get(unit)) is not None and unit not in seen:
        seen.add(unit)
        depth += 1
    return depth


def coarsen(groups: Mapping[tuple[int, int], int], parent: Mapping[int, int | None], k: int) -> dict[tuple[int, int], Group]:
    """Where each (unit, category) group of ballots goes (``groups``: its ballot count)."""
    if sum(groups.values()) < k:
        raise TooFew(k)
    members: dict[Group, list[tuple[int, int]]] = defaultdict(list)
    sizes: dict[Group, int] = defaultdict(int)
    for g, n in groups.items():
        if n:
            target = g if n >= k else (g[0], None)
            members[target].append(g)
            sizes[target] += n

    def move(source: Group, target: Group) -> None:
        members[target] += members.pop(source)
        sizes[target] += sizes.pop(source)

    depth = {u: _depth(u, parent) for u, _cat in sizes}
    pending = [(-depth[u], u) for u, cat in sizes if cat is None]  # deepest first
    heapq.heapify(pending)
    queued = {u for _d, u in pending}
    while pending:
        _d, unit = heapq.heappop(pending)
        group, up = (unit, None), parent.get(unit)
        if sizes.get(group, k) < k and up is not None:
            move(group, (up, None))
            if up not in queued:  # the parent's merged group grew: look at it in turn
                queued.add(up)
                heapq.heappush(pending, (-_depth(up, parent), up))

    def key(g: Group) -> tuple[int, int, int]:
        return sizes[g], g[0], -1 if g[1] is None else g[1]

    # only a top unit's merged group can still be small: it takes in the smallest group of its
    # own tree (a descendant's, so the top unit is still true of it), or joins another tree's
    while small := sorted((g for g, n in sizes.items() if n < k), key=key):
        group = small[0]
        root = top(group[0], parent)
        same_tree = [g for g in sizes if g != group and top(g[0], parent) == root]
        if same_tree:
            move(min(same_tree, key=key), group)
        else:
            move(group, min((g for g in sizes if g != group), key=key))
    return {g: target for target, gs in members.items() for g in gs}


def top(unit: int, parent: Mapping[int, int | None]) -> int:
    """The top of the unit's tree."""
    seen = {unit}
    while (up := parent.get(unit)) is not None and up not in seen:
        seen.add(up)
        unit = up
    return unit
