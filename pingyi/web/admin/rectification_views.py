"""The rectification ledger's pages (整改台账): a campaign's items (a unit admin sees their
subtree's) with new items from verdicts or by hand, and an item's page to move its state, edit
it, add evidence and (the tenant admin) verify it. The ledger's rules live in
``pingyi.rectification``; these views only read forms and call it (a refusal, of the role
too, is flashed, as on the other pages)."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import RectificationFile, RectificationItem, Unit, utcnow
from pingyi.rectification import evidence, ledger, overdue
from pingyi.rectification.ledger import Actor
from pingyi.web.access import campaign_or_404, scoped_or_404, subject_or_404, writes_need
from pingyi.web.actions import attempt, submitted
from pingyi.web.forms import as_id

from . import _unit_choices, bp


def _actor() -> Actor:
    return Actor(current_user.id, current_user.email, g.access.role if g.access.can_write else "viewer",
                 g.access.unit_path)


def _item_or_404(c, rect_id: int) -> RectificationItem:
    item = scoped_or_404(RectificationItem, rect_id)
    unit = db.session.get(Unit, item.unit_id)
    if item.campaign_id != c.id or unit is None or (g.access.unit_path and not unit.path.startswith(g.access.unit_path)):
        abort(404)
    return item


def _from_one_verdict(c, f) -> RectificationItem:
    """The form's ``pick`` is "<outcome's position>:<subject id>" among the verdicts shown."""
    position, _sep, subject_id = (f.get("pick") or "").partition(":")
    shown = ledger.verdicts(c, g.access.unit_path)
    if not (position.isdigit() and subject_id.isdigit() and int(position) < len(shown)):
        raise DomainError(_("请选择评议对象"), "pick")
    return ledger.from_verdict(c, int(subject_id), shown[int(position)][0], _actor(), f.get("deadline"),
                               f.get("measure", ""), f.get("person", ""), f.get("problem") or None,
                               f.get("unit_id") or None)


@bp.route("/campaigns/<int:campaign_id>/rectification", methods=["GET", "POST"])
@writes_need("unit_admin")
def campaign_rectification(campaign_id: int):
    c = campaign_or_404(campaign_id)
    form = FlaskForm()
    if submitted(form):
        op, f = request.form.get("op"), request.form
        if op == "verdict":
            done = attempt(lambda: ledger.from_verdict_list(c, f.get("outcome", ""), _actor(), f.get("deadline"),
                                                            f.get("measure", "")))
            if done.ok:
                flash(_("已建立 %(n)d 项整改事项", n=len(done.value)), "success")
        elif op == "overdue" and g.access.is_admin:
            overdue.check_now(c.id, current_user.id)
            flash(_("已开始检查逾期事项"), "success")
        elif op == "subject":
            done = attempt(lambda: _from_one_verdict(c, f))
            if done.ok:
                return redirect(url_for(".rectification_item", campaign_id=c.id, rect_id=done.value.id))
        elif op == "opinion":  # from the subject's page: one opinion, by subject, form item and text
            subject = subject_or_404(as_id(f.get("subject_id")), c)
            done = attempt(lambda: ledger.from_opinion(
                c, subject.id, as_id(f.get("item_id")) or 0, f.get("text", ""),
                ledger.Draft(f.get("text", ""), subject.unit_id, f.get("deadline"), f.get("person", "")), _actor()))
            if done.ok:
                return redirect(url_for(".rectification_item", campaign_id=c.id, rect_id=done.value.id))
            return redirect(url_for(".result_subject", campaign_id=c.id, subject_id=subject.id))
        return redirect(url_for(".campaign_rectification", campaign_id=c.id))
    now = utcnow()
    state = request.args.get("state", "")
    stmt = ledger.items(c.id, g.access.unit_path)
    if state in ledger.STATE_LABELS:
        stmt = stmt.where(RectificationItem.state == state)
    rows = db.session.execute(stmt).scalars().all()
    today = ledger.local_today(now, c.timezone)
    names = dict(db.session.execute(select(Unit.id, Unit.name)).all())
    return render_template("admin/rectification.html", c=c, rows=rows, names=names, today=today,
                           is_overdue=overdue.is_overdue, totals=overdue.totals(c.id, now, g.access.unit_path),
                           states=ledger.STATE_LABELS, sources=ledger.SOURCE_LABELS, state=state,
                           verdicts=ledger.verdicts(c, g.access.unit_path) if c.state != "draft" else [],
                           units=_unit_choices(False), can_write=g.access.can_write)


@bp.route("/campaigns/<int:campaign_id>/rectification/<int:rect_id>", methods=["GET", "POST"])
@writes_need("unit_admin")
def rectification_item(campaign_id: int, rect_id: int):
    c = campaign_or_404(campaign_id)
    item = _item_or_404(c, rect_id)
    form = FlaskForm()
    if submitted(form):
        op, f = request.form.get("op"), request.form
        if op == "move":
            done = attempt(lambda: ledger.transition(item, f.get("to_state", ""), _actor(), f.get("note", ""),
                                                      f.get("reason", "")))
        elif op == "edit":
            done = attempt(lambda: ledger.update_item(item, _actor(), measure=f.get("measure"),
                                                       person=f.get("person"), deadline=f.get("deadline") or None,
                                                       evidence=f.get("evidence")))
        elif op == "file":
            upload = request.files.get("file")
            done = attempt(lambda: evidence.add_file(item, _actor(), upload.filename if upload else "",
                                                      upload.read(evidence.max_bytes() + 1) if upload else b""))
        else:
            abort(400)
        if done.ok:
            flash(_("已保存"), "success")
        return redirect(url_for(".rectification_item", campaign_id=c.id, rect_id=item.id))
    now = utcnow()
    return render_template("admin/rectification_item.html", c=c, item=item, history=ledger.history(item),
                           files=evidence.files(item), moves=ledger.allowed_moves(item, _actor()),
                           states=ledger.STATE_LABELS, sources=ledger.SOURCE_LABELS,
                           unit=db.session.get(Unit, item.unit_id),
                           late=overdue.is_overdue(item.deadline, item.state, ledger.local_today(now, c.timezone)),
                           types=", ".join(sorted(evidence.TYPES)), max_mb=evidence.max_bytes() / 1024 / 1024)


@bp.route("/campaigns/<int:campaign_id>/rectification/<int:rect_id>/files/<int:rect_file_id>")
def rectification_file(campaign_id: int, rect_id: int, rect_file_id: int):
    c = campaign_or_404(campaign_id)
    item = _item_or_404(c, rect_id)
    f = scoped_or_404(RectificationFile, rect_file_id)
    if f.item_id != item.id:
        abort(404)
    return Response(f.data, mimetype=f.mime, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(f.name)}", "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff"})
