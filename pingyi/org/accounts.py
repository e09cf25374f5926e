"""Tenants, users, memberships and API keys: plain functions over a session."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from sqlalchemy import delete, func, select

from pingyi import security
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import ROLES, ApiKey, LoginSession, Membership, Tenant, Unit, User, utcnow
from pingyi.tenancy import tenant_context, unscoped

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,39}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8


def tenant_by_slug(slug: str, active_only: bool = True) -> Tenant | None:
    q = select(Tenant).where(Tenant.slug == slug)
    if active_only:
        q = q.where(Tenant.is_active.is_(True))
    return db.session.execute(q).scalar_one_or_none()


def create_tenant(slug: str, name: str, parent_slug: str | None = None) -> Tenant:
    slug = (slug or "").strip().lower()
    name = (name or "").strip()
    if not SLUG_RE.match(slug):
        raise DomainError(_("标识只能用小写字母、数字和连字符，以字母开头，2–40 个字符"), "slug")
    if not name:
        raise DomainError(_("名称不能为空"), "name")
    if tenant_by_slug(slug, active_only=False):
        raise DomainError(_("标识“%(slug)s”已被占用", slug=slug), "slug")
    parent = None
    if parent_slug:
        parent = tenant_by_slug(parent_slug, active_only=False)
        if parent is None:
            raise DomainError(_("找不到上级租户“%(slug)s”", slug=parent_slug), "parent")
    tenant = Tenant(slug=slug, name=name, parent=parent)
    db.session.add(tenant)
    db.session.flush()
    return tenant


def rename_tenant(tenant: Tenant, name: str) -> None:
    name = (name or "").strip()
    if not name:
        raise DomainError(_("名称不能为空"), "name")
    tenant.name = name


def set_tenant_active(tenant: Tenant, active: bool) -> None:
    tenant.is_active = active


def set_tenant_parent(tenant: Tenant, parent: Tenant | None) -> None:
    node = parent
    while node is not None:
        if node.id == tenant.id:
            raise DomainError(_("上级租户不能是自己或自己的下级"), "parent")
        node = node.parent
    tenant.parent = parent


def user_by_email(email: str) -> User | None:
    email = (email or "").strip().lower()
    return db.session.execute(select(User).where(func.lower(User.email) == email)).scalar_one_or_none()


def check_password_strength(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise DomainError(_("密码至少 %(n)d 个字符", n=MIN_PASSWORD), "password")


def create_user(email: str, password: str, name: str = "", superuser: bool = False) -> User:
    email = (email or "").strip().lower()
    if not EMAIL_RE.match(email):
        raise DomainError(_("邮箱格式不正确"), "email")
    if user_by_email(email):
        raise DomainError(_("邮箱“%(email)s”已注册", email=email), "email")
    check_password_strength(password)
    user = User(email=email, name=name or email.split("@")[0], is_superuser=superuser,
                password_hash=security.hash_password(password))
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(email: str, password: str) -> User | None:
    user = user_by_email(email)
    if user is None or not user.is_active:
        security.hash_password(password or "x")  # same cost either way: no user enumeration by timing
        return None
    return user if security.verify_password(user.password_hash, password or "") else None


def start_session(user: User, lifetime: timedelta) -> str:
    """A new login: its random id goes into the session cookie, only its hash is kept (and the
    user's sessions older than ``lifetime`` are dropped)."""
    token = secrets.token_urlsafe(32)
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id,
                                                  LoginSession.created_at < utcnow() - lifetime))
    db.session.add(LoginSession(user_id=user.id, token_hash=security.hash_secret(token)))
    return token


def session_alive(user_id: int, token: str | None, lifetime: timedelta) -> bool:
    """Whether ``token`` is a session of ``user_id`` that has neither ended nor outlived ``lifetime``."""
    if not token:
        return False
    row = db.session.execute(select(LoginSession.user_id, LoginSession.created_at)
                             .where(LoginSession.token_hash == security.hash_secret(token))).one_or_none()
    return row is not None and row.user_id == user_id and row.created_at >= utcnow() - lifetime


def end_sessions(user_id: int, token: str | None = None, *, except_token: str | None = None) -> None:
    """Logout (``token``: that session) or a password change (every session but ``except_token``)."""
    q = delete(LoginSession).where(LoginSession.user_id == user_id)
    if token is not None:
        q = q.where(LoginSession.token_hash == security.hash_secret(token))
    if except_token is not None:
        q = q.where(LoginSession.token_hash != security.hash_secret(except_token))
    db.session.execute(q)


def change_password(user: User, old: str, new: str) -> None:
    if not security.verify_password(user.password_hash, old or ""):
        raise DomainError(_("原密码不正确"), "old_password")
    check_password_strength(new)
    set_password(user, new)


def set_password(user: User, new: str) -> None:
    user.password_hash = security.hash_password(new)


def grant(tenant: Tenant, user: User, role: str, unit: Unit | None = None) -> Membership:
    """Give ``user`` a role in ``tenant`` (replacing any earlier one)."""
    if role not in ROLES:
        raise DomainError(_("未知角色“%(role)s”", role=role), "role")
    if role == "unit_admin" and unit is None:
        raise DomainError(_("单位管理员必须指定所管单位"), "unit")
    with tenant_context(tenant.id):
        m = db.session.execute(select(Membership).where(Membership.user_id == user.id)).scalar_one_or_none()
        if m is None:
            m = Membership(tenant_id=tenant.id, user_id=user.id, role=role)
            db.session.add(m)
        m.role = role
        m.unit_id = unit.id if (unit is not None and role == "unit_admin") else None
        db.session.flush()
    return m


def grant_by_email(tenant: Tenant, email: str, role: str, unit: Unit | None = None) -> tuple[User, str | None]:
    """Grant a role to the account with this e-mail, creating the account with a one-time
    password when there is none; returns the user and that password (to be shown once)."""
    user, password = user_by_email(email), None
    if user is None:
        password = security.random_password()
        user = create_user(email, password)
    grant(tenant, user, role, unit)
    return user, password


def memberships_of(user: User) -> list[tuple[Membership, Tenant]]:
    """Every tenant the user belongs to: the login's tenant picker reads across tenants."""
    with unscoped():
        rows = db.session.execute(
            select(Membership, Tenant).join(Tenant, Tenant.id == Membership.tenant_id)
            .where(Membership.user_id == user.id, Tenant.is_active.is_(True)).order_by(Tenant.name)
        ).all()
    return [(m, t) for m, t in rows]


def create_api_key(user: User, name: str) -> tuple[ApiKey, str]:
    name = (name or "").strip()
    if not name:
        raise DomainError(_("请给密钥起个名字"), "name")
    full, prefix, digest = security.new_api_key()
    key = ApiKey(user_id=user.id, name=name[:100], prefix=prefix, key_hash=digest)
    db.session.add(key)
    db.session.flush()
    return key, full


def user_for_api_key(full_key: str) -> User | None:
    parts = security.split_api_key(full_key or "")
    if parts is None:
        return None
    prefix, secret = parts
    key = db.session.execute(select(ApiKey).where(ApiKey.prefix == prefix)).scalar_one_or_none()
    if key is None or key.revoked_at is not None or not security.same(key.key_hash, security.hash_secret(secret)):
        return None
    if not key.user.is_active:
        return None
    return key.user


def revoke_api_key(user: User, key_id: int) -> None:
    key = db.session.get(ApiKey, key_id)
    if key is None or key.user_id != user.id:
        raise DomainError(_("找不到该密钥"))
    key.revoked_at = key.revoked_at or utcnow()
