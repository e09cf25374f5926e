"""The demo's 年度评议 (issue 19 item 6): the county (元宝山区委) plans a season and issues it to
平庄煤业 and the school. The school ran it on time — opened in the window, its members voted,
closed and counted, its 统计表 and 总结 submitted — and the county returned that submission for
correction; 平庄煤业 is late (its draft never opened) and was sent a reminder.

Built with the domain's own functions (``pingyi.seasons``), dates relative to now, and small
(the school's three branches; 平庄煤业's campaign stays an empty draft), so ``make demo`` stays
fast. A rerun finds the season by its description and leaves it as it is.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

from sqlalchemy import select

from pingyi.campaigns import lifecycle as cp
from pingyi.campaigns import rules as rl
from pingyi.extensions import db
from pingyi.models import Campaign, Form, Season, SeasonIssue, Tenant, Unit, utcnow
from pingyi.org import accounts
from pingyi.results import tally
from pingyi.seasons import issuing, plan, submissions, watch
from pingyi.tenancy import tenant_context
from pingyi.voting import tokens

from .generate import generate

DESCRIPTION = "按照区委统一部署开展年度民主评议（演示）"
CATEGORIES = [{"name": "党员", "weight": "1", "scope": "own_unit"},
              {"name": "群众", "weight": "1", "scope": "own_unit"}]
RETURN_COMMENT = "请补充整改措施和完成时限，并核对参评人数后重新报送。"
SCHOOL_LINKS = 5  # per branch and category: 3 branches × 2 categories × 5 = 30 links, all used


def _find(county: Tenant) -> Season | None:
    return db.session.execute(select(Season).where(Season.description == DESCRIPTION)
                              .order_by(Season.id.desc())).scalars().first()


def _plan(now) -> Season:
    """The county's season: seed 002's organisation form, the seeds' rules, two categories and the
    appraisal phase, all but the categories fixed; opened three days ago, ten days to run."""
    today = cp.local(now, cp.DEFAULT_TZ).date()
    rules = [asdict(r) for key in ("seed001-3", "seed003") for r in rl.PRESETS[key]["rules"]]
    return plan.create_season(
        f"{today.year}年度民主评议", now - timedelta(days=3), now + timedelta(days=10), today + timedelta(days=14),
        forms=["seed002-org"], rules=rules, categories=CATEGORIES, fixed=["forms", "rules", "dates"],
        description=DESCRIPTION,
        phases=[{"kind": "publicity", "starts_on": (today - timedelta(days=10)).isoformat(),
                 "ends_on": (today - timedelta(days=4)).isoformat()},
                {"kind": "appraisal", "starts_on": (today - timedelta(days=3)).isoformat(),
                 "ends_on": (today + timedelta(days=10)).isoformat()}])


def _school_runs_it(campaign_id: int, season_id: int, now) -> None:
    """The school's admin completes the draft the season built — its branches rated on the
    season's form, links for both categories — and opens it; every member votes (95% satisfied);
    it is closed and counted."""
    c = db.session.get(Campaign, campaign_id)
    form = db.session.execute(select(Form).where(Form.template_key == cp.season_form_key(season_id, 0))).scalar_one()
    root = db.session.execute(select(Unit).where(Unit.parent_id.is_(None))).scalar_one()
    cp.add_subjects_bulk(c, "unit", root, form, ["branch"])
    branches = db.session.execute(select(Unit).where(Unit.kind == "branch").order_by(Unit.path)).scalars().all()
    for k in cp.categories(c):
        tokens.issue_many(c, k, branches, SCHOOL_LINKS)
    cp.transition(c, "open", now - timedelta(days=2))
    db.session.commit()
    generate(c, {}, rng_seed=19)
    c = db.session.get(Campaign, campaign_id)
    cp.transition(c, "close", now - timedelta(hours=6))
    tally.recount(c.id)
    db.session.commit()


def load_season(county: Tenant, pingzhuang: Tenant, school: Tenant, school_admin: str = "admin@school.example") -> str:
    """Create the demo season once (see the module's docstring); the line ``pingyi demo`` prints.
    ``school_admin``: the e-mail of the school's admin, who submits."""
    with tenant_context(county.id):
        season = _find(county)
        season_id = season.id if season else None
    if season_id is None:
        now = utcnow().replace(minute=0, second=0, microsecond=0)
        with tenant_context(county.id):
            season = _plan(now)
            issues = issuing.issue(season, [pingzhuang, school], now - timedelta(days=4))
            season_id = season.id
            issue_id, campaign_id = next((i.id, i.campaign_id) for i in issues if i.target_tenant_id == school.id)
            db.session.commit()
        with tenant_context(school.id):
            _school_runs_it(campaign_id, season_id, now)
            submissions.submit(db.session.get(Campaign, campaign_id), accounts.user_by_email(school_admin),
                               now - timedelta(hours=3))
            db.session.commit()
        with tenant_context(county.id):
            season = db.session.get(Season, season_id)
            returned = submissions.latest(season)[issue_id]
            submissions.return_submission(season, returned.id, RETURN_COMMENT, now - timedelta(hours=1))
            watch.remind(season, [pingzhuang.slug], now)
            db.session.commit()
    with tenant_context(county.id):
        season = db.session.get(Season, season_id)
        issued = db.session.execute(select(SeasonIssue.id).where(SeasonIssue.season_id == season_id)).all()
        return (f"年度评议：{season.name}（/t/county/oversight/seasons/{season_id}，已下发 {len(issued)} 个单位："
                f"区第一中学按时报送、被退回修改，平庄煤业进度滞后、已提醒）")
