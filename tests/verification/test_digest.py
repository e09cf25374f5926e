"""The seal's arithmetic on plain data: RFC 6962's tree computed by hand, canonical rows, and
the coarsening's promise (every group ≥ k, each group true of its ballots) on random trees."""

from __future__ import annotations

import hashlib
import random
from collections import Counter

import pytest

from pingyi.verification import coarsening, digest


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def test_root_is_rfc6962_by_hand():
    leaves = [_h(b"\x00" + bytes([n])) for n in range(5)]
    ab, cd = _h(b"\x01" + leaves[0] + leaves[1]), _h(b"\x01" + leaves[2] + leaves[3])
    expect = _h(b"\x01" + _h(b"\x01" + ab + cd) + leaves[4])  # 5 leaves: the split is 4 + 1
    assert digest.root([x.hex() for x in leaves]) == expect.hex()
    assert digest.root([leaves[0].hex()]) == leaves[0].hex()
    assert digest.root([]) == hashlib.sha256(b"").hexdigest()
    assert digest.root([x.hex() for x in leaves[:4]]) != digest.root([x.hex() for x in [leaves[1], leaves[0], *leaves[2:4]]])


def test_canonical_row_sorts_answers_and_changes_with_any_part():
    row = digest.Row("ab", 3, 7, ((2, 9, "满意"), (1, 4, "不满意")))
    assert digest.canonical(row) == '["ab",3,7,[[1,4,"不满意"],[2,9,"满意"]]]'.encode()
    assert digest.canonical(digest.Row("ab", None, 7, ())) == b'["ab",null,7,[]]'
    others = [digest.Row("ac", 3, 7, row.answers), digest.Row("ab", None, 7, row.answers),
              digest.Row("ab", 3, 8, row.answers), digest.Row("ab", 3, 7, ((2, 9, "比较满意"), (1, 4, "不满意")))]
    assert len({digest.leaf(r) for r in [row, *others]}) == 5


def _tree(rng: random.Random, n: int) -> dict[int, int | None]:
    parent: dict[int, int | None] = {1: None}
    for u in range(2, n + 1):
        parent[u] = rng.randint(1, u - 1)
    return parent


def _ancestor_or_self(unit: int, of: int, parent) -> bool:
    while of is not None:
        if of == unit:
            return True
        of = parent[of]
    return False


@pytest.mark.parametrize("seed", range(40))
def test_coarsening_leaves_no_group_under_k_and_stays_true(seed):
    rng = random.Random(seed)
    parent = _tree(rng, rng.randint(1, 30))
    k = rng.randint(2, 7)
    groups = Counter()
    for _ in range(rng.randint(k, 200)):
        groups[(rng.choice(list(parent)), rng.randint(1, 3))] += 1
    to = coarsening.coarsen(groups, parent, k)
    assert set(to) == set(groups)
    sizes = Counter()
    for g, target in to.items():
        sizes[target] += groups[g]
        assert target[1] in (None, g[1]) and _ancestor_or_self(target[0], g[0], parent), (g, target)
        if groups[g] >= k and target != g:  # big enough on its own: kept, unless the top's
            assert target == (coarsening.top(g[0], parent), None)  # leftovers needed company
    assert min(sizes.values()) >= k


def test_small_groups_merge_categories_first_then_rise():
    parent = {1: None, 2: 1, 3: 2, 4: 2}
    groups = {(3, 10): 6, (3, 11): 2, (3, 12): 3, (4, 10): 1, (2, 10): 5}
    to = coarsening.coarsen(groups, parent, 5)
    assert to[(3, 10)] == (3, 10)
    assert to[(3, 11)] == to[(3, 12)] == (3, None)  # 2 + 3 = 5: stays in unit 3, categories merged
    # 1 alone: raised to unit 2, then to the top, where it takes in the smallest group of its tree
    assert to[(4, 10)] == to[(2, 10)] == (1, None)
    with pytest.raises(coarsening.TooFew):
        coarsening.coarsen({(3, 10): 4}, parent, 5)
