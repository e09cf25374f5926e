"""Issuing a season (下发): a draft campaign in each chosen subordinate, built from the plan, and
re-issuing a changed plan to the drafts that are behind.

Each campaign is built inside its tenant (``crossing.in_target``) from plain data read off the
season first, with that tenant's own rows: the forms are copied in as its forms (marked with
``lifecycle.season_form_key``; frozen when the season fixes them), categories, rules and
phases set through the same functions its admins use. The parts the season fixes are then
listed on the campaign (``Campaign.season_fixed``) and refused to them by
``lifecycle.refuse_fixed``. Subjects and links are the subordinate's to add. Nothing of the
subordinate comes back but the new campaign's id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update

from pingyi.audit import record_bulk
from pingyi.campaigns import lifecycle, questionnaire, timetable
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import Campaign, EvaluatorCategory, Form, Season, SeasonIssue, Subject, Tenant, Unit
from pingyi.oversight import subordinates
from pingyi.tenancy import require_tenant_id

from . import crossing


@dataclass(frozen=True)
class Reissued:
    """What a re-issue did: the subordinates whose drafts got the change (slugs), and those
    left as they were, with their campaign's state."""

    updated: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Plan:
    """The season as plain data, read in the issuer's scope before crossing."""

    season_id: int
    version: int
    name: str
    description: str
    opens_at: datetime
    closes_at: datetime
    timezone: str
    forms: list[dict]
    rules: list[dict]
    categories: list[dict]
    phases: list[dict]
    fixed: list[str]

    @classmethod
    def of(cls, s: Season) -> _Plan:
        plan = s.plan or {}
        return cls(s.id, s.version, s.name, s.description, s.opens_at, s.closes_at, s.timezone,
                   list(plan.get("forms", [])), list(plan.get("rules", [])), list(plan.get("categories", [])),
                   list(plan.get("phases", [])), list(s.fixed or []))

    def phase_dates(self) -> dict[str, tuple[str, str]]:
        return {p["kind"]: (p["starts_on"], p["ends_on"]) for p in self.phases}


def targets_in_subtree(issuer: Tenant, root_slug: str | None) -> list[Tenant]:
    """Every tenant below ``issuer`` (``root_slug`` empty), or the subordinate ``root_slug`` with
    every tenant below it; a DomainError for a slug that is not below ``issuer``."""
    if not root_slug:
        return subordinates.subordinates(issuer)
    root = subordinates.subordinate(issuer, root_slug)
    if root is None:
        raise DomainError(_("只能下发给本单位的下级单位：%(s)s 不是", s=root_slug), "root")
    return [root, *subordinates.subordinates(root)]


def _issues(season: Season) -> list[SeasonIssue]:
    return db.session.execute(select(SeasonIssue).where(SeasonIssue.season_id == season.id)
                              .order_by(SeasonIssue.id)).scalars().all()


def issue(season: Season, targets: list[Tenant], now: datetime) -> list[SeasonIssue]:
    """Build a draft campaign from ``season`` in every target below the current tenant and
    record the issue; a target already issued to is left alone. Returns the new issues."""
    if season.state == "closed":
        raise DomainError(_("年度评议已结束，不能再下发"), "state")
    issuer = db.session.get(Tenant, require_tenant_id())
    crossing.below(issuer, targets)
    db.session.flush()  # nothing of the issuer may be left to flush inside a subordinate's scope
    done = {i.target_tenant_id for i in _issues(season)}
    plan = _Plan.of(season)
    new, names = [], []
    for target in {t.id: t for t in targets}.values():
        if target.id in done:
            continue
        row = SeasonIssue(season_id=season.id, target_tenant_id=target.id, version=plan.version, issued_at=now)
        db.session.add(row)
        db.session.flush()
        with crossing.in_target(row):
            try:
                campaign_id = _build(plan, now)
            except DomainError as exc:
                raise DomainError(f"{target.name}：{exc.message}", exc.field) from None
        row.campaign_id = campaign_id
        new.append(row)
        names.append(target.slug)
    if new:
        if season.state == "draft":
            season.state = "issued"
        db.session.flush()
        record_bulk("issue", "seasons", len(new), {"season_id": season.id, "name": season.name, "targets": names})
    return new


def reissue(season: Season, now: datetime) -> Reissued:
    """Offer the season's current version to the campaigns built from an older one: those still
    in draft get the fixed parts replaced (forms, rules, categories, dates, as fixed now);
    the others, and campaigns since deleted, are listed as skipped with their state."""
    if season.state == "closed":
        raise DomainError(_("年度评议已结束，不能再下发"), "state")
    db.session.flush()
    plan = _Plan.of(season)
    behind = [i for i in _issues(season) if i.version < plan.version]
    slugs = {t.id: (t.slug, t.name) for t in db.session.execute(
        select(Tenant).where(Tenant.id.in_([i.target_tenant_id for i in behind]))).scalars()}
    updated, skipped = [], []
    for row in behind:
        slug, name = slugs[row.target_tenant_id]
        with crossing.in_target(row):
            c = db.session.get(Campaign, row.campaign_id) if row.campaign_id else None
            state = None if c is None else (c.state, c.state_label)
            if c is not None and c.state == "draft":
                try:
                    _apply(c, plan, now)
                except DomainError as exc:
                    raise DomainError(f"{name}：{exc.message}", exc.field) from None
        if state is None:
            skipped.append((slug, _("活动已删除")))
        elif state[0] != "draft":
            skipped.append((slug, _(state[1])))
        else:
            row.version = plan.version
            db.session.flush()  # here, before the next subordinate's scope
            updated.append(slug)
    if updated:
        record_bulk("reissue", "seasons", len(updated), {"season_id": season.id, "name": season.name,
                                                         "version": plan.version, "targets": updated})
    return Reissued(updated, skipped)


# ---- inside a subordinate ----------------------------------------------------------------------

def _build(plan: _Plan, now: datetime) -> int:
    """The draft campaign in the current (target) tenant; its id."""
    c = lifecycle.create_campaign(plan.name, plan.opens_at, plan.closes_at, plan.description, plan.timezone)
    c.season_id = plan.season_id
    _copy_forms(plan, now)
    if plan.categories:
        lifecycle.set_categories(c, _categories_here(plan.categories, []))
    if plan.rules:
        lifecycle.set_rules(c, plan.rules)
    if plan.phases:
        timetable.set_phases(c, plan.phase_dates())
    c.season_fixed = list(plan.fixed)
    db.session.flush()
    return c.id


def _apply(c: Campaign, plan: _Plan, now: datetime) -> None:
    """Replace the parts ``plan`` fixes on a draft built from an earlier version (the parts it
    leaves open stay as the subordinate made them)."""
    was_fixed = list(c.season_fixed or [])
    c.season_fixed = []  # the season itself writes them
    if "dates" in plan.fixed:
        c.timezone = plan.timezone
        lifecycle.update_campaign(c, opens_at=plan.opens_at, closes_at=plan.closes_at)
        timetable.set_phases(c, plan.phase_dates())
    if "rules" in plan.fixed:
        lifecycle.set_rules(c, plan.rules)
    if "categories" in plan.fixed:
        lifecycle.set_categories(c, _categories_here(plan.categories, lifecycle.categories(c)))
    if "forms" in plan.fixed:
        _replace_forms(c, plan, now)
    elif "forms" in was_fixed:
        for f in _season_forms(plan.season_id).values():  # theirs to edit now, unless a running campaign uses it
            if not _used(f, running_only=True):
                f.frozen_at = None
    c.season_fixed = list(plan.fixed)
    db.session.flush()


def _categories_here(rows: list[dict], current: list[EvaluatorCategory]) -> list[dict]:
    """The plan's categories for this tenant: a 全评 category rates its top unit; a category of
    the same name as one the campaign has keeps its id (so its links stay valid)."""
    ids = {k.name: k.id for k in current}
    top = None
    if any(r.get("scope") == "group" for r in rows):
        top = db.session.execute(select(Unit.id).where(Unit.parent_id.is_(None))
                                 .order_by(Unit.sort_order, Unit.id).limit(1)).scalar()
        if top is None:
            raise DomainError(_("还没有建立组织机构，不能设置全评类别"), "categories")
    return [{**r, "group_unit_id": top if r.get("scope") == "group" else None, "id": ids.get(r["name"])}
            for r in rows]


def _copy_forms(plan: _Plan, now: datetime) -> list[Form]:
    forms = []
    for i, doc in enumerate(plan.forms):
        f = questionnaire.create_form(doc, template_key=lifecycle.season_form_key(plan.season_id, i))
        if "forms" in plan.fixed:
            f.frozen_at = now  # read-only for the subordinate (questionnaire.require_editable)
        forms.append(f)
    db.session.flush()
    return forms


def _season_forms(season_id: int) -> dict[int, Form]:
    """This tenant's current copies of a season's forms, by their place in the plan."""
    prefix = lifecycle.season_form_key(season_id, 0)[:-1]
    rows = db.session.execute(select(Form).where(Form.template_key.startswith(prefix, autoescape=True))).scalars()
    return {int(f.template_key[len(prefix):]): f for f in rows if f.template_key[len(prefix):].isdigit()}


def _used(form: Form, running_only: bool = False) -> bool:
    q = select(Subject.id).where(Subject.form_id == form.id)
    if running_only:
        q = q.join(Campaign, Campaign.id == Subject.campaign_id).where(Campaign.state != "draft")
    return db.session.execute(q.limit(1)).first() is not None


def _shape(doc: dict) -> tuple:
    """A form document without its ids and scale keys: equal shapes are the same form."""
    doc = questionnaire.validate_document(doc)
    keys = {s["key"]: i for i, s in enumerate(doc["scales"])}
    return (doc["name"], doc["subject_kind"], doc["description"],
            [(s["name"], [(c["label"], c["score"], c["satisfied"]) for c in s["choices"]]) for s in doc["scales"]],
            [(sec["title"], [(it["text"], it["kind"], keys.get(it["scale"]), it["required"], it["max_length"])
                             for it in sec["items"]]) for sec in doc["sections"]])


def _replace_forms(c: Campaign, plan: _Plan, now: datetime) -> None:
    """New copies of the plan's forms when they changed; the campaign's subjects move to the
    form at the same place in the plan (removed when none rates their kind), and the old
    copies go once unused (else they stay, as the tenant's own)."""
    old = _season_forms(plan.season_id)
    if [_shape(questionnaire.form_document(old[i])) for i in sorted(old)] == [_shape(d) for d in plan.forms]:
        for f in old.values():
            f.frozen_at = f.frozen_at or now
        return
    for f in old.values():
        f.template_key = None  # no longer one of the season's forms
    db.session.flush()
    new = _copy_forms(plan, now)
    for i, f in old.items():
        ids = db.session.execute(select(Subject.id).where(Subject.campaign_id == c.id, Subject.form_id == f.id)
                                 ).scalars().all()
        if not ids:
            continue
        if i < len(new) and new[i].subject_kind == f.subject_kind:
            db.session.execute(update(Subject).where(Subject.id.in_(ids)).values(form_id=new[i].id)
                               .execution_options(synchronize_session=False))
        else:
            lifecycle.remove_subjects(c, ids)
    for f in old.values():
        if not _used(f):
            f.frozen_at = None
            questionnaire.delete_form(f)

