"""Every write is audited by construction: an ``after_flush`` hook turns the flush's changes
into ``AuditEvent`` rows in the same transaction, so no view can forget to log.

A flush that creates 4 720 people writes one event (action ``create``, count 4720), not
4 720; a single-row update records which fields changed (secrets redacted).

What an event may say about a table is decided in one place, ``POLICY``: the audit trail is
readable by every admin and kept for years, so it must never become a copy of the ballots
(a paper entry's token and answers, which would tie a slip to its votes) nor of the tallies
(a live tally every few seconds, its totals moving ballot by ballot, would time each vote).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, event, insert, inspect, select
from sqlalchemy.orm import Session

from pingyi.models import AuditEvent, Tenant, utcnow

ACTOR_KEY = "pingyi.actor"  # (user_id | None, label)
_REDACT = ("hash", "secret", "password")
_MAX_IDS = 50


@dataclass(frozen=True)
class Policy:
    """What an audit event about one table may carry."""

    audited: bool = True
    fields: frozenset[str] | None = None  # columns whose values an event may show; None: all (secrets masked)
    masked: frozenset[str] = frozenset()  # columns whose later change is noted ("***"), never their values
    context: tuple[str, ...] = ()  # columns always named, changed or not: what the row belongs to
    ids: bool = True  # whether the rows' ids are recorded


_NEVER = Policy(audited=False)
_DEFAULT = Policy()

POLICY: dict[str, Policy] = {
    # Ballot contents never enter the trail; their writes are Core statements anyway, and any
    # event would stamp a vote with its exact second.
    **dict.fromkeys(("ballots", "answers", "comments", "ballot_box"), _NEVER),
    # Tallies are derived and written by the system on every live tally: their totals moving
    # run by run would say how each new ballot voted. An admin's recount shows as its job.
    **dict.fromkeys(("tally_runs", "tally_units", "tally_counts", "tally_inbox"), _NEVER),
    # "a paper entry for campaign C by user U": no token (→ unit and serial), no answers, no
    # comments, no entry id (while pending, it leads to the token).
    "paper_entries": Policy(fields=frozenset(), masked=frozenset({"payload"}), context=("campaign_id",), ids=False),
    # Links are created and revoked in bulk (``record_bulk``); should an ORM write happen, it
    # names neither the link nor whether (or when) it was used.
    "ballot_tokens": Policy(fields=frozenset({"campaign_id", "category_id", "unit_id", "revoked_at"}), ids=False),
    # A job is audited as the request (kind and parameters, e.g. a recount of campaign C) and
    # its state; never its result, progress or error text, which hold figures (a tally's ballots).
    "jobs": Policy(fields=frozenset({"kind", "params", "state"})),
    # A login or logout of user U; never the session's id (its hash would still name the cookie).
    "login_sessions": Policy(fields=frozenset({"user_id"}), ids=False),
    # A report up is named by its number and state; its 总结 and figures stay on the row.
    "season_submissions": Policy(fields=frozenset({"issue_id", "number", "state", "comment", "returned_at",
                                                   "submitted_by"}), context=("issue_id",)),
}


def policy(table: str) -> Policy:
    return POLICY.get(table, _DEFAULT)


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


def _changes(obj: Any, created: bool = False) -> dict[str, list]:
    out = {}
    state = inspect(obj)
    rule, ignore = policy(obj.__table__.name), getattr(obj, "__audit_ignore__", ())
    for attr in state.mapper.column_attrs:
        if attr.key in ignore or (rule.fields is not None and attr.key not in rule.fields | rule.masked):
            continue
        hist = state.attrs[attr.key].history
        if not hist.has_changes():
            continue
        if attr.key in rule.masked and created:
            continue
        if attr.key in rule.masked or any(word in attr.key for word in _REDACT):
            out[attr.key] = ["***", "***"]
            continue
        old = hist.deleted[0] if hist.deleted else None
        new = hist.added[0] if hist.added else None
        out[attr.key] = [_jsonable(old), _jsonable(new)]
    return out


def _id_of(obj: Any) -> Any:
    """The row's (first) key; a row just inserted has no identity yet in ``after_flush``, but
    its key is already on the object."""
    state = inspect(obj)
    key = state.identity or state.mapper.primary_key_from_instance(obj)
    return key[0] if key else None


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
            if not policy(obj.__table__.name).audited:
                continue
            if action == "update" and not _changes(obj):
                continue
            groups[(action, obj.__table__.name, _tenant_of(obj))].append(obj)
    if not groups:
        return
    actor_id, actor = session.info.get(ACTOR_KEY) or (None, "system")
    now = utcnow()
    rows = []
    for (action, table, tenant_id), objs in groups.items():
        rule = policy(table)
        ids = [_id_of(o) for o in objs] if rule.ids else []
        detail: dict[str, Any] = {}
        for key in rule.context:
            values = {getattr(o, key) for o in objs}
            if len(values) == 1:
                detail[key] = _jsonable(values.pop())
        if len(objs) == 1:
            if action != "delete":
                detail["changes"] = _changes(objs[0], created=action == "create")
            name = getattr(objs[0], "name", None) or getattr(objs[0], "email", None)
            if name and (rule.fields is None or "name" in rule.fields or "email" in rule.fields):
                detail["name"] = _jsonable(name)
        elif ids:
            detail["ids"] = ids[:_MAX_IDS]
        rows.append({
            "tenant_id": tenant_id, "actor_id": actor_id, "actor": actor, "action": action,
            "object_type": table, "object_id": ids[0] if len(objs) == 1 and ids else None,
            "count": len(objs), "detail": detail, "created_at": now,
        })
    session.connection().execute(insert(AuditEvent.__table__), rows)


def record_bulk(action: str, object_type: str, count: int, detail: dict | None = None,
                session: Session | None = None) -> None:
    """Audit a Core bulk statement (insert of thousands of rows, bulk delete), which the
    flush hook cannot see. Callers doing bulk writes must call this, with a ``detail`` that
    keeps to ``POLICY`` (no token ids, ballot contents or figures)."""
    from pingyi.extensions import db
    from pingyi.tenancy import current_tenant_id

    if not policy(object_type).audited:
        return
    s = session or db.session()
    actor_id, actor = s.info.get(ACTOR_KEY) or (None, "system")
    s.execute(insert(AuditEvent.__table__).values(
        tenant_id=current_tenant_id(s), actor_id=actor_id, actor=actor, action=action, object_type=object_type,
        object_id=None, count=count, detail=detail or {}, created_at=utcnow()))


# ---- reading the trail -------------------------------------------------------------------------

@dataclass(frozen=True)
class Filter:
    """What the audit page narrows the trail to; every field optional. ``since``/``until``
    are instants (the page turns its calendar days into them in Asia/Shanghai, as it shows
    times): ``since ≤ created_at < until``."""

    actor: str = ""
    kind: str = ""  # an object type (table name)
    action: str = ""
    since: datetime | None = None
    until: datetime | None = None


def events(f: Filter | None = None) -> Select[tuple[AuditEvent]]:
    """The current tenant's events matching ``f`` (all of them without), newest first."""
    from pingyi.tenancy import scoped

    f = f or Filter()
    q = scoped(AuditEvent)
    if f.actor:
        q = q.where(AuditEvent.actor == f.actor)
    if f.kind:
        q = q.where(AuditEvent.object_type == f.kind)
    if f.action:
        q = q.where(AuditEvent.action == f.action)
    if f.since is not None:
        q = q.where(AuditEvent.created_at >= f.since)
    if f.until is not None:
        q = q.where(AuditEvent.created_at < f.until)
    return q.order_by(AuditEvent.id.desc())


def facets() -> tuple[list[str], list[str], list[str]]:
    """The actors, object types and actions the current tenant's trail holds (the page's choices)."""
    from pingyi.extensions import db
    from pingyi.tenancy import require_tenant_id

    tid = require_tenant_id()
    return tuple(db.session.execute(select(col).where(AuditEvent.tenant_id == tid).distinct().order_by(col))
                 .scalars().all() for col in (AuditEvent.actor, AuditEvent.object_type, AuditEvent.action))
