"""Login, logout, the tenant picker, password change and API keys."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from pingyi.audit import set_actor
from pingyi.errors import DomainError
from pingyi.extensions import db, limiter, login_manager
from pingyi.i18n import _
from pingyi.models import ApiKey, User
from pingyi.org import accounts
from pingyi.security import parse_session_id, session_id_for
from pingyi.web.forms import ApiKeyForm, LoginForm, PasswordForm
from pingyi.web.throttle import (
    account_key,
    known_browser,
    login_failed,
    login_refused,
    remember_browser,
    setting,
)

bp = Blueprint("auth", __name__)


SESSION_KEY = "sid"  # the login's random id (pingyi.org.accounts.start_session)


def _lifetime() -> timedelta:
    return timedelta(seconds=current_app.config["PERMANENT_SESSION_LIFETIME"])


def _log_in(user: User) -> None:
    session[SESSION_KEY] = accounts.start_session(user, _lifetime())
    db.session.commit()
    login_user(user)


def install_login(app) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(value: str):
        parsed = parse_session_id(value)
        if parsed is None:
            return None
        user = db.session.get(User, parsed[0])
        if user is None or not user.is_active or session_id_for(user) != value:
            return None  # password changed since this session began, or account disabled
        if not accounts.session_alive(user.id, session.get(SESSION_KEY), _lifetime()):
            return None  # logged out (a copy of the cookie outlives the browser's), or too old
        return user

    @login_manager.request_loader
    def load_from_bearer(req):
        header = req.headers.get("Authorization", "")
        if req.path.startswith("/api/") and header.startswith("Bearer "):
            g.api_auth = True
            return accounts.user_for_api_key(header[7:].strip())
        return None

    @app.before_request
    def mark_actor():
        if current_user.is_authenticated:
            set_actor(current_user.id, current_user.email)

    @login_manager.unauthorized_handler
    def unauthorized():
        if request.path.startswith("/api/"):
            from flask import jsonify

            return jsonify(error="authentication required", status=401), 401
        return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))


def safe_next(target: str | None) -> str | None:
    """``next`` only when it is a path on this site: browsers drop tabs and newlines and read a
    backslash as a slash, so ``/%09/evil.example`` would leave as ``//evil.example``."""
    if not target or any(ord(ch) < 32 or ch in "\\\x7f" for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(setting("LOGIN_FAILURE_LIMIT_ADDRESS"), methods=["POST"], deduct_when=login_failed,
               on_breach=login_refused)
@limiter.limit(setting("LOGIN_FAILURE_LIMIT_ACCOUNT"), methods=["POST"], key_func=account_key,
               deduct_when=login_failed, exempt_when=known_browser, on_breach=login_refused)
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is None:
            g.login_failed = True
            flash(_("邮箱或密码不正确"), "error")
        else:
            _log_in(user)
            response = redirect(safe_next(request.args.get("next")) or url_for("auth.home"))
            return remember_browser(response, form.email.data)
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        accounts.end_sessions(current_user.id, session.get(SESSION_KEY) or "")
        db.session.commit()
    logout_user()
    session.clear()
    flash(_("已退出登录"), "info")
    return redirect(url_for("auth.login"))


@bp.route("/")
@login_required
def home():
    """The tenant picker; a single membership goes straight to its tenant."""
    rows = accounts.memberships_of(current_user)
    if len(rows) == 1 and not current_user.is_superuser:
        return redirect(url_for("admin.home", slug=rows[0][1].slug))
    return render_template("auth/home.html", rows=rows)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(current_user, form.old_password.data, form.new_password.data)
        except DomainError as exc:
            form.old_password.errors.append(exc.message) if exc.field == "old_password" else \
                form.new_password.errors.append(exc.message)
        else:
            accounts.end_sessions(current_user.id, except_token=session.get(SESSION_KEY) or "")
            db.session.commit()
            login_user(current_user)  # refresh this session's fingerprint; others end
            flash(_("密码已修改，其他设备上的登录已失效"), "success")
            return redirect(url_for("auth.home"))
    return render_template("auth/password.html", form=form)


@bp.route("/account/keys", methods=["GET", "POST"])
@login_required
def api_keys():
    form = ApiKeyForm()
    new_key = None
    if form.validate_on_submit():
        try:
            _key, new_key = accounts.create_api_key(current_user, form.name.data)
            db.session.commit()
        except DomainError as exc:
            form.name.errors.append(exc.message)
    keys = db.session.execute(
        select(ApiKey).where(ApiKey.user_id == current_user.id).order_by(ApiKey.created_at.desc())
    ).scalars().all()
    return render_template("auth/keys.html", form=form, keys=keys, new_key=new_key)


@bp.route("/account/keys/<int:key_id>/revoke", methods=["POST"])
@login_required
def revoke_key(key_id: int):
    try:
        accounts.revoke_api_key(current_user, key_id)
    except DomainError:
        from flask import abort

        abort(404)
    db.session.commit()
    flash(_("密钥已作废"), "success")
    return redirect(url_for("auth.api_keys"))


@bp.app_context_processor
def _debug_flag():
    return {"app_env": current_app.config["ENV_NAME"]}
