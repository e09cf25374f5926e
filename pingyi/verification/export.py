"""The anonymised export: one CSV row per ballot, sorted by ballot id, that anyone can recount.

Layout (UTF-8 with a BOM, so Excel reads the Chinese): ``#`` lines first (campaign, forms, seal
digest, k, ballots), then a header and one row per ballot — ``ballot_id, unit_id, unit,
category_id, category, answers`` where ``answers`` is the ballot's choices as JSON,
``[[subject id, item id, "chosen label"], …]`` sorted (exactly what its seal leaf hashes). Unit
and category are the coarsened ones the seal fixed: every (unit, category) group holds ≥ k
ballots. Then the legend in sections of their own, each opened by a ``# <name>`` line: the
``subjects`` (id, name, form) and rated ``items`` (id, text, form, choices with which count as
satisfied) in the order the 统计表 lists them; and, when included, the ``opinions`` — with no
ballot id, sorted by subject and item: free text may say who wrote it, so it is never placed
beside that ballot's choices. (A column per subject and item would not do: the seeds' campaign
has 5 069 subjects, over 40 000 columns of mostly empty cells.)
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import func, select

from pingyi.extensions import db
from pingyi.models import (
    Ballot,
    Campaign,
    Comment,
    EvaluatorCategory,
    Form,
    FormItem,
    FormSection,
    ScaleChoice,
    Subject,
    Tenant,
    Unit,
)

from . import rows as rw
from .digest import Row

BALLOT_COLUMNS = ["ballot_id", "unit_id", "unit", "category_id", "category", "answers"]
SUBJECT_COLUMNS = ["subject_id", "subject", "form_id"]
ITEM_COLUMNS = ["item_id", "item", "form_id", "choices"]
OPINION_COLUMNS = ["subject_id", "subject", "item_id", "item", "unit_id", "unit", "category_id", "category", "text"]
SUBJECTS_MARK, ITEMS_MARK, OPINIONS_MARK = "# subjects", "# items", "# opinions"
MERGED = "（类别合并）"


def available(c: Campaign) -> bool:
    """Sealed, with at least k ballots (fewer could not be grouped to hide anyone)."""
    if not c.seal_digest:
        return False
    return db.session.execute(select(func.count()).select_from(Ballot)
                              .where(Ballot.campaign_id == c.id)).scalar_one() >= (c.seal_k or 1)


def opinions_allowed(c: Campaign) -> bool:
    return bool(c.publish_opinions)


def filename(c: Campaign) -> str:
    return f"ballots-{c.id}.csv"


@dataclass
class Legend:
    """The campaign's subjects and rated items in the 统计表's order (by form, then position)."""
    subjects: list[tuple[int, str, int]] = field(default_factory=list)  # (id, label, form id)
    items: list[tuple[int, str, int, list[tuple[str, bool]]]] = field(default_factory=list)  # (id, text, form, choices)
    forms: list[Form] = field(default_factory=list)


def legend(c: Campaign) -> Legend:
    subjects = db.session.execute(select(Subject.id, Subject.label, Subject.form_id).where(Subject.campaign_id == c.id)
                                  .order_by(Subject.form_id, Subject.position, Subject.id)).all()
    form_ids = sorted({f for _s, _l, f in subjects})
    choices: dict[int, list[tuple[str, bool]]] = defaultdict(list)
    for scale_id, label, satisfied in db.session.execute(
            select(ScaleChoice.scale_id, ScaleChoice.label, ScaleChoice.counts_as_satisfied)
            .where(ScaleChoice.scale_id.in_(select(FormItem.scale_id).where(FormItem.form_id.in_(form_ids),
                                                                            FormItem.kind == "rating")))
            .order_by(ScaleChoice.scale_id, ScaleChoice.position)):
        choices[scale_id].append((label, satisfied))
    items = [(it.id, it.text, it.form_id, choices[it.scale_id]) for it in db.session.execute(
        select(FormItem).join(FormSection, FormSection.id == FormItem.section_id)
        .where(FormItem.form_id.in_(form_ids), FormItem.kind == "rating")
        .order_by(FormItem.form_id, FormSection.position, FormItem.position, FormItem.id)).scalars()]
    forms = db.session.execute(select(Form).where(Form.id.in_(form_ids)).order_by(Form.id)).scalars().all()
    return Legend(list(subjects), items, forms)


def _csv_line(values: Iterable) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(values)
    return buf.getvalue()


def answers_cell(answers: tuple[tuple[int, int, str], ...]) -> str:
    return json.dumps([list(x) for x in sorted(answers)], ensure_ascii=False, separators=(",", ":"))


def lines(c: Campaign, opinions: bool) -> Iterator[str]:
    """The export's text, a line (or a CSV record) at a time. ``c`` must be sealed."""
    if not c.seal_digest:
        raise ValueError("campaign not sealed")
    key = legend(c)
    tenant = db.session.get(Tenant, c.tenant_id)
    units = dict(db.session.execute(select(Unit.id, Unit.name)).all())
    categories = dict(db.session.execute(select(EvaluatorCategory.id, EvaluatorCategory.name)
                                         .where(EvaluatorCategory.campaign_id == c.id)).all())
    shown = rw.sealed_groups(c.id)
    yield "\ufeff# pingyi 匿名评议票据 anonymised ballots\n"
    yield f"# campaign: {c.id} {c.name}\n"
    yield f"# tenant: {tenant.slug}\n"
    yield "# forms: " + "; ".join(f"{f.id} v{f.version} {f.name}" for f in key.forms) + "\n"
    yield f"# seal: {c.seal_digest}\n"
    yield f"# k: {c.seal_k}\n"
    yield f"# ballots: {len(shown)}\n"
    yield _csv_line(BALLOT_COLUMNS)
    for row in rw.rows(c.id, shown):
        yield _csv_line([row.ballot_id, row.unit_id, units.get(row.unit_id, ""),
                         "" if row.category_id is None else row.category_id,
                         categories.get(row.category_id, MERGED), answers_cell(row.answers)])
    yield SUBJECTS_MARK + "\n"
    yield _csv_line(SUBJECT_COLUMNS)
    for subject in key.subjects:
        yield _csv_line(subject)
    yield ITEMS_MARK + "\n"
    yield _csv_line(ITEM_COLUMNS)
    for item_id, text, form_id, choices in key.items:
        yield _csv_line([item_id, text, form_id, json.dumps(choices, ensure_ascii=False, separators=(",", ":"))])
    if opinions:
        yield OPINIONS_MARK + "\n"
        yield _csv_line(OPINION_COLUMNS)
        yield from _opinion_lines(c, shown, units, categories)


def _opinion_lines(c: Campaign, shown, units, categories) -> Iterator[str]:
    labels = dict(db.session.execute(select(Subject.id, Subject.label).where(Subject.campaign_id == c.id)).all())
    texts = dict(db.session.execute(select(FormItem.id, FormItem.text).where(FormItem.form_id.in_(
        select(Subject.form_id).where(Subject.campaign_id == c.id)))).all())
    found = [(subject, item, *shown.get(ballot, (None, None)), text) for ballot, subject, item, text in db.session.execute(
        select(Comment.ballot_id, Comment.subject_id, Comment.item_id, Comment.text)
        .where(Comment.campaign_id == c.id))]
    found.sort(key=lambda r: (r[0], r[1], r[2] or 0, -1 if r[3] is None else r[3], r[4]))
    for subject, item, unit, category, text in found:
        yield _csv_line([subject, labels.get(subject, ""), item, texts.get(item, ""), unit or "", units.get(unit, ""),
                         "" if category is None else category, categories.get(category, MERGED), text])


# ---- reading an export back ----------------------------------------------------------------------

class BadExport(ValueError):
    """Not an export this code wrote (or cut short): says where."""


@dataclass
class Export:
    meta: dict[str, str]
    rows: list[Row]
    subjects: list[tuple[int, str, int]]  # the legend, as ``Legend``
    items: list[tuple[int, str, int, list[tuple[str, bool]]]]
    opinions: list[dict[str, str]]

    @property
    def digest(self) -> str:
        return self.meta.get("seal", "")


_SECTIONS = {SUBJECTS_MARK: SUBJECT_COLUMNS, ITEMS_MARK: ITEM_COLUMNS, OPINIONS_MARK: OPINION_COLUMNS}


def read(text: Iterable[str]) -> Export:
    """Parse an export (its lines, e.g. an open file); raises ``BadExport`` naming the line."""
    meta: dict[str, str] = {}
    lines_in = _without_bom(text)
    skipped = 0
    for raw in lines_in:  # the # lines before the header, read as they are
        if not raw.startswith("#"):
            lines_in = itertools.chain([raw], lines_in)
            break
        skipped += 1
        key, sep, value = raw.lstrip("#").strip().partition(":")
        if sep:
            meta[key.strip()] = value.strip()
    sections: dict[str, list[list[str]]] = {name: [] for name in _SECTIONS}
    rows: list[Row] = []
    section, header = None, None
    reader = csv.reader(lines_in)
    for record in reader:
        line = reader.line_num + skipped
        if not record:
            continue
        if len(record) == 1 and record[0] in _SECTIONS:
            section, header = record[0], None
            continue
        if header is None:
            header = record
            expected = BALLOT_COLUMNS if section is None else _SECTIONS[section]
            if header != expected:
                raise BadExport(f"line {line}: the header must be {','.join(expected)}")
            continue
        if len(record) != len(header):
            raise BadExport(f"line {line}: {len(record)} fields, the header has {len(header)}")
        if section is not None:
            sections[section].append(record)
            continue
        try:
            ballot_id, unit_id, _unit, category_id, _category, answers = record
            parsed = tuple(sorted((int(s), int(i), str(label)) for s, i, label in json.loads(answers)))
            rows.append(Row(ballot_id, int(category_id) if category_id else None, int(unit_id), parsed))
        except (ValueError, TypeError) as exc:
            raise BadExport(f"line {line}: {exc}") from None
    if header is None and section is None:
        raise BadExport("no header row")
    try:
        subjects = [(int(s), label, int(f)) for s, label, f in sections[SUBJECTS_MARK]]
        items = [(int(i), text, int(f), [(str(label), bool(sat)) for label, sat in json.loads(ch)])
                 for i, text, f, ch in sections[ITEMS_MARK]]
    except (ValueError, TypeError) as exc:
        raise BadExport(f"the legend: {exc}") from None
    opinions = [dict(zip(OPINION_COLUMNS, r, strict=True)) for r in sections[OPINIONS_MARK]]
    return Export(meta, rows, subjects, items, opinions)


def _without_bom(text: Iterable[str]) -> Iterator[str]:
    first = True
    for line in text:
        yield line.lstrip("\ufeff") if first else line
        first = False
