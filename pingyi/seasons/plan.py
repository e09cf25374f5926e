"""A season's plan as the issuing tenant writes it: name, voting window, report deadline, the
turnout line, and what each subordinate's campaign is built from (forms as documents, rules,
evaluator categories, phases) with the parts it fixes.

Everything is checked here, when the plan is written, so that issuing it later cannot fail
half-way through a subordinate. Forms are kept as documents, not as the issuer's rows: each
subordinate gets copies of its own. ``version`` grows when what a campaign is built from
changes (plan, window, fixed parts), which tells a re-issue which drafts are behind.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime

from sqlalchemy import select

from pingyi.campaigns import lifecycle, questionnaire
from pingyi.campaigns import rules as rl
from pingyi.campaigns.form_templates import TEMPLATES
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import FIXABLE, PHASES, Form, Season
from pingyi.tenancy import get_scoped, require_tenant_id


def seasons() -> list[Season]:
    """The current tenant's seasons, newest first."""
    return db.session.execute(select(Season).order_by(Season.id.desc())).scalars().all()


# ---- checking the parts ------------------------------------------------------------------------

def _name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise DomainError(_("年度评议名称不能为空，且不超过 200 字"), "name")
    return name


def _window(opens_at, closes_at, tz: str) -> tuple[datetime, datetime]:
    """To the minute, as the campaign pages show and post it back (so an unchanged window of a
    season's campaign reads as unchanged)."""
    lifecycle.zone(tz)
    start = lifecycle.parse_local(opens_at, tz, "opens_at").replace(second=0, microsecond=0)
    end = lifecycle.parse_local(closes_at, tz, "closes_at").replace(second=0, microsecond=0)
    if end <= start:
        raise DomainError(_("结束时间必须晚于开始时间"), "closes_at")
    if (end - start).days > 366:
        raise DomainError(_("评议时间窗口不能超过一年"), "closes_at")
    return start, end


def _report_due(value, closes_at: datetime, tz: str) -> date:
    due = lifecycle.parse_day(value, tz, "report_due")
    if due < lifecycle.local(closes_at, tz).date():
        raise DomainError(_("报送截止日期不能早于评议结束日期"), "report_due")
    return due


def _min_turnout(value) -> str:
    text = str(value or "").strip() or "80%"
    rl.parse_threshold(text)
    return text


def _forms(keys: list[str] | None, form_ids: list[int] | None) -> list[dict]:
    """Template keys and the issuer's own forms → checked documents (each names the template it
    came from, if any)."""
    docs = []
    for key in keys or []:
        if key not in TEMPLATES:
            raise DomainError(_("没有名为“%(key)s”的模板", key=key), "forms")
        docs.append({**questionnaire.validate_document(TEMPLATES[key]), "template": key})
    for ident in form_ids or []:
        form = get_scoped(Form, ident)
        if form is None:
            raise DomainError(_("找不到测评表 %(id)s", id=ident), "forms")
        docs.append({**questionnaire.validate_document(questionnaire.form_document(form)),
                     "template": form.template_key})
    return docs


def _categories(rows: list[dict]) -> list[dict]:
    """Categories as ``lifecycle.set_categories`` takes them. A 全评 (group) category names no unit:
    the issuer's units mean nothing below, so each campaign rates its tenant's top unit."""
    out, names = [], set()
    for r in rows or []:
        name, scope, weight = lifecycle.category_basics(r, names)
        out.append({"name": name, "weight": weight, "scope": scope})
    return out


def _phases(rows: list[dict], tz: str) -> list[dict]:
    parsed: dict[str, tuple[date, date]] = {}
    for r in rows or []:
        kind = r.get("kind") if isinstance(r, dict) else None
        if kind not in PHASES:
            raise DomainError(_("未知的阶段“%(k)s”", k=kind), "phase")
        s = lifecycle.parse_day(r.get("starts_on"), tz, f"{kind}_starts")
        e = lifecycle.parse_day(r.get("ends_on"), tz, f"{kind}_ends")
        if e < s:
            raise DomainError(_("“%(p)s”的结束日期不能早于开始日期", p=PHASES[kind]), f"{kind}_ends")
        parsed[kind] = (s, e)
    previous = None
    for kind in PHASES:  # the order timetable.set_phases keeps, checked now rather than at issue
        if kind in parsed:
            if previous and parsed[kind][0] < parsed[previous][0]:
                raise DomainError(_("“%(p)s”不能早于“%(q)s”开始", p=PHASES[kind], q=PHASES[previous]), f"{kind}_starts")
            previous = kind
    return [{"kind": k, "starts_on": s.isoformat(), "ends_on": e.isoformat()} for k, (s, e) in parsed.items()]


def _fixed(keys: list[str], plan: dict) -> list[str]:
    keys = list(dict.fromkeys(keys or []))
    unknown = [k for k in keys if k not in FIXABLE]
    if unknown:
        raise DomainError(_("未知的统一规定项“%(k)s”", k=unknown[0]), "fixed")
    if "forms" in keys and not plan["forms"]:
        raise DomainError(_("统一规定测评表时至少要选择一张测评表"), "forms")
    if "categories" in keys and not plan["categories"]:
        raise DomainError(_("统一规定参评人员类别时至少要设置一个类别"), "categories")
    return [k for k in FIXABLE if k in keys]  # FIXABLE's order, so equal sets compare equal


# ---- writing -----------------------------------------------------------------------------------

def create_season(name: str, opens_at, closes_at, report_due, *, forms: list[str] | None = None,
                  form_ids: list[int] | None = None, rules: list[dict] = (), categories: list[dict] = (),
                  phases: list[dict] = (), fixed: list[str] = (), min_turnout: str = "80%", description: str = "",
                  timezone: str = "Asia/Shanghai") -> Season:
    """A new season (draft) of the current tenant, its plan checked as a whole."""
    tz = timezone or lifecycle.DEFAULT_TZ
    start, end = _window(opens_at, closes_at, tz)
    plan = {"forms": _forms(forms, form_ids), "rules": _rules(rules), "categories": _categories(categories),
            "phases": _phases(phases, tz)}
    season = Season(tenant_id=require_tenant_id(), name=_name(name), description=(description or "")[:5000],
                    opens_at=start, closes_at=end, timezone=tz, report_due=_report_due(report_due, end, tz),
                    min_turnout=_min_turnout(min_turnout), plan=plan, fixed=_fixed(fixed, plan), version=1,
                    state="draft")
    db.session.add(season)
    db.session.flush()
    return season


def _rules(rows: list[dict]) -> list[dict]:
    return [asdict(rl.validate_rule(r)) for r in rows or []]


def update_season(season: Season, *, name=None, opens_at=None, closes_at=None, report_due=None,
                  forms: list[str] | None = None, form_ids: list[int] | None = None, rules=None, categories=None,
                  phases=None, fixed=None, min_turnout=None, description=None, timezone=None) -> Season:
    """Change what is given (``None``: keep). The forms are rebuilt when ``forms`` or ``form_ids``
    is given. ``version`` + 1 when the plan, the window or the fixed parts change; campaigns
    already built get the change only by a re-issue (``issuing.reissue``), and only drafts."""
    if season.state == "closed":
        raise DomainError(_("年度评议已结束，不能再修改"), "state")
    tz = timezone or season.timezone
    start, end = _window(season.opens_at if opens_at is None else opens_at,
                         season.closes_at if closes_at is None else closes_at, tz)
    current = season.plan or {}
    plan = {
        "forms": current.get("forms", []) if forms is None and form_ids is None else _forms(forms, form_ids),
        "rules": current.get("rules", []) if rules is None else _rules(rules),
        "categories": current.get("categories", []) if categories is None else _categories(categories),
        "phases": current.get("phases", []) if phases is None else _phases(phases, tz),
    }
    new_fixed = _fixed(season.fixed if fixed is None else fixed, plan)
    due = _report_due(season.report_due if report_due is None else report_due, end, tz)
    changed = (plan != current or new_fixed != list(season.fixed or []) or start != season.opens_at
               or end != season.closes_at or tz != season.timezone)
    if name is not None:
        season.name = _name(name)
    if description is not None:
        season.description = description[:5000]
    if min_turnout is not None:
        season.min_turnout = _min_turnout(min_turnout)
    season.opens_at, season.closes_at, season.timezone, season.report_due = start, end, tz, due
    season.plan, season.fixed = plan, new_fixed
    if changed:
        season.version += 1
    db.session.flush()
    return season


def close_season(season: Season) -> Season:
    """No more issuing, re-issuing or submissions (the rows stay to be read)."""
    season.state = "closed"
    db.session.flush()
    return season
