"""Results of a campaign from its stored tally: item rates, verdict lists, subtree roll-ups;
and starting a full recount (a worker job)."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_login import current_user

from .. import reports
from .. import results as rs
from .. import tally as tl
from ..access import campaign_or_404
from . import _attempt, bp
from .campaign_views import _need_admin


@bp.route("/campaigns/<int:campaign_id>/results")
def campaign_results(campaign_id: int):
    c = campaign_or_404(campaign_id)
    depth = None if request.args.get("depth") == "all" else 1
    return render_template("admin/campaign_results.html", c=c, r=rs.campaign_results(c, depth), pct=tl.percent,
                           all_units=depth is None, refresh=15 if c.state == "open" else None)


@bp.route("/campaigns/<int:campaign_id>/reports", methods=["POST"])
def campaign_report(campaign_id: int):
    """Start a report job (统计表 …); its page offers the file when done."""
    c = campaign_or_404(campaign_id)
    _need_admin()
    created = []
    if _attempt(lambda: created.append(reports.submit(c, request.form.get("kind", ""), request.form.get(
            "format", ""), current_user.id))):
        return redirect(url_for(".job", job_id=created[0].id))
    return redirect(url_for(".campaign_results", campaign_id=c.id))


@bp.route("/campaigns/<int:campaign_id>/tally", methods=["POST"])
def campaign_tally(campaign_id: int):
    c = campaign_or_404(campaign_id)
    _need_admin()
    job = tl.submit(c.id, current_user.id)
    return redirect(url_for(".job", job_id=job.id))
