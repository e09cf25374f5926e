"""After the vote, in the demo: what the published campaign (last year's) carries once counted.

Its opinions grouped into themes (seed 002 第五篇's default set), a rectification ledger
(整改台账) with items from its verdicts (when its rules flag any subject), from selected opinions,
from themes and from the feedback box, moved along ``open → in_progress → done → verified`` or
to ``cannot_fix`` at dates after the campaign closed (so the items still open are overdue now,
as they would be), a feedback box (信息收集箱) with answered, published and unanswered entries,
and two decisions (结果运用). The open campaign, the next one, then shows 回头看 for the subjects
that had items.

Everything goes through the domain functions with an ``Actor`` (the tenant admin, or the unit
admin of 西露天矿党委's subtree) and an explicit ``now``; nothing is written around them. Loaded
once: a campaign that already has ledger items is left as it is (the demo is idempotent).
"""

from __future__ import annotations

import struct
import zlib
from datetime import datetime, timedelta

from sqlalchemy import select

from pingyi.decisions import records
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.feedback import answers, box
from pingyi.models import (
    Campaign,
    Comment,
    FeedbackEntry,
    Person,
    RectificationItem,
    Subject,
    Tenant,
    Unit,
    utcnow,
)
from pingyi.org import accounts
from pingyi.rectification import evidence, ledger, overdue
from pingyi.rectification.ledger import Actor, Draft
from pingyi.tenancy import tenant_context
from pingyi.themes import items as theme_items
from pingyi.themes import job as themes_job

ADMIN = "admin@pingzhuang.example"
UNIT_ADMIN = "xilutian@pingzhuang.example"
UNIT_ADMIN_UNIT = "西露天矿党委"
DAY = timedelta(days=1)

# Opinions of the generator (``generate.OPINIONS``) a branch would act on, with the measure it takes.
MEASURES = {
    "希望进一步改善井下作业环境，加强通风和防尘措施。": "对采掘工作面通风系统进行排查，增设喷雾降尘装置，每月测定粉尘浓度并公示。",
    "联系群众还不够经常，建议多到一线走访。": "建立支部委员联系班组制度，每名委员每月到一线走访不少于两次，记录走访台账。",
    "建议加强青年员工技能培训。": "制定青年员工岗位技能培训计划，开展师带徒结对，每季度组织一次技能比武。",
    "对整改措施的落实情况希望及时公开。": "整改进展每月在支部公开栏和工作群公开一次，完成后公示验收结果。",
    "班中餐质量有提高，建议增加品种。": "会同后勤服务中心调整班中餐食谱，每周增加两个品种，征求职工意见。",
}
# (text, deadline in days) in 西露天矿党委's subtree, then elsewhere; their states are set below
OWN_OPINIONS = [("对整改措施的落实情况希望及时公开。", 30), ("建议加强青年员工技能培训。", 45),
                ("联系群众还不够经常，建议多到一线走访。", 60)]
OTHER_OPINIONS = [("希望进一步改善井下作业环境，加强通风和防尘措施。", 45), ("联系群众还不够经常，建议多到一线走访。", 30),
                  ("班中餐质量有提高，建议增加品种。", 60)]
CANNOT_FIX = ("井下主通风机更新改造需列入集团公司年度固定资产投资计划，本单位无权自行立项（政策限制）；"
              "已向群众说明，先采取加强局部通风和个体防护措施。")
THEME_MEASURES = {
    "活动形式单一": "结合生产实际开展岗位实践、技术攻关等活动，丰富学习教育载体。",
    "信息报送不及时": "明确各党委信息员，活动信息每周五前报送公司党委工作部，典型事迹及时宣传报道。",
    "履职践诺需持之以恒": "公开承诺事项逐项建立销号台账，每季度在公开栏公布兑现情况。",
}
FEEDBACK = [  # (unit name, tied to the published campaign, days after it closed (None: recent), text)
    ("西露天矿党委", True, 2, "井口候车室冬季温度低，希望尽快解决取暖问题。"),
    ("元宝山露天矿党委", True, 10, "评议结果公布后，希望把整改进展也在公示栏公开。"),
    ("红庙矿党委", True, None, "去年反映的班中餐问题改进了，但夜班供餐时间还是太短。"),
    (None, False, None, "建议信息收集箱增加按单位查看答复的功能。"),
    ("六家矿党委", False, None, "职工通勤车发车时间与交接班时间衔接不好，希望调整。"),
]


def _png(width: int = 16, height: int = 16, rgb: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    """A tiny solid PNG (the evidence file), made here so the demo needs no binary file."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _unit(name: str) -> Unit:
    return db.session.execute(select(Unit).where(Unit.name == name).order_by(Unit.path)).scalars().first()


def _secretary(unit_id: int) -> str:
    """The branch secretary's name (the person responsible), or the unit's 书记 as a title."""
    name = db.session.execute(select(Person.name).where(Person.unit_id == unit_id, Person.position == "书记")
                              .order_by(Person.id).limit(1)).scalar()
    return name or "书记"


def _move(item: RectificationItem, steps: list[tuple[str, Actor, datetime, str]]) -> None:
    for to_state, actor, at, note in steps:
        ledger.transition(item, to_state, actor, note=note if to_state != "cannot_fix" else "",
                          reason=note if to_state == "cannot_fix" else "", now=at)


def _opinion(c: Campaign, text: str, within: str, inside: bool) -> tuple[int, int, int, str, str] | None:
    """(subject, item, the subject's unit, its label, who answers for it: the member the
    opinion is about, or the branch secretary) of the first opinion (in tree order) with that
    text, inside (or outside) a subtree."""
    inner = Unit.path.startswith(within, autoescape=True)
    row = db.session.execute(
        select(Comment.subject_id, Comment.item_id, Subject.unit_id, Subject.label, Subject.person_id)
        .join(Subject, Subject.id == Comment.subject_id).join(Unit, Unit.id == Subject.unit_id)
        .where(Comment.campaign_id == c.id, Comment.text == text, inner if inside else ~inner)
        .order_by(Unit.path, Subject.id, Comment.item_id).limit(1)).first()
    if row is None:
        return None
    person = db.session.get(Person, row.person_id) if row.person_id else None
    return row.subject_id, row.item_id, row.unit_id, row.label, person.name if person else _secretary(row.unit_id)


def _from_theme(c: Campaign, actor: Actor, themes: list[str], deadline, now: datetime) -> list[RectificationItem]:
    """The items of the first of ``themes`` that has opinions within the actor's reach and no
    items yet (a demo loaded before the generator's opinions fell in every theme has fewer)."""
    for theme in themes:
        try:
            return theme_items.to_ledger(c, theme, actor, deadline, THEME_MEASURES[theme], now=now)
        except DomainError:
            continue
    return []


def load_aftermath(tenant: Tenant, c: Campaign) -> None:
    """Themes, ledger, feedback box and decisions for the published demo campaign ``c`` (once)."""
    with tenant_context(tenant.id):
        if db.session.execute(select(RectificationItem.id).where(RectificationItem.campaign_id == c.id)
                              .limit(1)).first() is not None:
            return
        admin_user, unit_admin_user = accounts.user_by_email(ADMIN), accounts.user_by_email(UNIT_ADMIN)
        xlt = _unit(UNIT_ADMIN_UNIT)
        admin = Actor(admin_user.id, admin_user.email, "admin")
        unit_admin = Actor(unit_admin_user.id, unit_admin_user.email, "unit_admin", xlt.path)
        real_now = utcnow()
        t0 = c.closes_at + DAY  # the day after voting closed: the ledger is drawn up
        day0 = ledger.local_today(t0, c.timezone)

        def at(days: float) -> datetime:
            return t0 + timedelta(days=days)

        def due(days: int):
            return day0 + timedelta(days=days)

        # themes over the opinions (the worker's job, run here)
        job = themes_job.submit(c, user_id=admin_user.id, run_here=True)
        if job.state != "done":
            raise RuntimeError(f"themes job failed: {job.error}")

        # verdicts: one item per subject of the first list the rules flag (seed 002's figures may flag none)
        for outcome, subjects in ledger.verdicts(c):
            if subjects:
                for item in ledger.from_verdict_list(c, outcome, admin, due(90), "支部书记向党委作出书面说明，制定整改方案并限期整改。",
                                                     now=t0):
                    _move(item, [("in_progress", admin, at(7), "已制定整改方案")])
                break

        # selected opinions: three in 西露天矿党委's subtree (its unit admin), three elsewhere (the tenant admin)
        picked: dict[tuple[bool, int], RectificationItem] = {}
        for inside, actor, texts in ((True, unit_admin, OWN_OPINIONS), (False, admin, OTHER_OPINIONS)):
            for i, (text, days) in enumerate(texts):
                found = _opinion(c, text, xlt.path, inside)
                if found is None:
                    continue
                sid, iid, unit_id, label, person = found
                draft = Draft(f"{label}：群众意见“{text}”", unit_id, due(days), person, MEASURES[text])
                picked[(inside, i)] = ledger.from_opinion(c, sid, iid, text, draft, actor, now=t0 + timedelta(hours=i))
        own = [picked.get((True, i)) for i in range(len(OWN_OPINIONS))]
        others = [picked.get((False, i)) for i in range(len(OTHER_OPINIONS))]
        if own[0]:
            _move(own[0], [("in_progress", unit_admin, at(3), "支部召开专题会议，制定整改措施"),
                           ("done", unit_admin, at(24), "整改措施已落实"),
                           ("verified", admin, at(35), "经公司党委工作部现场查看，验收通过")])
        if own[1]:
            _move(own[1], [("in_progress", unit_admin, at(5), "已明确责任人和完成时限"),
                           ("done", unit_admin, at(40), "整改完成，待验收")])
            ledger.update_item(own[1], unit_admin, evidence="整改前后对比照片一张；支部会议记录见党建系统。",
                               now=at(40) + timedelta(hours=1))
            evidence.add_file(own[1], unit_admin, "整改前后对比.png", _png(), now=at(40) + timedelta(hours=2))
        if own[2]:
            _move(own[2], [("in_progress", unit_admin, at(10), "正在落实")])  # past its deadline: overdue
        for item, steps in zip(others, [
                [("cannot_fix", admin, at(12), CANNOT_FIX)],  # the ventilation: a policy limit
                [],  # never started: overdue
                [("in_progress", admin, at(8), "已制定整改方案"), ("done", admin, at(75), "整改完成（超过时限）")]],
                strict=True):
            if item is not None:
                _move(item, steps)

        # themes: the unit admin turns one into an item of their unit, the tenant admin one into an item per committee
        for item in _from_theme(c, unit_admin, ["活动形式单一", "履职践诺需持之以恒"], due(60), at(2)):
            _move(item, [("in_progress", unit_admin, at(6), "已列入支部学习计划")])
        cycle = [
            [("in_progress", admin, at(4), "已部署"), ("done", admin, at(30), "已建立信息报送制度"),
             ("verified", admin, at(50), "验收通过")],
            [("in_progress", admin, at(4), "已部署"), ("done", admin, at(55), "已完成")],
            [("in_progress", admin, at(4), "已部署")],
            [],
        ]
        for i, item in enumerate(_from_theme(c, admin, ["信息报送不及时", "履职践诺需持之以恒"], due(45), at(2))):
            _move(item, cycle[i % len(cycle)])

        # the feedback box: entries for units of the tenant, some tied to this campaign
        for unit_name, tied, after, text in FEEDBACK:
            unit = _unit(unit_name) if unit_name else db.session.execute(
                select(Unit).where(Unit.parent_id.is_(None))).scalar_one()
            when = at(after) if after is not None else real_now - timedelta(days=20 if tied else 3)
            box.submit(unit.id, text, c.id if tied else None, now=when)
        entry = {e.text: e for e in db.session.execute(
            select(FeedbackEntry).where(FeedbackEntry.tenant_id == tenant.id)).scalars()}
        first = entry[FEEDBACK[0][3]]
        answers.answer(first, "已列入整改台账：井口候车室已加装电暖器，入冬前完成调试。", unit_admin, now=at(6))
        answers.publish(first, True, unit_admin)
        item = answers.to_ledger(first, Draft("井口候车室冬季取暖不足", xlt.id, due(40), "", "加装电暖器并调整供暖时间。"),
                                 unit_admin, now=at(6))
        _move(item, [("in_progress", unit_admin, at(8), "已采购电暖器"), ("done", unit_admin, at(30), "已安装调试"),
                     ("verified", admin, at(45), "验收通过")])
        answers.answer(entry[FEEDBACK[1][3]], "感谢建议。整改进展将每月在各单位公示栏公开。", admin, now=at(14))
        recent = entry[FEEDBACK[2][3]]
        red_temple = _unit(FEEDBACK[2][0])
        answers.to_ledger(recent, Draft("夜班供餐时间短", red_temple.id,
                                        ledger.local_today(real_now, c.timezone) + timedelta(days=45), "",
                                        "与食堂协商延长夜班供餐时间。"), admin, now=real_now - timedelta(days=15))

        # result use (结果运用): two decisions after 复核
        today = ledger.local_today(real_now, c.timezone)
        if own[0]:
            records.record(c, own[0].subject_id, "commend", "复核评议结果和群众意见：整改及时，群众评价好。",
                           due(40), "推荐参加公司年度评先评优", admin_user.id, today)
        if others[1]:
            records.record(c, others[1].subject_id, "reminder", "复核群众意见：反映的问题尚未着手整改。",
                           due(50), "由上级党委负责人提醒谈话", admin_user.id, today)

        overdue.mark_overdue(real_now, c.id)  # what the daily job would have stored by now
        db.session.flush()

