"""Decisions about subjects (评先评优推荐, 诫勉谈话, 限期整改…), each resting on a written review
(复核意见), recorded by the tenant admin once the campaign's results are counted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from pingyi.campaigns.lifecycle import parse_day
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import DECISION_KINDS, Campaign, Subject, SubjectDecision, Unit
from pingyi.results.tally import stored_run

REVIEW_MAX = 2000
NOTE_MAX = 500


@dataclass(frozen=True)
class Row:
    """A decision as the page and the export list it."""

    id: int
    subject: str
    unit: str
    kind: str
    label: str
    review: str
    decided_on: date
    note: str


def record(c: Campaign, subject_id: int | None, kind: str, review: str, decided_on: str | date, note: str = "",
           user_id: int | None = None, today: date | None = None) -> SubjectDecision:
    """Record one decision. Refused before the campaign is counted (there is no result to use),
    for a subject of another campaign, without a review, or dated after ``today``."""
    if stored_run(c.id) is None or c.state in ("draft", "open"):
        raise DomainError(_("评议结束并统计后才能记录结果运用"), "campaign")
    subject = db.session.get(Subject, subject_id) if subject_id else None
    if subject is None or subject.campaign_id != c.id:
        raise DomainError(_("请选择本次评议的评议对象"), "subject_id")
    if kind not in DECISION_KINDS:
        raise DomainError(_("请选择运用方式"), "kind")
    review = (review or "").strip()
    if not review or len(review) > REVIEW_MAX:
        raise DomainError(_("请填写复核意见（不超过 %(n)d 字）", n=REVIEW_MAX), "review")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise DomainError(_("备注不能超过 %(n)d 字", n=NOTE_MAX), "note")
    day = parse_day(decided_on, c.timezone, "decided_on")
    if today is not None and day > today:
        raise DomainError(_("决定日期不能晚于今天"), "decided_on")
    d = SubjectDecision(campaign_id=c.id, subject_id=subject.id, kind=kind, review=review, decided_on=day,
                        decided_by=user_id, note=note)
    db.session.add(d)
    db.session.flush()
    return d


def remove(d: SubjectDecision) -> None:
    db.session.delete(d)
    db.session.flush()


def rows(c: Campaign) -> list[Row]:
    """The campaign's decisions by subject, then date."""
    q = (select(SubjectDecision, Subject.label, Unit.name).join(Subject, Subject.id == SubjectDecision.subject_id)
         .join(Unit, Unit.id == Subject.unit_id).where(SubjectDecision.campaign_id == c.id)
         .order_by(Subject.kind, Subject.position, SubjectDecision.decided_on, SubjectDecision.id))
    return [Row(d.id, label, unit, d.kind, DECISION_KINDS[d.kind], d.review, d.decided_on, d.note)
            for d, label, unit in db.session.execute(q)]
