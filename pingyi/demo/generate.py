"""Generated ballots for demos, tests and benchmarks: one ballot per issued link, answering
every subject the link may rate, with per-item satisfaction rates hitting given targets exactly
at the seeds' printed precision (seed 002: 98.7%, 97.5% …). Deterministic for a given seed.

Rows go in through bulk inserts (COPY on PostgreSQL) and the links are marked used, exactly
as casting would leave them; no request is simulated.
"""

from __future__ import annotations

import random
import secrets
from collections import defaultdict
from fractions import Fraction

from sqlalchemy import select, update

from pingyi.bulk import insert_rows
from pingyi.extensions import db
from pingyi.models import (
    Answer,
    Ballot,
    BallotToken,
    Campaign,
    Comment,
    CountedReceipt,
    EvaluatorCategory,
    Subject,
)
from pingyi.results.tally import percent
from pingyi.tenancy import require_tenant_id
from pingyi.voting import ballots as bl

SATISFIED_SPLIT = 0.8  # of satisfied answers, the share of the top choice (满意 vs 比较满意)
LOWEST_SPLIT = 0.3  # of the others, the share of the lowest choice (不满意 vs 不太满意)
# Opinions as evaluators write them (seed 002 §三/§六 name the themes); a few ballots write one.
# Four of them fall in seed 002 第五篇's themes (活动形式单一, 开展不平衡, 履职践诺需持之以恒,
# 信息报送不及时), so the demo's themes page has something to count. Ten of them: the number
# decides how ``rng.choice`` draws, hence every ballot generated after the first opinion.
OPINIONS = ("希望进一步改善井下作业环境，加强通风和防尘措施。", "班中餐质量有提高，建议增加品种。",
            "公开承诺事项完成得好，希望继续坚持。", "联系群众还不够经常，建议多到一线走访。",
            "困难职工帮扶及时，温暖工程基金使用透明。", "建议加强青年员工技能培训。",
            "各单位活动开展不平衡，有的单位上热下冷。", "学习教育活动形式单一，希望更贴近生产实际。",
            "对整改措施的落实情况希望及时公开。", "基层信息报送不及时，先进典型事迹宣传不够。")


def satisfied_count(total: int, target: Fraction) -> int:
    """The satisfied count whose rate prints like ``target`` (one decimal), nearest to it."""
    best = round(target * total)
    for delta in (0, 1, -1, 2, -2):
        n = best + delta
        if 0 <= n <= total and percent(Fraction(n, total)) == percent(target):
            return n
    return best


def generate(campaign: Campaign, targets: dict[int, Fraction], rng_seed: int = 2024,
             opinion_rate: float = 0.0) -> dict:
    """Cast one ballot for every unused link of ``campaign``; ``targets`` maps form item ids to
    satisfaction rates (items without a target get 95%); each free-text item of each rated
    subject gets an opinion with probability ``opinion_rate``. As the mixer would have left
    them: the links' use is committed first, the ballots are written in random order in a
    transaction of their own (the caller's, which commits). Returns counts."""
    rng = random.Random(rng_seed)  # nosec B311 # demo ballots are drawn from a fixed seed on purpose (the same demo every time)
    tenant_id = require_tenant_id()
    links = db.session.execute(select(BallotToken).where(
        BallotToken.campaign_id == campaign.id, BallotToken.used.is_(False), BallotToken.revoked_at.is_(None))
        .order_by(BallotToken.id)).scalars().all()
    categories = {k.id: k for k in db.session.execute(select(EvaluatorCategory).where(
        EvaluatorCategory.campaign_id == campaign.id)).scalars()}
    subjects = db.session.execute(select(Subject).where(Subject.campaign_id == campaign.id)).scalars().all()
    forms = bl.forms_of(subjects)
    by_unit = defaultdict(list)
    for s in subjects:
        by_unit[s.unit_id].append(s)
    # every (ballot, subject, item) slot, grouped by item so each item's rate can be set exactly
    slots: dict[int, list[tuple[int, int]]] = defaultdict(list)  # item → [(ballot index, subject)]
    scale_of: dict[int, list] = {}
    ballot_rows, comment_rows, receipt_rows = [], [], []
    for b, link in enumerate(links):
        k = categories[link.category_id]
        rated = bl.subjects_for(link, k) if k.scope == "group" else by_unit[link.unit_id]
        receipt = bl.new_receipt()
        receipt_rows.append({"tenant_id": tenant_id, "campaign_id": campaign.id, "code": receipt})
        ballot = {"id": secrets.token_hex(16), "tenant_id": tenant_id, "campaign_id": campaign.id,
                  "category_id": link.category_id, "unit_id": link.unit_id,
                  "receipt_hash": bl.receipt_hash(receipt), "paper": False}
        for s in rated:
            for sec in forms[s.form_id].sections:
                for it in sec.items:
                    if it.kind == "rating":
                        slots[it.id].append((b, s.id))
                        scale_of[it.id] = it.scale.choices
                    elif opinion_rate and rng.random() < opinion_rate:
                        comment_rows.append({"ballot_id": ballot["id"], "tenant_id": tenant_id,
                                             "campaign_id": campaign.id, "category_id": link.category_id,
                                             "subject_id": s.id, "item_id": it.id, "text": rng.choice(OPINIONS)})
        ballot_rows.append(ballot)
    answer_rows = []
    for item, item_slots in slots.items():
        choices = scale_of[item]
        sat = [c.id for c in choices if c.counts_as_satisfied]
        other = [c.id for c in choices if not c.counts_as_satisfied]
        n_sat = satisfied_count(len(item_slots), targets.get(item, Fraction(95, 100)))
        satisfied = set(rng.sample(range(len(item_slots)), n_sat))
        for i, (b, subject) in enumerate(item_slots):
            if i in satisfied:
                choice = sat[0] if len(sat) == 1 or rng.random() < SATISFIED_SPLIT else rng.choice(sat[1:])
            else:
                choice = other[-1] if len(other) == 1 or rng.random() < LOWEST_SPLIT else rng.choice(other[:-1])
            row = ballot_rows[b]
            answer_rows.append({"ballot_id": row["id"], "tenant_id": tenant_id, "campaign_id": campaign.id,
                                "category_id": row["category_id"], "subject_id": subject, "item_id": item,
                                "choice_id": choice})
    db.session.execute(update(BallotToken).where(
        BallotToken.campaign_id == campaign.id, BallotToken.used.is_(False), BallotToken.revoked_at.is_(None))
        .values(used=True).execution_options(synchronize_session=False))
    db.session.commit()  # no transaction id shared with the ballots
    for rows in (ballot_rows, answer_rows, comment_rows):  # stored order must not follow the links'
        rng.shuffle(rows)
    insert_rows(Ballot.__table__, ballot_rows)
    insert_rows(Answer.__table__, answer_rows)
    insert_rows(Comment.__table__, comment_rows)
    insert_rows(CountedReceipt.__table__, sorted(receipt_rows, key=lambda r: r["code"]))  # not the ballots' order
    return {"ballots": len(ballot_rows), "answers": len(answer_rows), "opinions": len(comment_rows)}
