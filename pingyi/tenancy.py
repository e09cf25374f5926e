"""Tenant scoping: the one place that decides which tenant's rows a session may see.

The current tenant lives in ``session.info``. A ``do_orm_execute`` hook adds
``with_loader_criteria`` for every ``TenantMixin`` class to every ORM statement (selects,
relationship loads, ORM updates and deletes), and a ``before_flush`` hook stamps or checks
``tenant_id`` on new rows. A tenant-owned query with no tenant set raises
``TenantScopeError`` rather than reading everything: scoping is by construction, not opt-in.

``Session.get`` can answer from the identity map without a query, where no hook runs: the
session class asks ``visible`` instead (``pingyi.extensions.Session``), so a row of tenant A
loaded earlier reads as ``None`` once the session is bound to tenant B.

Core/raw SQL (pandas, COPY, GROUP BY tallies) is not seen by these hooks; such code must go
through ``tenant_sql`` which refuses a statement without a ``:tenant_id`` bound parameter.

Uses the non-lambda form of ``with_loader_criteria`` (one criterion per class) because the
lambda form can cache the first tenant's id (sqlalchemy #5760).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache, lru_cache
from typing import Any, TypeVar

from sqlalchemy import Select, event, select, text
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from pingyi.models import TenantMixin

TENANT_KEY = "pingyi.tenant_id"
UNSCOPED_KEY = "pingyi.unscoped"
T = TypeVar("T")


class TenantScopeError(RuntimeError):
    """A tenant-owned row was read or written without (or outside) a tenant scope."""


@cache
def _tenant_classes() -> tuple[type, ...]:
    from pingyi.extensions import db

    return tuple(m.class_ for m in db.Model.registry.mappers if issubclass(m.class_, TenantMixin))


@lru_cache(maxsize=4096)
def _criteria(tenant_id: int) -> tuple:
    """The loader criteria for one tenant, built once (building them costs more than most queries)."""
    return tuple(with_loader_criteria(cls, cls.tenant_id == tenant_id, include_aliases=True)
                 for cls in _tenant_classes())


def current_tenant_id(session: Session | None = None) -> int | None:
    return _session(session).info.get(TENANT_KEY)


def require_tenant_id(session: Session | None = None) -> int:
    tid = current_tenant_id(session)
    if tid is None:
        raise TenantScopeError("no current tenant")
    return tid


def _session(session: Session | None) -> Session:
    if session is not None:
        return session
    from pingyi.extensions import db

    return db.session()


def set_tenant(tenant_id: int | None, session: Session | None = None) -> None:
    """Bind the session to one tenant (per request, per job, per CLI command)."""
    _session(session).info[TENANT_KEY] = tenant_id


@contextmanager
def tenant_context(tenant_id: int, session: Session | None = None) -> Iterator[None]:
    """Temporarily switch the session to ``tenant_id`` (jobs, CLI, oversight reads)."""
    s = _session(session)
    before = s.info.get(TENANT_KEY)
    s.info[TENANT_KEY] = tenant_id
    try:
        yield
    finally:
        s.info[TENANT_KEY] = before


@contextmanager
def unscoped(session: Session | None = None) -> Iterator[None]:
    """Read across tenants on purpose: platform admin pages, login's tenant picker, demo set-up."""
    s = _session(session)
    before = s.info.get(UNSCOPED_KEY, False)
    s.info[UNSCOPED_KEY] = True
    try:
        yield
    finally:
        s.info[UNSCOPED_KEY] = before


def visible(obj: object, session: Session | None = None) -> bool:
    """May the session's current scope see this loaded row? Rows that are not tenant-owned
    always; tenant-owned ones only in their tenant (or on purpose, ``unscoped``)."""
    if not isinstance(obj, TenantMixin):
        return True
    s = _session(session)
    if s.info.get(UNSCOPED_KEY):
        return True
    tid = s.info.get(TENANT_KEY)
    if tid is None:
        raise TenantScopeError(f"read of {type(obj).__name__} without a current tenant")
    return obj.tenant_id == tid


def scoped(model: type[T]) -> Select[tuple[T]]:
    """``select(model)`` filtered to the current tenant, explicitly (also for non-mixin tables)."""
    return select(model).where(model.tenant_id == require_tenant_id())


def get_scoped(model: type[T], ident: Any) -> T | None:
    """One tenant-owned row by an id from outside (a URL, a form, a job's params), or ``None``
    when it is not a number or not the current tenant's."""
    from pingyi.extensions import db

    require_tenant_id()
    try:
        ident = int(ident)
    except (TypeError, ValueError):
        return None
    return db.session.get(model, ident)


def tenant_sql(sql: str, **params: Any):
    """Run raw SQL that must carry ``:tenant_id``; the current tenant is bound for it."""
    from pingyi.extensions import db

    if ":tenant_id" not in sql:
        raise TenantScopeError("raw SQL on tenant data must filter on :tenant_id")
    params["tenant_id"] = require_tenant_id()
    return db.session.execute(text(sql), params)


@event.listens_for(Session, "do_orm_execute")
def _add_tenant_criteria(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load:
        return  # refreshing an object already in the session: its identity was scoped when loaded
    if state.session.info.get(UNSCOPED_KEY):
        return
    tid = state.session.info.get(TENANT_KEY)
    if tid is None:
        touched = [m.class_ for m in state.all_mappers if issubclass(m.class_, TenantMixin)]
        if touched:
            raise TenantScopeError(f"query on {touched[0].__name__} without a current tenant")
        return
    state.statement = state.statement.options(*_criteria(tid))


@event.listens_for(Session, "before_flush")
def _stamp_tenant(session: Session, flush_context, instances) -> None:
    if session.info.get(UNSCOPED_KEY):
        return
    tid = session.info.get(TENANT_KEY)
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if not isinstance(obj, TenantMixin):
            continue
        if tid is None:
            raise TenantScopeError(f"write of {type(obj).__name__} without a current tenant")
        if obj.tenant_id is None:
            obj.tenant_id = tid
        elif obj.tenant_id != tid:
            raise TenantScopeError(f"write of {type(obj).__name__} into another tenant")
