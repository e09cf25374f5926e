"""Demo tenants at the scale of seed 002: 平庄煤业 (company committee, 23 committees,
40 general branches, 349 branches, 4 720 members), the county over it, and a small school.

Everything is generated deterministically and loaded through the same upserting import
functions users have, so running the demo twice changes nothing.
"""

from __future__ import annotations

import pandas as pd
from flask import current_app

from pingyi.config import base_url_for_cli
from pingyi.demo import refuse_in_production
from pingyi.extensions import db
from pingyi.models import Campaign, Tenant
from pingyi.org import accounts
from pingyi.org.imports import PERSON_COLUMNS, UNIT_COLUMNS, import_people_frame, import_unit_frame
from pingyi.tenancy import tenant_context

COMMITTEES = [
    "元宝山露天矿", "白音华公司", "西露天矿", "六家矿", "红庙矿", "救护大队", "铁路运输公司", "风水沟矿",
    "培训中心技工学校", "瑞安公司", "销售公司", "水电热力公司", "老公营子矿", "古山矿", "机电修造公司",
    "物资供销公司", "建筑安装公司", "地质勘探队", "选煤厂", "职工医院", "后勤服务中心", "信息中心", "公司机关",
]
DEPARTMENTS = ["采煤", "掘进", "机电", "运输", "通风", "地测", "综合", "后勤", "安监", "调度", "洗选", "供应"]
NUMERALS = "一二三四五六七八九十"
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉建国红文斌宇浩凯峰波亮林"
ROOT = "平庄煤业公司党委"
SEED_SCALE = {"committees": 23, "general_branches": 40, "branches": 349, "members": 4720}


def _name(i: int) -> str:
    s = SURNAMES[i % len(SURNAMES)]
    g1 = GIVEN[(i // len(SURNAMES)) % len(GIVEN)]
    g2 = GIVEN[(i * 7 + 3) % len(GIVEN)] if i % 3 else ""
    return s + g1 + g2


def _numeral(n: int) -> str:
    return NUMERALS[n - 1] if n <= 10 else f"{n}"


def pingzhuang_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Units and people for 平庄煤业 exactly at seed 002's counts."""
    units = [(ROOT, "", "党委")]
    parents: list[str] = []  # paths under which branches hang
    gb_left = SEED_SCALE["general_branches"]
    for ci, short in enumerate(COMMITTEES):
        cpath = f"{ROOT}/{short}党委"
        units.append((f"{short}党委", ROOT, "党委"))
        n_gb = 2 if ci < 17 else 1
        n_gb = min(n_gb, gb_left)
        gb_left -= n_gb
        parents.append(cpath)
        for g in range(n_gb):
            dept = DEPARTMENTS[(ci + g * 5) % len(DEPARTMENTS)]
            units.append((f"{dept}党总支", cpath, "党总支"))
            parents.append(f"{cpath}/{dept}党总支")
    branches: list[str] = []
    for b in range(SEED_SCALE["branches"]):
        parent = parents[b % len(parents)]
        k = b // len(parents)
        dept = DEPARTMENTS[(b + k) % len(DEPARTMENTS)]
        name = f"{dept}{_numeral(k + 1)}队党支部"
        units.append((name, parent, "党支部"))
        branches.append(f"{parent}/{name}")
    udf = pd.DataFrame(units, columns=["name", "parent", "kind"])
    udf["order"] = [str(i) for i in range(len(udf))]
    udf["_row"] = range(2, len(udf) + 2)

    people = []
    per, extra = divmod(SEED_SCALE["members"], len(branches))
    i = 0
    for bi, branch in enumerate(branches):
        for j in range(per + (1 if bi < extra else 0)):
            position = "书记" if j == 0 else ("委员" if j <= 2 else "党员")
            people.append((_name(i), branch, position, "是"))
            i += 1
    pdf = pd.DataFrame(people, columns=["name", "unit", "position", "member"])
    # _name() repeats after len(SURNAMES)*len(GIVEN) people; keep names unique per branch.
    dup = pdf.duplicated(["unit", "name"], keep=False)
    pdf.loc[dup, "name"] = pdf.loc[dup, "name"] + pdf.index[dup].map(str)
    pdf["_row"] = range(2, len(pdf) + 2)
    return udf[[c.key for c in UNIT_COLUMNS] + ["_row"]], pdf[[c.key for c in PERSON_COLUMNS] + ["_row"]]


def school_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    root = "第一中学党总支"
    names = ["教师第一党支部", "教师第二党支部", "离退休党支部"]
    udf = pd.DataFrame([(root, "", "党总支", "0")] + [(n, root, "党支部", str(i + 1)) for i, n in enumerate(names)],
                       columns=["name", "parent", "kind", "order"])
    udf["_row"] = range(2, len(udf) + 2)
    people = [(_name(900 + i), f"{root}/{names[i % 3]}", "书记" if i < 3 else "党员", "是") for i in range(30)]
    pdf = pd.DataFrame(people, columns=["name", "unit", "position", "member"])
    pdf["_row"] = range(2, len(pdf) + 2)
    return udf, pdf


def _ensure_tenant(slug: str, name: str, parent: Tenant | None) -> Tenant:
    tenant = accounts.tenant_by_slug(slug, active_only=False)
    if tenant is None:
        tenant = accounts.create_tenant(slug, name, parent.slug if parent else None)
    return tenant


def _ensure_user(email: str, password: str, superuser: bool = False):
    user = accounts.user_by_email(email)
    if user is None:
        user = accounts.create_user(email, password, superuser=superuser)
    return user


def _ensure_grant(tenant: Tenant, user, role: str, unit=None) -> None:
    current = dict((t.id, m) for m, t in accounts.memberships_of(user))
    m = current.get(tenant.id)
    if m is None or m.role != role or (unit is not None and m.unit_id != unit.id):
        accounts.grant(tenant, user, role, unit)


def load_demo(password: str = "pingyi-demo", base_url: str | None = None) -> list[str]:  # nosec B107 # the demo's published password (README); the demo refuses to run in production
    """Create or top up the demo; returns lines to print (logins and counts). Refused in
    production (``refuse_in_production``), before anything is written. ``base_url``: where
    the printed sample link points (the address the demo is served on)."""
    from sqlalchemy import select

    refuse_in_production()

    from pingyi.models import Unit
    from pingyi.org import orgtree

    from .aftermath import load_aftermath
    from .seasons import load_season

    county = _ensure_tenant("county", "元宝山区委", None)
    pz = _ensure_tenant("pingzhuang", "平庄煤业", county)
    school = _ensure_tenant("school", "区第一中学", county)
    for tenant, (udf, pdf) in ((pz, pingzhuang_frames()), (school, school_frames())):
        with tenant_context(tenant.id):
            import_unit_frame(udf)
            import_people_frame(pdf)
    _ensure_user("root@pingyi.example", password, superuser=True)
    _ensure_grant(pz, _ensure_user("admin@pingzhuang.example", password), "admin")
    _ensure_grant(county, _ensure_user("admin@county.example", password), "admin")
    _ensure_grant(school, _ensure_user("admin@school.example", password), "admin")
    with tenant_context(pz.id):
        xlt = db.session.execute(select(Unit).where(Unit.name == "西露天矿党委")).scalar_one()
        _ensure_grant(pz, _ensure_user("xilutian@pingzhuang.example", password), "unit_admin", xlt)
        kinds = orgtree.kind_counts()
        people, _members = orgtree.people_counts()
    campaign, sample = load_demo_campaign(pz)
    closed = load_closed_campaign(pz)
    load_aftermath(pz, closed)  # its ledger, themes, feedback box and decisions (pingyi.demo.aftermath)
    db.session.commit()
    season = load_season(county, pz, school)  # the county's 年度评议 over both (pingyi.demo.seasons)
    db.session.flush()
    return [
        f"平庄煤业：党委 {kinds.get('committee', 0)} 个（含公司党委），党总支 {kinds.get('general_branch', 0)} 个，"
        f"党支部 {kinds.get('branch', 0)} 个，党员 {people} 名",
        f"登录 / logins (password: {password}):",
        "  租户管理员 admin@pingzhuang.example   → /t/pingzhuang/",
        "  单位管理员 xilutian@pingzhuang.example → 西露天矿党委",
        "  上级督导   admin@county.example        → /t/county/oversight/",
        "  学校管理员 admin@school.example        → /t/school/",
        "  平台超管   root@pingyi.example         → /platform/tenants",
        f"进行中的评议活动：{campaign.name}（/t/pingzhuang/campaigns/{campaign.id}）",
        f"已公布的评议活动：{closed.name}（结果 /t/pingzhuang/campaigns/{closed.id}/results，"
        f"公示页 /p/pingzhuang/{closed.id}）",
        season,
        f"示例测评链接 / sample ballot link: {base_url_for_cli(current_app.config, base_url)}{sample}",
    ]


# ---- the open seed-002 campaign ------------------------------------------------------------------

TITLE = "创先争优活动群众评议"  # seed 002's campaign; the demo's names add the year: "2026年创先争优活动群众评议"
DEMO_DESCRIPTION = "按照平煤政工[%s]23号文件要求开展群众评议（种子 002）"
DEMO_CATEGORIES = [{"name": "员工群众", "weight": "1", "scope": "own_unit"},
                   {"name": "党员", "weight": "1", "scope": "own_unit"},
                   {"name": "先进典型代表", "weight": "1", "scope": "own_unit"}]
SEED_EVALUATORS = 4378


def demo_secret(campaign_id: int, unit_id: int, category: str, i: int) -> str:
    """Reproducible demo link secrets, so `pingyi demo` can print a working sample link on
    every run without storing secrets. Demo data only: real links are random."""
    import base64
    import hashlib

    raw = hashlib.sha256(f"pingyi-demo:{campaign_id}:{unit_id}:{category}:{i}".encode()).digest()[:16]
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def demo_code(secret: str) -> str:
    """The short code printed beside a demo link, derived from it (demo data only)."""
    import hashlib

    from pingyi.voting.tokens import CROCKFORD, SHORT_LEN

    digest = hashlib.sha256(("code:" + secret).encode()).digest()
    return "".join(CROCKFORD[b % 32] for b in digest[:SHORT_LEN])


def campaign_name(opens_at) -> str:
    """A demo campaign's name: the year it opens (Beijing time, the campaigns' zone) and seed 002's title,
    so the name always agrees with the dates, whatever the day the demo is loaded."""
    from pingyi.campaigns import lifecycle as cp

    return f"{cp.local(opens_at, cp.DEFAULT_TZ).year}年{TITLE}"


def _find_demo_campaign(description: str, newest: bool = False) -> Campaign | None:
    """The (first or newest) demo campaign with that description (a LIKE pattern), whatever year its
    name carries, so a rerun in a later year finds it instead of adding another."""
    from sqlalchemy import select

    return db.session.execute(select(Campaign).where(Campaign.name.like(f"%年{TITLE}"),
                                                     Campaign.description.like(description))
                              .order_by(Campaign.id.desc() if newest else Campaign.id)).scalars().first()


def _seed_002_forms() -> dict:
    """The tenant's copies (newest versions) of seed 002's two forms, copied once."""
    from sqlalchemy import select

    from pingyi.campaigns import questionnaire as q
    from pingyi.models import Form

    forms = {}
    for key in ("seed002-org", "seed002-member"):
        forms[key] = db.session.execute(select(Form).where(Form.template_key == key)
                                        .order_by(Form.version.desc())).scalars().first() or q.copy_template(key)
    return forms


def _seed_002_campaign(name: str, description: str, start, end) -> Campaign:
    """A draft campaign as seed 002 ran it: the organization form for every branch, the member
    form for their members, three evaluator categories and the seeds' rules."""
    from sqlalchemy import select

    from pingyi.campaigns import lifecycle as cp
    from pingyi.models import Unit

    c = cp.create_campaign(name, start, end, description)
    forms = _seed_002_forms()
    root = db.session.execute(select(Unit).where(Unit.parent_id.is_(None))).scalar_one()
    cp.add_subjects_bulk(c, "unit", root, forms["seed002-org"], ["branch"])
    cp.add_subjects_bulk(c, "person", root, forms["seed002-member"], ["branch"])
    cp.set_categories(c, DEMO_CATEGORIES)
    cp.add_preset(c, "seed001-3")
    cp.add_preset(c, "seed003")
    return c


def _issue_seed_002_links(c: Campaign, secret_source=None) -> None:
    """4 378 links as seed 002 counts evaluators: per branch 8–9 员工群众, 3 党员, 1 先进典型代表."""
    from sqlalchemy import select

    from pingyi.campaigns import lifecycle as cp
    from pingyi.models import Unit
    from pingyi.voting import tokens

    cats = {k.name: k for k in cp.categories(c)}
    branches = db.session.execute(select(Unit).where(Unit.kind == "branch").order_by(Unit.path)).scalars().all()
    extra = SEED_EVALUATORS - 12 * len(branches)
    for name, units, count in (("员工群众", branches[:extra], 9), ("员工群众", branches[extra:], 8),
                               ("党员", branches, 3), ("先进典型代表", branches, 1)):
        source = (lambda u, i, k=name: secret_source(u, k, i)) if secret_source else None
        tokens.issue_many(c, cats[name], units, count, source)


def load_demo_campaign(tenant: Tenant) -> tuple[Campaign, str]:
    """The seed-002 campaign, open, with reproducible demo links. Returns the campaign and
    one unused sample link path."""
    from datetime import timedelta

    from sqlalchemy import select

    from pingyi.campaigns import lifecycle as cp
    from pingyi.models import BallotToken, Unit, utcnow
    from pingyi.results import tally
    from pingyi.security import hash_secret

    def secret(c_id: int):
        def make(unit_id: int, category: str, i: int) -> tuple[str, str]:
            s = demo_secret(c_id, unit_id, category, i)
            return s, demo_code(s)
        return make

    with tenant_context(tenant.id):
        c = _find_demo_campaign(DEMO_DESCRIPTION % "%", newest=True)
        now = utcnow().replace(minute=0, second=0, microsecond=0)
        if c is not None and c.state == "open" and c.closes_at <= now:
            if now + timedelta(days=30) - c.opens_at <= timedelta(days=366):
                cp.extend_window(c, now + timedelta(days=30))
            else:  # a window lasts a year at most: close that one (its box sealed in), open this year's
                cp.transition(c, "close")
                db.session.commit()
                tally.after_transition(c)
                c = None
        if c is None:
            start = now - timedelta(days=1)
            c = _seed_002_campaign(campaign_name(start), DEMO_DESCRIPTION % cp.local(start, cp.DEFAULT_TZ).year,
                                   start, now + timedelta(days=30))
        if c.state == "draft":
            _issue_seed_002_links(c, secret(c.id))
            cp.transition(c, "open")
        first = db.session.execute(select(Unit).where(Unit.kind == "branch").order_by(Unit.path).limit(1)).scalar_one()
        sample = demo_secret(c.id, first.id, "员工群众", 0)
        for i in range(9):  # the first unused demo link of that branch
            candidate = demo_secret(c.id, first.id, "员工群众", i)
            if db.session.execute(select(BallotToken.id).where(
                    BallotToken.secret_hash == hash_secret(candidate), BallotToken.used.is_(False))).first():
                sample = candidate
                break
    return c, f"/b/{sample}"


# ---- the closed, tallied seed-002 campaign -------------------------------------------------------

# What the publication page shows under the campaign's name: a notice as a committee would post it.
CLOSED_DESCRIPTION = ("根据公司党委关于开展创先争优活动群众评议的安排，现将评议结果予以公示。"
                      "公示期间如有意见，请向公司党委组织部反映。")
_OLD_CLOSED_DESCRIPTION = "按种子 002 的满意率生成的演示选票"  # how demos loaded before said it: found all the same
SEED_002_RATES = {  # seed 002 §四, as printed
    "seed002-org": ["98.7", "97.5", "96.4", "98.4", "98.9"],
    "seed002-member": ["98.7", "96.1", "97.8"],
}


def load_closed_campaign(tenant: Tenant) -> Campaign:
    """Seed 002's campaign once more, closed and tallied: 4 378 generated ballots whose per-item
    satisfaction rates print exactly as the seed's summary report does."""
    from datetime import timedelta
    from fractions import Fraction

    from sqlalchemy import select

    from pingyi.campaigns import lifecycle as cp
    from pingyi.models import FormItem, utcnow
    from pingyi.results import tally
    from pingyi.verification import seal as sealing

    from .generate import generate

    with tenant_context(tenant.id):
        c = _find_demo_campaign(CLOSED_DESCRIPTION) or _find_demo_campaign(_OLD_CLOSED_DESCRIPTION)
        if c is not None:
            c.description = CLOSED_DESCRIPTION  # an older demo's internal note leaves its public page
            sealing.seal_campaign(c)  # a demo loaded before seals existed (a sealed one keeps its seal)
            return c
        now = utcnow().replace(minute=0, second=0, microsecond=0)
        # Historical data: last year's campaign, so this year's shows trends against it. It is
        # built open now (opening checks the window), then moved back to these dates.
        opens_at, closes_at = now - timedelta(days=367), now - timedelta(days=360)
        c = _seed_002_campaign(campaign_name(opens_at), CLOSED_DESCRIPTION, now - timedelta(days=2),
                               now + timedelta(days=1))
        _issue_seed_002_links(c)
        cp.transition(c, "open")
        forms = _seed_002_forms()
        targets = {}
        for key, rates in SEED_002_RATES.items():
            items = db.session.execute(select(FormItem.id).where(FormItem.form_id == forms[key].id,
                                                                 FormItem.kind == "rating")
                                       .order_by(FormItem.section_id, FormItem.position)).scalars().all()
            targets.update({i: Fraction(r) / 100 for i, r in zip(items, rates, strict=True)})
        generate(c, targets, opinion_rate=0.01)
        cp.transition(c, "close")
        c.opens_at, c.closes_at = opens_at, closes_at
        c.opened_at, c.closed_at = c.opens_at, c.closes_at
        tally.recount(c.id)
        sealing.seal_campaign(c)  # as the closing job does: the digest the 公示 page and the report print
        _record_conduct(c)
        # Published (公示) to everyone for a month: the county reads its roll-up, anyone its page.
        cp.transition(c, "publish")
        cp.set_publication(c, "public", None, False)
        c.publish_until = c.published_at + timedelta(days=30)
        db.session.flush()
    return c


def _record_conduct(c: Campaign) -> None:
    """The timetable and the meetings seed 002 reports: 评议会 at the 23 committees (1 685 forms
    handed out there) and 座谈会 at all 412 units below the company (4 378 evaluators), dated
    within the voting window; the summary report counts these records."""
    from datetime import timedelta

    from sqlalchemy import select

    from pingyi.campaigns import lifecycle as cp
    from pingyi.campaigns import meetings, timetable
    from pingyi.models import Unit

    first, last = cp.local(c.opens_at, c.timezone).date(), cp.local(c.closes_at, c.timezone).date()
    timetable.set_phases(c, {"publicity": (first - timedelta(days=14), first - timedelta(days=1)),
                             "appraisal": (first, last),
                             "rectification": (last + timedelta(days=1), last + timedelta(days=60)),
                             "review": (last + timedelta(days=61), last + timedelta(days=90))})
    units = db.session.execute(select(Unit).where(Unit.depth >= 1).order_by(Unit.path)).scalars().all()
    committees = [u for u in units if u.kind == "committee"]
    days = (last - first).days + 1
    for kind, held_at, total in (("appraisal", committees, 1685), ("forum", units, SEED_EVALUATORS)):
        share, extra = divmod(total, len(held_at))
        for i, unit in enumerate(held_at):
            meetings.record(c, unit, kind, first + timedelta(days=i % days), share + (i < extra))
