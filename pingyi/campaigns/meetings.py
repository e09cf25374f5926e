"""The meetings a campaign's units held (民主评议会, 座谈会, 动员大会…) as records: what the
summary report counts as 召开评议会议, never inferred from links used. Unit admins record the
meetings of their subtree's units."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select

from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import MEETING_KINDS, Campaign, Meeting, Unit
from pingyi.org.orgtree import subtree_filter

from .lifecycle import local, parse_day

MAX_ATTENDANCE = 100_000
NOTE_MAX = 500


@dataclass
class Counts:
    meetings: int = 0
    attendance: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)  # kind → meetings, in MEETING_KINDS order


def record(c: Campaign, unit: Unit | None, kind: str, held_on: str | date, attendance: str | int,
           note: str = "", within: str | None = None, today: date | None = None) -> Meeting:
    """Record a meeting ``unit`` held; ``within``: the recording unit admin's subtree. A meeting
    is a record of something that happened: not after ``today`` (the campaign's local date),
    nor a year before voting opens (a typo in the year)."""
    if unit is None or (within and not unit.path.startswith(within)):
        raise DomainError(_("请选择本单位范围内的单位"), "unit_id")
    if kind not in MEETING_KINDS:
        raise DomainError(_("请选择会议类型"), "kind")
    day = parse_day(held_on, c.timezone, "held_on")
    if today is not None and day > today:
        raise DomainError(_("会议日期不能晚于今天"), "held_on")
    if day < local(c.opens_at, c.timezone).date() - timedelta(days=366):
        raise DomainError(_("会议日期不能早于评议开始前一年"), "held_on")
    try:
        people = int(str(attendance).strip() or 0)
    except ValueError:
        raise DomainError(_("参会人数应为整数"), "attendance") from None
    if not 0 <= people <= MAX_ATTENDANCE:
        raise DomainError(_("参会人数应在 0 到 %(n)d 之间", n=MAX_ATTENDANCE), "attendance")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise DomainError(_("备注不能超过 %(n)d 字", n=NOTE_MAX), "note")
    m = Meeting(campaign_id=c.id, unit_id=unit.id, kind=kind, held_on=day, attendance=people, note=note)
    db.session.add(m)
    db.session.flush()
    return m


def remove(m: Meeting, within: str | None = None) -> None:
    unit = db.session.get(Unit, m.unit_id)
    if within and not (unit and unit.path.startswith(within)):
        raise DomainError(_("只能删除本单位范围内的会议记录"), "meeting")
    db.session.delete(m)
    db.session.flush()


def listed(c: Campaign, within: str | None = None) -> list[tuple[Meeting, str]]:
    """The campaign's meetings with their unit's name, newest first (a unit admin: their subtree)."""
    q = select(Meeting, Unit.name).join(Unit, Unit.id == Meeting.unit_id).where(Meeting.campaign_id == c.id)
    if within:
        q = q.where(subtree_filter(within))
    return [(m, name) for m, name in db.session.execute(q.order_by(Meeting.held_on.desc(), Meeting.id.desc()))]


def counts(c: Campaign, within: str | None = None) -> Counts:
    """How many meetings of each kind were recorded, and their attendance (人次)."""
    q = (select(Meeting.kind, func.count(), func.coalesce(func.sum(Meeting.attendance), 0))
         .where(Meeting.campaign_id == c.id).group_by(Meeting.kind))
    if within:
        q = q.join(Unit, Unit.id == Meeting.unit_id).where(subtree_filter(within))
    found = {kind: (int(n), int(people)) for kind, n, people in db.session.execute(q)}
    return Counts(sum(n for n, _p in found.values()), sum(p for _n, p in found.values()),
                  {k: found[k][0] for k in MEETING_KINDS if k in found})
