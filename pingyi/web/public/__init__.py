"""The publication page (公示) of a campaign: ``/p/<slug>/<campaign_id>``.

Who sees it and when is ``pingyi.results.publication``'s decision; every refusal — unknown tenant,
unknown or foreign campaign, not yet published, outside the window, wrong scope — is the same
404, so the page reveals nothing about campaigns one may not see. The tenant comes from the
slug and scopes the session exactly as the receipt check does.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user

from pingyi.feedback import box
from pingyi.results import publication, suppression
from pingyi.web.access import public_campaign_or_404

bp = Blueprint("public", __name__)


@bp.after_request
def _private(response):
    # The answer depends on the login (scope, preview): never cached by shared caches.
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/p/<slug>/<int:campaign_id>")
def results(slug: str, campaign_id: int):
    """A published campaign's figures (and, if chosen, opinions) for the scope it was published to."""
    tenant, c = public_campaign_or_404(slug, campaign_id)
    shown = publication.mode(c, current_user)
    if shown is None:
        abort(404)
    return render_template("public/results.html", c=c, tenant=tenant, data=publication.publication_data(c),
                           preview=shown == publication.PREVIEW, live=publication.in_window(c),
                           min_cell=suppression.min_cell(), feedback=box.published_for_campaign(c.id))
