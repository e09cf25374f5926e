"""Evaluator pages (no account): ``/b/<link>``, the short-code entry page, and the public
receipt check. The link (secret or short code) is the only credential.

CSRF: a cross-site page cannot forge a POST to ``/b/<link>`` without knowing the link, so the
link itself is the form's CSRF token (no expiring token to fail after a long meeting); a POST
whose ``Origin`` names another site is refused as well. Failed look-ups of short codes and
malformed links are rate limited; a link's 22-character secret is not (128 random bits are
never guessed), so the QR codes of a room that shares one address keep working after someone
there mistyped codes, and a ballot costs one round trip to the limits' storage, not two.
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from limits import parse_many

from pingyi import logsafe
from pingyi.extensions import limiter
from pingyi.i18n import _
from pingyi.results import publication
from pingyi.voting import ballots, mixer, statement, tokens
from pingyi.voting.sheet import progress
from pingyi.web.access import public_campaign_or_404
from pingyi.web.forms import CodeForm
from pingyi.web.origin import origin_matches
from pingyi.web.throttle import failed_lookup, setting

bp = Blueprint("ballot", __name__)

# Per client address (pingyi.config): failed look-ups, every ballot page view, receipt checks.
LINK_LIMIT = setting("LINK_FAILURE_LIMIT")
PAGE_LIMIT = setting("BALLOT_PAGE_LIMIT")
RECEIPT_LIMIT = setting("RECEIPT_CHECK_LIMIT")


@bp.after_request
def _private(response):
    # no-store comes with every dynamic page (web.headers); the link in the URL is the credential
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _refusal(state: ballots.LinkState):
    return render_template("ballot/refused.html", status=state.status, campaign=state.campaign), \
        ballots.STATUS_HTTP[state.status]


def _secret_link() -> bool:
    return tokens.is_secret(request.view_args.get("link", ""))


@bp.route("/b/<link>", methods=["GET", "POST"])
@limiter.limit(LINK_LIMIT, deduct_when=failed_lookup, exempt_when=_secret_link)
@limiter.limit(PAGE_LIMIT)
def vote(link: str):
    """One indexed read for the link, the sheet from the process's cache, one statement that
    redeems the link and boxes the ballot (two in a transaction on SQLite), the receipt: nothing
    else is done for a ballot."""
    if request.method == "POST" and origin_matches() is False:
        abort(400)
    ballots.single_statements()
    state = ballots.resolve(link)
    if state.status != "ok":
        return _refusal(state)
    sheet = state.sheet()
    errors: dict[str, str] = {}
    if request.method == "POST":
        sub = ballots.read(request.form, sheet)
        errors = sub.errors
        if not errors:
            check_url = url_for(".receipt_check", slug=state.tenant_slug, campaign_id=state.token.campaign_id)
            try:
                receipt = ballots.cast(link, sub, link=state)
            except ballots.AlreadyUsed:
                return _refusal(ballots.resolve(link))
            return render_template("ballot/receipt.html", receipt=tokens.format_code(receipt), check_url=check_url)
    # the page as first shown, or refused: per subject what is left (no query: the sheet is cached)
    return render_template("ballot/vote.html", state=state, sheet=sheet, errors=errors, values=request.form,
                           progress=progress(sheet, request.form, errors), first_missing=next(iter(errors), ""),
                           unit_name=state.unit_name, field=ballots.field_name), (422 if errors else 200)


@bp.route("/c", methods=["GET", "POST"])
@limiter.limit(LINK_LIMIT, deduct_when=failed_lookup)
def enter_code():
    """For printed slips typed by hand: the short code opens the same ballot."""
    error, form = None, CodeForm()
    if form.is_submitted():
        code = tokens.normalize_code(form.code.data or "")
        if code:
            return redirect(url_for(".vote", link=code))
        error = _("短码应为 12 位字母和数字，如 ABCD-EFGH-JKMN")
    return render_template("ballot/code.html", error=error), (400 if error else 200)


@bp.route("/p/<slug>/<int:campaign_id>/receipt", methods=["GET", "POST"])
@limiter.limit(RECEIPT_LIMIT, methods=["POST"])
def receipt_check(slug: str, campaign_id: int):
    """Anyone may check that a receipt was counted; the answer reveals no choices. The page
    names the campaign and its tenant only to its publication's audience and the tenant's
    members (``results.publication.may_name``): to anyone else, a campaign not published to
    the public stays unnamed. "Counted" in a sealed campaign shows the seal's digest, and to
    those who may see the 公示 page the links to the counted receipts and the page on checking."""
    tenant, campaign = public_campaign_or_404(slug, campaign_id)  # a deactivated tenant: 404
    result, form = None, CodeForm()
    if form.is_submitted():
        result = ballots.check_receipt(campaign, form.code.data or "") or "unknown"
    # a counted receipt of a sealed campaign comes with the seal's digest (a hash: it names nothing);
    # the list of counted receipts and the page on checking only where the 公示 page is shown too
    return render_template("ballot/receipt_check.html", campaign=campaign, tenant=tenant, result=result,
                           code=form.code.data or "", min_batch=mixer.batch_size(),
                           named=publication.may_name(campaign, current_user),
                           listed=publication.mode(campaign, current_user) is not None)


@bp.route("/stored")
def stored():
    """What is kept about an evaluator, generated from the models (linked from every ballot page)."""
    k = mixer.batch_size()
    return render_template("ballot/stored.html", records=statement.records(k), k=k, link_limit=_said(LINK_LIMIT()),
                           page_limit=_said(PAGE_LIMIT()), redacted=(logsafe.TOKEN, logsafe.CODE))


def _said(limits: str) -> str:
    """A Flask-Limiter limit as people say it: "每分钟 30 次、每小时 300 次"."""
    per = {"second": _("秒"), "minute": _("分钟"), "hour": _("小时"), "day": _("天")}
    return _("、").join(_("每%(per)s %(n)d 次", per=(f"{i.multiples} " if i.multiples > 1 else "") + per[i.GRANULARITY.name],
                          n=i.amount) for i in parse_many(limits))
