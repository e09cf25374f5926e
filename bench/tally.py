"""``pingyi bench tally --answers N``: a full tally and roll-up of a generated campaign, side by
side with a raw ``GROUP BY subject, item, choice`` over the same answers in the same run.

The campaign has seed 002's shape, repeated until it holds N answers: committees of 15
branches; per branch 13–14 members and 12–13 ballots (349 branches, 4720 members and 4378
ballots at N ≈ 200 000, the seed's scale); each ballot rates its branch on the 5 organization
items and each member of it on the 3 member items. Everything is bulk-loaded (COPY on
PostgreSQL); the tally inbox is then emptied, as live tallies would have left it before the
closing recount. Prints one JSON line:
{"answers", "ballots", "tally_s", "rollup_s", "raw_groupby_s", "ratio", "ballots_s", "cold_tally_s", …,
"subject_page_s", "subject_table_all_s", "subject_page_ratio", "results_page_s"}, ratio = (tally_s + rollup_s) /
raw_groupby_s (see ``measure`` for what each run is); ballots_s = the same recount's count of
the distinct ballots behind each cell (what breakdowns by category are suppressed by), apart
from the ratio: it is a second pass over the answers, made once at the close; subject_page_ratio = one page of the
results' subject table (50 lines, sorted and paged in SQL) / every line of it (what the page
cost when it sorted in Python); results_page_s = the results page's figures of the closed
campaign (issue: under 1 s at 10 M answers).
Goals on the 2-core machine: seed scale under 2 s; 10 M answers under 30 s and ratio ≤ 1.5.
"""

from __future__ import annotations

import random
import secrets
import time
from datetime import timedelta
from fractions import Fraction
from itertools import cycle

from sqlalchemy import delete, select, text

from pingyi.bulk import insert_tuples, reserve_ids
from pingyi.campaigns import lifecycle as cp
from pingyi.campaigns import questionnaire as q
from pingyi.extensions import db
from pingyi.models import (
    Answer,
    Ballot,
    BallotToken,
    Campaign,
    FormItem,
    Person,
    ScaleChoice,
    Subject,
    TallyRun,
    Tenant,
    Unit,
    utcnow,
)
from pingyi.org import accounts
from pingyi.results import dashboard as rs
from pingyi.results import tally
from pingyi.tenancy import tenant_context, tenant_sql

SEED_BRANCHES, SEED_MEMBERS, SEED_BALLOTS = 349, 4720, 4378
PER_COMMITTEE = 15
RAW = ("SELECT subject_id, item_id, choice_id, COUNT(*) FROM answers "
       "WHERE tenant_id = :tenant_id AND campaign_id = :campaign_id GROUP BY subject_id, item_id, choice_id")


def seed_pattern() -> list[tuple[int, int]]:
    """(members, ballots) per branch, spread so 349 branches give exactly the seed's totals."""
    extra_m, extra_b = SEED_MEMBERS - 13 * SEED_BRANCHES, SEED_BALLOTS - 12 * SEED_BRANCHES
    return [(13 + (i * extra_m // SEED_BRANCHES != (i + 1) * extra_m // SEED_BRANCHES),
             12 + (i * extra_b // SEED_BRANCHES != (i + 1) * extra_b // SEED_BRANCHES)) for i in range(SEED_BRANCHES)]


def shape(answers: int | None) -> list[tuple[int, int]]:
    """Branches (members, ballots) until the campaign holds ``answers`` answers; ``None``: the
    seed's 349 branches exactly (199 541 answers)."""
    if answers is None:
        return seed_pattern()
    out, total = [], 0
    for members, ballots in cycle(seed_pattern()):
        if total >= answers:
            return out
        out.append((members, ballots))
        total += ballots * (5 + 3 * members)


def _items(form_id: int) -> list[tuple[int, list[int], list[int]]]:
    """(item, satisfied choices, other choices) of a form's rating items."""
    out = []
    for it in db.session.execute(select(FormItem).where(FormItem.form_id == form_id, FormItem.kind == "rating")
                                 .order_by(FormItem.position)).scalars():
        choices = db.session.execute(select(ScaleChoice).where(ScaleChoice.scale_id == it.scale_id)
                                     .order_by(ScaleChoice.position)).scalars().all()
        out.append((it.id, [c.id for c in choices if c.counts_as_satisfied],
                    [c.id for c in choices if not c.counts_as_satisfied]))
    return out


def load(answers: int | None, rng_seed: int = 2024) -> tuple[int, int, dict]:
    """Create a scratch tenant holding one closed campaign of about ``answers`` answers."""
    rng = random.Random(rng_seed)
    tenant = accounts.create_tenant(f"bench-{secrets.token_hex(3)}", "基准测试")
    db.session.commit()
    branches = shape(answers)
    with tenant_context(tenant.id):
        tid, now = tenant.id, utcnow()
        n_comm = -(-len(branches) // PER_COMMITTEE)
        unit_ids = reserve_ids(Unit.__table__, 1 + n_comm + len(branches))
        root, comms, brs = unit_ids[0], unit_ids[1:1 + n_comm], unit_ids[1 + n_comm:]
        units = [(root, tid, None, "基准公司党委", "committee", 0, f"/{root}/", 0, now)]
        units += [(c, tid, root, f"第{i + 1}基层党委", "committee", i, f"/{root}/{c}/", 1, now)
                  for i, c in enumerate(comms)]
        units += [(b, tid, comms[i // PER_COMMITTEE], f"第{i + 1}党支部", "branch", i,
                   f"/{root}/{comms[i // PER_COMMITTEE]}/{b}/", 2, now) for i, b in enumerate(brs)]
        insert_tuples(Unit.__table__, ["id", "tenant_id", "parent_id", "name", "kind", "sort_order", "path", "depth",
                                       "created_at"], units)
        people = reserve_ids(Person.__table__, sum(m for m, _b in branches))
        members_of, it = {}, iter(people)
        for b, (m, _n) in zip(brs, branches, strict=True):
            members_of[b] = [next(it) for _ in range(m)]
        insert_tuples(Person.__table__, ["id", "tenant_id", "unit_id", "name", "position", "is_party_member",
                                         "sort_order", "created_at"],
                      ((p, tid, b, f"党员{p}", "党员", True, 0, now) for b in brs for p in members_of[b]))
        org_form, member_form = q.copy_template("seed002-org"), q.copy_template("seed002-member")
        c = cp.create_campaign("基准评议", now, now + timedelta(days=30))
        k = cp.set_categories(c, [{"name": "群众"}])[0]
        for preset in ("seed001-3", "seed001-5"):  # the results page judges every subject by them
            cp.add_preset(c, preset)
        db.session.flush()
        subject_ids = reserve_ids(Subject.__table__, len(brs) + len(people))
        sid = iter(subject_ids)
        org_subject = {b: next(sid) for b in brs}
        member_subject = {p: next(sid) for p in people}
        cols = ["id", "tenant_id", "campaign_id", "kind", "unit_id", "person_id", "form_id", "label", "position"]
        insert_tuples(Subject.__table__, cols, (
            *((org_subject[b], tid, c.id, "unit", b, None, org_form.id, f"支部{b}", i) for i, b in enumerate(brs)),
            *((member_subject[p], tid, c.id, "person", b, p, member_form.id, f"党员{p}", 0)
              for b in brs for p in members_of[b])))
        org_items, member_items = _items(org_form.id), _items(member_form.id)
        ballots = [(b, secrets.token_hex(16)) for b, (_m, n) in zip(brs, branches, strict=True) for _ in range(n)]
        insert_tuples(BallotToken.__table__, ["tenant_id", "campaign_id", "category_id", "unit_id", "secret_hash",
                                              "serial", "issued_at", "used"],
                      ((tid, c.id, k.id, b, secrets.token_hex(32), i, now, True) for i, (b, _id) in enumerate(ballots)))
        shuffled = ballots[:]
        rng.shuffle(shuffled)
        insert_tuples(Ballot.__table__, ["id", "tenant_id", "campaign_id", "category_id", "unit_id",
                                         "receipt_hash", "paper"],
                      ((bid, tid, c.id, k.id, b, secrets.token_hex(32), False) for b, bid in shuffled))

        def pick(sat: list[int], other: list[int]) -> int:
            r = rng.random()
            if r < 0.97:
                return sat[0] if r < 0.8 else sat[-1]
            return other[-1] if r > 0.99 else other[0]

        def answer_rows():
            for b, bid in ballots:
                for item, sat, other in org_items:
                    yield bid, org_subject[b], item, tid, c.id, k.id, pick(sat, other)
                for p in members_of[b]:
                    for item, sat, other in member_items:
                        yield bid, member_subject[p], item, tid, c.id, k.id, pick(sat, other)

        insert_tuples(Answer.__table__, ["ballot_id", "subject_id", "item_id", "tenant_id", "campaign_id",
                                         "category_id", "choice_id"], answer_rows())
        # Live tallies would have emptied the inbox during the campaign; the closing recount remains.
        tenant_sql("DELETE FROM tally_inbox WHERE tenant_id = :tenant_id")
        c.state, c.opened_at, c.closed_at = "closed", now, now
        db.session.commit()
        n_answers = tenant_sql("SELECT COUNT(*) FROM answers WHERE tenant_id = :tenant_id").scalar_one()
        shape_info = {"branches": len(brs), "committees": n_comm, "members": len(people)}
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    return tenant.id, c.id, {"answers": n_answers, "ballots": len(ballots), **shape_info}


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def measure(tenant_id: int, campaign_id: int, repeat: int = 2) -> dict:
    """The raw GROUP BY (rows fetched), best of ``repeat``; a cold full tally (no stored counts:
    every cell is written); then ``repeat`` full recounts over stored counts, as at a campaign's
    close after live tallies (every answer is counted again, only changed cells are written).
    The tally's own timings split counting from rolling up."""
    def raw():
        with tenant_context(tenant_id):
            tenant_sql(RAW, campaign_id=campaign_id).all()
        db.session.rollback()

    def full() -> tuple[float, float, float]:
        with tenant_context(tenant_id):
            run = tally.recount(campaign_id)
            db.session.commit()
            return run.timings["count_s"], run.timings["rollup_s"], run.timings["ballots_s"]

    def subject_table(page: int | None):
        """The results page's subject table, lowest rate first: one page as the page reads it
        (sorted and paged in SQL), or every line (what a page cost when it sorted in Python); results_page_s = the results page's figures of the closed
campaign (issue: under 1 s at 10 M answers)."""
        with tenant_context(tenant_id):
            rs.subject_page(db.session.get(Campaign, campaign_id), sort="rate", page=page, per_page=50)
        db.session.rollback()

    raw_s = _best(raw, repeat)
    cold = full()
    tally_s, rollup_s, ballots_s = min((full() for _ in range(repeat)), key=lambda t: t[0] + t[1])
    def results_page():
        """What the results page computes for a closed campaign: the figures are there as soon
        as it closes (live tallies kept the cells current; the closing recount only corrects)."""
        with tenant_context(tenant_id):
            rs.campaign_results(db.session.get(Campaign, campaign_id), 1)
        db.session.rollback()

    page_s, all_s = _best(lambda: subject_table(1), repeat), _best(lambda: subject_table(None), repeat)
    results_s = _best(results_page, repeat)
    return {"tally_s": round(tally_s, 3), "rollup_s": round(rollup_s, 3), "raw_groupby_s": round(raw_s, 3),
            "ratio": round((tally_s + rollup_s) / raw_s, 2), "ballots_s": round(ballots_s, 3),
            "cold_tally_s": round(cold[0], 3), "cold_rollup_s": round(cold[1], 3),
            "cold_ratio": round((cold[0] + cold[1]) / raw_s, 2),
            "subject_page_s": round(page_s, 3), "subject_table_all_s": round(all_s, 3),
            "subject_page_ratio": round(page_s / all_s, 3), "results_page_s": round(results_s, 3)}


def run(answers: int | None, keep: bool = False, repeat: int = 2) -> dict:
    start = time.perf_counter()
    tenant_id, campaign_id, info = load(answers)
    load_s = time.perf_counter() - start
    try:
        figures = measure(tenant_id, campaign_id, repeat)
        with tenant_context(tenant_id):
            r = db.session.execute(select(TallyRun).where(TallyRun.campaign_id == campaign_id)).scalar_one()
            assert (r.ballots, r.answers) == (info["ballots"], info["answers"]), "tally disagrees with the data"
            figures["satisfied"] = tally.percent(Fraction(r.satisfied, r.valid) if r.valid else None)
            figures["cells"] = tenant_sql("SELECT COUNT(*) FROM tally_counts WHERE tenant_id = :tenant_id"
                                          ).scalar_one()
    finally:
        if not keep:
            drop(tenant_id)
    return {"answers": info["answers"], "ballots": info["ballots"], **figures, "load_s": round(load_s, 1),
            "db": db.engine.dialect.name, **{k: v for k, v in info.items() if k not in ("answers", "ballots")},
            "campaign": None if not keep else campaign_id}


def drop(tenant_id: int) -> None:
    """Remove the scratch tenant; the big tables first, by tenant, then the rest by cascade."""
    with tenant_context(tenant_id):
        for table in ("answers", "tally_counts", "ballots", "ballot_tokens"):
            tenant_sql(f"DELETE FROM {table} WHERE tenant_id = :tenant_id")
        db.session.execute(delete(Campaign))
    db.session.execute(delete(Tenant).where(Tenant.id == tenant_id))
    db.session.commit()
