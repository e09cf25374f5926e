"""Platform pages for superusers: tenants (create, rename, move, deactivate)."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import Tenant
from pingyi.org import accounts
from pingyi.web.actions import attempt, submitted
from pingyi.web.forms import TenantEditForm, TenantForm

bp = Blueprint("platform", __name__, url_prefix="/platform")


def superuser_only(view):
    @wraps(view)
    @login_required
    def inner(*args, **kwargs):
        if not current_user.is_superuser:
            abort(404)
        return view(*args, **kwargs)
    return inner


@bp.route("/tenants", methods=["GET", "POST"])
@superuser_only
def tenants():
    form = TenantForm()
    password = None
    if form.validate_on_submit():
        def create():
            tenant = accounts.create_tenant(form.slug.data, form.name.data, form.parent.data or None)
            admin = accounts.grant_by_email(tenant, form.admin_email.data, "admin") if form.admin_email.data else None
            return tenant, admin[1] if admin else None

        done = attempt(create)
        if done.ok:
            tenant, password = done.value
            flash(_("已创建租户“%(name)s”", name=tenant.name), "success")
    rows = db.session.execute(select(Tenant).order_by(Tenant.slug)).scalars().all()
    return render_template("platform/tenants.html", form=form, rows=rows, password=password)


@bp.route("/tenants/<int:tenant_id>", methods=["POST"])
@superuser_only
def tenant_update(tenant_id: int):
    tenant = db.session.get(Tenant, tenant_id) or abort(404)
    form = TenantEditForm()

    def save() -> None:
        if form.name.data:
            accounts.rename_tenant(tenant, form.name.data)
        if form.active.data:
            accounts.set_tenant_active(tenant, form.active.data == "1")

    if submitted(form) and attempt(save).ok:
        flash(_("已保存"), "success")
    return redirect(url_for(".tenants"))
