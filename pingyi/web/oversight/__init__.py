"""Oversight pages for a parent tenant (e.g. a county committee) over its subordinate tenants.

What they show comes from ``pingyi.oversight`` (aggregates only, each subordinate read in its
own scope) and, for a published campaign, its unit roll-ups. Ballots and comments of a
subordinate are read here in one form only: a published, sealed campaign's anonymised export
(``verification.export``: small groups merged, no receipt, no time; opinions only where the
subordinate published them), which the committee may always download; its publication page
(``/p/…``) shows the rest when the subordinate chose a scope that allows.

Only admins and viewers of the oversight tenant use these pages (a unit admin is confined to a
unit of their own tenant); starting a report job needs the admin role.
"""

from __future__ import annotations

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from flask_login import current_user

from pingyi.extensions import db
from pingyi.models import Campaign, Tenant, utcnow
from pingyi.oversight import subordinates
from pingyi.rectification import overdue
from pingyi.reports import registry as reports
from pingyi.results import dashboard as rs
from pingyi.results import publication
from pingyi.tenancy import get_scoped, tenant_context
from pingyi.verification import export
from pingyi.web.access import bind_for_page, inject_slug, require_role
from pingyi.web.actions import attempt, submitted
from pingyi.web.forms import ReportForm
from pingyi.web.public import streamed_file

bp = Blueprint("oversight", __name__, url_prefix="/t/<slug>/oversight")

# URL values naming a subordinate's rows: resolved here in that tenant's own scope, not by
# access's id resolvers (which read the current — oversight — tenant).
_SUBORDINATE_VALUES = ("sub", "campaign_id")
OVERSIGHT_ROLES = ("admin", "viewer")


def _bind(endpoint: str | None, values: dict | None) -> None:
    """Log in, bind the oversight tenant, then resolve ``sub`` and ``campaign_id``: a tenant
    that is not a subordinate, or a campaign of it that is unknown or unpublished, is 404 —
    before any role check, like every foreign id."""
    held = {k: values.pop(k) for k in _SUBORDINATE_VALUES if values and k in values}
    bind_for_page(endpoint, values)
    if "sub" in held:
        g.sub = _subordinate_or_404(held["sub"])
        if "campaign_id" in held:
            g.sub_campaign = _published_or_404(g.sub, held["campaign_id"])
    if values is not None:
        values.update(held)


bp.url_value_preprocessor(_bind)
bp.url_defaults(inject_slug)


@bp.before_request
def _oversight_role() -> None:
    if g.access.role not in OVERSIGHT_ROLES:
        abort(403)


def home_url() -> str | None:
    """An oversight tenant's home is its subordinates' overview, for those who may read it
    (admins and viewers; its own tree is often empty, so its usual home shows zeros); ``None``
    for any other tenant or role, whose home stays as it is."""
    if g.access.role in OVERSIGHT_ROLES and subordinates.subordinates(g.tenant):
        return url_for("oversight.index")
    return None


def _subordinate_or_404(slug: str) -> Tenant:
    return subordinates.subordinate(g.tenant, slug) or abort(404)


def _published_or_404(sub: Tenant, campaign_id) -> subordinates.SubCampaign:
    return subordinates.published_campaign(sub, campaign_id) or abort(404)


@bp.route("/")
def index():
    subs = subordinates.subordinates(g.tenant)
    rows = subordinates.counts(subs)
    campaigns = subordinates.sub_campaigns(subs)
    db.session.rollback()
    return render_template("oversight/index.html", rows=rows, campaigns=campaigns,
                           any_published=any(c.published for c in campaigns))


@bp.route("/<sub>/campaigns/<int:campaign_id>")
def campaign(sub: str, campaign_id: int):
    """A subordinate's published campaign through its unit tree: figures only."""
    tenant, info = g.sub, g.sub_campaign
    depth = None if request.args.get("depth") == "all" else 1
    with tenant_context(tenant.id):
        units = rs.unit_rows(info.id, depth)
        c = get_scoped(Campaign, info.id)
        # the publication page only where the subordinate published to oversight (or everyone)
        show_link = info.publication_scope in ("public", "oversight") and publication.visible(c, current_user)
        ledger = overdue.counts_by_subtree(info.id, utcnow())  # counts only, as for every figure here
        export_ready = export.available(c)
    return render_template("oversight/campaign.html", sub=tenant, c=info, units=units, all_units=depth is None,
                           show_link=show_link, ledger=ledger, export_ready=export_ready)


@bp.route("/<sub>/campaigns/<int:campaign_id>/ballots.csv")
def campaign_export(sub: str, campaign_id: int):
    """A subordinate's published, sealed campaign's anonymised ballots (its publication and the
    subordinate were checked when the URL was bound), read and streamed in the subordinate's own
    scope; opinions only where the subordinate published them. 404 until it can be exported."""
    tenant = g.sub
    with tenant_context(tenant.id):
        c = get_scoped(Campaign, g.sub_campaign.id)
        if c is None or not export.available(c):
            abort(404)
        opinions, name = export.opinions_allowed(c), export.filename(c)
    return streamed_file(tenant.id, c.id, lambda sealed: export.lines(sealed, opinions=opinions), name, "text/csv",
                         replica=False)


def _submit(source: dict | None, back: str):
    """Queue the cross-tenant roll-up (a job of the oversight tenant) and show its job page."""
    form = ReportForm()
    if submitted(form):
        done = attempt(lambda: reports.submit(None, "rollup", form.format.data, current_user.id, source=source))
        if done.ok:
            return redirect(url_for("admin.job", job_id=done.value.id))
    return redirect(back)


@bp.route("/reports", methods=["POST"])
@require_role("admin")
def report():
    """汇总报告 of every subordinate's published campaigns."""
    return _submit(None, url_for(".index"))


@bp.route("/<sub>/campaigns/<int:campaign_id>/reports", methods=["POST"])
@require_role("admin")
def campaign_report(sub: str, campaign_id: int):
    """汇总报告 of one subordinate campaign (its publication was checked when the URL was bound)."""
    return _submit({"tenant_id": g.sub.id, "campaign_id": g.sub_campaign.id},
                   url_for(".campaign", sub=sub, campaign_id=campaign_id))


from . import seasons  # noqa: E402,F401  (年度评议: routes on this blueprint)
