"""Oversight pages for a parent tenant (e.g. a county committee) over its subordinate tenants.

A subordinate is read one tenant at a time in its own scope (``tenant_context``) and only in
aggregates: unit and people counts, links issued/used per campaign, the stored tally's totals and
unit roll-ups once a campaign is published. Ballots and comments of a subordinate are never read
here; its publication page (``/p/…``) shows them when the subordinate chose a scope that allows.

Only admins and viewers of the oversight tenant use these pages (a unit admin is confined to a
unit of their own tenant); starting a report job needs the admin role.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import case, func, select

from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.models import BallotToken, Campaign, TallyRun, Tenant
from pingyi.org import orgtree
from pingyi.reports import registry as reports
from pingyi.results import dashboard as rs
from pingyi.results import publication, rollup
from pingyi.results.tally import percent, stored_run
from pingyi.tenancy import get_scoped, tenant_context
from pingyi.web.access import bind_for_page, inject_slug, require_role

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


def _subordinate_or_404(slug: str) -> Tenant:
    sub = next((t for t in rollup.subordinates(g.tenant) if t.slug == slug), None)
    if sub is None:
        abort(404)
    return sub


@dataclass(frozen=True)
class SubCampaign:
    """A subordinate's campaign as oversight sees it: names, dates and aggregates only."""

    tenant_slug: str
    tenant_name: str
    id: int
    name: str
    state: str
    state_label: str
    timezone: str
    published_at: datetime | None
    publication_scope: str
    issued: int = 0
    used: int = 0
    figures: rollup.Figures | None = None  # the stored run's totals, once published

    @property
    def published(self) -> bool:
        return self.state in rollup.PUBLISHED

    @property
    def turnout(self) -> Fraction | None:
        return Fraction(self.used, self.issued) if self.issued else None


def _snapshot(sub: Tenant, c: Campaign, issued: int = 0, used: int = 0, run: TallyRun | None = None) -> SubCampaign:
    return SubCampaign(sub.slug, sub.name, c.id, c.name, c.state, c.state_label, c.timezone, c.published_at,
                       c.publication_scope, issued, used,
                       rollup.Figures.of(run) if run is not None and c.state in rollup.PUBLISHED else None)


def _published_or_404(sub: Tenant, campaign_id) -> SubCampaign:
    with tenant_context(sub.id):
        c = get_scoped(Campaign, campaign_id)
        if c is None or c.state not in rollup.PUBLISHED:
            abort(404)
        run = stored_run(c.id)
        return _snapshot(sub, c, run.issued if run else 0, run.used if run else 0, run)


def sub_campaigns(subs: list[Tenant]) -> list[SubCampaign]:
    """Each subordinate's campaigns past draft with live link counts (one GROUP BY per tenant)
    and, once published, the stored totals; each tenant read in its own scope."""
    out = []
    live = BallotToken.revoked_at.is_(None)
    for sub in subs:
        with tenant_context(sub.id):
            rows = db.session.execute(
                select(Campaign, TallyRun).outerjoin(TallyRun, TallyRun.campaign_id == Campaign.id)
                .where(Campaign.state != "draft").order_by(Campaign.id.desc())).all()
            if not rows:
                continue
            links = {cid: (issued, used) for cid, issued, used in db.session.execute(
                select(BallotToken.campaign_id, func.count(case((live, 1))), func.count(case((live, BallotToken.used_at))))
                .where(BallotToken.campaign_id.in_([c.id for c, _r in rows]))
                .group_by(BallotToken.campaign_id)).all()}
            out.extend(_snapshot(sub, c, *links.get(c.id, (0, 0)), run) for c, run in rows)
    return out


@bp.route("/")
def index():
    rows = []
    subs = rollup.subordinates(g.tenant)
    for sub in subs:
        # Aggregate figures only; the child's rows are read in its own scope, one tenant at a time.
        with tenant_context(sub.id):
            kinds = orgtree.kind_counts()
            people, members = orgtree.people_counts()
        rows.append({"tenant": sub, "kinds": kinds, "people": people, "members": members})
    campaigns = sub_campaigns(subs)
    db.session.rollback()
    return render_template("oversight/index.html", rows=rows, campaigns=campaigns,
                           any_published=any(c.published for c in campaigns), pct=percent)


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
    return render_template("oversight/campaign.html", sub=tenant, c=info, units=units, all_units=depth is None,
                           show_link=show_link, pct=percent)


def _submit(source: dict | None, back: str):
    """Queue the cross-tenant roll-up (a job of the oversight tenant) and show its job page."""
    try:
        job = reports.submit(None, "rollup", request.form.get("format", ""), current_user.id, source=source)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(back)
    return redirect(url_for("admin.job", job_id=job.id))


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
