"""A theme becomes ledger items (转为整改事项): one ``open`` item per responsible unit whose
subtree's opinions fall in the theme — the committee-level unit (depth 1) above the opinion's
subject for the tenant admin, the unit admin's own unit (or the committee below it) for a unit
admin, who only reaches their subtree's opinions. Made by ``rectification.ledger.create_item``
with source ``theme``; a unit that already has an item of this theme in this campaign is
skipped; all or nothing."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import Campaign, RectificationItem, Unit, utcnow
from pingyi.rectification.ledger import Actor, Draft, create_item, parse_deadline

from . import grouping
from .counts import COMMITTEE_DEPTH, _ancestors, _opinions, last_run, run_rules
from .rules import OTHER

QUOTED = 3  # opinions quoted in an item's problem
QUOTE_LIMIT = 200


def source_ref(theme: str, unit_id: int) -> str:
    return f"theme:{theme}/unit:{unit_id}"[:100]


def by_unit(c: Campaign, theme: str, within: str | None = None) -> dict[int, list[str]]:
    """Responsible unit → the distinct texts of ``theme`` (as the last run's rules group them)
    in its subtree, ``within`` a unit admin's subtree."""
    run = last_run(c)
    if run is None:
        raise DomainError(_("请先归类意见"), "theme")
    rules = run_rules(run)
    if theme == OTHER or theme not in {t.name for t in rules}:
        raise DomainError(_("没有名为“%(t)s”的意见主题", t=theme), "theme")
    depth = COMMITTEE_DEPTH
    if within:
        depth = max(depth, len(_ancestors(within)) - 1)
    rows = _opinions(c, within)
    out: dict[int, set[str]] = {}
    for i in grouping.group(((i, text) for i, (_b, text, _p) in enumerate(rows)), rules)[theme]:
        _ballot, text, path = rows[i]
        chain = _ancestors(path)
        out.setdefault(chain[min(depth, len(chain) - 1)], set()).add(text)
    return {unit: sorted(texts) for unit, texts in out.items()}


def _problem(theme: str, texts: list[str]) -> str:
    quoted = "；".join(t if len(t) <= QUOTE_LIMIT else t[:QUOTE_LIMIT] + "…" for t in texts[:QUOTED])
    return _("群众意见主题“%(t)s”：%(q)s", t=theme, q=quoted) + (_("等") if len(texts) > QUOTED else "")


def to_ledger(c: Campaign, theme: str, actor: Actor, deadline: date | str, measure: str = "", person: str = "",
              now: datetime | None = None) -> list[RectificationItem]:
    """One item per responsible unit of ``theme`` that has none of it yet (the caller commits)."""
    now = now or utcnow()
    deadline = parse_deadline(deadline)
    units = by_unit(c, theme, actor.unit_path if actor.role != "admin" else None)
    existing = set(db.session.execute(select(RectificationItem.source_ref).where(
        RectificationItem.campaign_id == c.id, RectificationItem.source == "theme")).scalars())
    todo = [(uid, texts) for uid, texts in units.items() if source_ref(theme, uid) not in existing]
    if not todo:
        raise DomainError(_("主题“%(t)s”没有尚未建立整改事项的意见", t=theme), "theme")
    order = {u.id: (u.sort_order, u.name, u.id) for u in db.session.execute(
        select(Unit).where(Unit.id.in_([uid for uid, _t in todo]))).scalars()}
    todo.sort(key=lambda x: order.get(x[0], (0, "", x[0])))
    return [create_item(c, Draft(_problem(theme, texts), uid, deadline, person, measure), actor, "theme",
                        source_ref(theme, uid), theme, None, now) for uid, texts in todo]
