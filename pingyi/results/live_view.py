"""What a campaign's results may show, and to whom: the one place that decides.

**While a campaign is open** its stored tally moves with every batch of ballots, and a page
that showed it would let anyone who watches it (beside the turnout page, or knowing who just
voted) difference two refreshes and read what the last few evaluators chose. So:

- by default (``Campaign.live_results`` off) an open campaign shows **turnout only**: ballots
  received, links used ÷ issued per unit; no rate, no count of answers, no verdict, no
  coverage, no chart of rates, no report file;
- with live results on, figures come from a **snapshot** (``live_items``/``live_counts``), never
  from the tally itself. Each subject × item has its own snapshot; a tally run (``refresh``,
  called at the end of every run) retakes one only when its answers number at least k *and*
  differ from those the shown snapshot rests on by at least k. One answer per ballot per
  subject × item, so "answers" here are distinct ballots. Hence:

  * a subject × item's figures (its answers, rate, choices) appear resting on ≥ k ballots and
    each later change between two views is the difference of two snapshots, ≥ k ballots apart;
  * a subject's figures are sums over its items' snapshots, an item's figures across subjects
    sums over subjects, a unit's figures (and the campaign's, and coverage: subjects with a
    snapshot) sums over the subjects of its subtree: between two views such a sum changes only
    by whole snapshot differences, each resting on ≥ k ballots, so no view differenced with
    another isolates fewer than k ballots' answers about any subject and item;
  * nothing by evaluator category (category rows, weighted rates, opinions and their
    categories) is shown while open: a category's cell would move with each of its ballots;
  * the snapshot is kept whether or not live results are on, so turning them on or off shows
    nothing the rule would not have shown anyway.

  The mixer already moves ballots in batches of ≥ k, but one batch may hold a single ballot
  about a given subject: the stepping has to be per subject × item.

- once the campaign is **closed** (and after), pages read the full tally as before.

**A unit admin** (``within``: their unit's path) sees only the subjects and units of their
subtree; figures across subjects (item rates, totals, the choice distribution, verdicts,
lowest subjects) are summed over that subtree only, and the campaign-wide breakdown by
category is not shown to them.

k is ``suppression.min_cell()``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select

from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import Campaign, TallyRun, Unit
from pingyi.tenancy import tenant_sql
from pingyi.voting.tokens import link_counts

from . import rollup
from . import suppression as sup
from .tally import ChoiceInfo, Figures, campaign_choices

FULL, LIVE, TURNOUT = "full", "live", "turnout"


@dataclass(frozen=True)
class View:
    """What one reader may see of one campaign: ``mode`` (full, live, turnout) and ``within``
    (a unit admin's subtree path, else None)."""

    mode: str
    within: str | None = None

    @property
    def figures(self) -> bool:
        """Any rate or count of answers at all (False: turnout only)."""
        return self.mode != TURNOUT

    @property
    def breakdowns(self) -> bool:
        """Figures by evaluator category and opinions, campaign-wide."""
        return self.mode == FULL and self.within is None


def mode(c: Campaign) -> str:
    """``full`` once voting is over (or before it began), ``live`` or ``turnout`` while open."""
    if c.state != "open":
        return FULL
    return LIVE if c.live_results else TURNOUT


def view_of(c: Campaign, within: str | None = None) -> View:
    return View(mode(c), within or None)


def comparable(prev: Campaign | None) -> Campaign | None:
    """A previous campaign trends may compare with: never one still open (its figures would
    leak through the arrows' differences)."""
    return prev if prev is not None and mode(prev) == FULL else None


def set_live_results(c: Campaign, on: bool) -> None:
    """The admin's switch. Allowed in any state before publication; it only matters while open."""
    if c.state in ("published", "archived"):
        raise DomainError(_("结果已公布，无需设置实时结果"), "live_results")
    c.live_results = bool(on)


def refuse_open(c: Campaign | None) -> None:
    """Result reports (统计表, 意见汇总表, summary, roll-up) hold every figure and breakdown: not
    while the campaign is open (live results or not)."""
    if c is not None and c.state == "open":
        raise DomainError(_("评议进行中，结束后才能导出结果报表；进行中请查看参评率。"), "kind")


# ---- the snapshot, retaken by every tally run ----------------------------------------------------

# Subject × items due: answers ≥ k and ≥ k away from the shown snapshot's (or none shown yet).
_DUE = (
    "INSERT INTO live_items (tenant_id, campaign_id, subject_id, item_id, shown, version) "
    "SELECT CAST(:tenant_id AS INTEGER), CAST(:campaign_id AS INTEGER), f.subject_id, f.item_id, f.n, "
    "CAST(:version AS INTEGER) FROM (SELECT subject_id, item_id, SUM(count) AS n FROM tally_counts "
    " WHERE tenant_id = :tenant_id AND campaign_id = :campaign_id{only} GROUP BY subject_id, item_id) f "
    "LEFT JOIN live_items l ON l.tenant_id = :tenant_id AND l.campaign_id = :campaign_id "
    " AND l.subject_id = f.subject_id AND l.item_id = f.item_id "
    "WHERE f.n >= :k AND (l.shown IS NULL OR f.n - l.shown >= :k OR l.shown - f.n >= :k) "
    "ON CONFLICT (campaign_id, subject_id, item_id) DO UPDATE SET shown = excluded.shown, version = excluded.version")
_RETAKEN = ("SELECT 1 FROM live_items l WHERE l.tenant_id = :tenant_id AND l.campaign_id = :campaign_id "
            "AND l.version = :version AND l.subject_id = {t}.subject_id AND l.item_id = {t}.item_id")
_DROP = ("DELETE FROM live_counts WHERE tenant_id = :tenant_id AND campaign_id = :campaign_id AND EXISTS ("  # nosec B608 # identifiers are this module's constants; every value is bound
         + _RETAKEN.format(t="live_counts") + ")")
_TAKE = ("INSERT INTO live_counts (tenant_id, campaign_id, subject_id, item_id, choice_id, count) "  # nosec B608 # identifiers are this module's constants; every value is bound
         "SELECT t.tenant_id, t.campaign_id, t.subject_id, t.item_id, t.choice_id, SUM(t.count) FROM tally_counts t "
         "WHERE t.tenant_id = :tenant_id AND t.campaign_id = :campaign_id{only} AND EXISTS (" + _RETAKEN.format(t="t")
         + ") GROUP BY t.tenant_id, t.campaign_id, t.subject_id, t.item_id, t.choice_id")


def refresh(campaign_id: int, version: int, changed=None) -> int:
    """Retake the snapshot of every subject × item that is due (see the module docstring), in
    the tally run's transaction (``version``: the run's). Runs whatever the campaign's state
    or setting, so the snapshot never depends on when live results were turned on.
    ``changed``: a select of the subjects whose cells this run wrote (None: all). The others
    need no look: their counts are those the last run judged, which left each either retaken
    or not due. Cost: a ``GROUP BY`` over those subjects' cells and a copy of the retaken
    cells only. Returns how many subject × items were retaken."""
    params = {"campaign_id": campaign_id, "version": version, "k": sup.min_cell()}
    only = ""
    if changed is not None:  # its values are the run's own integers
        only = " AND subject_id IN (" + str(changed.compile(db.engine, compile_kwargs={"literal_binds": True})) + ")"
    retaken = tenant_sql(_DUE.format(only=only), **params).rowcount
    if retaken:
        tenant_sql(_DROP, **params)
        tenant_sql(_TAKE.format(only=only), **params)
    return retaken


# ---- figures as a view may read them -------------------------------------------------------------

_KEYS = {"subject": "c.subject_id", "item": "c.item_id", "subject_item": "c.subject_id, c.item_id"}
_WITHIN = (" JOIN subjects s ON s.tenant_id = c.tenant_id AND s.id = c.subject_id"
           " JOIN units u ON u.tenant_id = s.tenant_id AND u.id = s.unit_id")


def figures(campaign_id: int, by: str, infos: dict[int, ChoiceInfo], view: View,
            subject_id: int | None = None) -> dict:
    """Figures per subject, item or (subject, item) as ``view`` may see them: from the stored
    tally (full), the snapshot (live) or nothing (turnout); only subjects ``within`` a subtree
    when it is set; optionally of one subject. Keys as ``tally.stored_figures``."""
    if not view.figures:
        return {}
    keys, table = _KEYS[by], "tally_counts" if view.mode == FULL else "live_counts"
    sql = f"SELECT {keys}, c.choice_id, SUM(c.count) FROM {table} c"  # nosec B608 # identifiers are this module's constants; every value is bound
    where = " WHERE c.tenant_id = :tenant_id AND c.campaign_id = :campaign_id"
    if view.within:
        sql += _WITHIN
        where += " AND SUBSTR(u.path, 1, :n) = :within"
    if subject_id is not None:
        where += " AND c.subject_id = :subject_id"
    rows = tenant_sql(f"{sql}{where} GROUP BY {keys}, c.choice_id", campaign_id=campaign_id,
                      within=view.within, n=len(view.within or ""), subject_id=subject_id).all()
    out: dict = defaultdict(Figures)
    for *key, choice, n in rows:
        info = infos.get(choice)
        if info is not None:
            out[key[0] if len(key) == 1 else tuple(key)].add(choice, info, int(n))
    return dict(out)


def units_within(within: str | None):
    """A select of the ids of the units in a subtree (for ``Subject.unit_id.in_``), or None."""
    if not within:
        return None
    return select(Unit.id).where(Unit.path.startswith(within, autoescape=True))


# ---- unit roll-ups ---------------------------------------------------------------------------------

_LIVE_CHOICES = ("SELECT s.unit_id, c.choice_id, SUM(c.count) FROM live_counts c JOIN subjects s "
                 "ON s.tenant_id = c.tenant_id AND s.id = c.subject_id "
                 "WHERE c.tenant_id = :tenant_id AND c.campaign_id = :campaign_id GROUP BY s.unit_id, c.choice_id")
_LIVE_SUBJECTS = ("SELECT s.unit_id, COUNT(*), COUNT((SELECT 1 FROM live_items l WHERE l.tenant_id = s.tenant_id "
                  "AND l.campaign_id = s.campaign_id AND l.subject_id = s.id LIMIT 1)) FROM subjects s "
                  "WHERE s.tenant_id = :tenant_id AND s.campaign_id = :campaign_id GROUP BY s.unit_id")


def _live_own(campaign_id: int) -> dict[int, rollup.Figures]:
    """Each unit's own figures from the snapshot (rated: subjects with a snapshot) and its links."""
    infos = campaign_choices(campaign_id)
    own: dict[int, rollup.Figures] = defaultdict(rollup.Figures)
    for unit_id, choice_id, n in tenant_sql(_LIVE_CHOICES, campaign_id=campaign_id).all():
        info = infos.get(choice_id)
        if info is not None:
            f = own[unit_id]
            f.valid += int(n)
            f.satisfied += int(n) if info.satisfied else 0
            f.lowest += int(n) if info.lowest else 0
    for unit_id, subjects, rated in tenant_sql(_LIVE_SUBJECTS, campaign_id=campaign_id).all():
        own[unit_id].subjects, own[unit_id].rated = int(subjects), int(rated)
    for (unit_id,), links in link_counts(campaign_id, ("unit",)).items():
        if links.issued:
            own[unit_id].issued, own[unit_id].used = links
    return dict(own)


def _turnout_only(f: rollup.Figures) -> rollup.Figures:
    return rollup.Figures(subjects=f.subjects, issued=f.issued, used=f.used)


def _root_id(within: str) -> int:
    return int(within.strip("/").split("/")[-1])


def shown_units(view: View, max_depth: int | None = None):
    """A select of the units a page shows: those ``within`` the view's subtree, down to
    ``max_depth`` levels below its top (None: all levels); None when that is every unit."""
    if max_depth is None and not view.within:
        return None
    query = select(Unit.id)
    if view.within:
        query = query.where(Unit.path.startswith(view.within, autoescape=True))
    if max_depth is not None:
        top = view.within.strip("/").count("/") if view.within else select(func.min(Unit.depth)).scalar_subquery()
        query = query.where(Unit.depth <= top + max_depth)
    return query


def unit_figures(campaign_id: int, view: View, run: TallyRun | None = None,
                 max_depth: int | None = None) -> tuple[dict[int, rollup.Figures], rollup.Figures | None]:
    """(subtree figures per unit, the total) as ``view`` may see them: the stored roll-ups
    (full), roll-ups of the snapshot without choice distributions (live), or links and
    subjects only (turnout); only units ``within`` a subtree, whose root's row is the total,
    and down to ``max_depth`` levels below the top."""
    shown = shown_units(view, max_depth)
    if view.mode == LIVE:
        own = _live_own(campaign_id)
        subtrees = rollup.roll_up(own, dict(tenant_sql("SELECT id, path FROM units WHERE tenant_id = :tenant_id")
                                            .all()))
        total = rollup.total(own)
    else:
        subtrees = rollup.stored_subtrees(campaign_id, shown)
        total = rollup.Figures.of(run) if run is not None else None
        if view.mode == TURNOUT:
            subtrees = {u: _turnout_only(f) for u, f in subtrees.items()}
            total = _turnout_only(total) if total is not None else None
    if shown is not None and view.mode == LIVE:
        inside = set(db.session.execute(shown).scalars())
        subtrees = {u: f for u, f in subtrees.items() if u in inside}
    if view.within:
        total = subtrees.get(_root_id(view.within), rollup.Figures())
    return subtrees, total


def ballots_received(run: TallyRun | None, view: View, total: rollup.Figures | None) -> int:
    """收回评议票: the run's ballots, or for a subtree its links used (turnout)."""
    if run is None:
        return 0
    return total.used if view.within and total is not None else run.ballots
