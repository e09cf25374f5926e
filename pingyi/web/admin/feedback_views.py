"""The feedback box's admin pages (信息收集箱): the entries (a unit admin sees their subtree's
units only) newest first, an entry's page to answer it, publish the answer and turn it into a
ledger item. The rules live in ``pingyi.feedback.answers``; these views read forms and call it."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from pingyi.extensions import db
from pingyi.feedback import answers
from pingyi.i18n import _
from pingyi.models import Campaign, FeedbackEntry, Unit
from pingyi.rectification.ledger import Actor, Draft
from pingyi.tenancy import get_scoped
from pingyi.web.access import ROLE_RANK, require_role
from pingyi.web.actions import attempt, submitted
from pingyi.web.paging import paginate

from . import _unit_choices, bp

PAGE = 30


def _actor() -> Actor:
    return Actor(current_user.id, current_user.email, g.access.role if g.access.can_write else "viewer",
                 g.access.unit_path)


def _entry_or_404(entry_id: int) -> FeedbackEntry:
    """A foreign or unknown id is 404 before any role check (as ``web.access`` resolves ids);
    then a viewer is 403 and an entry outside a unit admin's subtree 404."""
    if get_scoped(FeedbackEntry, entry_id) is None:
        abort(404)
    if ROLE_RANK[g.access.role] < ROLE_RANK["unit_admin"] or g.access.via_oversight:
        abort(403)
    entry = answers.entry_for(_actor(), entry_id)
    if entry is None:
        abort(404)
    return entry


@bp.route("/feedback")
@require_role("unit_admin")
def feedback():
    show = request.args.get("show", "all")
    show = show if show in answers.FILTERS else "all"
    page = paginate(answers.entries(g.access.unit_path, show), PAGE)
    ids = {e.unit_id for e in page.items}
    names = dict(db.session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ids))).all()) if ids else {}
    return render_template("admin/feedback.html", page=page, show=show, names=names)


@bp.route("/feedback/<int:entry_id>", methods=["GET", "POST"])
def feedback_entry(entry_id: int):
    entry = _entry_or_404(entry_id)
    if submitted(FlaskForm()):
        f = request.form
        if f.get("op") == "answer":
            done = attempt(lambda: answers.publish(answers.answer(entry, f.get("answer"), _actor()),
                                                   f.get("published") == "1", _actor()))
            if done.ok:
                flash(_("已保存答复") if not entry.published else _("已保存并公开答复"), "success")
        elif f.get("op") == "ledger":
            draft = Draft(f.get("problem", ""), f.get("unit_id") or None, f.get("deadline"), f.get("person", ""),
                          f.get("measure", ""))
            done = attempt(lambda: answers.to_ledger(entry, draft, _actor(), f.get("campaign_id")))
            if done.ok:
                flash(_("已建立整改事项"), "success")
                return redirect(url_for(".rectification_item", campaign_id=done.value.campaign_id,
                                        rect_id=done.value.id))
        return redirect(url_for(".feedback_entry", entry_id=entry.id))
    unit = db.session.get(Unit, entry.unit_id)
    campaign = db.session.get(Campaign, entry.campaign_id) if entry.campaign_id else None
    return render_template("admin/feedback_entry.html", entry=entry, unit=unit, campaign=campaign,
                           items=answers.ledger_items(entry), campaigns=answers.ledger_campaigns(),
                           units=_unit_choices(False))
