"""The audit trail as admins read it: each event as one Chinese sentence — who did what to which
thing and what changed ("admin@… 将评议活动「…」的状态由 草稿 改为 进行中") — and the CSV export.

``pingyi.audit`` records events in terms of tables and columns; this module names them (table,
column and value labels come from the domain packages that own them) and looks up the names of
the rows an event points at (a campaign, a unit, a user) in one query per table for a whole
page, always within the current tenant. Anything it does not know still reads as a sentence
(the table's own name, the raw value), never as "None →".
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from pingyi import audit as trail
from pingyi.audit import Filter
from pingyi.campaigns.lifecycle import DEFAULT_TZ, local
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.i18n import lazy_gettext as _l
from pingyi.models import (
    DECISION_KINDS,
    ITEM_KINDS,
    MEETING_KINDS,
    PHASES,
    PUBLICATION_SCOPES,
    SCOPES,
    STATE_LABELS,
    SUBJECT_KINDS,
    UNIT_KINDS,
    AuditEvent,
    Campaign,
    EvaluatorCategory,
    Form,
    FormItem,
    Job,
    Person,
    RectificationItem,
    Scale,
    Subject,
    ThemeRule,
    Unit,
    User,
)
from pingyi.rectification.ledger import SOURCE_LABELS as RECTIFICATION_SOURCE_LABELS
from pingyi.rectification.ledger import STATE_LABELS as RECTIFICATION_STATE_LABELS
from pingyi.tenancy import require_tenant_id, tenant_context
from pingyi.xlsx import neutral

TABLES = {  # object type → what a sentence calls one of its rows
    "tenants": _l("租户"), "users": _l("用户账号"), "memberships": _l("成员角色"), "api_keys": _l("API 密钥"),
    "login_sessions": _l("登录"), "units": _l("单位"), "people": _l("人员"),
    "campaigns": _l("评议活动"), "campaign_phases": _l("评议阶段"), "meetings": _l("评议会议"),
    "evaluator_categories": _l("参评人员类别"), "subjects": _l("评议对象"), "rules": _l("结果规则"),
    "forms": _l("评议表"), "form_sections": _l("评议表栏目"), "form_items": _l("评议内容"),
    "form_content": _l("评议表内容"), "scales": _l("量表"), "scale_choices": _l("量表选项"),
    "ballot_tokens": _l("测评码"), "paper_entries": _l("纸质票录入"), "interview_samples": _l("访谈抽样"),
    "jobs": _l("后台任务"), "job_files": _l("任务文件"), "feedback_entries": _l("信息收集箱意见"),
    "theme_rules": _l("意见主题"), "theme_runs": _l("意见归类"), "theme_counts": _l("意见主题统计"),
    "rectification_items": _l("整改事项"), "rectification_events": _l("整改进展"),
    "rectification_files": _l("整改材料"), "subject_decisions": _l("结果运用决定"),
    "seasons": _l("年度评议"), "season_issues": _l("年度评议下发"), "season_submissions": _l("年度评议报送"),
    "notices": _l("通知"),
}
ACTIONS = {"create": _l("新建"), "update": _l("修改"), "delete": _l("删除"), "revoke": _l("作废"),
           "issue": _l("下发"), "reissue": _l("重新下发"), "submit": _l("报送"), "return": _l("退回修改"),
           "accept": _l("接收")}
ACTORS = {"system": _l("系统"), "demo": _l("演示数据"), "cli": _l("命令行"), "worker": _l("后台任务进程")}
FIELDS = {  # column → its name in a sentence (per table where the same column means another thing)
    "name": _l("名称"), "description": _l("说明"), "state": _l("状态"), "opens_at": _l("开始时间"),
    "closes_at": _l("结束时间"), "timezone": _l("时区"), "weighting": _l("按类别加权"),
    "publication_scope": _l("公示范围"), "opened_at": _l("实际开始时间"), "closed_at": _l("实际结束时间"),
    "published_at": _l("公布时间"), "archived_at": _l("归档时间"), "publish_until": _l("公示截止时间"),
    "publish_opinions": _l("公示意见建议"), "publish_export": _l("公示匿名票据"),
    "seal_digest": _l("封存数字指纹"), "seal_k": _l("封存分组最少票数"), "sealed_at": _l("封存时间"), "narrative": _l("工作总结"), "live_results": _l("实时结果"),
    "kind": _l("类型"), "parent_id": _l("上级"), "sort_order": _l("排序"), "position": _l("顺序"),
    "is_party_member": _l("党员"), "unit_id": _l("单位"), "email": _l("邮箱"), "is_superuser": _l("平台超管"),
    "is_active": _l("启用"), "locale": _l("界面语言"), "role": _l("角色"), "slug": _l("网址标识"),
    "label": _l("名称"), "text": _l("内容"), "title": _l("标题"), "weight": _l("权重"), "scope": _l("评议范围"),
    "threshold": _l("阈值"), "metric": _l("指标"), "op": _l("比较方式"), "outcome": _l("认定结果"),
    "severity": _l("程度"), "applies_to": _l("适用对象"), "group": _l("分组"), "source": _l("来源"),
    "problem": _l("问题"), "measure": _l("整改措施"), "deadline": _l("整改时限"), "reason": _l("无法整改的原因"),
    "evidence": _l("整改佐证"), "person": _l("责任人"), "answer": _l("答复"), "published": _l("公开"),
    "held_on": _l("日期"), "attendance": _l("参会人数"), "note": _l("备注"), "starts_on": _l("开始日期"),
    "ends_on": _l("结束日期"), "review": _l("复核意见"), "decided_on": _l("决定日期"), "keywords": _l("关键词"),
    "excludes": _l("排除词"), "required": _l("必答"), "max_length": _l("字数上限"), "score": _l("分值"),
    "counts_as_satisfied": _l("计入满意"), "frozen_at": _l("冻结时间"), "version": _l("版本"),
    "revoked_at": _l("作废时间"), "params": _l("参数"), "subject_kind": _l("评议对象类型"),
    "per_unit": _l("每单位人数"), "seed": _l("随机种子"), "entries": _l("份数"), "category_id": _l("参评人员类别"),
    "group_unit_id": _l("全评单位"), "form_id": _l("评议表"), "scale_id": _l("量表"), "section_id": _l("栏目"),
    "person_id": _l("人员"), "subject_id": _l("评议对象"), "campaign_id": _l("评议活动"), "user_id": _l("用户"),
    "item_id": _l("整改事项"), "done_at": _l("完成时间"), "overdue": _l("逾期"), "answered_at": _l("答复时间"),
    "submitted_on": _l("提交日期"), "last_used_at": _l("最近使用"), "from_state": _l("原状态"),
    "to_state": _l("新状态"), "at": _l("时间"), "actor": _l("操作人"), "payload": _l("录入内容"),
    "password_hash": _l("密码"), "key_hash": _l("密钥"), "data": _l("文件内容"), "mime": _l("文件类型"),
    "size": _l("大小"), "source_label": _l("来源说明"), "source_ref": _l("来源"),
    "report_due": _l("报送截止日期"), "min_turnout": _l("参评率要求"), "plan": _l("统一部署内容"),
    "fixed": _l("统一规定"), "season_id": _l("年度评议"), "season_fixed": _l("统一规定"), "number": _l("次数"),
    "comment": _l("退回意见"), "returned_at": _l("退回时间"), "submitted_by": _l("报送人"),
    "target_tenant_id": _l("下发单位"), "issued_at": _l("下发时间"), "reminded_at": _l("最近提醒"),
    "issue_id": _l("年度评议下发"),
}
TABLE_FIELDS = {("people", "position"): _l("职务"), ("jobs", "state"): _l("状态")}
JOB_KINDS = {"tally": _l("重新统计"), "import": _l("导入"), "report": _l("生成报表"),
             "issue_links": _l("生成测评码"), "themes": _l("意见归类")}
_YES_NO = {True: _l("是"), False: _l("否")}
VALUES: dict[tuple[str, str], dict] = {  # (table, column) → value labels
    ("campaigns", "state"): STATE_LABELS, ("campaigns", "publication_scope"): PUBLICATION_SCOPES,
    ("evaluator_categories", "scope"): SCOPES, ("units", "kind"): UNIT_KINDS,
    ("memberships", "role"): {"admin": _l("管理员"), "unit_admin": _l("单位管理员"), "viewer": _l("只读")},
    ("jobs", "state"): {"queued": _l("排队中"), "running": _l("进行中"), "done": _l("已完成"), "failed": _l("失败")},
    ("jobs", "kind"): JOB_KINDS, ("rectification_items", "state"): RECTIFICATION_STATE_LABELS,
    ("rectification_items", "source"): RECTIFICATION_SOURCE_LABELS,
    ("rectification_events", "from_state"): RECTIFICATION_STATE_LABELS,
    ("rectification_events", "to_state"): RECTIFICATION_STATE_LABELS,
    ("meetings", "kind"): MEETING_KINDS, ("campaign_phases", "kind"): PHASES,
    ("subject_decisions", "kind"): DECISION_KINDS, ("subjects", "kind"): SUBJECT_KINDS,
    ("forms", "subject_kind"): SUBJECT_KINDS, ("form_items", "kind"): ITEM_KINDS,
}
# Columns that point at another row: the sentence names that row ("上级由「一矿」改为「二矿」").
REFS = {"unit_id": "units", "group_unit_id": "units", "campaign_id": "campaigns", "form_id": "forms",
        "person_id": "people", "subject_id": "subjects", "category_id": "evaluator_categories",
        "user_id": "users", "created_by": "users", "entered_by": "users", "uploaded_by": "users",
        "decided_by": "users", "scale_id": "scales", "item_id": "rectification_items"}
_PARENTS = {"units": "units"}  # parent_id of a unit is a unit (a tenant's parent is another tenant: not shown)
# What a row is called by, where its event carries no name (one query per table and page).
_NAMED: dict[str, tuple[Any, Any]] = {
    "units": (Unit, Unit.name), "people": (Person, Person.name), "campaigns": (Campaign, Campaign.name),
    "forms": (Form, Form.name), "subjects": (Subject, Subject.label), "scales": (Scale, Scale.name),
    "evaluator_categories": (EvaluatorCategory, EvaluatorCategory.name), "form_items": (FormItem, FormItem.text),
    "rectification_items": (RectificationItem, RectificationItem.problem), "theme_rules": (ThemeRule, ThemeRule.name),
    "jobs": (Job, Job.kind),
}
_NAME_KEYS = ("name", "label", "title", "problem", "text", "email")
_NOISE = {"id", "tenant_id", "created_at", "updated_at", "path", "depth", "family_id"}
# set by a state change itself: the state's own move says it
_WITH_STATE = {"opened_at", "closed_at", "archived_at", "done_at"}
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)?$")
_PARAM_CAMPAIGN = re.compile(r"['\"]campaign_id['\"]\s*:\s*(\d+)")
_LONG = 30
# What a new row belongs to, named after it: "新建人员「王伟」（单位「采煤一队党支部」）".
_OWNERS = ("item_id", "subject_id", "person_id", "unit_id", "parent_id")


@dataclass
class Names:
    """Names of the rows a page of events points at: ``(table, id) → name``."""

    rows: dict[tuple[str, int], str] = field(default_factory=dict)

    def of(self, table: str, ident: Any) -> str | None:
        return self.rows.get((table, ident)) if isinstance(ident, int) else None


@dataclass
class Line:
    """One event as the page and the CSV show it."""

    event: AuditEvent
    who: str
    sentence: str


def _short(text: Any) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= _LONG else text[:_LONG] + "…"


def _changes(e: AuditEvent) -> dict[str, list]:
    changes = (e.detail or {}).get("changes")
    return changes if isinstance(changes, dict) else {}


def _campaign_id(e: AuditEvent) -> int | None:
    """The campaign an event belongs to, wherever the event says it."""
    detail, changes = e.detail or {}, _changes(e)
    if e.object_type == "campaigns":
        return e.object_id
    if isinstance(detail.get("campaign_id"), int):
        return detail["campaign_id"]
    pair = changes.get("campaign_id")
    if isinstance(pair, list) and len(pair) == 2 and isinstance(pair[1], int):
        return pair[1]
    if e.object_type == "jobs":
        params = changes.get("params")
        m = _PARAM_CAMPAIGN.search(str(params[1] if isinstance(params, list) and len(params) == 2 else ""))
        if m:
            return int(m.group(1))
    return None


def _references(e: AuditEvent) -> Iterator[tuple[str, int]]:
    """Every (table, id) the event's sentence may name."""
    if e.object_id is not None and e.object_type in (*_NAMED, "users"):
        yield e.object_type, e.object_id
    if e.actor_id is not None:
        yield "users", e.actor_id
    cid = _campaign_id(e)
    if cid is not None:
        yield "campaigns", cid
    for key, pair in _changes(e).items():
        table = REFS.get(key) or (_PARENTS.get(e.object_type) if key == "parent_id" else None)
        if table and isinstance(pair, list):
            yield from ((table, v) for v in pair if isinstance(v, int) and not isinstance(v, bool))


def lookup(events: Iterable[AuditEvent]) -> Names:
    """The names of every row ``events`` point at, one query per table, within the current tenant
    (users: the accounts that acted or were granted a role here)."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for e in events:
        for table, ident in _references(e):
            wanted[table].add(ident)
    names = Names()
    tid = require_tenant_id()
    for table, ids in wanted.items():
        if table == "users":
            for uid, name, email in db.session.execute(select(User.id, User.name, User.email).where(User.id.in_(ids))):
                names.rows[("users", uid)] = _person_name(name, email)
            continue
        model, column = _NAMED[table]
        for ident, name in db.session.execute(select(model.id, column).where(model.tenant_id == tid,
                                                                             model.id.in_(ids))):
            names.rows[(table, ident)] = str(JOB_KINDS.get(name, name)) if table == "jobs" else _short(name)
    return names


def _person_name(name: str | None, email: str) -> str:
    """A user's real name where one was given (the default name is the mailbox), else the email."""
    return name if name and name != email.split("@")[0] else email


def who(e: AuditEvent, names: Names) -> str:
    if e.actor_id is not None:
        return names.of("users", e.actor_id) or e.actor
    return str(ACTORS.get(e.actor, e.actor or ACTORS["system"]))


def noun(table: str) -> str:
    return str(TABLES.get(table, table))


def field_name(table: str, key: str) -> str:
    return str(TABLE_FIELDS.get((table, key)) or FIELDS.get(key, key))


def value_text(table: str, key: str, value: Any, names: Names) -> str:
    """One recorded value as people read it: labels for codes, names for ids, local time for instants."""
    if value is None or value == "":
        return _("（空）")
    if isinstance(value, bool):
        return str(_YES_NO[value])
    ref = REFS.get(key) or (_PARENTS.get(table) if key == "parent_id" else None)
    if ref and isinstance(value, int):
        name = names.of(ref, value)
        return f"「{name}」" if name else f"#{value}"
    labels = VALUES.get((table, key))
    if labels and value in labels:
        return str(labels[value])
    if not isinstance(value, str):
        return _short(value)
    if _INSTANT.match(value):
        try:
            instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            instant = None
        if instant is not None and instant.tzinfo is not None:
            return local(instant, DEFAULT_TZ).strftime("%Y-%m-%d %H:%M")
    return f"「{_short(value)}」"  # typed text, quoted: its own punctuation does not run into the sentence


def _change_phrases(table: str, changes: dict[str, list], names: Names) -> list[str]:
    keys = [k for k in changes if k not in _NOISE and not (k in _WITH_STATE and "state" in changes)]
    out = []
    for key in keys:
        pair = changes[key]
        label = field_name(table, key)
        if not (isinstance(pair, list) and len(pair) == 2) or "***" in pair:
            out.append(_("%(f)s重新设置", f=label))
            continue
        old, new = pair
        if old is None or old == "":
            out.append(_("%(f)s设为 %(new)s", f=label, new=value_text(table, key, new, names)))
        elif new is None or new == "":
            out.append(_("%(f)s清空（原为 %(old)s）", f=label, old=value_text(table, key, old, names)))
        else:
            out.append(_("%(f)s由 %(old)s 改为 %(new)s", f=label, old=value_text(table, key, old, names),
                         new=value_text(table, key, new, names)))
    return out


def _name(e: AuditEvent, names: Names) -> str | None:
    detail = e.detail or {}
    if detail.get("name"):
        return _short(detail["name"])
    changes = _changes(e)
    for key in _NAME_KEYS:
        pair = changes.get(key)
        if isinstance(pair, list) and len(pair) == 2 and (pair[1] or pair[0]) and "***" not in pair:
            return _short(pair[1] or pair[0])
    if e.object_type == "campaigns":
        return names.of("campaigns", e.object_id)
    return names.of(e.object_type, e.object_id) if e.object_type in _NAMED or e.object_type == "users" else None


def thing(e: AuditEvent, names: Names) -> str:
    """The event's row: 评议活动「2025年…」, 整改事项 #3, or just the table's name."""
    name = _name(e, names)
    if name:
        return _("%(noun)s「%(name)s」", noun=noun(e.object_type), name=name)
    if e.object_id is not None:
        return f"{noun(e.object_type)}（#{e.object_id}）"
    return noun(e.object_type)


def _context(e: AuditEvent, names: Names, owners: bool = False) -> str:
    """"（评议活动「…」）" for an event inside a campaign (not for the campaign itself); with
    ``owners``, also the row a new one belongs to ("单位「…」", "整改事项「…」")."""
    parts = []
    if owners and e.count == 1:
        changes = _changes(e)
        for key in _OWNERS:
            pair = changes.get(key)
            table = REFS.get(key) or (_PARENTS.get(e.object_type) if key == "parent_id" else None)
            if table and isinstance(pair, list) and len(pair) == 2 and isinstance(pair[1], int):
                parts.append(f"{field_name(e.object_type, key)}{value_text(e.object_type, key, pair[1], names)}")
                break
    cid = _campaign_id(e)
    if cid is not None and e.object_type != "campaigns":
        name = names.of("campaigns", cid)
        parts.append(_("评议活动「%(name)s」", name=name) if name else _("评议活动 #%(id)d", id=cid))
    return _("（%(x)s）", x=_("，").join(parts)) if parts else ""


def _special(e: AuditEvent, names: Names, actor: str, ctx: str) -> str | None:
    """Events whose table and action say more than "新建/修改/删除" would."""
    detail, n = e.detail or {}, e.count
    table, action = e.object_type, e.action
    if table == "login_sessions":
        return {"create": _("%(who)s 登录", who=actor), "delete": _("%(who)s 退出登录", who=actor)}.get(action)
    if table == "paper_entries":
        return {"create": _("%(who)s 录入纸质票%(ctx)s", who=actor, ctx=ctx),
                "update": _("%(who)s 修改纸质票录入%(ctx)s", who=actor, ctx=ctx),
                "delete": _("%(who)s 删除 %(n)d 条纸质票录入%(ctx)s", who=actor, n=n, ctx=ctx)}.get(action)
    if table == "jobs" and action == "create":
        pair = _changes(e).get("kind")
        kind = pair[1] if isinstance(pair, list) and len(pair) == 2 else None
        what = JOB_KINDS.get(kind)
        return _("%(who)s 请求%(what)s%(ctx)s", who=actor, what=what, ctx=ctx) if what else None
    if table == "ballot_tokens" and action in ("create", "revoke"):
        extras = []
        if detail.get("category"):
            extras.append(_short(detail["category"]))
        if detail.get("unit"):
            extras.append(_("单位「%(u)s」", u=_short(detail["unit"])))
        elif isinstance(detail.get("units"), int):
            extras.append(_("%(n)d 个单位", n=detail["units"]))
        if isinstance(detail.get("per_unit"), int):
            extras.append(_("每单位 %(n)d 个", n=detail["per_unit"]))
        if isinstance(detail.get("serial"), int):
            extras.append(_("序号 %(n)d", n=detail["serial"]))
        more = _("（%(x)s）", x=_("，").join(extras)) if extras else ""
        if action == "create":
            return _("%(who)s 生成 %(n)d 个测评码%(more)s%(ctx)s", who=actor, n=n, more=more, ctx=ctx)
        return _("%(who)s 作废 %(n)d 个测评码%(more)s%(ctx)s", who=actor, n=n, more=more, ctx=ctx)
    if table == "subjects" and action == "create" and n > 1 and detail.get("root"):
        kind = SUBJECT_KINDS.get(detail.get("kind"), detail.get("kind") or "")
        return _("%(who)s 添加 %(n)d 个评议对象（%(root)s及下级的%(kind)s）%(ctx)s", who=actor, n=n,
                 root=_short(detail["root"]), kind=kind, ctx=ctx)
    if table == "memberships" and action == "create" and n == 1:
        changes = _changes(e)
        user, role, unit = (changes.get(k) if isinstance(changes.get(k), list) and len(changes[k]) == 2 else
                            [None, None] for k in ("user_id", "role", "unit_id"))
        if user[1] is not None and role[1] is not None:
            within = _("（单位%(u)s）", u=value_text(table, "unit_id", unit[1], names)) if unit[1] is not None else ""
            return _("%(who)s 授予%(user)s%(role)s角色%(unit)s", who=actor,
                     user=value_text(table, "user_id", user[1], names),
                     role=value_text(table, "role", role[1], names), unit=within)
    if table == "form_content" and action == "delete":
        return _("%(who)s 清空%(thing)s", who=actor, thing=_("评议表「%(name)s」", name=_short(detail.get("name") or "")))
    return None


def describe(e: AuditEvent, names: Names | None = None) -> str:
    """One event as a sentence: "admin@… 将评议活动「…」的状态由 草稿 改为 进行中"."""
    names = names if names is not None else lookup([e])
    actor, ctx = who(e, names), _context(e, names)
    special = _special(e, names, actor, ctx)
    if special:
        return special
    n, table = e.count, e.object_type
    if e.action == "create":
        if n > 1:
            return _("%(who)s 批量新建 %(n)d 个%(noun)s%(ctx)s", who=actor, n=n, noun=noun(table), ctx=ctx)
        return _("%(who)s 新建%(thing)s%(ctx)s", who=actor, thing=thing(e, names), ctx=_context(e, names, True))
    if e.action == "update":
        if n > 1:
            return _("%(who)s 批量修改 %(n)d 个%(noun)s%(ctx)s", who=actor, n=n, noun=noun(table), ctx=ctx)
        phrases = _change_phrases(table, _changes(e), names)
        if phrases:
            return _("%(who)s 将%(thing)s的%(changes)s%(ctx)s", who=actor, thing=thing(e, names),
                     changes=_("，").join(phrases), ctx=ctx)
        return _("%(who)s 修改%(thing)s%(ctx)s", who=actor, thing=thing(e, names), ctx=ctx)
    if e.action == "delete":
        if n > 1:
            return _("%(who)s 批量删除 %(n)d 个%(noun)s%(ctx)s", who=actor, n=n, noun=noun(table), ctx=ctx)
        return _("%(who)s 删除%(thing)s%(ctx)s", who=actor, thing=thing(e, names), ctx=ctx)
    what = ACTIONS.get(e.action, e.action)
    if n > 1:
        return _("%(who)s 对 %(n)d 个%(noun)s执行「%(what)s」%(ctx)s", who=actor, n=n, noun=noun(table),
                 what=what, ctx=ctx)
    return _("%(who)s 对%(thing)s执行「%(what)s」%(ctx)s", who=actor, thing=thing(e, names), what=what, ctx=ctx)


def lines(events: Iterable[AuditEvent]) -> list[Line]:
    """A page of events as sentences (the names they point at looked up once for the page)."""
    events = list(events)
    names = lookup(events)
    return [Line(e, who(e, names), describe(e, names)) for e in events]


# ---- CSV -------------------------------------------------------------------------------------------

CSV_HEADERS = (_l("时间（北京时间）"), _l("操作人"), _l("说明"), _l("操作人账号"), _l("动作"), _l("对象类型"),
               _l("对象编号"), _l("数量"), _l("详情"))


def _csv_row(ln: Line) -> list:
    e = ln.event
    row = [local(e.created_at, DEFAULT_TZ).strftime("%Y-%m-%d %H:%M:%S"), ln.who, ln.sentence, e.actor, e.action,
           e.object_type, e.object_id if e.object_id is not None else "", e.count,
           json.dumps(e.detail or {}, ensure_ascii=False, sort_keys=True)]
    return [neutral(v) if isinstance(v, str) else v for v in row]


def csv_chunks(events: Iterable[AuditEvent], chunk: int = 500) -> Iterator[bytes]:
    """The events as CSV, UTF-8 with a BOM (Excel on Windows reads the Chinese right), streamed a
    chunk at a time; every text cell that starts like a formula is neutralised (``xlsx.neutral``),
    since a name or note somebody typed lands in these cells."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([str(h) for h in CSV_HEADERS])
    yield ("\ufeff" + buf.getvalue()).encode("utf-8")
    batch: list[AuditEvent] = []

    def flush() -> bytes:
        buf.seek(0)
        buf.truncate()
        writer.writerows(_csv_row(ln) for ln in lines(batch))
        batch.clear()
        return buf.getvalue().encode("utf-8")

    for e in events:
        batch.append(e)
        if len(batch) >= chunk:
            yield flush()
    if batch:
        yield flush()


def export(f: Filter, chunk: int = 500) -> Iterator[bytes]:
    """``csv_chunks`` of every event ``f`` selects, read a chunk at a time by id (no cursor held
    open between chunks, so a long trail streams in constant memory). The tenant is taken now:
    the response streams after the request has let go of the session."""
    tid = require_tenant_id()

    def events() -> Iterator[AuditEvent]:
        last = None
        while True:
            q = trail.events(f)
            if last is not None:
                q = q.where(AuditEvent.id < last)
            rows = db.session.execute(q.limit(chunk)).scalars().all()
            yield from rows
            if len(rows) < chunk:
                return
            last = rows[-1].id  # the session's identity map holds rows weakly: written ones go

    def stream() -> Iterator[bytes]:
        with tenant_context(tid):
            yield from csv_chunks(events(), chunk)

    return stream()
