"""Tally math: answer counts → satisfaction figures per item, subject, category and form item
across subjects, weighted rates, and rule verdicts.

Counting is one SQL ``GROUP BY subject, item, choice, category`` (bound to the tenant); the
rest is plain functions over those counts. Rates are exact ``Fraction``s; only display rounds
(one decimal, half up, as the seeds print them: 98.7%).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction

from sqlalchemy import case, delete, func, insert, literal, select, text
from sqlalchemy.sql import column, table

from pingyi import jobs
from pingyi.campaigns import rules as rl
from pingyi.extensions import db
from pingyi.models import (
    Answer,
    Campaign,
    Scale,
    ScaleChoice,
    Subject,
    TallyCount,
    TallyInbox,
    TallyRun,
    TallySubject,
    utcnow,
)
from pingyi.tenancy import require_tenant_id, tenant_sql
from pingyi.verification import seal as sealing
from pingyi.voting import mixer

from .suppression import subjects_clause
from .turnout import format_rate

CountRow = tuple[int, int, int, int, int]  # subject, item, choice, category, count


@dataclass(frozen=True)
class ChoiceInfo:
    satisfied: bool
    lowest: bool


@dataclass
class Figures:
    """Counts of valid answers in one cell, and the shares the rules speak of."""

    total: int = 0
    satisfied: int = 0
    lowest: int = 0
    by_choice: dict[int, int] = field(default_factory=dict)

    def add(self, choice: int, info: ChoiceInfo, n: int) -> None:
        self.total += n
        self.satisfied += n if info.satisfied else 0
        self.lowest += n if info.lowest else 0
        self.by_choice[choice] = self.by_choice.get(choice, 0) + n

    def _share(self, part: int) -> Fraction | None:
        return Fraction(part, self.total) if self.total else None

    @property
    def satisfied_share(self) -> Fraction | None:
        return self._share(self.satisfied)

    @property
    def lowest_share(self) -> Fraction | None:
        return self._share(self.lowest)

    @property
    def not_satisfied_share(self) -> Fraction | None:
        return self._share(self.total - self.satisfied)

    def metrics(self) -> dict[str, Fraction | None]:
        return {"satisfied_share": self.satisfied_share, "lowest_share": self.lowest_share,
                "not_satisfied_share": self.not_satisfied_share}


@dataclass
class TallyResult:
    by_subject_item: dict[tuple[int, int], Figures]
    by_subject: dict[int, Figures]
    by_subject_category: dict[tuple[int, int], Figures]
    by_item: dict[int, Figures]  # a form item across all its subjects (seed 002 §四)
    by_category: dict[int, Figures]


def count_rows(campaign_id: int) -> list[CountRow]:
    """The one aggregate query; the tenant is a bound parameter (raw SQL is not auto-scoped)."""
    return [tuple(r) for r in tenant_sql(
        "SELECT subject_id, item_id, choice_id, category_id, COUNT(*) FROM answers "
        "WHERE tenant_id = :tenant_id AND campaign_id = :campaign_id "
        "GROUP BY subject_id, item_id, choice_id, category_id", campaign_id=campaign_id).all()]


def choice_infos(form_ids: Iterable[int]) -> dict[int, ChoiceInfo]:
    """Every choice of these forms' scales: counts as satisfied? is it the scale's lowest?"""
    q = (select(ScaleChoice.id, ScaleChoice.scale_id, ScaleChoice.position, ScaleChoice.counts_as_satisfied)
         .join(Scale, Scale.id == ScaleChoice.scale_id).where(Scale.form_id.in_(list(form_ids))))
    rows = db.session.execute(q).all()
    last = defaultdict(int)
    for _cid, scale_id, pos, _sat in rows:
        last[scale_id] = max(last[scale_id], pos)
    return {cid: ChoiceInfo(bool(sat), pos == last[scale_id]) for cid, scale_id, pos, sat in rows}


def campaign_choices(campaign_id: int) -> dict[int, ChoiceInfo]:
    """``choice_infos`` of the forms a campaign's subjects are rated on."""
    forms = select(Subject.form_id).where(Subject.campaign_id == campaign_id).distinct()
    return choice_infos(db.session.execute(forms).scalars())


def summarize(rows: Iterable[CountRow], choices: dict[int, ChoiceInfo]) -> TallyResult:
    """Fold count rows into figures; rows naming an unknown choice (not a rating) are ignored."""
    r = TallyResult(defaultdict(Figures), defaultdict(Figures), defaultdict(Figures), defaultdict(Figures),
                    defaultdict(Figures))
    for subject, item, choice, category, n in rows:
        info = choices.get(choice)
        if info is None:
            continue
        for cell in (r.by_subject_item[(subject, item)], r.by_subject[subject],
                     r.by_subject_category[(subject, category)], r.by_item[item], r.by_category[category]):
            cell.add(choice, info, n)
    return r


def weighted_satisfaction(result: TallyResult, subject: int, weights: dict[int, Fraction]) -> Fraction | None:
    """Σ wₖ·rateₖ over the categories that rated the subject, renormalized to the weights
    present (a category with no ballots for this subject neither helps nor hurts)."""
    parts = [(w, result.by_subject_category[(subject, k)].satisfied_share) for k, w in weights.items()
             if (subject, k) in result.by_subject_category and result.by_subject_category[(subject, k)].total]
    total_w = sum((w for w, _r in parts), Fraction(0))
    if not parts or total_w == 0:
        return None
    return sum((w * rate for w, rate in parts), Fraction(0)) / total_w


def verdicts(result: TallyResult, specs: list[rl.RuleSpec], kinds: dict[int, str],
             turnout: dict[int, Fraction | None] | None = None) -> dict[int, list[rl.RuleSpec]]:
    """The rules each subject falls under (subjects without answers are judged on turnout only)."""
    out = {}
    for subject, kind in kinds.items():
        figures = result.by_subject[subject].metrics() if subject in result.by_subject else {}
        figures["turnout"] = (turnout or {}).get(subject)
        hits = rl.evaluate(specs, figures, kind)
        if hits:
            out[subject] = hits
    return out


def percent(value: Fraction | None) -> str:
    """98.7% — one decimal, half up, from the exact fraction (one formatter for all pages)."""
    return format_rate(value)


def subject_facts(campaign_id: int) -> tuple[dict[int, str], dict[int, ChoiceInfo]]:
    """Subject kinds and the choice facts of their forms, for summarizing a campaign."""
    subjects = db.session.execute(select(Subject.id, Subject.kind, Subject.form_id)
                                  .where(Subject.campaign_id == campaign_id)).all()
    return {s: k for s, k, _f in subjects}, choice_infos({f for _s, _k, f in subjects})


def tally_campaign(campaign_id: int) -> tuple[TallyResult, dict[int, str]]:
    """Count and summarize a campaign afresh (no stored tally); also returns subject kinds."""
    kinds, infos = subject_facts(campaign_id)
    return summarize(count_rows(campaign_id), infos), kinds


LOCK_NAMESPACE = 0x7079  # pg_advisory_xact_lock(namespace, campaign_id): one tally per campaign
WORK_MEM = "256MB"
ANALYZE_AFTER = 50_000  # cells rewritten by a recount before it refreshes the statistics

_COLUMNS = "tenant_id, campaign_id, subject_id, item_id, choice_id, category_id"
_A_COLUMNS = ", ".join("a." + c for c in _COLUMNS.split(", "))
KEY = ("subject_id", "item_id", "choice_id", "category_id")
_KEY = ", ".join(KEY)
STORED = ("(SELECT subject_id, item_id, choice_id, category_id, count FROM tally_counts "
          "WHERE tenant_id = :tenant_id AND campaign_id = :campaign_id)")
# A full recount's scratch table of changed cells (PostgreSQL), named per campaign (one tally
# per campaign at a time); unlogged rather than temporary: temporary tables live in small
# per-session buffers and are never scanned in parallel.
_SCRATCH = "tally_diff_{c}"
# Every ballot is counted either by a full recount or by one incremental run, never both: a
# full recount skips the ballots still unclaimed in the inbox (cast after its claim; they
# belong to the next run), evaluated in the same statement as the count, hence the same
# snapshot. The fresh counts are compared with the stored ones in that statement too, and only
# changed cells are kept: a recount after live tallies writes nothing. (FULL JOIN: SQLite ≥ 3.39.)
_FRESH = (f"SELECT {_KEY}, COUNT(*) AS count FROM answers WHERE tenant_id = :tenant_id "  # nosec B608 # identifiers are this module's constants (and a scratch name from ints); every value is bound
          "AND campaign_id = :campaign_id AND ballot_id NOT IN ("
          f" SELECT ballot_id FROM tally_inbox WHERE tenant_id = :tenant_id AND NOT claimed) GROUP BY {_KEY}")
_DIFF = ("CREATE UNLOGGED TABLE {diff} AS SELECT "
         + ", ".join(f"COALESCE(f.{k}, t.{k}) AS {k}" for k in KEY) + f", f.count AS count FROM ({_FRESH}) f "
         f"FULL JOIN {STORED} t ON " + " AND ".join(f"t.{k} = f.{k}" for k in KEY)
         + " WHERE f.count IS NULL OR t.count IS NULL OR f.count <> t.count")
# SQLite (the embedded, single-writer default) has no hash joins for the comparison above and
# no costly dead index entries either: there a recount simply replaces the campaign's cells.
_REPLACE = (f"INSERT INTO tally_counts ({_COLUMNS}, count) SELECT CAST(:tenant_id AS INTEGER), "  # nosec B608 # identifiers are this module's constants (and a scratch name from ints); every value is bound
            f"CAST(:campaign_id AS INTEGER), f.* FROM ({_FRESH}) f")
_DIFF_DELETE = ("DELETE FROM tally_counts WHERE tenant_id = :tenant_id AND campaign_id = :campaign_id "  # nosec B608 # identifiers are this module's constants (and a scratch name from ints); every value is bound
                "AND EXISTS (SELECT 1 FROM {diff} d WHERE "
                + " AND ".join(f"d.{k} = tally_counts.{k}" for k in KEY) + ")")
_DIFF_INSERT = (f"INSERT INTO tally_counts ({_COLUMNS}, count) SELECT "  # nosec B608 # identifiers are this module's constants (and a scratch name from ints); every value is bound
                f"CAST(:tenant_id AS INTEGER), CAST(:campaign_id AS INTEGER), {_KEY}, count "
                "FROM {diff} WHERE count IS NOT NULL")
_FULL_BALLOTS = ("SELECT COUNT(*) FROM ballots b WHERE b.tenant_id = :tenant_id AND b.campaign_id = :campaign_id "
                 "AND NOT EXISTS (SELECT 1 FROM tally_inbox i WHERE i.ballot_id = b.id AND NOT i.claimed)")
_INCREMENT = (f"INSERT INTO tally_counts ({_COLUMNS}, count) SELECT {_A_COLUMNS}, COUNT(*) FROM answers a "  # nosec B608 # identifiers are this module's constants (and a scratch name from ints); every value is bound
              "JOIN tally_inbox i ON i.ballot_id = a.ballot_id "
              "WHERE i.tenant_id = :tenant_id AND i.campaign_id = :campaign_id AND i.claimed "
              f"AND a.tenant_id = :tenant_id GROUP BY {_A_COLUMNS} "
              "ON CONFLICT (campaign_id, subject_id, item_id, choice_id, category_id) "
              "DO UPDATE SET count = tally_counts.count + excluded.count")


# ---- kept beside the cells: each subject's sums, the ballots behind each cell -----------------------

def choice_flags(tenant_id: int):
    """Per choice of the tenant's scales: ``sat`` (1 when it counts as satisfied) and ``low``
    (1 for its scale's last, lowest choice), as a subquery to weigh cells with in SQL; the
    same facts as ``choice_infos``, for sums the database sorts or keeps."""
    last = (select(ScaleChoice.scale_id, func.max(ScaleChoice.position).label("last"))
            .where(ScaleChoice.tenant_id == tenant_id).group_by(ScaleChoice.scale_id).subquery())
    return (select(ScaleChoice.id.label("choice_id"),
                   case((ScaleChoice.counts_as_satisfied, 1), else_=0).label("sat"),
                   case((ScaleChoice.position == last.c.last, 1), else_=0).label("low"))
            .join(last, last.c.scale_id == ScaleChoice.scale_id)
            .where(ScaleChoice.tenant_id == tenant_id).subquery())


def subject_sums(cells, campaign_id: int, *where):
    """Per subject: answers, satisfied and lowest-choice answers summed from ``cells`` (the
    stored ``TallyCount`` or the live snapshot's ``LiveCount``) and the rate (satisfied ÷
    answers, NULL without answers), optionally of some subjects."""
    tid = require_tenant_id()
    flags = choice_flags(tid)
    satisfied = func.sum(cells.count * flags.c.sat)
    return (select(cells.subject_id, func.sum(cells.count).label("total"), satisfied.label("satisfied"),
                   func.sum(cells.count * flags.c.low).label("lowest"),
                   (satisfied * 1.0 / func.nullif(func.sum(cells.count), 0)).label("rate"))
            .join(flags, flags.c.choice_id == cells.choice_id)
            .where(cells.tenant_id == tid, cells.campaign_id == campaign_id, *where)
            .group_by(cells.subject_id))


def _keep_subjects(campaign_id: int, changed=None) -> None:
    """Re-sum ``tally_subjects`` from the stored cells: every subject, or those ``changed``
    selects (the subjects whose cells a run just wrote)."""
    tid = require_tenant_id()
    where = [] if changed is None else [TallySubject.subject_id.in_(changed)]
    db.session.execute(delete(TallySubject).where(TallySubject.campaign_id == campaign_id, *where))
    sums = subject_sums(TallyCount, campaign_id, *([] if changed is None else [TallyCount.subject_id.in_(changed)]))
    sums = sums.subquery()
    db.session.execute(insert(TallySubject).from_select(
        ["tenant_id", "campaign_id", "subject_id", "total", "satisfied", "lowest", "rate"],
        select(literal(tid), literal(campaign_id), sums.c.subject_id, sums.c.total, sums.c.satisfied, sums.c.lowest,
               sums.c.rate)))


# Answers per item × category × choice: summed from the cells (a full run) or the claimed
# ballots' answers added (a live run; each ballot is claimed by exactly one run).
_ITEMS_ALL = ("INSERT INTO tally_items (tenant_id, campaign_id, item_id, category_id, choice_id, count) "
              "SELECT tenant_id, campaign_id, item_id, category_id, choice_id, SUM(count) FROM tally_counts "
              "WHERE tenant_id = :tenant_id AND campaign_id = :campaign_id "
              "GROUP BY tenant_id, campaign_id, item_id, category_id, choice_id")
_ITEMS_ADD = ("INSERT INTO tally_items (tenant_id, campaign_id, item_id, category_id, choice_id, count) "
              "SELECT a.tenant_id, a.campaign_id, a.item_id, a.category_id, a.choice_id, COUNT(*) FROM answers a "
              "JOIN tally_inbox i ON i.ballot_id = a.ballot_id "
              "WHERE i.tenant_id = :tenant_id AND i.campaign_id = :campaign_id AND i.claimed "
              "GROUP BY a.tenant_id, a.campaign_id, a.item_id, a.category_id, a.choice_id "
              "ON CONFLICT (campaign_id, item_id, category_id, choice_id) "
              "DO UPDATE SET count = tally_items.count + excluded.count")


def _keep_items(campaign_id: int, full: bool) -> None:
    """``tally_items``: summed afresh from the stored cells, or the claimed ballots added."""
    if full:
        tenant_sql("DELETE FROM tally_items WHERE tenant_id = :tenant_id AND campaign_id = :campaign_id",
                   campaign_id=campaign_id)
    tenant_sql(_ITEMS_ALL if full else _ITEMS_ADD, campaign_id=campaign_id)


def _claimed_subjects(campaign_id: int):
    """The subjects answered by the ballots this run claimed (answers found by ballot id alone,
    as ``_CATEGORY_BALLOTS`` explains)."""
    return (select(Answer.subject_id).join(TallyInbox, TallyInbox.ballot_id == Answer.ballot_id)
            .where(TallyInbox.tenant_id == require_tenant_id(), TallyInbox.campaign_id == campaign_id,
                   TallyInbox.claimed).distinct())


# The ballots behind each cell by category and the ballots' unit (a ballot that only commented
# on a subject counts too): a full run over every answer except the ballots still unclaimed in
# the inbox (as ``_FRESH``), an incremental one over the claimed ballots, found by their ids.
_ALL_ROWS = ("SELECT subject_id, category_id, ballot_id FROM {t} WHERE tenant_id = :tenant_id "
             "AND campaign_id = :campaign_id AND ballot_id NOT IN ("
             " SELECT ballot_id FROM tally_inbox WHERE tenant_id = :tenant_id AND NOT claimed)")
_CLAIMED_ROWS = ("SELECT r.subject_id, r.category_id, r.ballot_id FROM tally_inbox i JOIN {t} r "
                 "ON r.ballot_id = i.ballot_id "
                 "WHERE i.tenant_id = :tenant_id AND i.campaign_id = :campaign_id AND i.claimed")
_BALLOT_CELLS = ("INSERT INTO tally_ballots (tenant_id, campaign_id, subject_id, category_id, unit_id, ballots) "  # nosec B608 # identifiers are this module's constants; every value is bound
                 "SELECT CAST(:tenant_id AS INTEGER), CAST(:campaign_id AS INTEGER), x.subject_id, x.category_id, "
                 "b.unit_id, COUNT(DISTINCT x.ballot_id) FROM ({rows_a} UNION ALL {rows_c}) x "
                 "JOIN ballots b ON b.id = x.ballot_id AND b.tenant_id = :tenant_id "
                 "GROUP BY x.subject_id, x.category_id, b.unit_id{upsert}")
_ADD_BALLOTS = (" ON CONFLICT (campaign_id, subject_id, category_id, unit_id) "
                "DO UPDATE SET ballots = tally_ballots.ballots + excluded.ballots")
# Ballots per category that answered or commented on anything.
# (The inner lookups go by ballot id alone, the primary key's first column: with a tenant filter
# beside it, stale statistics once made PostgreSQL AND it with the tenant's whole index per ballot.)
_CATEGORY_BALLOTS = ("SELECT b.category_id, COUNT(*) FROM ballots b WHERE b.tenant_id = :tenant_id "  # nosec B608 # identifiers are this module's constants; every value is bound
                     "AND b.campaign_id = :campaign_id AND {scope} AND ("
                     "EXISTS (SELECT 1 FROM answers a WHERE a.ballot_id = b.id) OR "
                     "EXISTS (SELECT 1 FROM comments m WHERE m.ballot_id = b.id)) "
                     "GROUP BY b.category_id")
_UNCLAIMED = "NOT EXISTS (SELECT 1 FROM tally_inbox i WHERE i.ballot_id = b.id AND NOT i.claimed)"
_CLAIMED = "EXISTS (SELECT 1 FROM tally_inbox i WHERE i.ballot_id = b.id AND i.claimed)"


def _keep_ballots(campaign_id: int, run: TallyRun, full: bool) -> None:
    """``tally_ballots`` and ``run.category_ballots``: counted afresh (full) or the claimed
    ballots added (each ballot is claimed by exactly one run, so adding is exact)."""
    if full:
        tenant_sql("DELETE FROM tally_ballots WHERE tenant_id = :tenant_id AND campaign_id = :campaign_id",
                   campaign_id=campaign_id)
        rows = _ALL_ROWS
    else:
        rows = _CLAIMED_ROWS
    tenant_sql(_BALLOT_CELLS.format(rows_a=rows.format(t="answers"), rows_c=rows.format(t="comments"),
                                    upsert="" if full else _ADD_BALLOTS), campaign_id=campaign_id)
    per = {} if full else {str(k): int(n) for k, n in (run.category_ballots or {}).items()}
    for cat, n in tenant_sql(_CATEGORY_BALLOTS.format(scope=_UNCLAIMED if full else _CLAIMED),
                             campaign_id=campaign_id).all():
        per[str(cat)] = per.get(str(cat), 0) + int(n)
    run.category_ballots = per


def _lock(campaign_id: int) -> None:
    """Serialize tallies of one campaign (a transaction-scoped advisory lock on PostgreSQL;
    SQLite has one writer at a time, and the claim that follows is a write). On PostgreSQL the
    tally's hash aggregates get memory enough not to spill, and no JIT (a fixed ~1 s cost)."""
    if db.session.connection().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:ns, :c)"), {"ns": LOCK_NAMESPACE, "c": campaign_id})
        db.session.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
        db.session.execute(text("SET LOCAL jit = off"))


def _run(campaign_id: int) -> TallyRun | None:
    """The stored run, read afresh (after the lock, another run may have just committed)."""
    return db.session.execute(select(TallyRun).where(TallyRun.campaign_id == campaign_id)
                              .execution_options(populate_existing=True)).scalar_one_or_none()


def _claim(campaign_id: int) -> int:
    """Mark the inbox's ballots as this run's; ballots committed later stay for the next run."""
    return tenant_sql("UPDATE tally_inbox SET claimed = TRUE WHERE tenant_id = :tenant_id "
                      "AND campaign_id = :campaign_id AND NOT claimed", campaign_id=campaign_id).rowcount


ALL = None  # ``_finish``'s ``changed``: every subject (a select of some; False: none)


def _finish(campaign_id: int, run: TallyRun, full: bool, started: float, ballots_s: float = 0.0,
            changed=ALL) -> TallyRun:
    """Stamp the run, store the roll-up, retake the live snapshot of the ``changed`` subjects,
    drop the claimed inbox rows. ``run.timings`` (not stored) splits the time between
    counting and rolling up, for the job page and the bench."""
    run.version, run.full, run.computed_at = run.version + 1, full, utcnow()
    from .rollup import store_rollup

    counted = time.perf_counter()
    store_rollup(campaign_id, run)
    db.session.flush()
    from .live_view import refresh

    if changed is not False:
        refresh(campaign_id, run.version, changed)  # what an open campaign may show moves in steps of k
    tenant_sql("DELETE FROM tally_inbox WHERE tenant_id = :tenant_id AND campaign_id = :campaign_id AND claimed",
               campaign_id=campaign_id)
    run.timings = {"count_s": counted - started - ballots_s, "ballots_s": ballots_s,
                   "rollup_s": time.perf_counter() - counted}
    return run


def _write_changed_cells(campaign_id: int) -> int:
    """PostgreSQL: count and compare in one statement, then rewrite only the changed cells;
    returns how many changed."""
    diff = _SCRATCH.format(c=int(campaign_id))
    db.session.execute(text(f"DROP TABLE IF EXISTS {diff}"))
    # Scan in parallel workers, which the planner would not do for a CREATE TABLE … AS (10 M
    # answers, 2 cores: 4.5 s → 3.7 s), nor for the roll-up that follows.
    db.session.execute(text("SET LOCAL parallel_setup_cost = 0"))
    db.session.execute(text("SET LOCAL parallel_tuple_cost = 0"))
    tenant_sql(_DIFF.format(diff=diff), campaign_id=campaign_id)
    changed = db.session.execute(text(f"SELECT COUNT(*) FROM {diff}")).scalar_one()  # nosec B608 # identifiers are this module's constants (and a scratch name from ints); every value is bound
    if changed:
        tenant_sql(_DIFF_DELETE.format(diff=diff), campaign_id=campaign_id)
        tenant_sql(_DIFF_INSERT.format(diff=diff), campaign_id=campaign_id)
        if changed > ANALYZE_AFTER:  # later plans see millions of cells, not "1 row"
            db.session.execute(text("ANALYZE tally_counts"))
        _keep_subjects(campaign_id, select(table(diff, column("subject_id")).c.subject_id).distinct())
        _keep_items(campaign_id, full=True)
    db.session.execute(text(f"DROP TABLE {diff}"))
    return changed


def recount(campaign_id: int) -> TallyRun:
    """Full recount from the answers, in the caller's transaction (a run that dies before its
    commit leaves the previous tally untouched). On PostgreSQL only cells whose count changed
    are rewritten (re-running writes nothing); SQLite replaces the campaign's cells. Either way
    re-running gives the same rows; only the run's version grows."""
    started = time.perf_counter()
    _lock(campaign_id)
    _claim(campaign_id)
    tenant_id = require_tenant_id()
    changed = ALL
    if db.session.connection().dialect.name == "postgresql":
        changed = ALL if _write_changed_cells(campaign_id) else False
    else:
        tenant_sql("DELETE FROM tally_counts WHERE tenant_id = :tenant_id AND campaign_id = :campaign_id",
                   campaign_id=campaign_id)
        tenant_sql(_REPLACE, campaign_id=campaign_id)
        _keep_subjects(campaign_id)
        _keep_items(campaign_id, full=True)
    run = _run(campaign_id)
    if run is None:
        run = TallyRun(tenant_id=tenant_id, campaign_id=campaign_id, version=0, computed_at=utcnow())
        db.session.add(run)
    run.ballots = tenant_sql(_FULL_BALLOTS, campaign_id=campaign_id).scalar_one()
    kept = time.perf_counter()
    _keep_ballots(campaign_id, run, full=True)
    return _finish(campaign_id, run, True, started, time.perf_counter() - kept, changed)


def update(campaign_id: int) -> TallyRun:
    """Add the ballots cast since the last run to the stored counts (a full recount if there is
    none yet). Always equal to what ``recount`` would store; tests hold it to that."""
    started = time.perf_counter()
    _lock(campaign_id)
    run = _run(campaign_id)
    if run is None:
        return recount(campaign_id)
    claimed = _claim(campaign_id)
    if claimed:
        tenant_sql(_INCREMENT, campaign_id=campaign_id)
        _keep_subjects(campaign_id, _claimed_subjects(campaign_id))
        _keep_items(campaign_id, full=False)
        _keep_ballots(campaign_id, run, full=False)
    run.ballots += claimed
    return _finish(campaign_id, run, False, started, changed=_claimed_subjects(campaign_id) if claimed else False)


def stored_run(campaign_id: int) -> TallyRun | None:
    """The campaign's last stored run (totals, version), or None before the first tally."""
    return db.session.execute(select(TallyRun).where(TallyRun.campaign_id == campaign_id)).scalar_one_or_none()


def stored_rows(campaign_id: int) -> list[CountRow]:
    return [tuple(r) for r in db.session.execute(
        select(TallyCount.subject_id, TallyCount.item_id, TallyCount.choice_id, TallyCount.category_id,
               TallyCount.count).where(TallyCount.campaign_id == campaign_id)).all()]


_GROUPINGS = {"subject": "subject_id", "item": "item_id", "category": "category_id",
              "subject_category": "subject_id, category_id", "subject_item": "subject_id, item_id",
              "item_category": "item_id, category_id"}
_ACROSS_SUBJECTS = ("item", "category", "item_category")  # read from the kept tally_items


def stored_figures(campaign_id: int, by: str, infos: dict[int, ChoiceInfo],
                   subject_id: int | Iterable[int] | None = None) -> dict:
    """Figures per subject, item, category, (subject, category), (subject, item) or (item, category) from the
    stored cells, summed in SQL (a page needs a few thousand rows, not every cell); optionally
    for one subject or a page's. Across all subjects, items and categories come from the kept
    ``tally_items``. Keys are ints, or tuples of ints for the pairs."""
    keys = _GROUPINGS[by]
    one, params = subjects_clause(subject_id)
    cells = "tally_items" if subject_id is None and by in _ACROSS_SUBJECTS else "tally_counts"
    rows = tenant_sql(f"SELECT {keys}, choice_id, SUM(count) FROM {cells} WHERE tenant_id = :tenant_id "  # nosec B608 # identifiers are this module's constants (and a scratch name from ints); every value is bound
                      f"AND campaign_id = :campaign_id{one} GROUP BY {keys}, choice_id",
                      campaign_id=campaign_id, **params).all()
    out: dict = defaultdict(Figures)
    for *key, choice, n in rows:
        info = infos.get(choice)
        if info is not None:
            out[key[0] if len(key) == 1 else tuple(key)].add(choice, info, int(n))
    return dict(out)


def fold(pairs: dict[tuple[int, int], Figures]) -> tuple[dict[int, Figures], dict[int, Figures]]:
    """Figures per (a, b) → per a and per b (e.g. per item and per category from per pair)."""
    by_a: dict = defaultdict(Figures)
    by_b: dict = defaultdict(Figures)
    for (a, b), f in pairs.items():
        for key, out in ((a, by_a), (b, by_b)):
            for choice, n in f.by_choice.items():
                out[key].total += n
                out[key].by_choice[choice] = out[key].by_choice.get(choice, 0) + n
            out[key].satisfied += f.satisfied
            out[key].lowest += f.lowest
    return dict(by_a), dict(by_b)


def stored_summary(campaign_id: int, subject_categories: bool = False) -> tuple[TallyResult, dict[int, str]]:
    """What the results pages need of the stored tally, each part summed in SQL: figures per
    subject, item and category (and per subject × category on request); per subject × item
    is left empty — ``stored_result`` has everything, at the cost of reading every cell."""
    kinds, infos = subject_facts(campaign_id)
    parts = {by: stored_figures(campaign_id, by, infos) for by in ("subject", "item", "category")}
    pairs = stored_figures(campaign_id, "subject_category", infos) if subject_categories else {}
    return TallyResult({}, parts["subject"], pairs, parts["item"], parts["category"]), kinds


def stored_result(campaign_id: int) -> tuple[TallyResult, dict[int, str]]:
    """The last stored tally (what pages and reports read), summarized."""
    kinds, infos = subject_facts(campaign_id)
    return summarize(stored_rows(campaign_id), infos), kinds


def submit(campaign_id: int, user_id: int | None = None, run_here: bool = False):
    """Queue a full recount as a job (or run it here); returns the job row."""
    return jobs.submit("tally", {"campaign_id": campaign_id}, user_id=user_id, run_here=run_here)


def submit_seal(campaign_id: int, user_id: int | None = None):
    """Queue the closing job: ``seal`` then recount."""
    return jobs.submit("tally", {"campaign_id": campaign_id, "seal": True}, user_id=user_id)


def after_transition(campaign, user_id: int | None = None) -> None:
    """Closing ends voting: mix what is left in the box, reshuffle, and recount everything once
    more, in full (the figures to publish). Called after the transition is committed, by
    every place that transitions."""
    if campaign.state == "closed":
        submit_seal(campaign.id, user_id)


def seal(campaign_id: int) -> TallyRun:
    """After voting: the rest of the box and all the campaign's ballots rewritten in random
    order (``mixer.reshuffle``), then a full recount and, unless the campaign was reopened
    meanwhile, its seal (``verification.seal``: the digest; the rows cannot change after), in
    one transaction (the caller commits, then ``mixer.vacuum_sealed``). Ballots still being
    written when it starts are waited for (``mixer.settle``): none can arrive after the seal."""
    mixer.settle()
    _lock(campaign_id)
    mixer.reshuffle(campaign_id)
    run = recount(campaign_id)
    campaign = db.session.get(Campaign, campaign_id)
    if campaign.state in sealing.SEALABLE:
        sealing.seal_campaign(campaign)
    return run


@jobs.handles("tally", queue="tally")
def run_tally_job(job) -> None:
    """A full recount; the closing one (``seal``) first empties the box and reshuffles, as does
    any recount of a campaign no longer open whose box still holds ballots."""
    campaign_id = job.params["campaign_id"]
    state = db.session.execute(select(Campaign.state).where(Campaign.id == campaign_id)).scalar_one()
    closing = job.params.get("seal") or (state != "open" and mixer.waiting(campaign_id) > 0)
    run = seal(campaign_id) if closing else recount(campaign_id)
    job.result = {"version": run.version, "ballots": run.ballots, "answers": run.answers,
                  **{k: round(v, 3) for k, v in run.timings.items()}}
    job.done = job.total = 1
    if closing:
        db.session.commit()
        mixer.vacuum_sealed()
