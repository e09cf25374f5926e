"""A campaign's ballots read back as canonical rows (``digest.Row``), in ballot id order.

One reading for the seal, the export and the check, so the three cannot disagree about what a
row holds. Answers stream from the database in ballot id order (byte order: ``COLLATE "C"`` on
PostgreSQL, SQLite's default), merged with the ballots' own (unit, category).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping

from sqlalchemy import select

from pingyi.extensions import db
from pingyi.models import Answer, Ballot, ScaleChoice, SealLeaf, Unit

from .coarsening import Group
from .digest import Row

STREAM = {"yield_per": 20_000}


def by_bytes(column):
    """Order by bytes, as Python sorts strings (PostgreSQL would use the database's collation)."""
    return column.collate("C") if db.session.connection().dialect.name == "postgresql" else column


def ballots(campaign_id: int) -> list[tuple[str, int, int]]:
    """(id, unit, category) of every ballot, in ballot id order."""
    return sorted(db.session.execute(select(Ballot.id, Ballot.unit_id, Ballot.category_id)
                                     .where(Ballot.campaign_id == campaign_id)).all())


def groups(ballot_list: list[tuple[str, int, int]]) -> Counter:
    """Ballots per (unit, category)."""
    return Counter((unit, category) for _id, unit, category in ballot_list)


def parents() -> dict[int, int | None]:
    """The tenant's unit tree as unit → parent."""
    return dict(db.session.execute(select(Unit.id, Unit.parent_id)).all())


def sealed_groups(campaign_id: int) -> dict[str, Group]:
    """Each ballot's (unit, category) as its seal fixed them."""
    return {b: (u, c) for b, u, c in db.session.execute(
        select(SealLeaf.ballot_id, SealLeaf.unit_id, SealLeaf.category_id)
        .where(SealLeaf.campaign_id == campaign_id))}


def answers(campaign_id: int) -> Iterator[tuple[str, int, int, str]]:
    """(ballot, subject, item, choice label) in ballot id order."""
    return db.session.execute(
        select(Answer.ballot_id, Answer.subject_id, Answer.item_id, ScaleChoice.label)
        .join(ScaleChoice, ScaleChoice.id == Answer.choice_id)
        .where(Answer.campaign_id == campaign_id)
        .order_by(by_bytes(Answer.ballot_id), Answer.subject_id, Answer.item_id)
        .execution_options(**STREAM))


def rows(campaign_id: int, shown: Mapping[str, Group]) -> Iterator[Row]:
    """Every ballot's canonical row, its (unit, category) as ``shown`` says (the coarsened
    groups); a ballot missing from ``shown`` keeps its own."""
    stream = iter(answers(campaign_id))
    pending = next(stream, None)
    for ballot_id, unit, category in ballots(campaign_id):
        found = []
        while pending is not None and pending[0] < ballot_id:  # answers of no ballot: skipped
            pending = next(stream, None)
        while pending is not None and pending[0] == ballot_id:
            found.append(pending[1:])
            pending = next(stream, None)
        unit, category = shown.get(ballot_id, (unit, category))
        yield Row(ballot_id, category, unit, tuple(found))
