"""结果运用: the tenant admin records what was decided about subjects after reviewing their
results, and downloads the list. Admins only (unit admins and viewers get 403)."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from pingyi.campaigns import lifecycle as cp
from pingyi.decisions import export, records
from pingyi.i18n import _
from pingyi.models import DECISION_KINDS, SubjectDecision, utcnow
from pingyi.results import dashboard as rs
from pingyi.tenancy import get_scoped
from pingyi.web.access import campaign_or_404, require_role, subject_or_404
from pingyi.web.actions import attempt, submitted
from pingyi.web.forms import DecisionForm, as_id

from . import bp

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.route("/campaigns/<int:campaign_id>/decisions", methods=["GET", "POST"])
@require_role("admin")
def campaign_decisions(campaign_id: int):
    c = campaign_or_404(campaign_id)
    if request.method == "POST" and request.form.get("op") == "delete":
        d = get_scoped(SubjectDecision, as_id(request.form.get("decision_id")))
        if d is None or d.campaign_id != c.id:
            abort(404)
        if attempt(lambda: records.remove(d)).ok:
            flash(_("已删除"), "success")
        return redirect(url_for(".campaign_decisions", campaign_id=c.id))
    form = DecisionForm()
    if request.method == "POST" and submitted(form):
        today = cp.local(utcnow(), c.timezone).date()
        if attempt(lambda: records.record(c, as_id(form.subject_id.data), form.kind.data, form.review.data,
                                          form.decided_on.data, form.note.data, current_user.id, today)).ok:
            flash(_("已记录"), "success")
            return redirect(url_for(".campaign_decisions", campaign_id=c.id))
    chosen = request.values.get("subject")
    picked = subject_or_404(as_id(chosen), c) if chosen else None
    return render_template("admin/campaign_decisions.html", c=c, rows=records.rows(c), kinds=DECISION_KINDS,
                           verdicts=rs.campaign_results(c).verdicts, picked=picked,
                           form=form if request.method == "POST" else None,
                           today=cp.local(utcnow(), c.timezone).date().isoformat())


@bp.route("/campaigns/<int:campaign_id>/decisions.xlsx")
@require_role("admin")
def campaign_decisions_xlsx(campaign_id: int):
    c = campaign_or_404(campaign_id)
    name = f"{c.name}-结果运用.xlsx"
    return Response(export.workbook(c), mimetype=XLSX, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}", "Cache-Control": "no-store"})
