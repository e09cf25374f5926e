"""One-time ballot links (测评码) and the anonymous ballots cast with them.

The two halves never meet in the schema: ``ballot_tokens`` is the eligibility record (which
category/unit a link is for, whether it was used); ``ballots``/``answers``/``comments`` hold the
votes with random ids, no time and no request metadata. No foreign key, shared sequence or
column ties a ballot to the token that cast it, and no transaction either: a link is redeemed
together with a row of the ``ballot_box``, which the mixer (``pingyi.voting.mixer``) later
moves into ``ballots`` in a random batch of at least k (tests/voting/test_anonymity.py and
test_mixing.py prove it).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, column_property, mapped_column

from pingyi.extensions import db

from .base import TenantMixin, Timestamped, UTCDateTime, tenant_fk, tenant_unique


class BallotToken(TenantMixin, db.Model):
    """Eligibility record; only hashes of the link secret and of the short code are stored."""

    __tablename__ = "ballot_tokens"
    __table_args__ = (
        tenant_unique(), tenant_fk("campaign_id", "campaigns", "CASCADE"),
        tenant_fk("category_id", "evaluator_categories", "CASCADE"), tenant_fk("unit_id", "units"),
        Index("ix_tokens_campaign_unit", "campaign_id", "unit_id"), Index("ix_tokens_unit", "unit_id"),
        UniqueConstraint("campaign_id", "unit_id", "serial"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, nullable=False)
    category_id: Mapped[int] = mapped_column(Integer, nullable=False)
    unit_id: Mapped[int] = mapped_column(Integer, nullable=False)
    secret_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    short_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    serial: Mapped[int | None] = mapped_column(Integer)  # printed on the slip: "No. 0007" within its unit
    batch_id: Mapped[int | None] = mapped_column(Integer, index=True)  # the issuing job
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    used: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)  # no time: see ballot_box
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BoxedBallot(TenantMixin, db.Model):
    """A cast ballot waiting for the mixer: written in the transaction that redeems its link
    (so on PostgreSQL it shares that transaction's id with the token row) and deleted, then
    vacuumed, when the mixer moves it into ``ballots`` with a new id. No time, no order. Its
    content is sealed with the app's key and its receipt hashed apart from the ballot's, so
    neither its bytes (in freed pages, the WAL, a backup) nor its receipt match the ballot."""

    __tablename__ = "ballot_box"
    __table_args__ = (tenant_fk("campaign_id", "campaigns", "CASCADE"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random, never reused by the ballot
    campaign_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    receipt_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)  # box_receipt_hash: "received"
    sealed: Mapped[str] = mapped_column(Text, nullable=False)  # security.seal of the ballot's rows


class Ballot(TenantMixin, db.Model):
    """An anonymous response: random id, category and unit (for breakdowns); no time."""

    __tablename__ = "ballots"
    __table_args__ = (tenant_fk("campaign_id", "campaigns", "CASCADE"),
                      Index("ix_ballots_campaign_unit", "campaign_id", "unit_id"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # secrets.token_hex(16)
    campaign_id: Mapped[int] = mapped_column(Integer, nullable=False)
    category_id: Mapped[int] = mapped_column(Integer, nullable=False)
    unit_id: Mapped[int] = mapped_column(Integer, nullable=False)
    receipt_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    paper: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class Answer(TenantMixin, db.Model):
    """One choice; campaign and category are repeated here so tallies need no join."""

    __tablename__ = "answers"
    __table_args__ = (Index("ix_answers_campaign_subject", "campaign_id", "subject_id", "item_id"),)

    ballot_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    subject_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, nullable=False)
    category_id: Mapped[int] = mapped_column(Integer, nullable=False)
    choice_id: Mapped[int] = mapped_column(Integer, nullable=False)


class Comment(TenantMixin, db.Model):
    """Free-text 意见建议 for one subject and item."""

    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_campaign_subject", "campaign_id", "subject_id"),)

    ballot_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    subject_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, nullable=False)
    category_id: Mapped[int] = mapped_column(Integer, nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)


class PaperEntry(TenantMixin, Timestamped, db.Model):
    """One typist's entry of a paper form, pending until a second, matching entry by another
    person lets it count. Deleted when the ballot is stored (then nothing links them)."""

    __tablename__ = "paper_entries"
    __table_args__ = (tenant_fk("campaign_id", "campaigns", "CASCADE"),
                      UniqueConstraint("token_id", "entered_by"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, nullable=False)
    token_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    entered_by: Mapped[int] = mapped_column(Integer, nullable=False)
    payload: Mapped[dict] = mapped_column(JSON, nullable=False)  # {"sealed": security.seal(what was typed)}
    mismatch: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class InterviewSample(TenantMixin, Timestamped, db.Model):
    """个别访谈: a reproducible random sample of issued links per unit, stored with its seed."""

    __tablename__ = "interview_samples"
    __table_args__ = (tenant_fk("campaign_id", "campaigns", "CASCADE"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    seed: Mapped[int] = mapped_column(Integer, nullable=False)
    per_unit: Mapped[int] = mapped_column(Integer, nullable=False)
    entries: Mapped[list] = mapped_column(JSON, nullable=False)  # [[unit_id, serial], ...]


class Job(TenantMixin, Timestamped, db.Model):
    """A worker job's state, read by the pages that started it (not only kept in Redis)."""

    __tablename__ = "jobs"
    __table_args__ = (tenant_unique(),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    state: Mapped[str] = mapped_column(String(10), nullable=False, default="queued")  # queued/running/done/failed
    params: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    result: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error: Mapped[str] = mapped_column(Text, nullable=False, default="")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_by: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def percent(self) -> int:
        return 100 if self.state == "done" else int(100 * self.done / self.total) if self.total else 0


class JobFile(TenantMixin, Timestamped, db.Model):
    """A file a job produced. Link lists are downloadable once: the bytes are dropped after."""

    __tablename__ = "job_files"
    __table_args__ = (tenant_fk("job_id", "jobs", "CASCADE"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    mime: Mapped[str] = mapped_column(String(100), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    once: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # deferred: a job's page lists its files without reading megabytes of PDF
    data: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    downloaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    held: Mapped[bool] = column_property(data.is_not(None))  # still downloadable
