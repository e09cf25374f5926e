"""Every write is audited by construction: an ``after_flush`` hook turns the flush's changes
into ``AuditEvent`` rows in the same transaction, so no view can forget to log.

A flush that creates 4 720 people writes one event (action ``create``, count 4720), not
4 720; a single-row update records which fields changed (secrets redacted).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session

from pingyi.models import AuditEvent, Tenant, utcnow

ACTOR_KEY = "pingyi.actor"  # (user_id | None, label)
_REDACT = ("hash", "secret", "password")
_MAX_IDS = 50


def set_actor(user_id: int | None, label: str, session: Session | None = None) -> None:
    from pingyi.extensions import db

    (session or db.session()).info[ACTOR_KEY] = (user_id, label)


@contextmanager
def acting_as(user_id: int | None, label: str, session: Session | None = None) -> Iterator[None]:
    from pingyi.extensions import db

    s = session or db.session()
    before = s.info.get(ACTOR_KEY)
    s.info[ACTOR_KEY] = (user_id, label)
    try:
        yield
    finally:
        s.info[ACTOR_KEY] = before


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"  # never copy file contents into the audit trail
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= 500 else text[:500] + "…"


def _changes(obj: Any, ignore: tuple[str, ...] = ()) -> dict[str, list]:
    out = {}
    state = inspect(obj)
    for attr in state.mapper.column_attrs:
        if attr.key in ignore:
            continue
        hist = state.attrs[attr.key].history
        if not hist.has_changes():
            continue
        if any(word in attr.key for word in _REDACT):
            out[attr.key] = ["***", "***"]
            continue
        old = hist.deleted[0] if hist.deleted else None
        new = hist.added[0] if hist.added else None
        out[attr.key] = [_jsonable(old), _jsonable(new)]
    return out


def _tenant_of(obj: Any) -> int | None:
    if isinstance(obj, Tenant):
        return obj.id
    return getattr(obj, "tenant_id", None)


@event.listens_for(Session, "after_flush")
def _record(session: Session, flush_context) -> None:
    groups: dict[tuple, list] = defaultdict(list)
    for action, objs in (("create", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objs:
            if isinstance(obj, AuditEvent) or not hasattr(obj, "__table__"):
                continue
            if action == "update" and not _changes(obj, getattr(obj, "__audit_ignore__", ())):
                continue
            groups[(action, obj.__table__.name, _tenant_of(obj))].append(obj)
    if not groups:
        return
    actor_id, actor = session.info.get(ACTOR_KEY) or (None, "system")
    now = utcnow()
    rows = []
    for (action, table, tenant_id), objs in groups.items():
        ids = [inspect(o).identity[0] if inspect(o).identity else None for o in objs]
        detail: dict[str, Any] = {}
        if len(objs) == 1:
            if action != "delete":
                detail["changes"] = _changes(objs[0], getattr(objs[0], "__audit_ignore__", ()))
            name = getattr(objs[0], "name", None) or getattr(objs[0], "email", None)
            if name:
                detail["name"] = _jsonable(name)
        else:
            detail["ids"] = ids[:_MAX_IDS]
        rows.append({
            "tenant_id": tenant_id, "actor_id": actor_id, "actor": actor, "action": action,
            "object_type": table, "object_id": ids[0] if len(objs) == 1 else None,
            "count": len(objs), "detail": detail, "created_at": now,
        })
    session.connection().execute(insert(AuditEvent.__table__), rows)


def record_bulk(action: str, object_type: str, count: int, detail: dict | None = None,
                session: Session | None = None) -> None:
    """Audit a Core bulk statement (insert of thousands of rows, bulk delete), which the
    flush hook cannot see. Callers doing bulk writes must call this."""
    from pingyi.extensions import db
    from pingyi.tenancy import current_tenant_id

    s = session or db.session()
    actor_id, actor = s.info.get(ACTOR_KEY) or (None, "system")
    s.execute(insert(AuditEvent.__table__).values(
        tenant_id=current_tenant_id(s), actor_id=actor_id, actor=actor, action=action, object_type=object_type,
        object_id=None, count=count, detail=detail or {}, created_at=utcnow()))
