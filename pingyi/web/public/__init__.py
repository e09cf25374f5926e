"""The publication page (公示) of a campaign: ``/p/<slug>/<campaign_id>``.

Who sees it and when is ``pingyi.results.publication``'s decision; every refusal — unknown tenant,
unknown or foreign campaign, not yet published, outside the window, wrong scope — is the same
404, so the page reveals nothing about campaigns one may not see. The tenant comes from the
slug and scopes the session exactly as the receipt check does.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from pingyi.feedback import box
from pingyi.replica import replica_reads
from pingyi.results import publication, suppression
from pingyi.web.access import public_campaign_or_404
from pingyi.web.paging import paginate_fetched, paginate_list

bp = Blueprint("public", __name__)
VERDICT_NAMES = 20  # names listed under each verdict; all of them one tap away (?verdict=)


@bp.after_request
def _private(response):
    # The answer depends on the login (scope, preview): never cached by shared caches.
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/p/<slug>/<int:campaign_id>")
@replica_reads()  # read from the replica when there is one (pingyi.replica)
def results(slug: str, campaign_id: int):
    """A published campaign's figures (and, if chosen, opinions) for the scope it was published to:
    the summary and the receipt check first, then the subjects a page at a time (``?q=`` searches
    their names and units, ``?page=``), or one verdict's subjects (``?verdict=``)."""
    tenant, c = public_campaign_or_404(slug, campaign_id)
    shown = publication.mode(c, current_user)
    if shown is None:
        abort(404)
    data = publication.publication_data(c)
    q = (request.args.get("q") or "").strip()[:50]
    verdicts = data.results.verdicts
    verdict = request.args.get("verdict", type=int)
    if verdict is not None and not 0 <= verdict < len(verdicts):
        verdict = None
    if verdict is not None:
        rows = [r for r in verdicts[verdict][2] if q in r.label]
        p = paginate_list(rows, publication.PER_PAGE)
    else:
        p = paginate_fetched(lambda page, per_page: publication.subject_page(c, q, page, per_page),
                             publication.PER_PAGE)
    opinions = publication.opinion_groups(c, [s.id for s in p.items]) if data.opinions_shown else None
    return render_template("public/results.html", c=c, tenant=tenant, data=data, p=p, q=q, verdict=verdict,
                           opinions=opinions, preview=shown == publication.PREVIEW, live=publication.in_window(c),
                           min_cell=suppression.min_cell(), feedback=box.published_for_campaign(c.id),
                           verdict_names=VERDICT_NAMES)

