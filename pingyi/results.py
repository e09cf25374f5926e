"""A campaign's results as its pages read them, from the stored tally (never from ballots):
satisfaction per form item across subjects (seed 002 §四), subjects listed by verdict, and the
unit tree's roll-ups with their choice distributions."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy import select

from . import rollup
from . import tally as tl
from .campaigns import categories, rule_specs
from .extensions import db
from .models import Campaign, Form, FormItem, FormSection, Scale, ScaleChoice, Subject, TallyRun, Unit
from .orgtree import unit_label


@dataclass
class ItemRate:
    form: str
    text: str
    figures: tl.Figures


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


@dataclass
class Results:
    run: TallyRun | None
    items: list[ItemRate]
    verdicts: list[tuple[str, str, list[SubjectRow]]]  # (outcome, severity, subjects, lowest rate first)
    units: list[UnitRow]
    total: rollup.Figures | None


def item_rates(result: tl.TallyResult) -> list[ItemRate]:
    """Each rating item answered in the tally, with its figures across all subjects."""
    rows = db.session.execute(
        select(FormItem.id, FormItem.text, Form.name).join(Form, Form.id == FormItem.form_id)
        .join(FormSection, FormSection.id == FormItem.section_id)
        .where(FormItem.id.in_(list(result.by_item)))
        .order_by(Form.id, FormSection.position, FormItem.position)).all()
    return [ItemRate(form, text, result.by_item[item_id]) for item_id, text, form in rows]


def by_verdict(c: Campaign, result: tl.TallyResult, kinds: dict[int, str]) -> list[tuple[str, str, list[SubjectRow]]]:
    """Subjects grouped under each outcome of the campaign's rules, in rule order."""
    specs = rule_specs(c)
    hits = tl.verdicts(result, specs, kinds)
    if not hits:
        return []
    weights = {k.id: Fraction(k.weight) for k in categories(c)} if c.weighting else {}
    labels = dict(db.session.execute(select(Subject.id, Subject.label).where(Subject.id.in_(list(hits)))).all())
    groups: dict[str, list[SubjectRow]] = {}
    severity: dict[str, str] = {}
    for spec in specs:
        groups.setdefault(spec.outcome, [])
        severity.setdefault(spec.outcome, spec.severity)
    for subject_id, rules in hits.items():
        row = SubjectRow(subject_id, labels.get(subject_id, str(subject_id)), kinds[subject_id],
                         result.by_subject.get(subject_id, tl.Figures()),
                         tl.weighted_satisfaction(result, subject_id, weights) if weights else None)
        for spec in rules:
            groups[spec.outcome].append(row)
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


def unit_rows(campaign_id: int, max_depth: int | None = None) -> list[UnitRow]:
    """The stored subtree roll-ups, in tree order, down to ``max_depth`` (root = 0)."""
    subtrees = rollup.stored_subtrees(campaign_id)
    if not subtrees:
        return []
    units = {u.id: u for u in db.session.execute(select(Unit).where(Unit.id.in_(list(subtrees)))).scalars()}
    labels = choice_labels(campaign_id)
    shown = [u for u in units.values() if max_depth is None or u.depth <= max_depth]
    shown.sort(key=lambda u: [(units[int(x)].sort_order, units[int(x)].name, int(x)) if int(x) in units else (0, "", 0)
                              for x in u.path.strip("/").split("/")])
    return [UnitRow(u, unit_label(u, units), subtrees[u.id], distribution(subtrees[u.id].by_choice, labels))
            for u in shown]


def campaign_results(c: Campaign, max_depth: int | None = 1) -> Results:
    run = db.session.execute(select(TallyRun).where(TallyRun.campaign_id == c.id)).scalar_one_or_none()
    if run is None:
        return Results(None, [], [], [], None)
    result, kinds = tl.stored_result(c.id)
    return Results(run, item_rates(result), by_verdict(c, result, kinds), unit_rows(c.id, max_depth),
                   rollup.Figures.of(run))
