"""The summary report's page: edit its narrative paragraphs (admins), start its Word/PDF jobs."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from pingyi.i18n import _
from pingyi.reports import summary
from pingyi.web.access import campaign_or_404

from . import _attempt, bp
from .campaign_views import _need_admin


def _edits(form) -> dict[str, str]:
    """``text-<key>`` fields, blanked where ``reset-<key>`` (恢复自动生成) is ticked."""
    edits = {name[5:]: value for name, value in form.items() if name.startswith("text-")}
    for name in form:
        if name.startswith("reset-"):
            edits[name[6:]] = ""
    return edits


@bp.route("/campaigns/<int:campaign_id>/summary", methods=["GET", "POST"])
def campaign_summary(campaign_id: int):
    c = campaign_or_404(campaign_id)
    submitted: dict[str, str] = {}
    if request.method == "POST":
        _need_admin()
        submitted = _edits(request.form)
        if _attempt(lambda: summary.save_narrative(c, submitted)):
            flash(_("已保存"), "success")
            return redirect(url_for(".campaign_summary", campaign_id=c.id))
    return render_template("admin/campaign_summary.html", c=c, paragraphs=summary.paragraphs(c),
                           submitted=submitted, tallied=summary.has_tally(c), max_chars=summary.MAX_CHARS)
