"""The form designer's logic: documents in and out, validation, versions, freezing.

A form *document* is the plain-dict shape used by templates, the API and copies::

    {"name", "subject_kind", "description",
     "scales": [{"key", "name", "choices": [{"label", "score", "satisfied"}]}],
     "sections": [{"title", "items": [{"text", "kind": "rating"|"text", "scale": key,
                                       "required", "max_length"}]}]}
"""

from __future__ import annotations

from sqlalchemy import delete, func, select, update

from pingyi.audit import record_bulk
from pingyi.errors import DomainError, int_in_range
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import (
    ITEM_KINDS,
    SUBJECT_KINDS,
    Campaign,
    Form,
    FormItem,
    FormSection,
    Scale,
    ScaleChoice,
    Subject,
    utcnow,
)
from pingyi.tenancy import require_tenant_id

from .form_templates import SCALES, TEMPLATES

# ---- validation --------------------------------------------------------------------------------

def validate_choices(choices: list[dict]) -> list[dict]:
    """Normalize a scale's choices; a scale must have 2–10 distinct labels and at least one
    satisfied and one not-satisfied choice, or no satisfaction rate can mean anything."""
    if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices) or not 2 <= len(choices) <= 10:
        raise DomainError(_("量表需要 2 到 10 个选项"), "choices")
    out, labels = [], set()
    for c in choices:
        label = str(c.get("label", "")).strip()
        if not label or len(label) > 30:
            raise DomainError(_("选项名称不能为空，且不超过 30 字"), "choices")
        if label in labels:
            raise DomainError(_("选项“%(label)s”重复", label=label), "choices")
        labels.add(label)
        try:
            score = int(c.get("score", 0))
        except (TypeError, ValueError):
            raise DomainError(_("选项“%(label)s”的分值必须是整数", label=label), "choices") from None
        out.append({"label": label, "score": score, "satisfied": bool(c.get("satisfied"))})
    if not any(c["satisfied"] for c in out):
        raise DomainError(_("量表至少要有一个计为“满意”的选项"), "choices")
    if all(c["satisfied"] for c in out):
        raise DomainError(_("量表不能所有选项都计为“满意”"), "choices")
    return out


def _list_of_dicts(value, field: str) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise DomainError(_("测评表内容格式不正确"), field)
    return value


def validate_document(doc: dict) -> dict:
    """Check a whole document (any JSON may arrive here) and return it normalized."""
    if not isinstance(doc, dict):
        raise DomainError(_("测评表内容格式不正确"))
    name = str(doc.get("name", "")).strip()
    if not name or len(name) > 200:
        raise DomainError(_("测评表名称不能为空，且不超过 200 字"), "name")
    kind = doc.get("subject_kind", "unit")
    if not isinstance(kind, str) or kind not in SUBJECT_KINDS:
        raise DomainError(_("未知的评议对象类型“%(kind)s”", kind=kind), "subject_kind")
    scales, keys = [], set()
    for s in _list_of_dicts(doc.get("scales"), "scales"):
        key = str(s.get("key") or s.get("name") or "").strip()
        if not key or key in keys:
            raise DomainError(_("量表标识为空或重复"), "scales")
        keys.add(key)
        scales.append({"key": key, "name": str(s.get("name") or key)[:100],
                       "choices": validate_choices(s.get("choices"))})
    sections = []
    for sec in _list_of_dicts(doc.get("sections"), "sections"):
        items = []
        for it in _list_of_dicts(sec.get("items"), "items"):
            text = str(it.get("text", "")).strip()
            if not text or len(text) > 500:
                raise DomainError(_("评议项目内容不能为空，且不超过 500 字"), "items")
            ikind = it.get("kind", "rating")
            if not isinstance(ikind, str) or ikind not in ITEM_KINDS:
                raise DomainError(_("未知的项目类型“%(kind)s”", kind=ikind), "items")
            scale = it.get("scale")
            if ikind == "rating" and (not isinstance(scale, str) or scale not in keys):
                raise DomainError(_("评分项“%(text)s”没有可用的量表", text=text), "items")
            max_length = int_in_range(it.get("max_length") or 500, 1, 2000,
                                      _("意见建议长度上限应在 1 到 2000 字之间"), "items")
            items.append({"text": text, "kind": ikind, "scale": scale if ikind == "rating" else None,
                          "required": bool(it.get("required", ikind == "rating")), "max_length": max_length})
        sections.append({"title": str(sec.get("title", "")).strip()[:200], "items": items})
    if not any(it["kind"] == "rating" for sec in sections for it in sec["items"]):
        raise DomainError(_("测评表至少要有一个评分项"), "sections")
    return {"name": name, "subject_kind": kind, "description": str(doc.get("description", ""))[:2000],
            "scales": scales, "sections": sections}


# ---- documents <-> rows ------------------------------------------------------------------------

def form_document(form: Form) -> dict:
    keys = {s.id: f"s{s.position + 1}" for s in form.scales}
    return {
        "id": form.id, "family_id": form.family_id, "version": form.version, "name": form.name,
        "subject_kind": form.subject_kind, "description": form.description, "frozen": form.is_frozen,
        "scales": [{"key": keys[s.id], "id": s.id, "name": s.name,
                    "choices": [{"id": c.id, "label": c.label, "score": c.score, "satisfied": c.counts_as_satisfied}
                                for c in s.choices]} for s in form.scales],
        "sections": [{"id": sec.id, "title": sec.title, "items": [
            {"id": it.id, "text": it.text, "kind": it.kind, "scale": keys.get(it.scale_id), "required": it.required,
             "max_length": it.max_length} for it in sec.items]} for sec in form.sections],
    }


def _write_content(form: Form, doc: dict) -> None:
    tid = require_tenant_id()
    scale_ids = {}
    for pos, s in enumerate(doc["scales"]):
        scale = Scale(tenant_id=tid, form_id=form.id, name=s["name"], position=pos)
        db.session.add(scale)
        db.session.flush()
        scale_ids[s["key"]] = scale.id
        db.session.add_all(ScaleChoice(tenant_id=tid, scale_id=scale.id, position=i, label=c["label"],
                                       score=c["score"], counts_as_satisfied=c["satisfied"])
                           for i, c in enumerate(s["choices"]))
    for pos, sec in enumerate(doc["sections"]):
        section = FormSection(tenant_id=tid, form_id=form.id, position=pos, title=sec["title"])
        db.session.add(section)
        db.session.flush()
        db.session.add_all(FormItem(tenant_id=tid, form_id=form.id, section_id=section.id, position=i,
                                    text=it["text"], kind=it["kind"], scale_id=scale_ids.get(it["scale"]),
                                    required=it["required"], max_length=it["max_length"])
                           for i, it in enumerate(sec["items"]))
    db.session.flush()
    db.session.expire(form)


def _clear_content(form: Form) -> None:
    record_bulk("delete", "form_content", 1, {"form_id": form.id, "name": form.name})
    db.session.execute(delete(FormItem).where(FormItem.form_id == form.id))
    db.session.execute(delete(FormSection).where(FormSection.form_id == form.id))
    scale_ids = select(Scale.id).where(Scale.form_id == form.id).scalar_subquery()
    db.session.execute(delete(ScaleChoice).where(ScaleChoice.scale_id.in_(scale_ids)))
    db.session.execute(delete(Scale).where(Scale.form_id == form.id))


def create_form(doc: dict, template_key: str | None = None) -> Form:
    """A new form family (version 1) from a document."""
    doc = validate_document(doc)
    form = Form(tenant_id=require_tenant_id(), name=doc["name"], subject_kind=doc["subject_kind"],
                description=doc["description"], version=1, template_key=template_key)
    db.session.add(form)
    db.session.flush()
    form.family_id = form.id
    _write_content(form, doc)
    return form


def copy_template(key: str) -> Form:
    if key not in TEMPLATES:
        raise DomainError(_("没有名为“%(key)s”的模板", key=key), "template")
    return create_form(TEMPLATES[key], template_key=key)


def replace_content(form: Form, doc: dict) -> Form:
    """Replace a draft version's whole content (the API's PUT)."""
    require_editable(form)
    doc = validate_document(doc)
    form.name, form.subject_kind, form.description = doc["name"], doc["subject_kind"], doc["description"]
    _clear_content(form)
    db.session.flush()
    _write_content(form, doc)
    return form


SEASON_MARK = "season:"  # template_key of a form a season copied in (lifecycle.season_form_key)


def _from_season(form: Form) -> bool:
    return (form.template_key or "").startswith(SEASON_MARK)


def require_editable(form: Form) -> None:
    if form.is_frozen and _from_season(form):  # frozen when issued: the season fixes its forms
        raise DomainError(_("该测评表由上级统一部署，本单位不能修改；可以创建新版本，用于本单位的其他评议活动"), "form")
    if form.is_frozen:
        raise DomainError(_("该测评表版本已被开放的评议活动使用，已冻结；请先创建新版本再修改"), "form")


def latest_version(family_id: int) -> Form:
    return db.session.execute(select(Form).where(Form.family_id == family_id)
                              .order_by(Form.version.desc()).limit(1)).scalar_one()


def new_version(form: Form) -> Form:
    """Copy a (usually frozen) version into version N+1 of the same family. Draft campaigns
    that used any older version of the family move to the new one; open ones keep theirs, and so
    do drafts whose forms a season fixes. A season's form's new version is the tenant's own."""
    latest = latest_version(form.family_id)
    if not latest.is_frozen:
        return latest
    doc = form_document(form)
    new = Form(tenant_id=require_tenant_id(), family_id=form.family_id, version=latest.version + 1,
               name=form.name, subject_kind=form.subject_kind, description=form.description,
               template_key=None if _from_season(form) else form.template_key)
    db.session.add(new)
    db.session.flush()
    _write_content(new, validate_document(doc))
    family = select(Form.id).where(Form.family_id == form.family_id).scalar_subquery()
    drafts = [c.id for c in db.session.execute(select(Campaign).where(Campaign.state == "draft")).scalars()
              if "forms" not in (c.season_fixed or [])]
    db.session.execute(update(Subject).where(Subject.form_id.in_(family), Subject.campaign_id.in_(drafts))
                       .values(form_id=new.id).execution_options(synchronize_session=False))
    return new


def freeze(form_ids: set[int]) -> None:
    now = utcnow()
    for form in db.session.execute(select(Form).where(Form.id.in_(form_ids), Form.frozen_at.is_(None))).scalars():
        form.frozen_at = now


def latest_forms() -> list[Form]:
    """The newest version of every family, newest family first."""
    newest = select(Form.family_id, func.max(Form.version).label("v")).group_by(Form.family_id).subquery()
    return db.session.execute(
        select(Form).join(newest, (Form.family_id == newest.c.family_id) & (Form.version == newest.c.v))
        .order_by(Form.id.desc())).scalars().all()


def delete_form(form: Form) -> None:
    if form.is_frozen:
        raise DomainError(_("已冻结的测评表不能删除"))
    used = db.session.execute(select(Subject.id).where(Subject.form_id == form.id).limit(1)).first()
    if used:
        raise DomainError(_("该测评表已被评议活动使用，不能删除"))
    _clear_content(form)
    db.session.delete(form)
    db.session.flush()


# ---- fine-grained edits for the designer page --------------------------------------------------

def update_form_meta(form: Form, name: str, description: str, subject_kind: str) -> None:
    require_editable(form)
    doc = validate_document({**form_document(form), "name": name, "description": description,
                             "subject_kind": subject_kind})
    form.name, form.description, form.subject_kind = doc["name"], doc["description"], doc["subject_kind"]


def _next_position(model, **where) -> int:
    q = select(func.coalesce(func.max(model.position), -1) + 1)
    for k, v in where.items():
        q = q.where(getattr(model, k) == v)
    return db.session.execute(q).scalar_one()


def add_scale(form: Form, preset: str | None = None, name: str = "", choices: list[dict] | None = None) -> Scale:
    require_editable(form)
    if preset:
        if preset not in SCALES:
            raise DomainError(_("没有名为“%(key)s”的量表", key=preset))
        name, choices = SCALES[preset]["name"], SCALES[preset]["choices"]
    choices = validate_choices(choices or [])
    scale = Scale(tenant_id=require_tenant_id(), form_id=form.id, name=(name or _("量表"))[:100],
                  position=_next_position(Scale, form_id=form.id))
    db.session.add(scale)
    db.session.flush()
    db.session.add_all(ScaleChoice(tenant_id=scale.tenant_id, scale_id=scale.id, position=i, label=c["label"],
                                   score=c["score"], counts_as_satisfied=c["satisfied"])
                       for i, c in enumerate(choices))
    db.session.flush()
    db.session.expire(form)
    return scale


def set_scale_choices(form: Form, scale: Scale, name: str, choices: list[dict]) -> None:
    require_editable(form)
    choices = validate_choices(choices)
    scale.name = (name or scale.name)[:100]
    db.session.execute(delete(ScaleChoice).where(ScaleChoice.scale_id == scale.id))
    db.session.add_all(ScaleChoice(tenant_id=scale.tenant_id, scale_id=scale.id, position=i, label=c["label"],
                                   score=c["score"], counts_as_satisfied=c["satisfied"])
                       for i, c in enumerate(choices))
    db.session.flush()
    db.session.expire(scale)


def delete_scale(form: Form, scale: Scale) -> None:
    require_editable(form)
    if db.session.execute(select(FormItem.id).where(FormItem.scale_id == scale.id).limit(1)).first():
        raise DomainError(_("该量表正被评分项使用，不能删除"))
    db.session.execute(delete(ScaleChoice).where(ScaleChoice.scale_id == scale.id))
    db.session.delete(scale)
    db.session.flush()
    db.session.expire(form)


def add_section(form: Form, title: str) -> FormSection:
    require_editable(form)
    section = FormSection(tenant_id=require_tenant_id(), form_id=form.id, title=(title or "").strip()[:200],
                          position=_next_position(FormSection, form_id=form.id))
    db.session.add(section)
    db.session.flush()
    db.session.expire(form)
    return section


def update_section(form: Form, section: FormSection, title: str) -> None:
    require_editable(form)
    section.title = (title or "").strip()[:200]


def delete_section(form: Form, section: FormSection) -> None:
    require_editable(form)
    db.session.execute(delete(FormItem).where(FormItem.section_id == section.id))
    db.session.delete(section)
    db.session.flush()
    db.session.expire(form)


def _check_item(form: Form, text: str, kind: str, scale_id: int | None, max_length: int) -> tuple:
    text = (text or "").strip()
    if not text or len(text) > 500:
        raise DomainError(_("评议项目内容不能为空，且不超过 500 字"), "text")
    if kind not in ITEM_KINDS:
        raise DomainError(_("未知的项目类型“%(kind)s”", kind=kind), "kind")
    if kind == "rating":
        if scale_id not in {s.id for s in form.scales}:
            raise DomainError(_("评分项必须选择本表的量表"), "scale_id")
    else:
        scale_id = None
    max_length = int_in_range(max_length or 500, 1, 2000, _("意见建议长度上限应在 1 到 2000 字之间"), "max_length")
    return text, kind, scale_id, max_length


def add_item(form: Form, section: FormSection, text: str, kind: str = "rating", scale_id: int | None = None,
             required: bool = True, max_length: int = 500) -> FormItem:
    require_editable(form)
    text, kind, scale_id, max_length = _check_item(form, text, kind, scale_id, max_length)
    item = FormItem(tenant_id=require_tenant_id(), form_id=form.id, section_id=section.id, text=text, kind=kind,
                    scale_id=scale_id, required=bool(required), max_length=max_length,
                    position=_next_position(FormItem, section_id=section.id))
    db.session.add(item)
    db.session.flush()
    db.session.expire(section)
    return item


def update_item(form: Form, item: FormItem, text: str, kind: str, scale_id: int | None, required: bool,
                max_length: int = 500) -> None:
    require_editable(form)
    item.text, item.kind, item.scale_id, item.max_length = _check_item(form, text, kind, scale_id, max_length)
    item.required = bool(required)


def delete_item(form: Form, item: FormItem) -> None:
    require_editable(form)
    if item.kind == "rating":
        others = db.session.execute(select(func.count()).select_from(FormItem).where(
            FormItem.form_id == form.id, FormItem.kind == "rating", FormItem.id != item.id)).scalar_one()
        if not others:
            raise DomainError(_("测评表至少要有一个评分项"))
    db.session.delete(item)
    db.session.flush()


def move(form: Form, obj: FormSection | FormItem, delta: int) -> None:
    """Swap ``obj`` with its neighbour (delta -1 up, +1 down) among its siblings."""
    require_editable(form)
    model = type(obj)
    parent = {"section_id": obj.section_id} if isinstance(obj, FormItem) else {"form_id": obj.form_id}
    q = select(model).where(*[getattr(model, k) == v for k, v in parent.items()]).order_by(model.position, model.id)
    siblings = db.session.execute(q).scalars().all()
    i = siblings.index(obj)
    j = i + delta
    if 0 <= j < len(siblings):
        siblings[i], siblings[j] = siblings[j], siblings[i]
        for pos, s in enumerate(siblings):
            s.position = pos
    db.session.flush()
    db.session.expire(form)
