"""A campaign's timetable and meetings: the tenant admin sets the phases; unit admins record
the meetings their subtree's units held (the summary report counts these records)."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for

from pingyi.campaigns import lifecycle as cp
from pingyi.campaigns import meetings, timetable
from pingyi.i18n import _
from pingyi.models import MEETING_KINDS, PHASES, Meeting, utcnow
from pingyi.tenancy import get_scoped
from pingyi.web.access import campaign_or_404, unit_or_404, within, writes_need
from pingyi.web.actions import attempt, submitted
from pingyi.web.forms import MeetingForm, PhasesForm, as_id

from . import _unit_choices, bp


@bp.route("/campaigns/<int:campaign_id>/meetings", methods=["GET", "POST"])
@writes_need("unit_admin")
def campaign_meetings(campaign_id: int):
    c = campaign_or_404(campaign_id)
    op = request.form.get("op")
    if request.method == "POST" and op == "phases":
        if not g.access.is_admin:
            abort(403)
        form = PhasesForm()
        if submitted(form) and attempt(lambda: timetable.set_phases(c, form.dates())).ok:
            flash(_("已保存"), "success")
            return redirect(url_for(".campaign_meetings", campaign_id=c.id))
    elif request.method == "POST" and op == "delete":
        m = get_scoped(Meeting, as_id(request.form.get("meeting_id")))
        if m is None or m.campaign_id != c.id:
            abort(404)
        if attempt(lambda: meetings.remove(m, within())).ok:
            flash(_("已删除"), "success")
            return redirect(url_for(".campaign_meetings", campaign_id=c.id))
    form = MeetingForm()
    if request.method == "POST" and op == "meeting" and submitted(form):
        unit = unit_or_404(as_id(form.unit_id.data)) if as_id(form.unit_id.data) else None
        today = cp.local(utcnow(), c.timezone).date()
        if attempt(lambda: meetings.record(c, unit, form.kind.data, form.held_on.data, form.attendance.data,
                                           form.note.data, within(), today)).ok:
            flash(_("已记录"), "success")
            return redirect(url_for(".campaign_meetings", campaign_id=c.id))
    return render_template("admin/campaign_meetings.html", c=c, phases={p.kind: p for p in timetable.phases(c)},
                           phase_labels=PHASES, kinds=MEETING_KINDS, rows=meetings.listed(c, within()),
                           counts=meetings.counts(c, within()), units=_unit_choices(include_root=False),
                           form=form if op == "meeting" else None)
