"""The summary report's page: edit its narrative paragraphs (admins), start its Word/PDF jobs."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for

from pingyi.i18n import _
from pingyi.reports import summary
from pingyi.web.access import campaign_or_404, writes_need
from pingyi.web.actions import attempt, submitted
from pingyi.web.forms import NarrativeForm

from . import bp


@bp.route("/campaigns/<int:campaign_id>/summary", methods=["GET", "POST"])
@writes_need("admin")
def campaign_summary(campaign_id: int):
    c = campaign_or_404(campaign_id)
    if g.access.unit_path:  # the whole campaign's figures: a unit admin reads their subtree's results page
        abort(403)
    form = NarrativeForm()
    submitted_text: dict[str, str] = {}
    if submitted(form):
        submitted_text = form.edits()
        if attempt(lambda: summary.save_narrative(c, submitted_text)).ok:
            flash(_("已保存"), "success")
            return redirect(url_for(".campaign_summary", campaign_id=c.id))
    return render_template("admin/campaign_summary.html", c=c, paragraphs=summary.paragraphs(c),
                           submitted=submitted_text, tallied=summary.has_tally(c), max_chars=summary.MAX_CHARS)
