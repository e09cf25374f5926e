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
from pingyi.web.access import form_or_404, writes_need
from pingyi.web.actions import attempt, submitted
from pingyi.web.forms import DesignerForm, NewFormForm

from . import bp


@bp.route("/forms", methods=["GET", "POST"])
@writes_need("admin")
def forms():
    form = NewFormForm()
    if submitted(form):
        key = form.template.data
        done = attempt(lambda: q.copy_template(key) if key else q.create_form({
            "name": form.name.data, "subject_kind": form.subject_kind.data or "unit",
            "scales": [{"key": "s", **SCALES["satisfaction4"]}],
            "sections": [{"title": _("评议内容"), "items": [{"text": _("总体评价"), "kind": "rating", "scale": "s"}]}]}))
        if done.ok:
            flash(_("已创建测评表“%(name)s”", name=done.value.name), "success")
            return redirect(url_for(".form_edit", form_id=done.value.id))
    used = set(db.session.execute(select(Subject.form_id).distinct()).scalars())
    return render_template("admin/forms.html", forms=q.latest_forms(), templates=TEMPLATES, used=used,
                           kinds=SUBJECT_KINDS)


def _child(model, form: Form, ident):
    obj = get_scoped(model, ident)
    if obj is None or obj.form_id != form.id:
        abort(404)
    return obj


@bp.route("/forms/<int:form_id>", methods=["GET", "POST"])
@writes_need("admin")
def form_edit(form_id: int):
    form = form_or_404(form_id)
    f = DesignerForm()
    if submitted(f):
        max_length = f.max_length.data or 500
        ops = {
            "meta": lambda: q.update_form_meta(form, f.name.data, f.description.data,
                                               f.subject_kind.data or form.subject_kind),
            "add_scale": lambda: q.add_scale(form, preset=f.preset.data or None),
            "save_scale": lambda: q.set_scale_choices(form, _child(Scale, form, f.scale_id.data), f.name.data,
                                                      f.choices()),
            "delete_scale": lambda: q.delete_scale(form, _child(Scale, form, f.scale_id.data)),
            "add_section": lambda: q.add_section(form, f.title.data),
            "save_section": lambda: q.update_section(form, _child(FormSection, form, f.section_id.data), f.title.data),
            "delete_section": lambda: q.delete_section(form, _child(FormSection, form, f.section_id.data)),
            "move_section": lambda: q.move(form, _child(FormSection, form, f.section_id.data), f.delta.data or 0),
            "add_item": lambda: q.add_item(form, _child(FormSection, form, f.section_id.data), f.text.data,
                                           f.kind.data or "rating", _int(f.scale_id.data), f.required.data, max_length),
            "save_item": lambda: q.update_item(form, _child(FormItem, form, f.item_id.data), f.text.data,
                                               f.kind.data or "rating", _int(f.scale_id.data), f.required.data,
                                               max_length),
            "delete_item": lambda: q.delete_item(form, _child(FormItem, form, f.item_id.data)),
            "move_item": lambda: q.move(form, _child(FormItem, form, f.item_id.data), f.delta.data or 0),
        }
        op = f.op.data
        if op == "new_version":
            done = attempt(lambda: q.new_version(form))
            if done.ok:
                flash(_("已创建第 %(v)d 版，可以修改了", v=done.value.version), "success")
                return redirect(url_for(".form_edit", form_id=done.value.id))
        elif op == "delete":
            if attempt(lambda: q.delete_form(form)).ok:
                flash(_("已删除"), "success")
                return redirect(url_for(".forms"))
        elif op in ops:
            if attempt(ops[op]).ok:
                flash(_("已保存"), "success")
            return redirect(url_for(".form_edit", form_id=form.id) + (f"#{f.anchor.data}" if f.anchor.data else ""))
        else:
            abort(400)
    elif request.method == "POST":  # refused input: back to the form, the flash says why
        return redirect(url_for(".form_edit", form_id=form.id))
    versions = db.session.execute(select(Form).where(Form.family_id == form.family_id)
                                  .order_by(Form.version)).scalars().all()
    return render_template("admin/form_edit.html", form=form, versions=versions, presets=SCALES,
                           kinds=SUBJECT_KINDS, editable=g.access.is_admin and not form.is_frozen)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
