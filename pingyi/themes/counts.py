"""A campaign's opinions counted per theme and unit subtree, and what a page may show of them.

``compute`` (the worker job's work) groups every free-text opinion of a closed, tallied
campaign with the tenant's rules and stores, per theme, the opinions and the *distinct ballots*
behind them for the whole campaign and for every unit above a subject (its subtree); figures
only, written by Core statements, like the tally's. ``view`` reads them back for a page: a
figure resting on fewer than k ballots (``results.suppression``) reads "<k", and the committee
units' (depth 1) figures under one total are suppressed together (``suppression.hide``), so the
total minus the shown ones never rests on fewer than k ballots either."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import delete, insert, select

from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import Campaign, Comment, Subject, ThemeCount, ThemeRun, Unit, utcnow
from pingyi.results import suppression as sup
from pingyi.results.tally import stored_run
from pingyi.tenancy import require_tenant_id

from . import grouping
from .rules import OTHER, Theme, current

READY_STATES = ("closed", "published", "archived")
COMMITTEE_DEPTH = 1  # the committee-level units each get a row under the total
MAX_TEXTS = 500  # texts listed per theme on the page


def check_ready(c: Campaign) -> None:
    """Opinions are grouped only once the campaign is closed and its tally stored (as the
    意见汇总表: never while voting)."""
    if c.state not in READY_STATES or stored_run(c.id) is None:
        raise DomainError(_("评议活动结束并完成统计后才能归类意见"), "campaign")


def _ancestors(path: str | None) -> list[int]:
    return [int(p) for p in (path or "").strip("/").split("/") if p]


def _opinions(c: Campaign, within: str | None = None) -> list[tuple[str, str, str]]:
    """(ballot id, text, the subject's unit path) of every opinion, ``within`` a subtree."""
    query = (select(Comment.ballot_id, Comment.text, Unit.path)
             .join(Subject, Subject.id == Comment.subject_id).join(Unit, Unit.id == Subject.unit_id)
             .where(Comment.campaign_id == c.id))
    if within:
        query = query.where(Unit.path.startswith(within, autoescape=True))
    return [tuple(r) for r in db.session.execute(query).all()]


def compute(c: Campaign, rules: list[Theme] | None = None) -> ThemeRun:
    """Group and count the campaign's opinions with the tenant's rules; replaces the stored
    counts (the caller commits)."""
    check_ready(c)
    rules = current() if rules is None else rules
    rows = _opinions(c)
    groups = grouping.group(((i, text) for i, (_b, text, _p) in enumerate(rows)), rules)
    tenant_id = require_tenant_id()
    values = []
    for theme, idxs in groups.items():
        opinions: dict[int | None, int] = defaultdict(int)
        ballots: dict[int | None, set[str]] = defaultdict(set)
        for i in idxs:
            ballot, _text, path = rows[i]
            for scope in (None, *_ancestors(path)):
                opinions[scope] += 1
                ballots[scope].add(ballot)
        values += [{"tenant_id": tenant_id, "campaign_id": c.id, "theme": theme, "unit_id": scope,
                    "opinions": n, "ballots": len(ballots[scope])} for scope, n in opinions.items()]
    db.session.execute(delete(ThemeCount.__table__).where(ThemeCount.tenant_id == tenant_id,
                                                          ThemeCount.campaign_id == c.id))
    if values:
        db.session.execute(insert(ThemeCount.__table__), values)
    db.session.execute(delete(ThemeRun.__table__).where(ThemeRun.tenant_id == tenant_id,
                                                        ThemeRun.campaign_id == c.id))
    run = stored_run(c.id)
    db.session.execute(insert(ThemeRun.__table__).values(
        tenant_id=tenant_id, campaign_id=c.id, computed_at=utcnow(), tally_version=run.version if run else 0,
        rules=[t.as_dict() for t in rules], opinions=len(rows)))
    return db.session.execute(select(ThemeRun).where(ThemeRun.campaign_id == c.id)
                              .execution_options(populate_existing=True)).scalar_one()


def last_run(c: Campaign) -> ThemeRun | None:
    return db.session.execute(select(ThemeRun).where(ThemeRun.campaign_id == c.id)).scalar_one_or_none()


def run_rules(run: ThemeRun) -> list[Theme]:
    return [Theme.from_dict(d) for d in run.rules or ()]


def stale(c: Campaign, run: ThemeRun | None) -> bool:
    """True when there is no grouping yet, or the tally or the rules changed since."""
    tally = stored_run(c.id)
    return run is None or (tally is not None and tally.version != run.tally_version) or run_rules(run) != current()


# ---- what a page shows -----------------------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    opinions: int = 0
    ballots: int = 0
    shown: bool = True

    @property
    def text(self) -> str:
        return str(self.opinions) if self.shown else sup.label()


@dataclass
class Row:
    unit_id: int | None
    label: str
    cells: dict[str, Cell] = field(default_factory=dict)


@dataclass
class View:
    run: ThemeRun
    themes: list[str]
    rows: list[Row]  # the viewer's total first, then the committee units under it

    @property
    def total(self) -> Row:
        return self.rows[0]


def view(c: Campaign, within: str | None = None) -> View | None:
    """The stored counts as one viewer may see them: the whole campaign (or, for a unit admin,
    their unit's subtree) and the committee units (depth 1) inside it; None before the first run."""
    run = last_run(c)
    if run is None:
        return None
    themes = [t.name for t in run_rules(run)] + [OTHER]
    stored: dict[str, dict[int | None, tuple[int, int]]] = defaultdict(dict)
    for theme, unit_id, opinions, ballots in db.session.execute(
            select(ThemeCount.theme, ThemeCount.unit_id, ThemeCount.opinions, ThemeCount.ballots)
            .where(ThemeCount.campaign_id == c.id)).all():
        stored[theme][unit_id] = (int(opinions), int(ballots))
    units = {u.id: u for u in db.session.execute(select(Unit)).scalars()}
    committees = [u for u in units.values() if u.depth == COMMITTEE_DEPTH]
    # one decision per committee cell for every viewer, made over the whole campaign's rows: a
    # unit admin's own row and the tenant admin's grid never differ by a hidden cell
    hidden: dict[str, frozenset] = {}
    for theme in themes:
        per = stored.get(theme, {})
        parts = {u.id: per.get(u.id, (0, 0))[1] for u in committees}
        parts[0] = max(per.get(None, (0, 0))[1] - sum(parts.values()), 0)  # ballots outside every committee
        hidden[theme] = sup.hide(parts)
    top_id = _ancestors(within)[-1] if within else None
    top_label = units[top_id].name if top_id in units else _("全部")
    subs = sorted((u for u in committees if u.id != top_id and (not within or u.path.startswith(within))
                   and any(u.id in per for per in stored.values())), key=lambda u: (u.sort_order, u.name, u.id))
    rows = [Row(top_id, top_label)] + [Row(u.id, u.name) for u in subs]
    for theme in themes:
        per = stored.get(theme, {})
        for row in rows:
            o, b = per.get(row.unit_id, (0, 0))
            unit = units.get(row.unit_id)
            shown = (row.unit_id not in hidden[theme] if unit is not None and unit.depth == COMMITTEE_DEPTH
                     else not (0 < b < sup.min_cell()))
            row.cells[theme] = Cell(o, b, shown)
    return View(run, themes, rows)


def texts(c: Campaign, run: ThemeRun, theme: str | None = None, within: str | None = None) -> dict[str, list[str]]:
    """Theme → its distinct texts (as the stored run's rules group them), ``within`` a subtree,
    in text order (never voting order), at most ``MAX_TEXTS`` each; one theme if named."""
    rows = _opinions(c, within)
    groups = grouping.group(((i, text) for i, (_b, text, _p) in enumerate(rows)), run_rules(run))
    return {name: sorted({rows[i][1] for i in ids})[:MAX_TEXTS] for name, ids in groups.items()
            if theme is None or name == theme}
