"""Ledger items (整改台账) and their state machine.

An item is created from a verdict (one flagged subject, or a whole verdict list at once), a
selected opinion, a theme or a feedback entry; it moves ``open → in_progress → done →
verified``, or to ``cannot_fix`` with a reason (seed 002 第五篇: policy limits). Unit admins
manage the items of their subtree; only the tenant admin verifies (or sends an item back).
Every change is one history row. Functions take an ``Actor`` (who acts, with what role and
subtree) rather than a request, so the pages, the API and the command line share them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, select

from pingyi.campaigns.lifecycle import zone
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import (
    RECTIFICATION_SOURCES,
    Campaign,
    Comment,
    RectificationEvent,
    RectificationItem,
    Subject,
    Unit,
    utcnow,
)
from pingyi.org.orgtree import subtree_filter
from pingyi.results.dashboard import campaign_results
from pingyi.tenancy import require_tenant_id

STATE_LABELS = {"open": "待整改", "in_progress": "整改中", "done": "已完成", "verified": "已验收",
                "cannot_fix": "无法整改"}
SOURCE_LABELS = {"verdict": "评议结果", "opinion": "意见建议", "theme": "意见主题", "feedback": "信息收集箱"}
FINISHED = ("done", "verified", "cannot_fix")  # never overdue
# (from, to) → the least role that may make the move; anything else is illegal
TRANSITIONS: dict[tuple[str, str], str] = {
    ("open", "in_progress"): "unit_admin",
    ("open", "cannot_fix"): "unit_admin",
    ("in_progress", "done"): "unit_admin",
    ("in_progress", "cannot_fix"): "unit_admin",
    ("done", "verified"): "admin",
    ("done", "in_progress"): "admin",  # 验收不通过，退回整改
    ("cannot_fix", "in_progress"): "admin",  # 原因不成立，恢复整改
}
ROLE_RANK = {"viewer": 0, "unit_admin": 1, "admin": 2}
MAX_TEXT = 5000
MAX_PERSON = 100


class NotAllowed(DomainError):
    """The actor's role or subtree does not allow this (pages answer 403); nothing changed."""


@dataclass(frozen=True)
class Actor:
    """Who acts: the user (for the history), their role in the tenant and, for a unit admin,
    the path of their subtree (``Unit.path``)."""

    user_id: int | None
    label: str
    role: str
    unit_path: str | None = None

    def reaches(self, unit: Unit) -> bool:
        return self.role == "admin" or (self.role == "unit_admin" and bool(self.unit_path)
                                        and unit.path.startswith(self.unit_path))


def local_today(now: datetime, tz: str) -> date:
    """``now``'s date in the campaign's zone: deadlines are dates there."""
    return now.astimezone(zone(tz)).date()


def _text(value: str | None, limit: int, message: str, field: str, required: bool = False) -> str:
    value = (value or "").strip()
    if (required and not value) or len(value) > limit:
        raise DomainError(message, field)
    return value


def parse_deadline(value: date | str | None) -> date:
    """A date, or ``YYYY-MM-DD`` as a form or the command line sends it."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise DomainError(_("请填写整改时限（日期，如 2025-06-30）"), "deadline") from None


def _check_deadline(deadline: date, c: Campaign, now: datetime) -> date:
    if deadline < local_today(now, c.timezone):
        raise DomainError(_("整改时限不能早于事项的创建日期"), "deadline")
    return deadline


def _responsible_unit(unit_id, actor: Actor) -> Unit:
    unit = db.session.get(Unit, unit_id) if isinstance(unit_id, int) or str(unit_id or "").isdigit() else None
    if unit is None or not actor.reaches(unit):
        raise DomainError(_("责任单位必须是您管理范围内的单位"), "unit_id")
    return unit


def _require_writer(actor: Actor) -> None:
    if actor.role not in ("admin", "unit_admin"):
        raise NotAllowed(_("您没有管理整改台账的权限"), "role")


@dataclass(frozen=True)
class Draft:
    """What a user fills in for a new item."""

    problem: str
    unit_id: int
    deadline: date | str
    person: str = ""
    measure: str = ""


def record_history(item: RectificationItem, actor: Actor, from_state: str | None, to_state: str, note: str,
             now: datetime) -> RectificationEvent:
    event = RectificationEvent(tenant_id=item.tenant_id, item_id=item.id, user_id=actor.user_id,
                               actor=actor.label[:254], at=now, from_state=from_state, to_state=to_state,
                               note=note[:MAX_TEXT])
    db.session.add(event)
    return event


def create_item(c: Campaign, draft: Draft, actor: Actor, source: str, source_ref: str = "", source_label: str = "",
                subject_id: int | None = None, now: datetime | None = None) -> RectificationItem:
    """One new ``open`` item after every check (nothing is stored when one fails); the plain API
    the themes and the feedback box call with their ``source`` and reference."""
    now = now or utcnow()
    _require_writer(actor)
    if source not in RECTIFICATION_SOURCES:
        raise DomainError(_("未知的整改事项来源“%(s)s”", s=source), "source")
    if c.state in ("draft",):
        raise DomainError(_("草稿状态的评议活动不能建立整改事项"), "campaign")
    problem = _text(draft.problem, MAX_TEXT, _("请填写存在的问题（不超过 5000 字）"), "problem", required=True)
    measure = _text(draft.measure, MAX_TEXT, _("整改措施不超过 5000 字"), "measure")
    person = _text(draft.person, MAX_PERSON, _("责任人不超过 100 字"), "person")
    deadline = _check_deadline(parse_deadline(draft.deadline), c, now)
    unit = _responsible_unit(draft.unit_id, actor)
    item = RectificationItem(tenant_id=require_tenant_id(), campaign_id=c.id, source=source,
                             source_ref=str(source_ref)[:100], source_label=str(source_label)[:300],
                             subject_id=subject_id, problem=problem, unit_id=unit.id, person=person, measure=measure,
                             deadline=deadline, state="open", created_by=actor.user_id, created_at=now, updated_at=now)
    db.session.add(item)
    db.session.flush()
    record_history(item, actor, None, "open", _("建立整改事项"), now)
    db.session.flush()
    return item


# ---- from verdicts and opinions --------------------------------------------------------------

def verdicts(c: Campaign, within: str | None = None) -> list[tuple[str, list[tuple[int, str]]]]:
    """Each outcome of the campaign's rules with the (subject id, label) it names, as the
    results page lists them (``within`` a unit admin's subtree)."""
    return [(name, [(r.id, r.label) for r in rows]) for name, _severity, rows in campaign_results(c, within=within).verdicts]


def verdict_subjects(c: Campaign, outcome: str, within: str | None = None) -> list[tuple[int, str]]:
    """(subject id, label) of the subjects a rule's ``outcome`` names, as the results page
    lists them (``within`` a unit admin's subtree)."""
    for name, _severity, rows in campaign_results(c, within=within).verdicts:
        if name == outcome:
            return [(r.id, r.label) for r in rows]
    return []


def _existing_verdict_items(c: Campaign, outcome: str) -> set[int]:
    return set(db.session.execute(select(RectificationItem.subject_id).where(
        RectificationItem.campaign_id == c.id, RectificationItem.source == "verdict",
        RectificationItem.source_label == outcome[:300])).scalars())


def from_verdict(c: Campaign, subject_id: int, outcome: str, actor: Actor, deadline: date | str,
                 measure: str = "", person: str = "", problem: str | None = None, unit_id: int | None = None,
                 now: datetime | None = None) -> RectificationItem:
    """An item for one subject the verdict ``outcome`` names; the problem defaults to
    "<subject>：<outcome>", the responsible unit to the subject's unit."""
    _require_writer(actor)
    listed = dict(verdict_subjects(c, outcome, actor.unit_path))
    if subject_id not in listed:
        raise DomainError(_("该评议对象不在“%(o)s”的结果名单中", o=outcome), "subject_id")
    if subject_id in _existing_verdict_items(c, outcome):
        raise DomainError(_("“%(s)s”已有“%(o)s”的整改事项", s=listed[subject_id], o=outcome), "subject_id")
    subject = db.session.get(Subject, subject_id)
    draft = Draft(f"{listed[subject_id]}：{outcome}" if problem is None else problem,
                  subject.unit_id if unit_id is None else unit_id, deadline, person, measure)
    return create_item(c, draft, actor, "verdict", f"subject:{subject_id}", outcome, subject_id, now)


def from_verdict_list(c: Campaign, outcome: str, actor: Actor, deadline: date | str, measure: str = "",
                      now: datetime | None = None) -> list[RectificationItem]:
    """One item per subject of a verdict list at once (those that already have one are
    skipped); all or nothing."""
    _require_writer(actor)
    now = now or utcnow()
    _check_deadline(parse_deadline(deadline), c, now)
    existing = _existing_verdict_items(c, outcome)
    subjects = [(sid, label) for sid, label in verdict_subjects(c, outcome, actor.unit_path) if sid not in existing]
    if not subjects:
        raise DomainError(_("“%(o)s”名单中没有尚未建立整改事项的评议对象", o=outcome), "outcome")
    units = dict(db.session.execute(select(Subject.id, Subject.unit_id).where(
        Subject.id.in_([sid for sid, _label in subjects]))).all())
    return [create_item(c, Draft(f"{label}：{outcome}", units[sid], deadline, "", measure), actor, "verdict",
                        f"subject:{sid}", outcome, sid, now) for sid, label in subjects]


def from_opinion(c: Campaign, subject_id: int, item_id: int, text: str, draft: Draft, actor: Actor,
                 now: datetime | None = None) -> RectificationItem:
    """An item from a selected opinion (意见建议): the opinion must exist in the campaign (its
    ballot is never referenced, only the subject, the form item and the text)."""
    found = db.session.execute(select(Comment.subject_id).where(
        Comment.campaign_id == c.id, Comment.subject_id == subject_id, Comment.item_id == item_id,
        Comment.text == text).limit(1)).first()
    if found is None:
        raise DomainError(_("没有找到这条意见建议"), "opinion")
    return create_item(c, draft, actor, "opinion", f"subject:{subject_id}/item:{item_id}", text, subject_id, now)


# ---- changes ---------------------------------------------------------------------------------

def check_manage(item: RectificationItem, actor: Actor) -> None:
    """The actor may change this item: a write role, its unit inside their subtree."""
    _require_writer(actor)
    unit = db.session.get(Unit, item.unit_id)
    if unit is None or not actor.reaches(unit):
        raise NotAllowed(_("该整改事项不在您的管理范围内"), "unit_id")


def allowed_moves(item: RectificationItem, actor: Actor) -> list[str]:
    """The states this actor may move the item to (the detail page's buttons)."""
    return [to for (frm, to), least in TRANSITIONS.items()
            if frm == item.state and ROLE_RANK.get(actor.role, -1) >= ROLE_RANK[least]]


def transition(item: RectificationItem, to_state: str, actor: Actor, note: str = "", reason: str = "",
               now: datetime | None = None) -> RectificationItem:
    """Move an item along the state machine; ``reason`` is required for ``cannot_fix``."""
    now = now or utcnow()
    check_manage(item, actor)
    least = TRANSITIONS.get((item.state, to_state))
    if least is None:
        raise DomainError(_("整改事项不能从“%(a)s”改为“%(b)s”", a=STATE_LABELS.get(item.state, item.state),
                            b=STATE_LABELS.get(to_state, to_state)), "state")
    if ROLE_RANK.get(actor.role, -1) < ROLE_RANK[least]:
        if to_state == "verified":
            raise NotAllowed(_("只有管理员才能验收整改事项"), "state")
        raise NotAllowed(_("只有管理员才能把“%(a)s”的事项改为“%(b)s”",
                           a=STATE_LABELS[item.state], b=STATE_LABELS[to_state]), "state")
    note = _text(note, MAX_TEXT, _("说明不超过 5000 字"), "note")
    if to_state == "cannot_fix":
        reason = _text(reason, MAX_TEXT, _("请填写无法整改的原因（如政策限制），不超过 5000 字"), "reason",
                       required=True)
        item.reason = reason
        note = note or reason
    from_state = item.state
    item.state, item.updated_at = to_state, now
    if to_state == "done":
        item.done_at = now
    if to_state in FINISHED:
        item.overdue = False
    else:
        c = db.session.get(Campaign, item.campaign_id)
        item.overdue = item.deadline < local_today(now, c.timezone)
    record_history(item, actor, from_state, to_state, note, now)
    db.session.flush()
    return item


def update_item(item: RectificationItem, actor: Actor, *, measure: str | None = None, person: str | None = None,
                deadline: date | str | None = None, evidence: str | None = None,
                now: datetime | None = None) -> RectificationItem:
    """Edit the measure, the responsible person, the deadline or the evidence notes (a verified
    item is closed); one history row names what changed."""
    now = now or utcnow()
    check_manage(item, actor)
    if item.state == "verified":
        raise DomainError(_("已验收的整改事项不能再修改"), "state")
    changed = []
    if measure is not None:
        item.measure = _text(measure, MAX_TEXT, _("整改措施不超过 5000 字"), "measure")
        changed.append(_("整改措施"))
    if person is not None:
        item.person = _text(person, MAX_PERSON, _("责任人不超过 100 字"), "person")
        changed.append(_("责任人"))
    if evidence is not None:
        item.evidence = _text(evidence, MAX_TEXT, _("佐证说明不超过 5000 字"), "evidence")
        changed.append(_("佐证说明"))
    if deadline is not None:
        new, tz = parse_deadline(deadline), db.session.get(Campaign, item.campaign_id).timezone
        if new < item.created_at.astimezone(zone(tz)).date():
            raise DomainError(_("整改时限不能早于事项的创建日期"), "deadline")
        if new != item.deadline:
            item.deadline = new
            item.overdue = item.state not in FINISHED and new < local_today(now, tz)  # an extension lifts it
            changed.append(_("整改时限"))
    if changed:
        item.updated_at = now
        record_history(item, actor, item.state, item.state, _("修改：%(f)s", f="、".join(changed)), now)
        db.session.flush()
    return item


# ---- reading ---------------------------------------------------------------------------------

def items(campaign_id: int | None = None, within: str | None = None) -> Select:
    """Items (of one campaign), ``within`` a unit subtree, deadline first."""
    stmt = select(RectificationItem)
    if campaign_id is not None:
        stmt = stmt.where(RectificationItem.campaign_id == campaign_id)
    if within:
        stmt = stmt.join(Unit, Unit.id == RectificationItem.unit_id).where(subtree_filter(within))
    return stmt.order_by(RectificationItem.deadline, RectificationItem.id)


def history(item: RectificationItem) -> list[RectificationEvent]:
    return list(db.session.execute(select(RectificationEvent).where(RectificationEvent.item_id == item.id)
                                   .order_by(RectificationEvent.at, RectificationEvent.id)).scalars())
