"""The organization tree inside a tenant, and the people in it."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKeyConstraint, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pingyi.extensions import db

from .base import TenantMixin, Timestamped

# code name -> label in the users' words
UNIT_KINDS = {
    "committee": "党委",
    "general_branch": "党总支",
    "branch": "党支部",
    "office": "科室",
    "other": "其他",
}


class Unit(TenantMixin, Timestamped, db.Model):
    """A node of the tree (党委 → 党总支 → 党支部, 科室…).

    ``path`` is the materialized chain of ids, ``/1/7/42/``, so a subtree is one
    ``path LIKE '/1/7/%'`` query. The composite foreign key makes a parent in another
    tenant impossible at the database level.
    """

    __tablename__ = "units"
    __audit_ignore__ = ("path", "depth")  # derived from parent_id; not a user's change
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "parent_id"], ["units.tenant_id", "units.id"]),
        Index("ix_units_tenant_path", "tenant_id", "path"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(Integer, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False, default="other")
    sort_order: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    path: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
    depth: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    parent: Mapped[Unit | None] = relationship(
        remote_side=[id], primaryjoin="Unit.parent_id == Unit.id", foreign_keys=[parent_id], viewonly=True
    )

    @property
    def kind_label(self) -> str:
        return UNIT_KINDS.get(self.kind, self.kind)

    def __repr__(self) -> str:
        return f"<Unit {self.id} {self.name}>"


class Person(TenantMixin, Timestamped, db.Model):
    """A member or leader: subject of member forms later on."""

    __tablename__ = "people"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "unit_id"], ["units.tenant_id", "units.id"]),
        Index("ix_people_tenant_unit", "tenant_id", "unit_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    position: Mapped[str] = mapped_column(String(50), nullable=False, default="党员")
    is_party_member: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    unit: Mapped[Unit] = relationship(
        primaryjoin="Person.unit_id == Unit.id", foreign_keys=[unit_id], viewonly=True
    )
