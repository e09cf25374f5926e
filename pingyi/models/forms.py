"""Questionnaires (测评表): a versioned Form owns its scales, sections and items.

Each version owns its own scales, so freezing a version (when a campaign using it opens)
freezes everything a result depends on; editing afterwards makes a new version.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pingyi.extensions import db

from .base import TenantMixin, Timestamped, UTCDateTime, tenant_fk, tenant_unique

SUBJECT_KINDS = {"unit": "基层党组织", "person": "党员", "team": "领导班子"}
ITEM_KINDS = {"rating": "评分项", "text": "意见建议"}


class Form(TenantMixin, Timestamped, db.Model):
    __tablename__ = "forms"
    __table_args__ = (tenant_unique(),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    family_id: Mapped[int | None] = mapped_column(Integer, index=True)  # id of version 1
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    subject_kind: Mapped[str] = mapped_column(String(10), nullable=False, default="unit")
    template_key: Mapped[str | None] = mapped_column(String(50))
    frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    scales: Mapped[list[Scale]] = relationship(
        primaryjoin="Form.id == Scale.form_id", foreign_keys="Scale.form_id", order_by="Scale.position",
        viewonly=True)
    sections: Mapped[list[FormSection]] = relationship(
        primaryjoin="Form.id == FormSection.form_id", foreign_keys="FormSection.form_id",
        order_by="FormSection.position", viewonly=True)

    @property
    def is_frozen(self) -> bool:
        return self.frozen_at is not None


class Scale(TenantMixin, db.Model):
    __tablename__ = "scales"
    __table_args__ = (tenant_unique(), tenant_fk("form_id", "forms", "CASCADE"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    form_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    choices: Mapped[list[ScaleChoice]] = relationship(
        primaryjoin="Scale.id == ScaleChoice.scale_id", foreign_keys="ScaleChoice.scale_id",
        order_by="ScaleChoice.position", viewonly=True)


class ScaleChoice(TenantMixin, db.Model):
    """One ordered choice; ``counts_as_satisfied`` decides the 满意率 numerator."""

    __tablename__ = "scale_choices"
    __table_args__ = (tenant_unique(), tenant_fk("scale_id", "scales", "CASCADE"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scale_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    label: Mapped[str] = mapped_column(String(30), nullable=False)
    score: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    counts_as_satisfied: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class FormSection(TenantMixin, db.Model):
    __tablename__ = "form_sections"
    __table_args__ = (tenant_unique(), tenant_fk("form_id", "forms", "CASCADE"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    form_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    title: Mapped[str] = mapped_column(String(200), nullable=False, default="")

    items: Mapped[list[FormItem]] = relationship(
        primaryjoin="FormSection.id == FormItem.section_id", foreign_keys="FormItem.section_id",
        order_by="FormItem.position", viewonly=True)


class FormItem(TenantMixin, db.Model):
    """A rating item (with a scale of the same form version) or a free-text 意见建议 item."""

    __tablename__ = "form_items"
    __table_args__ = (tenant_unique(), tenant_fk("form_id", "forms", "CASCADE"),
                      tenant_fk("section_id", "form_sections", "CASCADE"), tenant_fk("scale_id", "scales"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    form_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    section_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    text: Mapped[str] = mapped_column(String(500), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False, default="rating")
    scale_id: Mapped[int | None] = mapped_column(Integer)
    required: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    max_length: Mapped[int] = mapped_column(Integer, nullable=False, default=500)

    scale: Mapped[Scale | None] = relationship(
        primaryjoin="FormItem.scale_id == Scale.id", foreign_keys=[scale_id], viewonly=True)
