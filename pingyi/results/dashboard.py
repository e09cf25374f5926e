"""A campaign's results as its pages read them, from the stored tally (never from ballots):
satisfaction per form item across subjects (seed 002 §四), per category (small cells
suppressed), subjects listed by verdict and in a searchable, sortable table, the unit tree's
roll-ups with their choice distributions, and trends against the previous campaign."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import aliased

from pingyi.campaigns import rules as rl
from pingyi.campaigns.lifecycle import categories, rule_specs
from pingyi.extensions import db
from pingyi.models import (
    Campaign,
    Comment,
    Form,
    FormItem,
    FormSection,
    Scale,
    ScaleChoice,
    Subject,
    TallyRun,
    TallySubject,
    Unit,
)
from pingyi.models.tallies import LiveCount
from pingyi.org.orgtree import unit_label

from . import comparison as cmp
from . import live_view as lv
from . import rollup
from . import suppression as sup
from . import tally as tl


@dataclass
class ItemRate:
    form: str
    text: str
    figures: tl.Figures
    id: int = 0
    trend: cmp.Trend | None = None


@dataclass
class CategoryRow:
    name: str
    ballots: int
    figures: tl.Figures | None  # None: not shown (``suppression.hide``)
    small: bool = False  # not shown for resting on fewer than k ballots itself


@dataclass
class SubjectRow:
    id: int
    label: str
    kind: str
    figures: tl.Figures
    weighted: Fraction | None


@dataclass
class UnitRow:
    unit: Unit
    label: str
    figures: rollup.Figures
    distribution: list[tuple[str, int]]  # choices merged by label, in scale order
    trend: cmp.Trend | None = None


@dataclass
class Results:
    run: TallyRun | None
    items: list[ItemRate]
    verdicts: list[tuple[str, str, list[SubjectRow]]]  # (outcome, severity, subjects, lowest rate first)
    units: list[UnitRow]
    total: rollup.Figures | None
    categories: list[CategoryRow] = field(default_factory=list)
    previous: Campaign | None = None
    distribution: list[tuple[str, int]] = field(default_factory=list)  # all answers, by choice label
    lowest_subjects: list[SubjectRow] = field(default_factory=list)  # the ranking's bottom
    view: str = lv.FULL  # full, live (the snapshot) or turnout (no figures): ``live_view``
    ballots: int = 0  # 收回评议票 (a unit admin: links used in their subtree)


def item_rates(by_item: dict[int, tl.Figures]) -> list[ItemRate]:
    """Each rating item answered in the tally, with its figures across all subjects."""
    rows = db.session.execute(
        select(FormItem.id, FormItem.text, Form.name).join(Form, Form.id == FormItem.form_id)
        .join(FormSection, FormSection.id == FormItem.section_id)
        .where(FormItem.id.in_(list(by_item)))
        .order_by(Form.id, FormSection.position, FormItem.position)).all()
    return [ItemRate(form, text, by_item[item_id], item_id) for item_id, text, form in rows]


def _category_rows(c: Campaign, split: sup.Breakdown, figures: dict[int, tl.Figures]) -> list[CategoryRow]:
    return [CategoryRow(k.name, split.ballots.get(k.id, 0),
                        figures.get(k.id, tl.Figures()) if split.shown(k.id) else None, split.small(k.id))
            for k in categories(c)]


def category_rows(c: Campaign, by_category: dict[int, tl.Figures]) -> list[CategoryRow]:
    """Figures per evaluator category, those ``suppression`` hides left out (with the
    subjects' own breakdowns in view: this table sums their cells)."""
    return _category_rows(c, sup.campaign_breakdown(c.id), by_category)


def weighted_rates(c: Campaign, pairs: dict[tuple[int, int], tl.Figures],
                   subjects: Iterable[int]) -> dict[int, Fraction | None]:
    """The weighted 满意率 of these subjects where the campaign weights its categories (``{}``
    where it does not), from their figures per (subject, category). A weighted rate mixes the
    categories unevenly: beside a hidden group's plain rate it would tell its parts apart, so a
    subject whose breakdown hides a category has none (``None``)."""
    weights = {k.id: Fraction(k.weight) for k in categories(c)} if c.weighting else {}
    subjects = list(subjects)
    if not weights or not subjects:
        return {}
    splits = sup.subject_breakdowns(c.id, subjects)
    result = tl.TallyResult({}, {}, pairs, {}, {})
    return {s: None if splits.get(s, sup.Breakdown()).hidden else tl.weighted_satisfaction(result, s, weights)
            for s in subjects}


def _may_hit(spec: rl.RuleSpec, f):
    """SQL for "this rule holds for the subject's sums ``f``", exactly: share op p/q compared
    as part·q op p·total in integers (a subject with no answers matches nothing)."""
    part = {"satisfied_share": f.c.satisfied, "lowest_share": f.c.lowest,
            "not_satisfied_share": f.c.total - f.c.satisfied}[spec.metric]
    t = spec.fraction
    left, right = part * t.denominator, f.c.total * t.numerator
    held = {"lt": left < right, "le": left <= right, "gt": left > right, "ge": left >= right}[spec.op]
    kind = [] if spec.applies_to == "any" else [Subject.kind == spec.applies_to]
    return and_(f.c.total > 0, held, *kind)


def _subject_rows(c: Campaign, view: lv.View, where=None, order=None, limit: int | None = None) -> list[SubjectRow]:
    """Subjects with their sums as ``view`` reads them (``within`` its subtree), those
    ``where(sums)`` selects, in ``order(sums)``: the database filters and sorts, so a page never
    loads every subject."""
    f = _sums_by_subject(c.id, view)
    query = (select(Subject.id, Subject.label, Subject.kind, f.c.total, f.c.satisfied, f.c.lowest)
             .join(f, f.c.subject_id == Subject.id).where(Subject.campaign_id == c.id))
    if where is not None:
        query = query.where(where(f))
    if view.within:
        query = query.where(Subject.unit_id.in_(lv.units_within(view.within)))
    if order is not None:
        query = query.order_by(*order(f)).limit(limit)
    return [SubjectRow(r.id, r.label, r.kind, tl.Figures(int(r.total), int(r.satisfied), int(r.lowest)), None)
            for r in db.session.execute(query).all()]


def by_verdict(c: Campaign, view: lv.View) -> list[tuple[str, str, list[SubjectRow]]]:
    """Subjects grouped under each outcome of the campaign's rules, in rule order. The database
    picks the subjects some rule holds for; ``tally.verdicts`` then judges those (a rule
    group keeps its last match). Turnout rules judge units, not subjects' answers."""
    specs = [spec for spec in rule_specs(c) if spec.metric != "turnout"]
    if not specs:
        return []
    found = {r.id: r for r in _subject_rows(c, view, lambda f: or_(*(_may_hit(spec, f) for spec in specs)))}
    result = tl.TallyResult({}, {s: r.figures for s, r in found.items()}, {}, {}, {})
    hits = tl.verdicts(result, specs, {s: r.kind for s, r in found.items()})
    if c.weighting and view.mode == lv.FULL and hits:
        pairs = tl.stored_figures(c.id, "subject_category", tl.subject_facts(c.id)[1], list(hits))
        for s, w in weighted_rates(c, pairs, hits).items():
            found[s].weighted = w
    groups: dict[str, list[SubjectRow]] = {}
    severity: dict[str, str] = {}
    for spec in specs:
        groups.setdefault(spec.outcome, [])
        severity.setdefault(spec.outcome, spec.severity)
    for subject_id, rules in hits.items():
        for spec in rules:
            groups[spec.outcome].append(found[subject_id])
    return [(outcome, severity[outcome], sorted(rows, key=lambda r: (r.figures.satisfied_share or 0, r.label)))
            for outcome, rows in groups.items() if rows]


def choice_labels(campaign_id: int) -> dict[int, tuple[int, str]]:
    """choice id → (position, label) for the forms of the campaign's subjects."""
    forms = select(Subject.form_id).where(Subject.campaign_id == campaign_id).distinct()
    return {cid: (pos, label) for cid, pos, label in db.session.execute(
        select(ScaleChoice.id, ScaleChoice.position, ScaleChoice.label).join(Scale, Scale.id == ScaleChoice.scale_id)
        .where(Scale.form_id.in_(forms))).all()}


def distribution(by_choice: dict[int, int], labels: dict[int, tuple[int, str]]) -> list[tuple[str, int]]:
    """Counts per choice label (满意 of two forms is one 满意), ordered by scale position."""
    merged: dict[str, list[int]] = {}
    for choice, n in by_choice.items():
        pos, label = labels.get(choice, (99, str(choice)))
        acc = merged.setdefault(label, [pos, 0])
        acc[0], acc[1] = min(acc[0], pos), acc[1] + n
    return [(label, n) for label, (_pos, n) in sorted(merged.items(), key=lambda kv: (kv[1][0], kv[0]))]


def unit_rows(campaign_id: int, max_depth: int | None = None,
              subtrees: dict[int, rollup.Figures] | None = None) -> list[UnitRow]:
    """Subtree roll-ups (the stored ones, or ``subtrees`` as ``live_view.unit_figures`` gives
    them), in tree order, down to ``max_depth`` below the top unit shown (depth 0)."""
    subtrees = rollup.stored_subtrees(campaign_id) if subtrees is None else subtrees
    if not subtrees:
        return []
    units = {u.id: u for u in db.session.execute(select(Unit).where(Unit.id.in_(list(subtrees)))).scalars()}
    labels = choice_labels(campaign_id)
    top = min((u.depth for u in units.values()), default=0)
    shown = [u for u in units.values() if max_depth is None or u.depth - top <= max_depth]
    shown.sort(key=lambda u: [(units[int(x)].sort_order, units[int(x)].name, int(x)) if int(x) in units else (0, "", 0)
                              for x in u.path.strip("/").split("/")])
    return [UnitRow(u, unit_label(u, units), subtrees[u.id], distribution(subtrees[u.id].by_choice, labels))
            for u in shown]


def lowest_subjects(c: Campaign, view: lv.View, n: int = 10) -> list[SubjectRow]:
    """The ranking's bottom: the ``n`` rated subjects with the lowest satisfaction (read along
    the kept rates' index once voting is over)."""
    return _subject_rows(c, view, lambda f: f.c.rate.is_not(None), order=lambda f: [f.c.rate, Subject.label, Subject.id],
                         limit=n)


def _add_trends(c: Campaign, prev: Campaign, items: list[ItemRate], units: list[UnitRow],
                within: str | None = None) -> None:
    """Item trends (same form item, over the same subtree) and unit trends (same unit) against ``prev``."""
    _kinds, infos = tl.subject_facts(prev.id)
    before = lv.figures(prev.id, "item", infos, lv.View(lv.FULL, within))
    for it in items:
        if it.id in before:
            it.trend = cmp.trend(it.figures.satisfied_share, before[it.id].satisfied_share)
    subtrees = rollup.stored_subtrees(prev.id, [u.unit.id for u in units])
    for u in units:
        if u.unit.id in subtrees:
            u.trend = cmp.trend(u.figures.satisfied_share, subtrees[u.unit.id].satisfied_share)


def campaign_results(c: Campaign, max_depth: int | None = 1, within: str | None = None) -> Results:
    """The dashboard's data as ``live_view`` lets it be seen: the stored cells once voting is
    over, the live snapshot or turnout only while open; ``within`` a unit admin's subtree
    (its subjects, units and figures summed over them, no campaign-wide categories)."""
    run = tl.stored_run(c.id)
    if run is None:
        return Results(None, [], [], [], None)
    view = lv.view_of(c, within)
    subtrees, total = lv.unit_figures(c.id, view, run, max_depth)
    units = unit_rows(c.id, max_depth, subtrees)
    ballots = lv.ballots_received(run, view, total)
    if not view.figures:
        return Results(run, [], [], units, total, view=view.mode, ballots=ballots)
    infos = tl.campaign_choices(c.id)
    if view.breakdowns:  # one pass over the cells for both
        by_item, by_category = tl.fold(tl.stored_figures(c.id, "item_category", infos))
    else:
        by_item, by_category = lv.figures(c.id, "item", infos, view), {}
    items = item_rates(by_item)
    prev = lv.comparable(cmp.previous_campaign(c))
    if prev is not None:
        _add_trends(c, prev, items, units, view.within)
    answers = tl.Figures()
    for f in by_item.values():
        for choice, n in f.by_choice.items():
            answers.by_choice[choice] = answers.by_choice.get(choice, 0) + n
    return Results(run, items, by_verdict(c, view), units, total,
                   category_rows(c, by_category) if view.breakdowns else [], prev,
                   distribution(answers.by_choice, choice_labels(c.id)), lowest_subjects(c, view),
                   view=view.mode, ballots=ballots)


# ---- the subject table and a subject's page ------------------------------------------------------

@dataclass
class SubjectLine:
    id: int
    label: str
    kind: str
    form: str
    unit: str
    figures: tl.Figures
    trend: cmp.Trend | None = None
    weighted: Fraction | None = None  # where the campaign weights its categories (``weighted_rates``)


SORTS = ("rate", "-rate", "answers", "-answers", "lowest", "label")


def campaign_forms(campaign_id: int) -> list[tuple[int, str]]:
    """(id, name) of the forms the campaign's subjects are rated on."""
    return [tuple(r) for r in db.session.execute(select(Form.id, Form.name).where(Form.id.in_(
        select(Subject.form_id).where(Subject.campaign_id == campaign_id))).order_by(Form.id)).all()]


def _sums_by_subject(campaign_id: int, view: lv.View, only=None):
    """Per subject (or those ``only`` selects): answers, satisfied and lowest-choice answers, as
    a subquery the database sorts and pages: the tally's kept sums once voting is over, the
    live snapshot's summed while open."""
    if view.mode == lv.FULL:
        return (select(TallySubject.subject_id, TallySubject.total, TallySubject.satisfied, TallySubject.lowest,
                       TallySubject.rate)
                .where(TallySubject.campaign_id == campaign_id,
                       *([] if only is None else [TallySubject.subject_id.in_(only)])).subquery())
    return tl.subject_sums(LiveCount, campaign_id, *([] if only is None else [LiveCount.subject_id.in_(only)])).subquery()


def _order(sort: str, f, label) -> list:
    """The table's orders; unrated subjects come last in the rate orders, and every order ends
    on the label and id, so pages never overlap."""
    total = func.coalesce(f.c.total, 0)
    unrated = case((total == 0, 1), else_=0)
    rate = f.c.rate
    lowest = func.coalesce(f.c.lowest * 1.0 / func.nullif(f.c.total, 0), 0)
    keys = {"rate": [unrated, rate], "-rate": [unrated, rate.desc()], "answers": [total],
            "-answers": [total.desc()], "lowest": [lowest.desc()], "label": []}
    return [*keys.get(sort, keys["rate"]), label, Subject.id]


def subject_page(c: Campaign, q: str = "", form_id: int | None = None, sort: str = "rate",
                 within: str | None = None, page: int | None = None,
                 per_page: int = 50) -> tuple[int, list[SubjectLine]]:
    """(how many match, one page of them): subjects whose name or unit (or a unit above it)
    contains ``q``, of one form, ``within`` a unit admin's subtree, with their figures as
    ``live_view`` allows (none while open with live results off) and trend. Filtered, sorted
    and paged by the database (a campaign may hold 236 000 subjects); ``page=None``: all.
    Sorts: ``SORTS``."""
    view = lv.view_of(c, within)
    sort = (sort if sort in SORTS else "rate") if view.figures else "label"
    label = Subject.label.collate("C") if db.engine.dialect.name == "postgresql" else Subject.label  # code-point order
    query = select(Subject.id).where(Subject.campaign_id == c.id)
    if form_id is not None:
        query = query.where(Subject.form_id == form_id)
    if view.within:
        query = query.where(Subject.unit_id.in_(lv.units_within(view.within)))
    needle = q.strip()
    if needle:
        above = aliased(Unit)
        named = select(Unit.id).join(above, Unit.path.startswith(above.path)).where(
            above.name.contains(needle, autoescape=True))
        query = query.where(or_(Subject.label.contains(needle, autoescape=True), Subject.unit_id.in_(named)))
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    only = None
    if page is not None:
        start = (max(page, 1) - 1) * per_page
        if sort == "label":  # no figure decides the order: page first, then sum that page's cells only
            only = query.order_by(label, Subject.id).limit(per_page).offset(start)
            query = query.where(Subject.id.in_(only))
        else:
            query = query.limit(per_page).offset(start)
    f = _sums_by_subject(c.id, view, only)
    rows = (query.add_columns(Subject.label, Subject.kind, Subject.form_id, Subject.unit_id, Unit.path, f.c.total,
                              f.c.satisfied, f.c.lowest)
            .outerjoin(Unit, Unit.id == Subject.unit_id)
            .outerjoin(f, and_(f.c.subject_id == Subject.id, view.figures))  # turnout only: no figures at all
            .order_by(*_order(sort, f, label)))
    found = db.session.execute(rows).all()
    forms = dict(campaign_forms(c.id))
    ids = {int(x) for r in found if r.path for x in r.path.strip("/").split("/") if x}  # their units and those above
    units = {u.id: u for u in db.session.execute(select(Unit).where(Unit.id.in_(ids))).scalars()} if ids else {}
    lines = [SubjectLine(r.id, r.label, r.kind, forms.get(r.form_id, ""),
                         unit_label(units[r.unit_id], units) if r.unit_id in units else "",
                         tl.Figures(int(r.total or 0), int(r.satisfied or 0), int(r.lowest or 0)))
             for r in found]
    _add_line_trends(c, view, lines)
    if c.weighting and view.mode == lv.FULL and lines:
        ids = [ln.id for ln in lines]
        pairs = tl.stored_figures(c.id, "subject_category", tl.choice_infos(forms), ids)
        weighted = weighted_rates(c, pairs, ids)
        for ln in lines:
            ln.weighted = weighted.get(ln.id)
    return total, lines


def _add_line_trends(c: Campaign, view: lv.View, lines: list[SubjectLine]) -> None:
    prev = lv.comparable(cmp.previous_campaign(c)) if view.figures else None
    if prev is None or not lines:
        return
    same = cmp.matching_subjects(c, prev)
    _k, prev_infos = tl.subject_facts(prev.id)
    before = tl.stored_figures(prev.id, "subject", prev_infos)
    for ln in lines:
        if same.get(ln.id) in before:
            ln.trend = cmp.trend(ln.figures.satisfied_share, before[same[ln.id]].satisfied_share)


def subject_lines(c: Campaign, q: str = "", form_id: int | None = None, sort: str = "rate",
                  within: str | None = None) -> list[SubjectLine]:
    """Every matching subject (``subject_page`` without paging): the public page, follow-ups."""
    return subject_page(c, q, form_id, sort, within)[1]


@dataclass
class ItemDetail:
    text: str
    figures: tl.Figures
    distribution: list[tuple[str, int]]
    trend: cmp.Trend | None = None


@dataclass
class OpinionRow:
    item: str
    text: str
    category: str  # the evaluator category, or "<5" where the subject's breakdown hides it
    item_id: int = 0  # the form item (an opinion becomes a ledger item by subject, item and text)


@dataclass
class SubjectDetail:
    subject: Subject
    unit: str
    figures: tl.Figures
    items: list[ItemDetail]
    categories: list[CategoryRow]
    opinions: list[OpinionRow]
    trend: cmp.Trend | None
    previous: Campaign | None
    weighted: Fraction | None = None  # where the campaign weights its categories (``weighted_rates``)


def opinion_rows(c: Campaign, subject_id: int | None = None,
                 splits: dict[int, sup.Breakdown] | None = None) -> dict[int, list[OpinionRow]]:
    """Free-text opinions per subject (or of one), by item then text (never in voting order);
    each names its category only where that subject's breakdown by category shows it
    (``splits``: the subjects' breakdowns, if the caller has them already)."""
    if splits is None:
        splits = sup.subject_breakdowns(c.id, subject_id)
    names = {k.id: k.name for k in categories(c)}
    query = (select(Comment.subject_id, FormItem.text, Comment.text, Comment.category_id, Comment.item_id)
             .join(FormItem, FormItem.id == Comment.item_id).join(FormSection, FormSection.id == FormItem.section_id)
             .where(Comment.campaign_id == c.id)
             .order_by(Comment.subject_id, FormSection.position, FormItem.position, Comment.text))
    if subject_id is not None:
        query = query.where(Comment.subject_id == subject_id)
    out: dict[int, list[OpinionRow]] = {}
    for subject_id, item, text, category, item_id in db.session.execute(query).all():
        out.setdefault(subject_id, []).append(OpinionRow(item, text, splits.get(
            subject_id, sup.Breakdown()).name(category, names.get(category, "")), item_id))
    return out


def _subject_figures(c: Campaign, s: Subject, view: lv.View) -> tuple[tl.Figures, list[ItemDetail],
                                                                       cmp.Trend | None, Campaign | None]:
    """A subject's total and items (with choices) as ``view`` may see them, and its trends
    against the same subject in the previous campaign."""
    _kinds, infos = tl.subject_facts(c.id)
    labels = choice_labels(c.id)
    by_item = lv.figures(c.id, "subject_item", infos, view, subject_id=s.id)
    total = lv.figures(c.id, "subject", infos, view, subject_id=s.id).get(s.id, tl.Figures())
    prev = lv.comparable(cmp.previous_campaign(c)) if view.figures else None
    before_items: dict = {}
    trend = None
    if prev is not None and (match := cmp.matching_subjects(c, prev).get(s.id)) is not None:
        _k, prev_infos = tl.subject_facts(prev.id)
        before_items = {item: f for (_s, item), f in
                        tl.stored_figures(prev.id, "subject_item", prev_infos, subject_id=match).items()}
        before = tl.stored_figures(prev.id, "subject", prev_infos, subject_id=match).get(match)
        trend = cmp.trend(total.satisfied_share, before.satisfied_share if before else None)
    items = []
    for it in db.session.execute(
            select(FormItem).join(FormSection, FormSection.id == FormItem.section_id)
            .where(FormItem.form_id == s.form_id, FormItem.kind == "rating")
            .order_by(FormSection.position, FormItem.position)).scalars():
        f = by_item.get((s.id, it.id), tl.Figures())
        prior = before_items.get(it.id)
        items.append(ItemDetail(it.text, f, distribution(f.by_choice, labels),
                                cmp.trend(f.satisfied_share, prior.satisfied_share) if prior else None))
    return total, items, trend, prev


def subject_detail(c: Campaign, s: Subject) -> SubjectDetail:
    """One subject's page: per item (with choices), per category (suppressed below k), its
    opinions, and its trend against the same subject in the previous campaign. While the
    campaign is open: the live snapshot's figures (or none), no categories, no opinions."""
    view = lv.view_of(c)
    total, items, trend, prev = _subject_figures(c, s, view)
    if view.mode != lv.FULL:
        units = {u.id: u for u in db.session.execute(select(Unit)).scalars()}
        unit = units.get(s.unit_id)
        return SubjectDetail(s, unit_label(unit, units) if unit else "", total, items, [], [], trend, prev)
    _kinds, infos = tl.subject_facts(c.id)
    by_cat = tl.stored_figures(c.id, "subject_category", infos, subject_id=s.id)
    splits = sup.subject_breakdowns(c.id, s.id)
    cats = _category_rows(c, splits.get(s.id, sup.Breakdown()), {k: f for (_s, k), f in by_cat.items()})
    units = {u.id: u for u in db.session.execute(select(Unit)).scalars()}
    unit = units.get(s.unit_id)
    return SubjectDetail(s, unit_label(unit, units) if unit else "", total, items, cats,
                         opinion_rows(c, s.id, splits).get(s.id, []), trend, prev,
                         weighted_rates(c, by_cat, [s.id]).get(s.id))
