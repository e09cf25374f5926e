"""Request-side tenancy: resolve ``/t/<slug>/`` and the login into a tenant and a role.

Blueprints with a ``<slug>`` prefix call ``bind_tenant_from_url`` from their
``url_value_preprocessor``. Not being a member answers 404 (not 403), so a foreign tenant's
slug or ids reveal nothing. Role and unit-subtree checks live here too, one rule per object for
pages and API alike: a unit admin reads and writes inside their subtree only (``in_subtree``,
the ``…_or_404`` resolvers, ``within`` for every figure a page or the API shows), never their
root's place in the tree (``check_unit_write``), and sees only the jobs they started
(``job_or_404``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from flask import abort, g, request
from flask_login import current_user
from sqlalchemy import select

from pingyi import jobs
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import (
    Campaign,
    EvaluatorCategory,
    Form,
    FormItem,
    FormSection,
    Job,
    JobFile,
    Membership,
    Person,
    Scale,
    Subject,
    Tenant,
    Unit,
)
from pingyi.org.accounts import tenant_by_slug
from pingyi.org.orgtree import subtree_filter
from pingyi.tenancy import get_scoped, set_tenant, tenant_context

ROLE_RANK = {"viewer": 0, "unit_admin": 1, "admin": 2}


@dataclass
class Access:
    tenant: Tenant
    role: str  # admin | unit_admin | viewer
    unit_path: str | None = None  # unit_admin's subtree
    via_oversight: bool = False

    @property
    def can_write(self) -> bool:
        return self.role in ("admin", "unit_admin") and not self.via_oversight

    @property
    def is_admin(self) -> bool:
        return self.role == "admin" and not self.via_oversight


def _membership(user, tenant: Tenant) -> Membership | None:
    with tenant_context(tenant.id):
        return db.session.execute(select(Membership).where(Membership.user_id == user.id)).scalar_one_or_none()


def resolve_access(user, tenant: Tenant) -> Access | None:
    """What ``user`` may do in ``tenant``: membership, platform superuser, or nothing."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    m = _membership(user, tenant)
    if m is not None:
        unit_path = None
        if m.role == "unit_admin":
            with tenant_context(tenant.id):
                unit = db.session.get(Unit, m.unit_id) if m.unit_id else None
            if unit is None:
                return None
            unit_path = unit.path
        return Access(tenant, m.role, unit_path)
    if user.is_superuser:
        return Access(tenant, "admin")
    return None


def bind_tenant_from_url(values: dict | None) -> None:
    """Pop ``slug`` from the URL values, check the login's access, scope the session."""
    slug = (values or {}).pop("slug", None)
    tenant = tenant_by_slug(slug) if slug else None
    if tenant is None:
        abort(404)
    access = resolve_access(current_user, tenant)
    if access is None:
        abort(404)
    g.tenant, g.access = tenant, access
    set_tenant(tenant.id)
    for key, value in (values or {}).items():
        resolver = _ID_RESOLVERS.get(key)
        if resolver is not None:
            resolver(value)  # a foreign or unknown id is 404 before any role check


def bind_for_page(endpoint: str | None, values: dict | None) -> None:
    """``url_value_preprocessor`` for page blueprints: log in first, then bind the tenant."""
    from flask_login import current_user

    from pingyi.extensions import login_manager

    if not current_user.is_authenticated:
        abort(login_manager.unauthorized())
    bind_tenant_from_url(values)


def inject_slug(endpoint: str, values: dict) -> None:
    if "slug" not in values and getattr(g, "tenant", None) is not None:
        values["slug"] = g.tenant.slug


def require_role(minimum: str):
    """Decorator: the bound access must rank at least ``minimum``; writes need a write role."""
    def wrap(view):
        @wraps(view)
        def inner(*args, **kwargs):
            access: Access = g.access
            if ROLE_RANK[access.role] < ROLE_RANK[minimum] or access.via_oversight:
                abort(403)
            return view(*args, **kwargs)
        return inner
    return wrap


def writes_need(minimum: str = "unit_admin"):
    """Decorator for views that read on GET and write on POST/PUT/PATCH/DELETE."""
    def wrap(view):
        @wraps(view)
        def inner(*args, **kwargs):
            access: Access = g.access
            if request.method not in ("GET", "HEAD") and (
                ROLE_RANK[access.role] < ROLE_RANK[minimum] or not access.can_write
            ):
                abort(403)
            return view(*args, **kwargs)
        return inner
    return wrap


def within() -> str | None:
    """The subtree every listing and figure is restricted to: a unit admin's, else None (the
    whole tenant). Pages and the API pass it to the domain's ``within`` parameters."""
    return g.access.unit_path


def in_subtree(unit: Unit | None) -> bool:
    """The read rule for a unit (and what hangs on it: people, subjects, links): the access
    sees it, a unit admin only inside their subtree."""
    path = g.access.unit_path
    return unit is not None and (not path or unit.path.startswith(path))


def subtree_unit_ids() -> set[int] | None:
    """The ids of the units a unit admin sees (their subtree), or None: every unit."""
    path = g.access.unit_path
    if not path:
        return None
    return set(db.session.execute(select(Unit.id).where(subtree_filter(path))).scalars())


class NotPermitted(DomainError):
    """A write the role may not make (the API answers 403, a page flashes it); nothing changed."""

    status = 403


def is_own_root(unit: Unit) -> bool:
    """Is ``unit`` the root of the unit admin's subtree (whose place in the tree is not theirs)?"""
    return bool(g.access.unit_path) and unit.path == g.access.unit_path


def unit_write_refusal(unit: Unit | None, parent: Unit | None | bool = False, *,
                       delete: bool = False) -> NotPermitted | None:
    """The write rule for the tree, the same for pages and the API: why the current access may
    not create a unit under ``parent`` (``unit`` None), move ``unit`` under ``parent`` (None: to
    the top; False: leave it where it is) or delete it — or None when it may. A unit admin
    changes units inside their subtree only and never their root's place in the tree: no unit
    at the top, nothing moved out of the subtree, their root neither moved nor deleted (renaming,
    re-kinding and re-sorting it are theirs)."""
    access: Access = g.access
    if not access.can_write:
        return NotPermitted(_("没有修改组织架构的权限"))
    if not access.unit_path:
        return None
    if unit is not None and not in_subtree(unit):
        return NotPermitted(_("只能修改所管单位及其下级单位"))
    if delete:
        return NotPermitted(_("单位管理员不能删除所管单位本身")) if is_own_root(unit) else None
    if parent is False or (unit is not None and parent is not None and parent.id == unit.parent_id):
        return None
    if unit is not None and is_own_root(unit):
        return NotPermitted(_("单位管理员不能移动所管单位本身"), "parent_id")
    if parent is None or not in_subtree(parent):
        return NotPermitted(_("单位管理员只能在所管单位之下添加或移动单位"), "parent_id")
    return None


def check_unit_write(unit: Unit | None, parent: Unit | None | bool = False, *, delete: bool = False) -> None:
    """``unit_write_refusal``, raised: call it before the write (inside ``attempt`` on pages)."""
    refusal = unit_write_refusal(unit, parent, delete=delete)
    if refusal is not None:
        raise refusal


def visible_units():
    """Select of the units the current access may see (a unit admin: their subtree)."""
    q = select(Unit)
    if g.access.unit_path:
        q = q.where(subtree_filter(g.access.unit_path))
    return q


def unit_or_404(unit_id) -> Unit:
    unit = get_scoped(Unit, unit_id)
    if not in_subtree(unit):
        abort(404)
    return unit


def person_or_404(person_id) -> Person:
    person = get_scoped(Person, person_id)
    if person is None:
        abort(404)
    unit_or_404(person.unit_id)
    return person


def subject_or_404(subject_id, campaign: Campaign | None = None) -> Subject:
    """A subject of the current tenant (of ``campaign`` when given) in the access's subtree."""
    s = get_scoped(Subject, subject_id)
    if s is None or (campaign is not None and s.campaign_id != campaign.id):
        abort(404)
    unit_or_404(s.unit_id)  # a unit admin sees only subjects in their subtree
    return s


def scoped_or_404(model, ident):
    """A tenant-owned row of the current tenant by id, or 404."""
    obj = get_scoped(model, ident)
    if obj is None:
        abort(404)
    return obj


def posted_or_refuse(model, ident, message: str, field: str, campaign: Campaign | None = None):
    """A row named by id in a posted form or JSON body, in the current tenant (of ``campaign``
    when given; a unit in the access's subtree), else a ``DomainError`` saying ``message``
    about ``field``: a bad choice in a form is a refused input, not a missing page."""
    obj = get_scoped(model, ident)
    if (obj is None or (campaign is not None and obj.campaign_id != campaign.id)
            or (model is Unit and not in_subtree(obj))):
        raise DomainError(message, field)
    return obj


def membership_or_404(membership_id) -> Membership:
    return scoped_or_404(Membership, membership_id)


def form_or_404(form_id) -> Form:
    return scoped_or_404(Form, form_id)


def campaign_or_404(campaign_id) -> Campaign:
    return scoped_or_404(Campaign, campaign_id)


def job_or_404(job_id) -> Job:
    """A job of the current tenant; for a unit admin only one they started (else 403): a
    recount, a report or a link issue holds the whole campaign's figures, and unit admins start
    none of these."""
    job = scoped_or_404(Job, job_id)
    if g.access.unit_path and job.created_by != current_user.id:
        abort(403)
    return job


def job_file_or_404(file_id) -> JobFile:
    f = scoped_or_404(JobFile, file_id)
    job_or_404(f.job_id)
    return f


def downloadable_file(job: Job, file_id) -> JobFile:
    """A file ``job`` produced that the caller may download (the page and the API): never the
    job's input; link lists are secrets (admins only), and a report holds the whole campaign
    (not a unit admin's subtree)."""
    f = job_file_or_404(file_id)
    if f.job_id != job.id or f.mime == jobs.INPUT:
        abort(404)
    if (f.once or job.kind == "report" and g.access.unit_path) and not g.access.is_admin:
        abort(403)
    return f


def public_campaign_or_404(slug: str, campaign_id: int) -> tuple[Tenant, Campaign]:
    """Pages without a login (``/p/<slug>/<id>…``): the tenant by its slug, the session scoped to
    it, and its campaign; an unknown slug or a foreign or draft campaign is 404."""
    tenant = tenant_by_slug(slug)
    if tenant is None:
        abort(404)
    set_tenant(tenant.id)
    campaign = get_scoped(Campaign, campaign_id)
    if campaign is None or campaign.state == "draft":
        abort(404)
    return tenant, campaign


_ID_RESOLVERS = {
    "unit_id": unit_or_404, "person_id": person_or_404, "membership_id": membership_or_404,
    "form_id": form_or_404, "campaign_id": campaign_or_404,
    "subject_id": subject_or_404, "section_id": lambda i: scoped_or_404(FormSection, i),
    "item_id": lambda i: scoped_or_404(FormItem, i), "scale_id": lambda i: scoped_or_404(Scale, i),
    "category_id": lambda i: scoped_or_404(EvaluatorCategory, i),
    "job_id": job_or_404, "file_id": job_file_or_404,
}
