"""Campaign preparation and lifecycle: windows, the state machine and its guards,
subjects (one by one or in bulk), evaluator categories and rules.

``draft → open → closed → published → archived``; ``closed → open`` (reopen) only before
publishing. Subjects, categories and forms are fixed once a campaign opens; the window can be
extended; rules can change until results are published. A campaign a season of the tenant
above built refuses changes to the parts that season fixes (``refuse_fixed``).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Select, delete, func, select

from pingyi.audit import record_bulk
from pingyi.bulk import note_filled
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import (
    FIXABLE,
    PUBLICATION_SCOPES,
    SCOPES,
    SUBJECT_KINDS,
    Campaign,
    EvaluatorCategory,
    Form,
    FormItem,
    Person,
    Rule,
    Subject,
    Unit,
    utcnow,
)
from pingyi.org.orgtree import subtree_filter
from pingyi.tenancy import require_tenant_id
from pingyi.voting import mixer, tokens

from . import questionnaire, rules

DEFAULT_TZ = "Asia/Shanghai"
TRANSITIONS = {  # action: (from states, to state)
    "open": (("draft",), "open"),
    "close": (("open",), "closed"),
    "reopen": (("closed",), "open"),
    "publish": (("closed",), "published"),
    "archive": (("published",), "archived"),
}
ACTION_LABELS = {"open": "开始评议", "close": "结束评议", "reopen": "重新开放", "publish": "公布结果",
                 "archive": "归档"}
DEFAULT_CATEGORIES = [
    {"name": "党员", "weight": "0.4", "scope": "own_unit"},
    {"name": "群众", "weight": "0.4", "scope": "own_unit"},
    {"name": "服务对象", "weight": "0.2", "scope": "own_unit"},
]


# ---- windows -----------------------------------------------------------------------------------

def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TZ)
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError(_("未知的时区“%(tz)s”", tz=name), "timezone") from None


def parse_local(value: str | datetime, tz: str = DEFAULT_TZ, field: str = "opens_at") -> datetime:
    """A wall-clock time in the campaign's zone (``YYYY-MM-DDTHH:MM`` or ``YYYY-MM-DD HH:MM``) → aware UTC.
    Aware datetimes and ISO strings with an offset are taken as they are."""
    if isinstance(value, datetime):
        dt = value
    else:
        text = str(value or "").strip().replace(" ", "T")
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            example = local(utcnow(), tz).strftime("%Y-%m-%d 09:00")  # today: an example that never ages
            raise DomainError(_("时间“%(v)s”格式不正确，请写成“年-月-日 时:分”，如 %(e)s", v=value, e=example),
                              field) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=zone(tz))
    return dt.astimezone(ZoneInfo("UTC"))


def parse_day(value: str | date, tz: str = DEFAULT_TZ, field: str = "date") -> date:
    """A calendar day (``YYYY-MM-DD``) as people type it; a clear error otherwise."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        example = local(utcnow(), tz).strftime("%Y-%m-%d")  # today: an example that never ages
        raise DomainError(_("日期“%(v)s”格式不正确，请写成“年-月-日”，如 %(e)s", v=value or "", e=example), field) from None


def local(dt: datetime, tz: str) -> datetime:
    return dt.astimezone(zone(tz))


def _check_window(opens_at: datetime, closes_at: datetime) -> None:
    if closes_at <= opens_at:
        raise DomainError(_("结束时间必须晚于开始时间"), "closes_at")
    if (closes_at - opens_at).days > 366:
        raise DomainError(_("评议时间窗口不能超过一年"), "closes_at")


# ---- campaigns ---------------------------------------------------------------------------------

def create_campaign(name: str, opens_at, closes_at, description: str = "", timezone: str = DEFAULT_TZ,
                    weighting: bool = False, publication_scope: str = "tenant") -> Campaign:
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise DomainError(_("活动名称不能为空，且不超过 200 字"), "name")
    zone(timezone)
    start, end = parse_local(opens_at, timezone, "opens_at"), parse_local(closes_at, timezone, "closes_at")
    _check_window(start, end)
    if publication_scope not in PUBLICATION_SCOPES:
        raise DomainError(_("未知的公示范围“%(s)s”", s=publication_scope), "publication_scope")
    c = Campaign(tenant_id=require_tenant_id(), name=name, description=(description or "")[:5000],
                 opens_at=start, closes_at=end, timezone=timezone or DEFAULT_TZ, weighting=bool(weighting),
                 publication_scope=publication_scope)
    db.session.add(c)
    db.session.flush()
    return c


def update_campaign(c: Campaign, *, name: str | None = None, description: str | None = None,
                    opens_at=None, closes_at=None, weighting: bool | None = None,
                    publication_scope: str | None = None) -> Campaign:
    """Edit a campaign. Once open, the start is fixed and the end can only move later."""
    if c.state == "archived":
        raise DomainError(_("已归档的评议活动不能修改"))
    if name is not None:
        name = name.strip()
        if not name or len(name) > 200:
            raise DomainError(_("活动名称不能为空，且不超过 200 字"), "name")
        c.name = name
    if description is not None:
        c.description = description[:5000]
    start = parse_local(opens_at, c.timezone, "opens_at") if opens_at is not None else c.opens_at
    end = parse_local(closes_at, c.timezone, "closes_at") if closes_at is not None else c.closes_at
    if (start, end) != (c.opens_at, c.closes_at):
        refuse_fixed(c, "dates")
    if c.state != "draft":
        if start != c.opens_at:
            raise DomainError(_("评议已开始，不能修改开始时间"), "opens_at")
        if end < c.closes_at:
            raise DomainError(_("评议已开始，结束时间只能延后"), "closes_at")
        if c.state in ("published",) and end != c.closes_at:
            raise DomainError(_("结果已公布，不能再修改时间"), "closes_at")
    _check_window(start, end)
    c.opens_at, c.closes_at = start, end
    if weighting is not None:
        if c.state != "draft" and bool(weighting) != c.weighting:
            raise DomainError(_("评议已开始，不能更改是否加权"), "weighting")
        c.weighting = bool(weighting)
    if publication_scope is not None:
        if publication_scope not in PUBLICATION_SCOPES:
            raise DomainError(_("未知的公示范围“%(s)s”", s=publication_scope), "publication_scope")
        c.publication_scope = publication_scope
    db.session.flush()
    return c


def set_publication(c: Campaign, scope: str, until, opinions: bool, now: datetime | None = None,
                    export: bool = False) -> Campaign:
    """公示设置: who sees the publication page, until when (``None``/empty: no end; a wall-clock
    time in the campaign's zone), whether opinions are shown and whether the anonymised ballot
    export may be downloaded there (``pingyi.verification.export``). The end must lie after the
    publication time (after now, before publishing), so a window can never be empty by mistake.
    Nothing changes on refusal; the change is audited by the flush like every write."""
    if scope not in PUBLICATION_SCOPES:
        raise DomainError(_("未知的公示范围“%(s)s”", s=scope), "publication_scope")
    end = None
    if until not in (None, ""):
        end = parse_local(until, c.timezone, "publish_until")
        now = now or utcnow()
        if c.published_at is not None and end <= c.published_at:
            raise DomainError(_("公示截止时间必须晚于公布时间（%(t)s）",
                                t=local(c.published_at, c.timezone).strftime("%Y-%m-%d %H:%M")), "publish_until")
        if c.published_at is None and end <= now:
            raise DomainError(_("公示截止时间必须晚于当前时间"), "publish_until")
    c.publication_scope, c.publish_until, c.publish_opinions = scope, end, bool(opinions)
    c.publish_export = bool(export)
    db.session.flush()
    return c


def extend_window(c: Campaign, closes_at) -> Campaign:
    return update_campaign(c, closes_at=closes_at)


def readiness(c: Campaign, now: datetime | None = None) -> list[str]:
    """What stops ``c`` from opening now (empty when it can)."""
    now = now or utcnow()
    problems = []
    n_subjects = db.session.execute(select(func.count()).select_from(Subject)
                                    .where(Subject.campaign_id == c.id)).scalar_one()
    if not n_subjects:
        problems.append(_("还没有添加评议对象"))
    cats = categories(c)
    if not cats:
        problems.append(_("还没有设置参评人员类别"))
    elif c.weighting:
        try:
            check_weights([{"name": k.name, "weight": k.weight} for k in cats])
        except DomainError as exc:
            problems.append(exc.message)
    if not tokens.issued_count(c):
        problems.append(_("还没有发放测评码"))
    if c.closes_at <= now:
        problems.append(_("结束时间已过，请先延长"))
    empty_forms = db.session.execute(
        select(Form.name).where(Form.id.in_(select(Subject.form_id).where(Subject.campaign_id == c.id)))
        .where(~select(FormItem.id).where(FormItem.form_id == Form.id, FormItem.kind == "rating").exists())
    ).scalars().all()
    problems += [_("测评表“%(n)s”没有评分项", n=n) for n in empty_forms]
    return problems


def transition(c: Campaign, action: str, now: datetime | None = None) -> Campaign:
    """Move ``c`` along the state machine, or refuse with the reason; nothing changes on refusal."""
    if action not in TRANSITIONS:
        raise DomainError(_("未知的操作“%(a)s”", a=action), "action")
    sources, target = TRANSITIONS[action]
    if c.state not in sources:
        raise DomainError(_("“%(state)s”状态的评议活动不能%(action)s", state=c.state_label,
                            action=_(ACTION_LABELS[action])), "state")
    now = now or utcnow()
    if action == "open":
        problems = readiness(c, now)
        if problems:
            raise DomainError(_("还不能开始评议：") + "；".join(problems), "state")
        form_ids = set(db.session.execute(select(Subject.form_id).where(Subject.campaign_id == c.id)).scalars())
        questionnaire.freeze(form_ids)
        c.opened_at = c.opened_at or now
    elif action == "reopen":
        if c.seal_digest:
            raise DomainError(_("评议结果已封存，不能重新开放"), "state")
        if c.closes_at <= now:
            raise DomainError(_("结束时间已过，请先延长结束时间再重新开放"), "closes_at")
    elif action == "close":
        c.closed_at = now
    elif action == "publish":
        boxed = mixer.waiting(c.id)
        if boxed:
            raise DomainError(_("还有 %(n)d 张评议票在密封票箱中，结束评议后的计票完成后才能公布", n=boxed), "state")
        c.published_at = now
    elif action == "archive":
        c.archived_at = now
    c.state = target
    db.session.flush()
    return c


# ---- what a season fixes -----------------------------------------------------------------------

def refuse_fixed(c: Campaign, part: str) -> None:
    """Refuse a change to ``part`` (a key of ``FIXABLE``) of a campaign a season built and fixes
    it: the tenant above decides it. Every edit path (pages, API, CLI) reaches one of the
    functions here that call this. The message names the season by the campaign's name: a season
    names the campaigns it builds after itself."""
    if part in (c.season_fixed or []):
        raise DomainError(_("%(part)s由上级统一部署的“%(season)s”规定，本单位不能更改", part=_(FIXABLE[part]),
                            season=c.name), part)


def season_form_key(season_id: int, index: int) -> str:
    """How a season's form copied into a subordinate is marked (``Form.template_key``)."""
    return f"{questionnaire.SEASON_MARK}{season_id}:{index}"


def is_season_form(c: Campaign, form: Form) -> bool:
    """Is ``form`` one of the forms the season that built ``c`` copied in (current version)?"""
    return c.season_id is not None and (form.template_key or "").startswith(
        f"{questionnaire.SEASON_MARK}{c.season_id}:")


def _require_season_form(c: Campaign, form: Form) -> None:
    if not is_season_form(c, form):
        refuse_fixed(c, "forms")


def _require_draft(c: Campaign, what: str) -> None:
    if c.state != "draft":
        raise DomainError(_("评议活动已开始，不能再修改%(what)s", what=what), "state")


# ---- subjects ----------------------------------------------------------------------------------

def _subject_label(kind: str, unit: Unit, person: Person | None) -> str:
    if kind == "person":
        return f"{person.name}（{unit.name}）"
    if kind == "team":
        return f"{unit.name}领导班子"
    return unit.name


def _check_form(form: Form, kind: str) -> None:
    if form.subject_kind != kind:
        raise DomainError(_("测评表“%(f)s”用于%(fk)s，不能用于%(k)s", f=form.name,
                            fk=_(SUBJECT_KINDS[form.subject_kind]), k=_(SUBJECT_KINDS[kind])), "form_id")


def add_subject(c: Campaign, kind: str, unit: Unit, form: Form, person: Person | None = None) -> Subject:
    _require_draft(c, _("评议对象"))
    if kind not in SUBJECT_KINDS:
        raise DomainError(_("未知的评议对象类型“%(kind)s”", kind=kind), "kind")
    _check_form(form, kind)
    _require_season_form(c, form)
    if kind == "person" and (person is None or person.unit_id != unit.id):
        raise DomainError(_("请选择该单位的人员"), "person_id")
    if kind != "person" and person is not None:
        raise DomainError(_("只有党员对象需要指定人员"), "person_id")
    existing = db.session.execute(select(Subject).where(
        Subject.campaign_id == c.id, Subject.kind == kind, Subject.unit_id == unit.id,
        Subject.person_id.is_(None) if person is None else Subject.person_id == person.id)).scalar_one_or_none()
    if existing:
        raise DomainError(_("“%(label)s”已是评议对象", label=existing.label), "unit_id")
    s = Subject(tenant_id=require_tenant_id(), campaign_id=c.id, kind=kind, unit_id=unit.id,
                person_id=person.id if person else None, form_id=form.id,
                label=_subject_label(kind, unit, person), position=_next_subject_position(c))
    db.session.add(s)
    db.session.flush()
    return s


def _next_subject_position(c: Campaign) -> int:
    return db.session.execute(select(func.coalesce(func.max(Subject.position), -1) + 1)
                              .where(Subject.campaign_id == c.id)).scalar_one()


def add_subjects_bulk(c: Campaign, kind: str, root: Unit, form: Form, unit_kinds: list[str] | None = None,
                      party_members_only: bool = True) -> int:
    """Every unit (or team, or member of a unit) in ``root``'s subtree whose unit kind is in
    ``unit_kinds`` (all kinds when empty): "every branch under committee X with the
    organization form", "every member of those branches with the member form". Subjects that
    already exist are skipped; returns how many were added."""
    _require_draft(c, _("评议对象"))
    if kind not in SUBJECT_KINDS:
        raise DomainError(_("未知的评议对象类型“%(kind)s”", kind=kind), "kind")
    _check_form(form, kind)
    _require_season_form(c, form)
    uq = select(Unit).where(subtree_filter(root.path))
    if unit_kinds:
        uq = uq.where(Unit.kind.in_(unit_kinds))
    units = {u.id: u for u in db.session.execute(uq.order_by(Unit.path)).scalars()}
    have = set(db.session.execute(select(Subject.unit_id, Subject.person_id).where(
        Subject.campaign_id == c.id, Subject.kind == kind)).all())
    tid, pos = require_tenant_id(), _next_subject_position(c)
    rows = []
    if kind == "person":
        pq = select(Person).where(Person.unit_id.in_(units)).order_by(Person.unit_id, Person.sort_order, Person.id)
        if party_members_only:
            pq = pq.where(Person.is_party_member.is_(True))
        targets = [(units[p.unit_id], p) for p in db.session.execute(pq).scalars()]
    else:
        targets = [(u, None) for u in units.values()]
    for unit, person in targets:
        key = (unit.id, person.id if person else None)
        if key in have:
            continue
        rows.append({"tenant_id": tid, "campaign_id": c.id, "kind": kind, "unit_id": unit.id,
                     "person_id": key[1], "form_id": form.id, "label": _subject_label(kind, unit, person),
                     "position": pos})
        pos += 1
    if rows:
        db.session.execute(Subject.__table__.insert(), rows)
        note_filled("subjects", len(rows))  # analysed after the commit: the subject table's plans need it
        record_bulk("create", "subjects", len(rows), {"campaign_id": c.id, "kind": kind, "root": root.name})
    return len(rows)


def remove_subjects(c: Campaign, subject_ids: list[int] | None = None) -> int:
    """Remove some (or, with ``None``, all) subjects of a draft campaign."""
    _require_draft(c, _("评议对象"))
    q = delete(Subject).where(Subject.campaign_id == c.id)
    if subject_ids is not None:
        q = q.where(Subject.id.in_(subject_ids))
    n = db.session.execute(q.execution_options(synchronize_session=False)).rowcount
    if n:
        record_bulk("delete", "subjects", n, {"campaign_id": c.id})
    return n


def subjects(c: Campaign, kind: str | None = None, within: str | None = None, columns: tuple = (Subject,)) -> Select:
    """The campaign's subjects in their order, of one kind or all, ``within`` a unit subtree (a
    unit admin sees their subtree's only). The one listing for the pages and the API."""
    stmt = select(*columns).select_from(Subject).where(Subject.campaign_id == c.id)
    if kind:
        stmt = stmt.where(Subject.kind == kind)
    if within:
        stmt = stmt.join(Unit, Unit.id == Subject.unit_id).where(subtree_filter(within))
    return stmt.order_by(Subject.position, Subject.id)


def subject_counts(c: Campaign, within: str | None = None) -> dict[str, int]:
    """Subjects per kind, counted over the same listing as ``subjects``."""
    stmt = subjects(c, within=within, columns=(Subject.kind, func.count())).order_by(None).group_by(Subject.kind)
    return dict(db.session.execute(stmt).all())


# ---- evaluator categories ----------------------------------------------------------------------

def categories(c: Campaign) -> list[EvaluatorCategory]:
    return db.session.execute(select(EvaluatorCategory).where(EvaluatorCategory.campaign_id == c.id)
                              .order_by(EvaluatorCategory.position, EvaluatorCategory.id)).scalars().all()


def _weight(value) -> Decimal:
    try:
        w = Decimal(str(value).strip().rstrip("%")) / (100 if str(value).strip().endswith("%") else 1)
    except (InvalidOperation, ValueError):
        raise DomainError(_("权重“%(w)s”不是数字", w=value), "weight") from None
    if not Decimal(0) <= w <= Decimal(1):
        raise DomainError(_("权重“%(w)s”应在 0 到 1 之间", w=value), "weight")
    return w


def category_basics(r: dict, names: set[str]) -> tuple[str, str, str]:
    """One category row's name (unique among ``names``, which it joins), scope and weight (a
    decimal string, "1" when not given), checked: what every way of setting categories shares."""
    if not isinstance(r, dict):
        raise DomainError(_("参评人员类别格式不正确"), "categories")
    name = str(r.get("name", "")).strip()
    if not name or len(name) > 50:
        raise DomainError(_("类别名称不能为空，且不超过 50 字"), "name")
    if name in names:
        raise DomainError(_("类别“%(n)s”重复", n=name), "name")
    names.add(name)
    scope = r.get("scope") or "own_unit"
    if scope not in SCOPES:
        raise DomainError(_("未知的参评范围“%(s)s”", s=scope), "scope")
    weight = r.get("weight")
    return name, scope, format(_weight("1" if weight in (None, "") else weight).normalize(), "f")


def check_weights(rows: list[dict]) -> None:
    total = sum((_weight(r.get("weight", 0)) for r in rows), Decimal(0))
    if total != Decimal(1):
        raise DomainError(_("启用加权时各类别权重之和必须等于 1（现为 %(t)s）", t=format(total.normalize(), "f")),
                          "weight")


def set_categories(c: Campaign, rows: list[dict]) -> list[EvaluatorCategory]:
    """Replace the campaign's categories as a whole (so weights are checked as a whole)."""
    refuse_fixed(c, "categories")
    _require_draft(c, _("参评人员类别"))
    if not rows:
        raise DomainError(_("至少需要一个参评人员类别"), "categories")
    clean, names = [], set()
    for i, r in enumerate(rows):
        name, scope, weight = category_basics(r, names)
        group_unit_id = _optional_id(r.get("group_unit_id"), "group_unit_id")
        if scope == "group":
            if group_unit_id is None:
                raise DomainError(_("全评类别“%(n)s”需要指定评议组（上级单位）", n=name), "group_unit_id")
            if db.session.get(Unit, group_unit_id) is None:
                raise DomainError(_("找不到评议组单位"), "group_unit_id")
        clean.append({"name": name, "weight": weight, "scope": scope,
                      "group_unit_id": group_unit_id if scope == "group" else None, "position": i,
                      "id": _optional_id(r.get("id"), "id")})
    if c.weighting:
        check_weights(clean)
    current = {k.id: k for k in categories(c)}
    kept = {r["id"] for r in clean if r["id"] in current}
    for k in current.values():
        if k.id not in kept:
            if tokens_for_category(k):
                raise DomainError(_("类别“%(n)s”已发放测评码，不能删除", n=k.name), "categories")
            db.session.delete(k)
    db.session.flush()
    tid = require_tenant_id()
    for r in clean:
        k = current.get(r["id"])
        if k is None:
            k = EvaluatorCategory(tenant_id=tid, campaign_id=c.id)
            db.session.add(k)
        k.name, k.weight, k.scope, k.group_unit_id, k.position = (r["name"], r["weight"], r["scope"],
                                                                  r["group_unit_id"], r["position"])
    db.session.flush()
    return categories(c)


def _optional_id(value, field: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DomainError(_("“%(v)s”不是有效的编号", v=value), field) from None


def tokens_for_category(k: EvaluatorCategory, within: str | None = None) -> int:
    """Links ever issued in the category (``within``: to units in that subtree, a unit admin's)."""
    from pingyi.models import BallotToken

    stmt = select(func.count()).select_from(BallotToken).where(BallotToken.category_id == k.id)
    if within:
        stmt = stmt.where(BallotToken.unit_id.in_(select(Unit.id).where(subtree_filter(within))))
    return db.session.execute(stmt).scalar_one()


# ---- rules -------------------------------------------------------------------------------------

def campaign_rules(c: Campaign) -> list[Rule]:
    return db.session.execute(select(Rule).where(Rule.campaign_id == c.id)
                              .order_by(Rule.position, Rule.id)).scalars().all()


def rule_specs(c: Campaign) -> list[rules.RuleSpec]:
    return [rules.RuleSpec(r.metric, r.op, r.threshold, r.outcome, r.applies_to, r.group, r.severity, r.source)
            for r in campaign_rules(c)]


def set_rules(c: Campaign, rows: list[dict]) -> list[Rule]:
    """Replace the campaign's rules (allowed until results are published)."""
    refuse_fixed(c, "rules")
    if c.state in ("published", "archived"):
        raise DomainError(_("结果已公布，不能再修改规则"), "state")
    specs = [rules.validate_rule(r) for r in rows]
    removed = db.session.execute(delete(Rule).where(Rule.campaign_id == c.id)).rowcount
    if removed:
        record_bulk("delete", "rules", removed, {"campaign_id": c.id})
    tid = require_tenant_id()
    db.session.add_all(Rule(tenant_id=tid, campaign_id=c.id, position=i, **asdict(s)) for i, s in enumerate(specs))
    db.session.flush()
    return campaign_rules(c)


def add_preset(c: Campaign, key: str) -> list[Rule]:
    refuse_fixed(c, "rules")
    if key not in rules.PRESETS:
        raise DomainError(_("没有名为“%(k)s”的规则预设", k=key), "preset")
    current = [asdict(s) for s in rule_specs(c)]
    new = [asdict(s) for s in rules.PRESETS[key]["rules"] if asdict(s) not in current]
    return set_rules(c, current + new)
