"""Oversight pages for a parent tenant (e.g. a county committee) over its subordinate tenants."""

from __future__ import annotations

from flask import Blueprint, g, render_template

from .. import orgtree, rollup
from ..access import bind_for_page, inject_slug
from ..extensions import db
from ..models import Tenant
from ..tally import percent
from ..tenancy import tenant_context

bp = Blueprint("oversight", __name__, url_prefix="/t/<slug>/oversight")


bp.url_value_preprocessor(bind_for_page)
bp.url_defaults(inject_slug)


def subordinates(tenant: Tenant) -> list[Tenant]:
    """Active tenants below ``tenant``, depth first (a county sees bureaus and their schools)."""
    out, stack = [], list(reversed(tenant.children))
    while stack:
        t = stack.pop()
        if t.is_active:
            out.append(t)
            stack.extend(reversed(t.children))
    return out


@bp.route("/")
def index():
    rows = []
    subs = subordinates(g.tenant)
    for sub in subs:
        # Aggregate figures only; the child's rows are read in its own scope, one tenant at a time.
        with tenant_context(sub.id):
            kinds = orgtree.kind_counts()
            people, members = orgtree.people_counts()
        rows.append({"tenant": sub, "kinds": kinds, "people": people, "members": members})
    published = rollup.published_totals(subs)
    db.session.rollback()
    return render_template("oversight/index.html", rows=rows, published=published, pct=percent)
