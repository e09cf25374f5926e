"""The turnout tree (issue 17 item 2): each subtree's links summed from one count per unit, the
"（本级）" row of a unit with links of its own and units below, the sorts, the links still to be
used before the line, and a unit admin's subtree; the sums checked against links counted by hand
on SQLite and PostgreSQL, in a fixed number of queries whatever the tree's size."""

from __future__ import annotations

from fractions import Fraction

import pytest
from sqlalchemy import event, select

from pingyi.campaigns.lifecycle import categories
from pingyi.extensions import db
from pingyi.models import BallotToken, Campaign, Unit
from pingyi.org import orgtree
from pingyi.results import turnout as to
from pingyi.tenancy import tenant_context
from pingyi.voting import tokens
from pingyi.voting.tokens import Links
from tests.results.test_turnout_sample import _turnout_world

pytestmark = pytest.mark.dates  # the ballot world opens a campaign around now

U = to.UnitInfo
# 1 company ─┬─ 2 committee 甲 ─┬─ 4 general branch ─┬─ 6 branch (8 issued, 7 used)
#            │                  │                    └─ 7 branch (10, 4)
#            │                  └─ 5 branch (5, 5)
#            ├─ 3 committee 乙 ── 8 branch (4, 1); 乙 itself holds links too (2, 0)
#            ├─ 9 branch 后勤 (3, 1)
#            ├─ 12 branch 车队 (its links all revoked: 0, 0)
#            └─ 10 committee 丙 ── 11 branch: no link anywhere
UNITS = [U(1, None, "公司党委", "committee"), U(2, 1, "甲党委", "committee", 1), U(3, 1, "乙党委", "committee", 2),
         U(4, 2, "综合党总支", "general_branch"), U(5, 2, "机关党支部", "branch"), U(6, 4, "一队党支部", "branch"),
         U(7, 4, "二队党支部", "branch"), U(8, 3, "三队党支部", "branch"), U(9, 1, "后勤党支部", "branch", 5),
         U(10, 1, "丙党委", "committee", 3), U(11, 10, "四队党支部", "branch"), U(12, 1, "车队党支部", "branch", 6)]
LINKS = {6: Links(8, 7), 7: Links(10, 4), 5: Links(5, 5), 8: Links(4, 1), 3: Links(2, 0), 9: Links(3, 1),
         12: Links(0, 0)}


def _figures(node: to.Node) -> tuple:
    return node.name, node.total.issued, node.total.used


def test_subtrees_sum_their_units_and_the_root_is_taken_out():
    tree = to.build_tree(LINKS, reversed(UNITS))  # the order units arrive in does not matter
    assert tree.root is not None and _figures(tree.root) == ("公司党委", 32, 18)
    assert tree.total == Links(32, 18)
    # groups: the company's children in tree order (sort_order, name); 丙党委 has no link below
    assert [_figures(g) for g in tree.groups] == [("甲党委", 23, 16), ("乙党委", 6, 1), ("后勤党支部", 3, 1),
                                                  ("车队党支部", 0, 0)]
    a, b, _logistics, fleet = tree.groups
    # a unit with links of its own and units below: its own links as a "（本级）" row, first
    assert [(n.name, n.own_row, n.total) for n in b.children] == [("乙党委", True, Links(2, 0)),
                                                                   ("三队党支部", False, Links(4, 1))]
    assert [(depth, _figures(n)) for depth, n in a.walk()] == [
        (1, ("机关党支部", 5, 5)), (1, ("综合党总支", 18, 11)), (2, ("一队党支部", 8, 7)), (2, ("二队党支部", 10, 4))]
    assert fleet.rate is None and not fleet.children  # every link revoked: listed, no rate
    for node in (tree.root, *(n for _d, n in tree.root.walk())):
        if node.children:  # every subtree is the sum of its children
            assert node.total == Links(sum(c.total.issued for c in node.children),
                                       sum(c.total.used for c in node.children))
    # the rows with links of their own are exactly the counted units
    assert sorted(leaf.id for leaf in tree.root.leaves()) == sorted(LINKS)


def test_the_line_flags_units_and_counts_what_is_missing():
    tree = to.build_tree(LINKS, UNITS)
    a, b, logistics, fleet = tree.groups
    # 80%: 甲 16/23 needs ⌈18.4⌉ = 19 → 3 more; 二队 4/10 → 4 more; 一队 7/8 is over the line
    assert tree.below(a) and tree.behind(a) == 3
    seven = next(n for _d, n in a.walk() if n.id == 7)
    six = next(n for _d, n in a.walk() if n.id == 6)
    assert tree.behind(seven) == 4 and tree.behind(six) == 0 and not tree.below(six)
    assert tree.behind(logistics) == 2 and tree.below(logistics)  # 1/3 needs ⌈2.4⌉ = 3
    assert tree.behind(fleet) == 0 and not tree.below(fleet)  # nothing issued: no rate, not below
    # units below the line: 二队 (40%), 三队 (25%), 乙本级 (0%), 后勤 (33%); no subtree counted twice
    assert tree.below_count() == 4 and tree.below_count(a) == 1 and tree.below_count(b) == 2
    # "le": at exactly the line is below; one more than the line is needed
    half = to.build_tree({1: Links(4, 2)}, [U(1, None, "党支部")], Fraction(1, 2), "le")
    (only,) = half.groups
    assert half.root is None and half.below(only) and half.behind(only) == 1
    lt = to.build_tree({1: Links(4, 2)}, [U(1, None, "党支部")], Fraction(1, 2), "lt")
    assert not lt.below(lt.groups[0]) and lt.behind(lt.groups[0]) == 0


def test_sorts_order_siblings_at_every_level():
    tree = to.build_tree(LINKS, UNITS)

    def order(t: to.Tree) -> list[list[str]]:
        jia = next(g for g in t.groups if g.name == "甲党委")
        return [[g.name for g in t.groups], [n.name for n in jia.children]]

    assert order(to.sort_tree(tree, "tree")) == [["甲党委", "乙党委", "后勤党支部", "车队党支部"],
                                                 ["机关党支部", "综合党总支"]]
    # lowest rate first (no rate last): 乙 1/6, 后勤 1/3, 甲 16/23; 综合 11/18 before 机关 5/5
    assert order(to.sort_tree(tree, "rate")) == [["乙党委", "后勤党支部", "甲党委", "车队党支部"],
                                                 ["综合党总支", "机关党支部"]]
    # most links missing first: 乙 needs ⌈4.8⌉ − 1 = 4, 甲 3, 后勤 2, 车队 0; 综合 ⌈14.4⌉ − 11 = 4
    assert order(to.sort_tree(tree, "behind")) == [["乙党委", "甲党委", "后勤党支部", "车队党支部"],
                                                   ["综合党总支", "机关党支部"]]
    by_name = order(to.sort_tree(tree, "name"))
    assert by_name == [sorted(g.name for g in tree.groups), sorted(["机关党支部", "综合党总支"])]
    assert to.sort_tree(tree, "nonsense") == to.sort_tree(tree, "tree")
    deep = to.sort_tree(tree, "rate").groups[2].children[0]  # 综合党总支's branches: 二队 40% before 一队
    assert [n.name for n in deep.children] == ["二队党支部", "一队党支部"]
    assert to.sort_tree(tree, "rate").root.children == to.sort_tree(tree, "rate").groups


def test_several_top_units_are_the_groups():
    tree = to.build_tree({2: Links(3, 3), 3: Links(2, 1)}, [U(2, None, "甲党委"), U(3, None, "乙党委")])
    assert tree.root is None and [_figures(g) for g in tree.groups] == [("乙党委", 2, 1), ("甲党委", 3, 3)]
    assert to.build_tree({}, UNITS).groups == () and to.build_tree({}, UNITS).total == Links()


# ---- on the database ------------------------------------------------------------------------------

@pytest.fixture
def voted(app, world):
    """The turnout tests' campaign (tests/results/test_turnout_sample.py): 采煤一队党支部 6 links
    (4 used, 1 revoked), 公司党委 2 全评 links (1 used), 机关党支部 2 links (none used, 1 revoked)."""
    return _turnout_world(app, world)


def _by_hand(campaign_id: int, within: str | None = None) -> dict[int, Links]:
    """Each unit's subtree's links, counted from the link rows one by one."""
    paths = dict(db.session.execute(select(Unit.id, Unit.path)).all())
    rows = db.session.execute(select(BallotToken.unit_id, BallotToken.used, BallotToken.revoked_at)
                              .where(BallotToken.campaign_id == campaign_id)).all()
    out: dict[int, list[int]] = {}
    for unit_id, used, revoked in rows:
        for ancestor in (int(x) for x in paths[unit_id].strip("/").split("/")):
            if within and not paths[ancestor].startswith(within):
                continue  # outside the subtree: neither the unit nor an ancestor above its top
            acc = out.setdefault(ancestor, [0, 0])
            acc[0] += revoked is None
            acc[1] += bool(used) and revoked is None
    return {u: Links(*v) for u, v in out.items()}


def _subtrees(tree: to.Tree) -> dict[int, Links]:
    top = [tree.root] if tree.root else list(tree.groups)
    return {n.id: n.total for t in top for n in (t, *(m for _d, m in t.walk())) if not n.own_row}


def test_the_tree_matches_links_counted_by_hand(app, world, voted):
    w = world.a
    with app.app_context(), tenant_context(w.id):
        c = db.session.get(Campaign, voted.campaign_id)
        tree = to.unit_tree(c)
        hand = _by_hand(c.id)
        assert _subtrees(tree) == hand
        assert hand[w.root] == Links(8, 5) and hand[w.committee] == Links(5, 4) and hand[w.other_branch] == Links(1, 0)
        assert tree.total == Links(8, 5) and tree.root.id == w.root
        # the company committee's own 全评 links are its "（本级）" row; then 一矿党委, 机关党支部
        assert [(g.id, g.own_row, g.total) for g in tree.groups] == [
            (w.root, True, Links(2, 1)), (w.committee, False, Links(5, 4)), (w.other_branch, False, Links(1, 0))]
        assert tree.below_count() == 2  # 公司党委本级 50%, 机关党支部 0%; 采煤一队 4/5 = 80% is not below
        # a unit admin of 一矿党委: that subtree only, its own unit the root
        com = db.session.get(Unit, w.committee)
        mine = to.unit_tree(c, com.path)
        assert _subtrees(mine) == _by_hand(c.id, com.path) == {w.committee: Links(5, 4), w.branch: Links(5, 4)}
        assert mine.root.id == w.committee and [g.id for g in mine.groups] == [w.branch]
        assert mine.total == Links(5, 4)
        branch = db.session.get(Unit, w.branch)
        leaf = to.unit_tree(c, branch.path)  # a unit admin of a branch: one group, no root
        assert leaf.root is None and [(g.id, g.total) for g in leaf.groups] == [(w.branch, Links(5, 4))]


def _statements(app, work) -> int:
    seen = []

    def count(*_args):
        seen.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        work()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def test_queries_do_not_grow_with_the_tree(app, world, voted):
    with app.app_context(), tenant_context(world.a.id):
        c = db.session.get(Campaign, voted.campaign_id)
        to.unit_tree(c)  # warm (the campaign is loaded)
        before = _statements(app, lambda: to.unit_tree(c))
        root, category = db.session.get(Unit, world.a.root), categories(c)[0]
        for i in range(12):
            com = orgtree.create_unit(f"测试{i}党委", root, "committee")
            for j in range(3):
                tokens.issue_links(c, category, orgtree.create_unit(f"{j}支部", com, "branch"), 2)
        db.session.flush()
        tree = to.unit_tree(c)
        assert len(tree.groups) == 3 + 12 and tree.total == Links(8 + 72, 5)
        # the links per unit, the units, the campaign's rules (its line): 3 for 4 units or 52
        assert _statements(app, lambda: to.unit_tree(c)) == before == 3
        db.session.rollback()
