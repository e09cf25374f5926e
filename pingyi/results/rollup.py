"""Roll-ups of a campaign's stored tally through the unit tree.

Three small aggregate queries give each unit's own figures (choices about its subjects, its
subjects and how many were rated, its links issued and used); one pass in Python, deepest
units first, adds each subtree's total to its parent's (the materialized ``path``). Coverage is subjects
rated ÷ subjects (基层党组织评议覆盖率), turnout links used ÷ issued (参评率).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction

from sqlalchemy import delete, select

from pingyi.bulk import insert_rows
from pingyi.extensions import db
from pingyi.models import TallyRun, TallyUnit
from pingyi.tenancy import require_tenant_id, tenant_sql
from pingyi.voting.tokens import link_counts

from .tally import STORED, campaign_choices

_CHOICES = (f"SELECT s.unit_id, c.choice_id, SUM(c.count) FROM {STORED} c JOIN subjects s ON s.id = c.subject_id "  # nosec B608 # identifiers are constants of results.tally; every value is bound
            "WHERE s.tenant_id = :tenant_id AND s.campaign_id = :campaign_id GROUP BY s.unit_id, c.choice_id")
# rated: one index probe per subject into the stored cells (a scalar subquery with LIMIT, which
# the planner cannot turn into hashing all 1.8 M cells of a 10 M-answer campaign)
_SUBJECTS = ("SELECT s.unit_id, COUNT(*), COUNT((SELECT 1 FROM tally_counts c WHERE c.campaign_id = s.campaign_id "
             "AND c.subject_id = s.id AND c.tenant_id = s.tenant_id LIMIT 1)) "
             "FROM subjects s WHERE s.tenant_id = :tenant_id AND s.campaign_id = :campaign_id GROUP BY s.unit_id")
_UNITS = "SELECT id, path FROM units WHERE tenant_id = :tenant_id"


@dataclass
class Figures:
    """A subtree's (or a campaign's) totals; shares are exact, ``None`` when undefined."""

    subjects: int = 0
    rated: int = 0
    issued: int = 0
    used: int = 0
    valid: int = 0
    satisfied: int = 0
    lowest: int = 0
    by_choice: dict[int, int] = field(default_factory=dict)

    COUNTS = ("subjects", "rated", "issued", "used", "valid", "satisfied", "lowest")

    def add(self, other: Figures) -> None:
        for name in self.COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for choice, n in other.by_choice.items():
            self.by_choice[choice] = self.by_choice.get(choice, 0) + n

    @staticmethod
    def _share(part: int, whole: int) -> Fraction | None:
        return Fraction(part, whole) if whole else None

    @property
    def coverage(self) -> Fraction | None:
        return self._share(self.rated, self.subjects)

    @property
    def turnout(self) -> Fraction | None:
        return self._share(self.used, self.issued)

    @property
    def satisfied_share(self) -> Fraction | None:
        return self._share(self.satisfied, self.valid)

    @classmethod
    def of(cls, row) -> Figures:
        """From a stored row (``TallyUnit`` or ``TallyRun``)."""
        return cls(**{n: getattr(row, n) for n in cls.COUNTS},
                   by_choice={int(k): v for k, v in (getattr(row, "by_choice", None) or {}).items()})


def own_figures(campaign_id: int) -> dict[int, Figures]:
    """Each unit's own figures (not yet its subtree's), from the counts and the links."""
    infos = campaign_choices(campaign_id)
    own: dict[int, Figures] = defaultdict(Figures)
    for unit_id, choice_id, n in tenant_sql(_CHOICES, campaign_id=campaign_id).all():
        info = infos.get(choice_id)
        if info is None:
            continue
        f = own[unit_id]
        f.by_choice[choice_id] = f.by_choice.get(choice_id, 0) + int(n)
        f.valid += int(n)
        f.satisfied += int(n) if info.satisfied else 0
        f.lowest += int(n) if info.lowest else 0
    for unit_id, subjects, rated in tenant_sql(_SUBJECTS, campaign_id=campaign_id).all():
        own[unit_id].subjects, own[unit_id].rated = subjects, rated
    for (unit_id,), links in link_counts(campaign_id, ("unit",)).items():
        if links.issued:
            own[unit_id].issued, own[unit_id].used = links
    return dict(own)


def roll_up(own: dict[int, Figures], paths: dict[int, str]) -> dict[int, Figures]:
    """Subtree totals: deepest units first, each unit's total added to its parent's (the
    parent is the next-to-last id of the materialized path)."""
    chains = {u: [int(x) for x in paths.get(u, f"/{u}/").strip("/").split("/") if x] or [u] for u in own}
    for chain in list(chains.values()):
        for i in range(1, len(chain)):
            chains.setdefault(chain[i - 1], chain[:i])  # ancestors without figures of their own
    out: dict[int, Figures] = {}
    for unit_id in sorted(chains, key=lambda u: -len(chains[u])):
        f = out.setdefault(unit_id, Figures())
        if unit_id in own:
            f.add(own[unit_id])
        chain = chains[unit_id]
        if len(chain) > 1:
            out.setdefault(chain[-2], Figures()).add(f)
    return out


def total(own: dict[int, Figures]) -> Figures:
    t = Figures()
    for figures in own.values():
        t.add(figures)
    return t


def store_rollup(campaign_id: int, run: TallyRun) -> dict[int, Figures]:
    """Replace the campaign's ``tally_units`` and put its totals on the run (same transaction
    as the counts they come from)."""
    own = own_figures(campaign_id)

    paths = dict(tenant_sql(_UNITS).all())
    subtrees = roll_up(own, paths)
    tenant_id = require_tenant_id()
    db.session.execute(delete(TallyUnit).where(TallyUnit.campaign_id == campaign_id)
                       .execution_options(synchronize_session=False))
    insert_rows(TallyUnit.__table__, [
        {"tenant_id": tenant_id, "campaign_id": campaign_id, "unit_id": unit_id,
         **{n: getattr(f, n) for n in Figures.COUNTS}, "by_choice": {str(k): v for k, v in f.by_choice.items()}}
        for unit_id, f in subtrees.items()])
    t = total(own)
    for name in Figures.COUNTS:
        setattr(run, name, getattr(t, name))
    run.answers = int(tenant_sql(f"SELECT COALESCE(SUM(count), 0) FROM {STORED} x",  # nosec B608 # identifiers are constants of results.tally; every value is bound
                                 campaign_id=campaign_id).scalar_one())  # incl. choices no scale knows
    return subtrees


def subtree(campaign_id: int, unit_id: int) -> Figures | None:
    """A committee's view: its subtree's stored totals (``None`` before the first tally)."""
    row = db.session.execute(select(TallyUnit).where(
        TallyUnit.campaign_id == campaign_id, TallyUnit.unit_id == unit_id)).scalar_one_or_none()
    return Figures.of(row) if row is not None else None


def stored_subtrees(campaign_id: int, units=None) -> dict[int, Figures]:
    """Every unit's stored subtree figures, or those of ``units`` (ids, or a select of them):
    a page showing two levels of 18 000 units reads a thousand rows, not all."""
    where = [] if units is None else [TallyUnit.unit_id.in_(units)]
    return {r.unit_id: Figures.of(r) for r in db.session.execute(
        select(TallyUnit).where(TallyUnit.campaign_id == campaign_id, *where)).scalars()}
