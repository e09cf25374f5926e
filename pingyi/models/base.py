"""Column helpers shared by all models."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, ForeignKey, ForeignKeyConstraint, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator

# An INTEGER column's values (PostgreSQL: 4 bytes) and a row id's: what every entry point checks a
# typed number against before the database sees it.
INTEGER_RANGE = (-(2**31), 2**31 - 1)
ID_RANGE = (1, 2**31 - 1)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given; use an aware one (UTC)")
            value = value.astimezone(UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class TenantMixin:
    """Marks a row as owned by one tenant.

    Every ORM query touching a class with this mixin is filtered to the session's current
    tenant by ``pingyi.tenancy``; querying one with no tenant set raises instead of leaking.
    """

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(Integer, ForeignKey("tenants.id", ondelete="CASCADE"), index=True, nullable=False)


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


def tenant_fk(column: str, table: str, ondelete: str | None = None) -> ForeignKeyConstraint:
    """``(tenant_id, column) → table(tenant_id, id)``: a reference into another tenant cannot exist."""
    return ForeignKeyConstraint(["tenant_id", column], [f"{table}.tenant_id", f"{table}.id"], ondelete=ondelete)


def tenant_unique() -> UniqueConstraint:
    """The target of ``tenant_fk``."""
    return UniqueConstraint("tenant_id", "id")
