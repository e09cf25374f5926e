"""Platform pages for superusers: tenants (create, rename, move, deactivate)."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import Tenant
from pingyi.org import accounts
from pingyi.security import random_password
from pingyi.web.forms import TenantForm

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
        try:
            tenant = accounts.create_tenant(form.slug.data, form.name.data, form.parent.data or None)
            if form.admin_email.data:
                user = accounts.user_by_email(form.admin_email.data)
                if user is None:
                    password = random_password()
                    user = accounts.create_user(form.admin_email.data, password)
                accounts.grant(tenant, user, "admin")
            db.session.commit()
            flash(_("已创建租户“%(name)s”", name=tenant.name), "success")
        except DomainError as exc:
            db.session.rollback()
            password = None
            flash(exc.message, "error")
    rows = db.session.execute(select(Tenant).order_by(Tenant.slug)).scalars().all()
    return render_template("platform/tenants.html", form=form, rows=rows, password=password)


@bp.route("/tenants/<int:tenant_id>", methods=["POST"])
@superuser_only
def tenant_update(tenant_id: int):
    tenant = db.session.get(Tenant, tenant_id) or abort(404)
    try:
        if "name" in request.form:
            accounts.rename_tenant(tenant, request.form["name"])
        if "active" in request.form:
            accounts.set_tenant_active(tenant, request.form["active"] == "1")
        db.session.commit()
        flash(_("已保存"), "success")
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for(".tenants"))
