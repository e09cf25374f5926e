"""The public feedback box (信息收集箱) of a tenant: ``/f/<slug>``, no account.

Anyone leaves an opinion for one of the tenant's units (and, if they like, a campaign); the page
also shows the published answers to entries tied to no campaign (those tied to one are answered
on that campaign's 公示 page). What is stored is ``pingyi.feedback.box``'s decision: nothing that
identifies the writer. Posts are rate limited per client address (``FEEDBACK_LIMIT``, keyed by its hash) and carry
Flask-WTF's CSRF token (a session cookie holds it; the entry never does). A deactivated or
unknown tenant is 404.
"""

from __future__ import annotations

import hashlib
import hmac
import math

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField

from pingyi.errors import DomainError
from pingyi.extensions import csrf, db, limiter
from pingyi.feedback import box
from pingyi.i18n import _
from pingyi.i18n import lazy_gettext as _l
from pingyi.org.accounts import tenant_by_slug
from pingyi.tenancy import set_tenant
from pingyi.web.paging import paginate_list
from pingyi.web.throttle import seconds_until_reset, setting

bp = Blueprint("feedback", __name__)
LIMIT = setting("FEEDBACK_LIMIT")
PAGE = 20


class FeedbackForm(FlaskForm):
    """Only for its CSRF token: the values are checked by ``feedback.box.submit``."""

    unit_id = StringField(_l("单位"))
    campaign_id = StringField(_l("评议活动"))
    text = TextAreaField(_l("意见建议"))


def address_key() -> str:
    """The limiter's key: the client's address keyed-hashed, so the limits' storage holds no
    address that could be set beside the day's entries."""
    secret = current_app.secret_key
    secret = secret.encode() if isinstance(secret, str) else bytes(secret or b"")
    return "feedback:" + hmac.new(secret, (request.remote_addr or "").encode(), hashlib.sha256).hexdigest()[:32]


@bp.after_request
def _private(response):
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _refused(limit):
    """The 429: a page that says how long to wait (nothing was stored)."""
    wait = seconds_until_reset(limit)
    page = render_template("feedback/refused.html", minutes=max(1, math.ceil(wait / 60)))
    return current_app.response_class(page, status=429, headers={"Retry-After": str(wait)})


@bp.route("/f/<slug>", methods=["GET", "POST"])
@csrf.exempt  # not from CSRF: the form checks its token itself, so a stale one keeps what was typed
@limiter.limit(LIMIT, methods=["POST"], key_func=address_key, on_breach=_refused)
def box_page(slug: str):
    """The form, and the answered entries without a campaign under 已答复."""
    tenant = tenant_by_slug(slug)  # active tenants only: a deactivated one is 404
    if tenant is None:
        abort(404)
    set_tenant(tenant.id)
    form, error, status = FeedbackForm(), None, 200
    if form.is_submitted():
        if not form.validate():
            error, status = _("页面已过期，请刷新页面后重新提交（您填写的内容仍在下方）"), 400
        else:
            try:
                box.submit(form.unit_id.data, form.text.data, form.campaign_id.data)
                db.session.commit()
                return redirect(url_for(".box_page", slug=slug, sent=1))
            except DomainError as exc:
                db.session.rollback()
                error, status = exc.message, 400
    answered = paginate_list(box.published_without_campaign(), PAGE)
    return render_template("feedback/box.html", tenant=tenant, form=form, error=error, units=box.unit_choices(),
                           campaigns=box.campaign_choices(), answered=answered, max_text=box.MAX_TEXT,
                           sent=request.args.get("sent") == "1" and not form.is_submitted()), status
