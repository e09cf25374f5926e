"""What one link may rate, as plain data: the subjects in page order, each with its form's
sections, items and the ids of the choices it accepts. The ballot page renders it and
``read`` checks a submission against it.

Building it takes a dozen queries over subjects, forms, sections, items, scales and choices.
None of them can change once a campaign has opened (forms are frozen, subjects and categories
are fixed to drafts), so each process keeps the sheets of opened campaigns, keyed by tenant,
campaign, the moment it opened, category and unit: a ballot POST then costs no query for it
(the first ballot of a campaign in a process costs one, for all its units' subjects).
A draft's sheet (the paper entry's preview, tests) is built afresh every time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import Form, FormItem, FormSection, Scale, Subject, Unit
from pingyi.org.orgtree import subtree_filter

KIND_ORDER = {"unit": 0, "team": 1, "person": 2}
CACHE_SIZE = 2048  # sheets kept per process (one per campaign × category × unit that voted)


@dataclass(frozen=True)
class Choice:
    id: int
    label: str


@dataclass(frozen=True)
class Item:
    id: int
    kind: str  # rating | text
    text: str
    required: bool
    max_length: int
    choices: tuple[Choice, ...] = ()
    choice_ids: frozenset[int] = frozenset()
    number: int = 0  # its place on its form (1, 2, …, across sections): the page prints it


@dataclass(frozen=True)
class Section:
    title: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class SheetSubject:
    id: int
    kind: str
    label: str
    form_id: int
    sections: tuple[Section, ...]

    def items(self):
        return (it for sec in self.sections for it in sec.items)


@dataclass(frozen=True)
class Sheet:
    subjects: tuple[SheetSubject, ...]

    def __bool__(self) -> bool:
        return bool(self.subjects)

    def __iter__(self):
        return iter(self.subjects)

    def __len__(self) -> int:
        return len(self.subjects)


@dataclass
class Submission:
    answers: list[tuple[int, int, int]] = field(default_factory=list)  # subject, item, choice
    comments: list[tuple[int, int, str]] = field(default_factory=list)  # subject, item, text
    errors: dict[str, str] = field(default_factory=dict)  # field name → message

    def payload(self) -> dict:
        """A comparable form of the answers (paper double entry compares these)."""
        return {"answers": sorted([list(a) for a in self.answers]),
                "comments": sorted([list(c) for c in self.comments])}


def field_name(prefix: str, subject_id: int, item_id: int) -> str:
    return f"{prefix}_{subject_id}_{item_id}"


def _page_order(s) -> tuple[int, int]:
    """Units, then teams, then people; by position within each."""
    return KIND_ORDER.get(s.kind, 3), s.position


def subjects_for(campaign_id: int, scope: str, group_unit_id: int | None, unit_id: int | None) -> list[Subject]:
    """本单位 links rate the subjects of their own unit; 全评 links every subject in the group."""
    q = select(Subject).where(Subject.campaign_id == campaign_id)
    if scope == "group" and group_unit_id:
        group = db.session.get(Unit, group_unit_id)
        q = q.join(Unit, Unit.id == Subject.unit_id).where(subtree_filter(group.path)).order_by(Unit.path)
    else:
        q = q.where(Subject.unit_id == unit_id)
    subjects = db.session.execute(q.order_by(Subject.position)).scalars().all()
    return sorted(subjects, key=_page_order)


def forms_of(subjects: list[Subject]) -> dict[int, Form]:
    """The subjects' forms with their sections, items, scales and choices loaded in a few queries."""
    ids = {s.form_id for s in subjects}
    q = select(Form).where(Form.id.in_(ids)).options(
        selectinload(Form.sections).selectinload(FormSection.items).selectinload(FormItem.scale)
        .selectinload(Scale.choices))
    return {f.id: f for f in db.session.execute(q).scalars()}


def _sections(form: Form) -> tuple[Section, ...]:
    numbers = {it.id: n for n, it in enumerate((it for sec in form.sections for it in sec.items), start=1)}

    def item(it: FormItem) -> Item:
        choices = tuple(Choice(c.id, c.label) for c in it.scale.choices) if it.kind == "rating" and it.scale else ()
        return Item(it.id, it.kind, it.text, it.required, it.max_length, choices, frozenset(c.id for c in choices),
                    numbers[it.id])

    return tuple(Section(sec.title, tuple(item(it) for it in sec.items)) for sec in form.sections)


def build(subjects: list[Subject], forms: dict[int, Form]) -> Sheet:
    """The plain sheet of these subjects on these (loaded) forms."""
    return _assemble(subjects, {fid: _sections(f) for fid, f in forms.items()})


def _assemble(subjects: list[Subject], sections: dict[int, tuple[Section, ...]]) -> Sheet:
    return Sheet(tuple(SheetSubject(s.id, s.kind, s.label, s.form_id, sections[s.form_id]) for s in subjects))


class _Cache:
    """A small LRU map shared by the threads of a process."""

    def __init__(self, size: int) -> None:
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key):
        with self.lock:
            found = self.items.get(key)
            if found is not None:
                self.items.move_to_end(key)
            return found

    def put(self, key, value) -> None:
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


_sheets = _Cache(CACHE_SIZE)
_forms = _Cache(256)  # frozen forms' sections, by (tenant, form id): shared by every unit's sheet
_units = _Cache(64)  # opened campaigns' subjects by unit, by (tenant, campaign, opened at)


def _frozen_sections(tenant_id: int, subjects: list[Subject]) -> dict[int, tuple[Section, ...]]:
    """The sections of the subjects' forms: frozen forms (every form of an opened campaign)
    from the cache, the others loaded (and cached once frozen)."""
    out, missing = {}, set()
    for fid in {s.form_id for s in subjects}:
        found = _forms.get((tenant_id, fid))
        if found is None:
            missing.add(fid)
        else:
            out[fid] = found
    if missing:
        for fid, form in forms_of([s for s in subjects if s.form_id in missing]).items():
            out[fid] = _sections(form)
            if form.frozen_at is not None:
                _forms.put((tenant_id, fid), out[fid])
    return out


def _own_unit_subjects(tenant_id: int, campaign_id: int, opened_at: datetime, unit_id: int | None) -> list:
    """An opened campaign's subjects of one unit, in page order, from the campaign's index of
    subjects by unit: one query of plain columns per process and campaign, not one per unit (a
    campaign of 1 600 branches would otherwise miss the cache on every branch's first ballot in
    every process)."""
    key = (tenant_id, campaign_id, opened_at)
    by_unit = _units.get(key)
    if by_unit is None:
        by_unit = defaultdict(list)
        for row in db.session.execute(select(Subject.id, Subject.kind, Subject.unit_id, Subject.form_id, Subject.label,
                                             Subject.position).where(Subject.campaign_id == campaign_id)):
            by_unit[row.unit_id].append(row)
        by_unit = {u: sorted(rows, key=_page_order) for u, rows in by_unit.items()}
        _units.put(key, by_unit)
    return by_unit.get(unit_id, [])


def for_link(tenant_id: int, campaign_id: int, opened_at: datetime | None, category_id: int, scope: str,
             group_unit_id: int | None, unit_id: int | None) -> Sheet:
    """The sheet of a link (its campaign, category and unit), from this process's cache once
    the campaign has opened (built from the campaign's subjects by unit and the forms' sections,
    each cached apart). The keys hold the tenant (no sheet crosses tenants) and the moment the
    campaign opened (a campaign id SQLite reuses after a delete is another campaign)."""
    key = (tenant_id, campaign_id, opened_at, category_id, unit_id if scope != "group" else None)
    if opened_at is not None and (found := _sheets.get(key)) is not None:
        return found
    if opened_at is not None and scope != "group":
        subjects = _own_unit_subjects(tenant_id, campaign_id, opened_at, unit_id)
    else:
        subjects = subjects_for(campaign_id, scope, group_unit_id, unit_id)
    made = _assemble(subjects, _frozen_sections(tenant_id, subjects))
    if opened_at is not None:
        _sheets.put(key, made)
    return made


def clear_cache() -> None:
    _sheets.clear()
    _forms.clear()
    _units.clear()


def read(data: Mapping[str, str], sheet: Sheet) -> Submission:
    """Read posted fields ``a_<subject>_<item>`` (a choice id) and ``c_<subject>_<item>`` (text).
    Required items must be answered, choices must belong to the item's scale, texts are
    length-limited; unknown fields are ignored."""
    sub = Submission()
    for s in sheet.subjects:
        for section in s.sections:
            for it in section.items:
                if it.kind == "rating":
                    name = field_name("a", s.id, it.id)
                    raw = (data.get(name) or "").strip()
                    if not raw:
                        if it.required:
                            sub.errors[name] = _("请选择")
                        continue
                    # ASCII digits of an id's length only: int() of 5 000 digits raises, and of "²" too
                    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10) or int(raw) not in it.choice_ids:
                        sub.errors[name] = _("选项无效")
                        continue
                    sub.answers.append((s.id, it.id, int(raw)))
                else:
                    name = field_name("c", s.id, it.id)
                    text = (data.get(name) or "").strip()
                    if len(text) > it.max_length:
                        sub.errors[name] = _("不能超过 %(n)d 字", n=it.max_length)
                    elif text:
                        sub.comments.append((s.id, it.id, text))
                    elif it.required:
                        sub.errors[name] = _("请填写")
    return sub


@dataclass(frozen=True)
class Missing:
    """An item a refused submission left unanswered or answered wrongly."""
    name: str  # its field, also the id of its place on the page
    number: int
    message: str


@dataclass(frozen=True)
class SubjectProgress:
    subject: SheetSubject
    required: int  # items that must be answered
    answered: int  # of those, answered acceptably in the values shown
    missing: tuple[Missing, ...]  # the submission's errors in this subject, in page order

    @property
    def done(self) -> bool:
        return self.answered == self.required and not self.missing


def progress(sheet: Sheet, values: Mapping[str, str], errors: Mapping[str, str]) -> list[SubjectProgress]:
    """Per subject, what the ballot page shows before any script runs: how many items must be
    answered, how many the shown values answer, and which of the submission's errors lie there
    (the refused page lists them by subject, with links). Plain arithmetic over the cached
    sheet: no query, and a ballot that is accepted never comes here."""
    out = []
    for s in sheet.subjects:
        required = answered = 0
        missing = []
        for it in s.items():
            name = field_name("a" if it.kind == "rating" else "c", s.id, it.id)
            if name in errors:
                missing.append(Missing(name, it.number, errors[name]))
            if it.required:
                required += 1
                answered += bool((values.get(name) or "").strip()) and name not in errors
        out.append(SubjectProgress(s, required, answered, tuple(missing)))
    return out
