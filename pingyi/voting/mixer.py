"""The mixer: moves cast ballots out of the sealed ballot box into ``ballots``/``answers``/
``comments`` so that nothing stored ties a ballot to the slip that cast it.

A link is redeemed in the same transaction that puts its ballot into ``ballot_box`` (so a
ballot is never lost or doubled). On PostgreSQL both rows then carry that transaction's id
(``xmin``), and rows are appended in voting order. The mixer cuts both ties:

- while voting goes on it moves ballots only in batches of at least k (``MIN_CELL``) per
  campaign, in random order and under new random ids, in a transaction of its own; the box
  rows are deleted in it and vacuumed right after, so no live row shares a transaction with a
  token. What VACUUM cannot erase (a deleted row's bytes stay on its page until overwritten,
  and in the WAL) is ciphertext: the box holds its ballots sealed with the app's key
  (``security.seal``) under a receipt hash of its own, so no byte of it matches a ballot;
- ``reshuffle`` (run when a campaign closes) takes what is left in the box and rewrites all
  the campaign's ballots, answers and comments in one transaction in random order, so neither
  the physical order nor the transaction ids of the stored ballots follow the batches, let
  alone the voting order, and the last few ballots never form a batch of their own.

Batches run one at a time per campaign (an advisory lock on PostgreSQL; SQLite has a single
writer). On SQLite ``secure_delete`` is on (``pingyi/__init__.py``), so deleted box rows are
overwritten rather than left in free pages.
"""

from __future__ import annotations

import secrets

from flask import current_app
from sqlalchemy import delete, func, select, text

from pingyi.bulk import insert_rows, outside_transaction
from pingyi.extensions import db
from pingyi.models import Answer, Ballot, BoxedBallot, Comment, CountedReceipt
from pingyi.security import unseal
from pingyi.tenancy import require_tenant_id, tenant_sql

from .ballots import BOX_SEAL

LOCK_NAMESPACE = 0x6D78  # pg_advisory_xact_lock(namespace, campaign_id): one mix per campaign
_SHUFFLED = (Ballot.__table__, Answer.__table__, Comment.__table__, CountedReceipt.__table__)


def batch_size() -> int:
    """k: the fewest ballots one batch may hold while voting goes on."""
    return max(1, int(current_app.config.get("MIN_CELL", 5)))


def _postgres() -> bool:
    return db.session.connection().dialect.name == "postgresql"


def _lock(campaign_id: int) -> None:
    if _postgres():
        db.session.execute(text("SELECT pg_advisory_xact_lock(:ns, :c)"), {"ns": LOCK_NAMESPACE, "c": campaign_id})


def waiting(campaign_id: int) -> int:
    """Ballots of the campaign still in the box (cast, not yet counted)."""
    return db.session.execute(select(func.count()).select_from(BoxedBallot)
                              .where(BoxedBallot.campaign_id == campaign_id)).scalar_one()


def _rows(campaign_id: int, boxed: list[dict]) -> tuple[list[dict], list[dict], list[dict], list[dict]]:
    """The ballot, answer and comment rows of the boxed ballots, each ballot under a new id, and
    their receipt codes for the counted list (rows of their own: nothing ties them to a ballot)."""
    tenant_id = require_tenant_id()
    ballot_rows, answer_rows, comment_rows, receipt_rows = [], [], [], []
    for content in boxed:
        ballot_id = secrets.token_hex(16)
        common = {"ballot_id": ballot_id, "tenant_id": tenant_id, "campaign_id": campaign_id,
                  "category_id": content["category_id"]}
        ballot_rows.append({"id": ballot_id, "tenant_id": tenant_id, "campaign_id": campaign_id,
                            "category_id": content["category_id"], "unit_id": content["unit_id"],
                            "receipt_hash": content["receipt_hash"], "paper": content["paper"]})
        answer_rows += [{**common, "subject_id": s, "item_id": i, "choice_id": c} for s, i, c in content["answers"]]
        comment_rows += [{**common, "subject_id": s, "item_id": i, "text": t} for s, i, t in content["comments"]]
        if content.get("receipt"):  # boxed before receipts were listed: not in the list
            receipt_rows.append({"tenant_id": tenant_id, "campaign_id": campaign_id, "code": content["receipt"]})
    receipt_rows.sort(key=lambda r: r["code"])  # not in the ballots' order: that would pair them
    return ballot_rows, answer_rows, comment_rows, receipt_rows


def _take(campaign_id: int) -> list[dict]:
    """Claim the campaign's boxed ballots by deleting them (``DELETE … RETURNING``): no
    ballot moves twice. A seal no key opens raises (``SealBroken``): the ballots stay boxed."""
    return [unseal(sealed, BOX_SEAL) for sealed in db.session.execute(
        delete(BoxedBallot).where(BoxedBallot.campaign_id == campaign_id)
        .returning(BoxedBallot.sealed).execution_options(synchronize_session=False)).scalars()]


def _insert(campaign_id: int, boxed: list[dict]) -> None:
    """In random order, with COPY on PostgreSQL (a batch of 2 000 ballots is 90 000 answers)."""
    secrets.SystemRandom().shuffle(boxed)
    for table, rows in zip(_SHUFFLED, _rows(campaign_id, boxed), strict=True):
        insert_rows(table, rows)


def mix(campaign_id: int) -> int:
    """Move one batch of at least k of the campaign's boxed ballots into the ballot tables and
    commit; returns how many moved (0 while fewer than k wait). What is left when voting
    ends never forms a batch of its own: ``reshuffle`` takes it."""
    _lock(campaign_id)
    if waiting(campaign_id) < batch_size():
        db.session.rollback()
        return 0
    boxed = _take(campaign_id)
    if len(boxed) < batch_size():  # another mixer took the batch
        db.session.rollback()
        return 0
    _insert(campaign_id, boxed)
    db.session.commit()
    vacuum("ballot_box")
    return len(boxed)


def settle() -> None:
    """Before the closing job takes the rest of the box: wait for ballots in flight. A submit
    whose statement began before the close committed may still be writing its box row; on
    PostgreSQL a SHARE lock on the box, in a transaction of its own, waits for every transaction
    writing to it and is released at once (the job's own transaction would hold it, and stop
    every other campaign's ballots, until the recount ends). Submits starting after the close
    see the campaign closed and write nothing; SQLite has a single writer anyway."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("LOCK TABLE ballot_box IN SHARE MODE"))


def reshuffle(campaign_id: int) -> None:
    """After voting: take what is left in the box and rewrite all of the campaign's ballots,
    answers and comments in random order, in the caller's transaction (the closing recount's:
    it counts them afresh, so the ``tally_inbox`` rows the trigger adds again are claimed by
    it). The last ballots, fewer than k perhaps, are thus never stored apart from the others."""
    _lock(campaign_id)
    _insert(campaign_id, _take(campaign_id))
    scratch = {t: (f"mix_{t.name}_{int(campaign_id)}", ", ".join(c.name for c in t.columns)) for t in _SHUFFLED}
    for table, (name, cols) in scratch.items():
        db.session.execute(text(f"DROP TABLE IF EXISTS {name}"))
        tenant_sql(f"CREATE TEMPORARY TABLE {name} AS SELECT {cols} FROM {table.name} "  # nosec B608 # names from the models' metadata and int(campaign_id); every value is bound
                   "WHERE tenant_id = :tenant_id AND campaign_id = :campaign_id", campaign_id=campaign_id)
        if table is Ballot.__table__:
            # the trigger on ballots fills the inbox again; rows still there for these ballots
            # would collide, and the recount that follows counts every ballot anyway
            tenant_sql("DELETE FROM tally_inbox WHERE tenant_id = :tenant_id AND campaign_id = :campaign_id",
                       campaign_id=campaign_id)
        tenant_sql(f"DELETE FROM {table.name} WHERE tenant_id = :tenant_id AND campaign_id = :campaign_id",  # nosec B608 # names from the models' metadata and int(campaign_id); every value is bound
                   campaign_id=campaign_id)
    for table, (name, cols) in scratch.items():
        db.session.execute(text(f"INSERT INTO {table.name} ({cols}) SELECT {cols} FROM {name} ORDER BY random()"))  # nosec B608 # names from the models' metadata and int(campaign_id); every value is bound
        db.session.execute(text(f"DROP TABLE {name}"))


def vacuum_sealed() -> None:
    """After a reshuffle has committed: the old row versions (in batch order, under the
    batches' transaction ids) and the emptied box go."""
    vacuum(*(t.name for t in _SHUFFLED), "tally_inbox", "ballot_box")


def vacuum(*tables: str) -> None:
    """PostgreSQL: reclaim the dead rows now (they still carry the old transaction ids)."""
    if db.engine.dialect.name == "postgresql":
        outside_transaction([f"VACUUM {table}" for table in tables])
