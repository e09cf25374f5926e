"""Form designer pages: list, copy a built-in template, edit a draft version, new versions."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from pingyi.campaigns import questionnaire as q
from pingyi.campaigns.form_templates import SCALES, TEMPLATES
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import SUBJECT_KINDS, Form, FormItem, FormSection, Scale, Subject
from pingyi.tenancy import get_scoped
from pingyi.web.access import form_or_404

from . import _attempt, bp


@bp.route("/forms", methods=["GET", "POST"])
def forms():
    if request.method == "POST":
        if not g.access.is_admin:
            abort(403)
        created: list[Form] = []
        key = request.form.get("template")
        if key:
            ok = _attempt(lambda: created.append(q.copy_template(key)))
        else:
            kind = request.form.get("subject_kind", "unit")
            ok = _attempt(lambda: created.append(q.create_form({
                "name": request.form.get("name", ""), "subject_kind": kind,
                "scales": [{"key": "s", **SCALES["satisfaction4"]}],
                "sections": [{"title": _("评议内容"), "items": [{"text": _("总体评价"), "kind": "rating",
                                                                "scale": "s"}]}]})))
        if ok:
            flash(_("已创建测评表“%(name)s”", name=created[0].name), "success")
            return redirect(url_for(".form_edit", form_id=created[0].id))
    used = set(db.session.execute(select(Subject.form_id).distinct()).scalars())
    return render_template("admin/forms.html", forms=q.latest_forms(), templates=TEMPLATES, used=used,
                           kinds=SUBJECT_KINDS)


def _child(model, form: Form, field: str):
    obj = get_scoped(model, request.form.get(field))
    if obj is None or obj.form_id != form.id:
        abort(404)
    return obj


def _choices_from_form() -> list[dict]:
    labels = request.form.getlist("label")
    scores = request.form.getlist("score")
    satisfied = set(request.form.getlist("satisfied"))
    return [{"label": lab, "score": scores[i] if i < len(scores) else 0, "satisfied": str(i) in satisfied}
            for i, lab in enumerate(labels) if lab.strip()]


@bp.route("/forms/<int:form_id>", methods=["GET", "POST"])
def form_edit(form_id: int):
    form = form_or_404(form_id)
    if request.method == "POST":
        if not g.access.is_admin:
            abort(403)
        op = request.form.get("op", "")
        f = request.form
        ops = {
            "meta": lambda: q.update_form_meta(form, f.get("name", ""), f.get("description", ""),
                                               f.get("subject_kind", form.subject_kind)),
            "add_scale": lambda: q.add_scale(form, preset=f.get("preset")),
            "save_scale": lambda: q.set_scale_choices(form, _child(Scale, form, "scale_id"), f.get("name", ""),
                                                      _choices_from_form()),
            "delete_scale": lambda: q.delete_scale(form, _child(Scale, form, "scale_id")),
            "add_section": lambda: q.add_section(form, f.get("title", "")),
            "save_section": lambda: q.update_section(form, _child(FormSection, form, "section_id"),
                                                     f.get("title", "")),
            "delete_section": lambda: q.delete_section(form, _child(FormSection, form, "section_id")),
            "move_section": lambda: q.move(form, _child(FormSection, form, "section_id"), int(f.get("delta", 0))),
            "add_item": lambda: q.add_item(form, _child(FormSection, form, "section_id"), f.get("text", ""),
                                           f.get("kind", "rating"), _int(f.get("scale_id")),
                                           bool(f.get("required")), _int(f.get("max_length")) or 500),
            "save_item": lambda: q.update_item(form, _child(FormItem, form, "item_id"), f.get("text", ""),
                                               f.get("kind", "rating"), _int(f.get("scale_id")),
                                               bool(f.get("required")), _int(f.get("max_length")) or 500),
            "delete_item": lambda: q.delete_item(form, _child(FormItem, form, "item_id")),
            "move_item": lambda: q.move(form, _child(FormItem, form, "item_id"), int(f.get("delta", 0))),
        }
        if op == "new_version":
            created: list[Form] = []
            if _attempt(lambda: created.append(q.new_version(form))):
                flash(_("已创建第 %(v)d 版，可以修改了", v=created[0].version), "success")
                return redirect(url_for(".form_edit", form_id=created[0].id))
        elif op == "delete":
            if _attempt(lambda: q.delete_form(form)):
                flash(_("已删除"), "success")
                return redirect(url_for(".forms"))
        elif op in ops:
            if _attempt(ops[op]):
                flash(_("已保存"), "success")
            return redirect(url_for(".form_edit", form_id=form.id) + (f"#{f.get('anchor')}" if f.get("anchor")
                                                                       else ""))
        else:
            abort(400)
    versions = db.session.execute(select(Form).where(Form.family_id == form.family_id)
                                  .order_by(Form.version)).scalars().all()
    return render_template("admin/form_edit.html", form=form, versions=versions, presets=SCALES,
                           kinds=SUBJECT_KINDS, editable=g.access.is_admin and not form.is_frozen)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


