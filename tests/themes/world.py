"""A closed, tallied campaign of tenant A whose opinions fall in the default themes:
4 ballots of 采煤一队党支部 (under 一矿党委) write that the activities are monotonous, 2 of
机关党支部 (a committee-level unit of its own) that they are monotonous and reported late, one
more of 采煤一队 that the units are uneven, and 2 whole-company ballots praise the leadership."""

from __future__ import annotations

from tests.ballot_world import build, close_and_count, vote

FORM = "活动形式单一，缺乏创新，对年轻党员的吸引力不足。"
LATE = "活动形式单调，信息报送不及时，亮点宣传不出去。"
UNEVEN = "个别单位开展不平衡，有的支部冷冷清清。"
PRAISE = "领导班子团结协作，服务意识强，群众满意。"


def voted(app, world, k: int = 3):
    """The campaign (closed and counted), then k set for what the pages show."""
    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:4], (0, 1, 0, 2), comment=FORM)
        vote(world, bw, bw.other_branch[:2], (1, 3), comment=LATE)
        vote(world, bw, bw.own[4:5], (2,), comment=UNEVEN)
        vote(world, bw, bw.group[:2], (0, 0), comment=PRAISE)
        close_and_count(world, bw)
    app.config["MIN_CELL"] = k
    return bw
