"""The publication page (公示) of a campaign: ``/p/<slug>/<campaign_id>``, and what makes its
count checkable (issue 20): the counted receipt codes (``…/receipts``, paged, and
``…/receipts.txt``), the anonymised ballots (``…/ballots.csv``, only where the admin published
them), and a page saying what can and cannot be checked (``…/verify``).

Who sees them and when is ``pingyi.results.publication``'s decision, the same for all five; every
refusal — unknown tenant, unknown or foreign campaign, not yet published, outside the window,
wrong scope — is the same 404, so the pages reveal nothing about campaigns one may not see. The
tenant comes from the slug and scopes the session exactly as the receipt check does. The receipt
codes come sorted and the ballots in the export's own order: nothing here ties one to the other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from urllib.parse import quote

from flask import Blueprint, Response, abort, render_template, request, stream_with_context
from flask_login import current_user

from pingyi.feedback import box
from pingyi.models import Campaign, Tenant
from pingyi.replica import replica_reads
from pingyi.results import publication, suppression, tally
from pingyi.tenancy import get_scoped, tenant_context
from pingyi.verification import export, receipts
from pingyi.web.access import public_campaign_or_404
from pingyi.web.paging import paginate_fetched, paginate_list

bp = Blueprint("public", __name__)
VERDICT_NAMES = 20  # names listed under each verdict; all of them one tap away (?verdict=)
RECEIPTS_PER_PAGE = 500  # codes on one page of the counted list; the .txt holds them all
CHUNK_BYTES = 64 * 1024  # a streamed file is sent in pieces of about this size, not a line at a time


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
                           verdict_names=VERDICT_NAMES, counted=receipts.count(c),
                           export_shown=bool(c.publish_export) and export.available(c))



def _shown_or_404(slug: str, campaign_id: int) -> tuple[Tenant, Campaign, str]:
    """The campaign and how it is shown (``publication.mode``), exactly as the 公示 page decides."""
    tenant, c = public_campaign_or_404(slug, campaign_id)
    shown = publication.mode(c, current_user)
    if shown is None:
        abort(404)
    return tenant, c, shown


def streamed_file(tenant_id: int, campaign_id: int, lines: Callable[[Campaign], Iterable[str]], name: str,
                  mimetype: str, replica: bool = True) -> Response:
    """A campaign's file (``lines(campaign)``) streamed as an attachment in chunks of about 64 KB.
    The body is made after the view returned, in an app context and session of its own: it binds
    the tenant again, reads the campaign afresh and, with ``replica``, reads on the replica where
    there is one, as the page that offers the file does."""
    def body() -> Iterator[bytes]:
        with tenant_context(tenant_id), (replica_reads() if replica else nullcontext()):
            c = get_scoped(Campaign, campaign_id)
            chunk: list[bytes] = []
            size = 0
            for line in lines(c):
                data = line.encode()
                chunk.append(data)
                size += len(data)
                if size >= CHUNK_BYTES:
                    yield b"".join(chunk)
                    chunk, size = [], 0
            if chunk:
                yield b"".join(chunk)
    return Response(stream_with_context(body()), mimetype=mimetype, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}", "Cache-Control": "no-store"})


@bp.route("/p/<slug>/<int:campaign_id>/receipts")
@replica_reads()
def receipts_page(slug: str, campaign_id: int):
    """The counted receipt codes, sorted, a page at a time (``?page=``): a voter finds theirs, and
    anyone compares their number with the ballots in the tally."""
    tenant, c, shown = _shown_or_404(slug, campaign_id)
    p = paginate_fetched(lambda page, per_page: (receipts.count(c), receipts.page(c, page, per_page)),
                         RECEIPTS_PER_PAGE)
    return render_template("public/receipts.html", c=c, tenant=tenant, p=p, run=tally.stored_run(c.id),
                           preview=shown == publication.PREVIEW)


@bp.route("/p/<slug>/<int:campaign_id>/receipts.txt")
@replica_reads()
def receipts_txt(slug: str, campaign_id: int):
    """Every counted receipt code, one a line, sorted: the list to search or compare offline."""
    _tenant, c, _shown = _shown_or_404(slug, campaign_id)
    return streamed_file(c.tenant_id, c.id, receipts.lines, f"{slug}-{c.id}-receipts.txt", "text/plain")


@bp.route("/p/<slug>/<int:campaign_id>/ballots.csv")
@replica_reads()
def ballots_csv(slug: str, campaign_id: int):
    """The anonymised ballots, from which the published figures recount: only where the admin
    published them and the campaign is sealed with enough ballots; opinions only where they
    are published too."""
    _tenant, c, _shown = _shown_or_404(slug, campaign_id)
    if not (c.publish_export and export.available(c)):
        abort(404)
    opinions = export.opinions_allowed(c)
    return streamed_file(c.tenant_id, c.id, lambda sealed: export.lines(sealed, opinions=opinions), export.filename(c),
                         "text/csv")


@bp.route("/p/<slug>/<int:campaign_id>/verify")
@replica_reads()
def verify(slug: str, campaign_id: int):
    """What anyone can check about this campaign's count, how, and what is left uncheckable on
    purpose (how one person voted)."""
    tenant, c, shown = _shown_or_404(slug, campaign_id)
    return render_template("public/verify.html", c=c, tenant=tenant, counted=receipts.count(c),
                           run=tally.stored_run(c.id), preview=shown == publication.PREVIEW,
                           export_shown=bool(c.publish_export) and export.available(c))
