"""A unit admin writes and reads inside their subtree only, never their root's place in the tree
(issue 14, item 5). Tenant A's unit admin manages 一矿党委 (采煤一队党支部 and 王伟 below it);
机关党支部 and 李娜 are a sibling subtree, 公司党委 the root above. Tested as an attacker: the
sibling's and the root's ids on every page and API route, their own root moved or deleted
through the API, a sort order that is no number; and every page a unit admin may open shows
their subtree's rows and figures, never the tenant's."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.models import AuditEvent, Job, Person, Subject, Unit
from pingyi.org import accounts, orgtree
from pingyi.tenancy import tenant_context, unscoped
from pingyi.voting import sampling, tokens
from tests import clock
from tests.ballot_world import build, close_and_count, full_answers, vote
from tests.factories import PASSWORD, bearer, login

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted

# What belongs to the sibling subtree (机关党支部 and its member 李娜) and must never show.
SIBLING = ("机关党支部", "李娜", "机关的意见")


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _key_for(app, email: str) -> str:
    with app.app_context():
        _, key = accounts.create_api_key(accounts.user_by_email(email), "test")
        db.session.commit()
    return key


def _tree(app, tenant_id: int) -> list[tuple]:
    """Every unit's place and fields, every person, the audit count: what a refused write must
    leave as it was."""
    with app.app_context(), unscoped():
        units = db.session.execute(select(Unit.id, Unit.name, Unit.kind, Unit.parent_id, Unit.path, Unit.depth,
                                          Unit.sort_order).where(Unit.tenant_id == tenant_id)
                                   .order_by(Unit.id)).all()
        people = db.session.execute(select(Person.id, Person.name, Person.unit_id, Person.position)
                                    .where(Person.tenant_id == tenant_id).order_by(Person.id)).all()
        audit = db.session.execute(select(func.count()).select_from(AuditEvent)
                                   .where(AuditEvent.tenant_id == tenant_id)).scalar()
    return [tuple(r) for r in units] + [tuple(r) for r in people] + [audit]


# ---- the tree: a unit admin never moves or deletes their own root, never stores a non-number ----

@pytest.fixture
def leaf_admin(app, world):
    """A unit admin of 新支部, an empty unit right under 公司党委 (empty: deleting it would succeed
    for a tenant admin), with an API key."""
    with app.app_context(), tenant_context(world.a.id):
        unit = orgtree.create_unit("新支部", db.session.get(Unit, world.a.root), "branch")
        child = orgtree.create_unit("新支部第一小组", unit, "other")
        user = accounts.create_user("leaf@alpha.test", PASSWORD)
        accounts.grant(accounts.tenant_by_slug("alpha"), user, "unit_admin", unit)
        db.session.commit()
        unit_id, child_id = unit.id, child.id
    return unit_id, child_id, _key_for(app, "leaf@alpha.test")


def test_api_refuses_moving_or_deleting_a_unit_admin_s_own_root(app, world, leaf_admin):
    own, child, key = leaf_admin
    client = app.test_client()
    url = f"/api/v1/t/alpha/units/{own}"
    before = _tree(app, world.a.id)
    r = client.patch(url, json={"parent_id": None}, headers=bearer(key))  # to the top of the tree
    assert r.status_code == 403 and "所管单位" in r.json["error"]
    r = client.patch(url, json={"parent_id": child}, headers=bearer(key))  # under its own child
    assert r.status_code in (403, 422)
    r = client.delete(url, headers=bearer(key))
    assert r.status_code == 403 and "所管单位" in r.json["error"]
    # a unit below their root may not be taken out of the subtree to the top either
    r = client.patch(f"/api/v1/t/alpha/units/{child}", json={"parent_id": None}, headers=bearer(key))
    assert r.status_code == 403
    r = client.post("/api/v1/t/alpha/units", json={"name": "顶层", "parent_id": None}, headers=bearer(key))
    assert r.status_code == 403
    assert _tree(app, world.a.id) == before
    # what is theirs to change stays possible: rename, re-sort their root (its parent sent back
    # unchanged, as read), and move and delete the units below it
    r = client.patch(url, json={"name": "新支部（改）", "sort_order": 3, "parent_id": world.a.root},
                     headers=bearer(key))
    assert r.status_code == 200 and r.json["name"] == "新支部（改）" and r.json["parent_id"] == world.a.root
    assert client.delete(f"/api/v1/t/alpha/units/{child}", headers=bearer(key)).status_code == 204
    # the tenant admin may still do all of it
    admin = bearer(world.a.api_key)
    assert client.patch(url, json={"parent_id": None}, headers=admin).status_code == 200
    assert client.delete(url, headers=admin).status_code == 204


def test_pages_offer_a_unit_admin_no_move_or_delete_of_their_own_root(app, world, leaf_admin):
    own, child, _key = leaf_admin
    client = app.test_client()
    login(client, "leaf@alpha.test")
    page = client.get(f"/t/alpha/units/{own}").text
    assert "删除单位" not in page and 'name="parent_id"' not in page
    assert "删除单位" in client.get(f"/t/alpha/units/{child}").text
    before = _tree(app, world.a.id)
    assert client.post(f"/t/alpha/units/{own}/delete").status_code == 403
    r = client.post(f"/t/alpha/units/{child}", data={"name": "新支部第一小组", "kind": "other", "parent_id": ""})
    assert "只能在所管单位之下" in r.text
    assert _tree(app, world.a.id) == before
    r = client.post(f"/t/alpha/units/{own}", data={"name": "新支部（改）", "kind": "branch", "sort_order": "2",
                                                   "parent_id": str(child)})
    assert r.status_code == 302
    with app.app_context(), tenant_context(world.a.id):
        u = db.session.get(Unit, own)
        assert (u.name, u.sort_order, u.parent_id) == ("新支部（改）", 2, world.a.root)


@pytest.mark.parametrize("value", ["abc", "", "1", 1.5, float("inf"), True, [], {}, 2**31, -(2**31) - 1, 10**30])
def test_a_sort_order_that_is_no_whole_number_is_refused_by_the_tree(ctx, world, value):
    """Whatever the entry point (page, API, import, shell), the tree stores whole numbers in the
    column's range only: a string in an INTEGER column (SQLite keeps it) broke every page that
    sorts units."""
    with tenant_context(world.a.id):
        root, branch = db.session.get(Unit, world.a.root), db.session.get(Unit, world.a.branch)
        for write in (lambda: orgtree.update_unit(branch, sort_order=value),
                      lambda: orgtree.create_unit("新单位", root, "branch", value)):
            with pytest.raises(DomainError) as refused:
                write()
            assert refused.value.field == "sort_order" and "排序" in refused.value.message
        db.session.rollback()
        assert orgtree.create_unit("新单位", root, "branch", 2**31 - 1).sort_order == 2**31 - 1
        assert orgtree.update_unit(root, sort_order=-(2**31)).sort_order == -(2**31)
        assert orgtree.update_unit(root, sort_order=None).sort_order == -(2**31)  # None: left as it is


@pytest.mark.parametrize("who", ["unit_admin", "admin"])
def test_a_sort_order_abc_is_a_422_and_the_tenant_s_pages_stay_up(app, world, who):
    email = {"unit_admin": world.a.unit_admin, "admin": world.a.admin}[who]
    key = _key_for(app, email)
    client = app.test_client()
    before = _tree(app, world.a.id)
    for method, url in (("patch", f"/api/v1/t/alpha/units/{world.a.branch}"),
                        ("post", "/api/v1/t/alpha/units")):
        r = client.open(url, method=method, json={"name": "新单位", "parent_id": world.a.committee,
                                                  "sort_order": "abc"}, headers=bearer(key))
        assert r.status_code == 422, (method, r.status_code)
        assert r.json.get("field") == "sort_order" or "sort_order" in r.text
    assert _tree(app, world.a.id) == before
    with app.app_context():
        campaign = build(world, links=1).campaign_id
    login(client, world.a.admin)
    for page in ("/t/alpha/units", "/t/alpha/members", "/t/alpha/people", f"/t/alpha/campaigns/{campaign}",
                 f"/t/alpha/campaigns/{campaign}/subjects", f"/t/alpha/units/{world.a.branch}"):
        assert client.get(page).status_code == 200, page


# ---- reads: the subtree's rows and figures only -------------------------------------------------

@dataclass
class Scene:
    campaign: int
    subjects: dict[str, int]
    sibling_code: str  # a link of 机关党支部, typed on paper once (a form waiting for its second entry)
    tally_job: int
    sample: int


@pytest.fixture
def scene(app, world) -> Scene:
    """An open campaign over both branches (links: 6 for 采煤一队党支部, 2 for 机关党支部, 2 全评
    at 公司党委), ballots in every part, one paper form of 机关党支部 typed once, an interview
    sample and a recount job started by the tenant admin; then closed (opinions showing)."""
    with app.app_context():
        bw = build(world, links=6)
        vote(world, bw, bw.own[:3], (0, 0, 3), comment="采煤的意见")
        vote(world, bw, bw.group[:2], (3, 3), comment="全评的意见")
        vote(world, bw, bw.other_branch[:1], (1,), comment="机关的意见")
        sibling_code = tokens.format_code(bw.other_branch[1].short_code)
        data = full_answers(world, bw, bw.other_branch[1].secret, 1, "机关的意见")
    admin = app.test_client()
    login(admin, world.a.admin)
    r = admin.post(f"/t/alpha/campaigns/{bw.campaign_id}/paper", data={"code": sibling_code, **data})
    assert "等待另一人录入核对" in r.text
    with app.app_context(), tenant_context(world.a.id):
        from pingyi.models import Campaign
        from pingyi.results import tally

        c = db.session.get(Campaign, bw.campaign_id)
        sample = sampling.create_sample(c, per_unit=2, seed=7)
        db.session.commit()
        sample_id = sample.id
        admin_id = accounts.user_by_email(world.a.admin).id
        job = tally.submit(c.id, admin_id)
        job_id = job.id
        subjects = {s.label.split("（")[0]: s.id for s in db.session.execute(
            select(Subject).where(Subject.campaign_id == c.id)).scalars()}
    with app.app_context():
        close_and_count(world, bw)
    return Scene(bw.campaign_id, subjects, sibling_code, job_id, sample_id)


def test_campaign_pages_show_a_unit_admin_their_subtree_s_links_and_counts(app, world, scene):
    client = app.test_client()
    base = f"/t/alpha/campaigns/{scene.campaign}"
    login(client, world.a.admin)
    everyone = {p: _text(client.get(p).text) for p in (base, f"{base}/links", "/t/alpha/campaigns")}
    assert "10 已发放测评码" in everyone[base] and "机关党支部" in everyone[f"{base}/links"]
    client.post("/logout")
    login(client, world.a.unit_admin)
    # 概况: links issued in the subtree (6 of 采煤一队党支部; the 2 全评 links lie at 公司党委), its
    # subjects (采煤一队党支部 and 王伟)
    page = client.get(base).text
    mine = _text(page)
    assert "6 已发放测评码" in mine and "10 已发放测评码" not in mine
    assert re.search(r"1 基层党组织 1 党员", mine), mine
    categories = re.findall(r'data-category="(\d+)"[^>]*>.*?data-testid="category-links">(\d+)<', page, re.S)
    assert sorted(n for _k, n in categories) == ["0", "6"]
    # 测评码: the subtree's units only, and none of the tenant admin's issuing jobs
    links = client.get(f"{base}/links").text
    assert "采煤一队党支部" in links and not any(s in links for s in SIBLING) and "公司党委" not in _text(links)
    assert "/jobs/" not in links
    # the campaign list counts the subtree's subjects (2 of 4)
    listing = client.get("/t/alpha/campaigns").text
    assert re.search(r'data-testid="subject-count">2<', listing), listing
    # 纸质票录入: the sibling's form waiting for its second entry is not the unit admin's
    assert "待第二人录入：0 份" in _text(client.get(f"{base}/paper").text)
    # 个别访谈: the subtree's units and serials only
    sample = client.get(f"{base}/sample", query_string={"sample": scene.sample}).text
    assert "采煤一队党支部" in sample and not any(s in sample for s in SIBLING)
    with app.app_context(), tenant_context(world.a.id):
        from pingyi.models import InterviewSample

        entries = db.session.get(InterviewSample, scene.sample).entries
        mine_n = sum(1 for unit_id, _s in entries if int(unit_id) == world.a.branch)
    assert mine_n and re.search(rf"<td>{mine_n}</td></tr>", sample.split('data-testid="samples"')[1])
    # the tenant admin's recount job: its figures are the whole campaign's
    assert client.get(f"/t/alpha/jobs/{scene.tally_job}").status_code == 403


def test_the_api_shows_a_unit_admin_their_subtree_s_figures(app, world, scene):
    client = app.test_client()
    base = f"/api/v1/t/alpha/campaigns/{scene.campaign}"
    admin = bearer(world.a.api_key)
    assert client.get(base, headers=admin).json["live_links"] == 10
    ua = bearer(_key_for(app, world.a.unit_admin))
    detail = client.get(base, headers=ua).json
    assert detail["live_links"] == 6 and detail["subject_counts"] == {"unit": 1, "person": 1}
    assert sorted(k["links"] for k in client.get(f"{base}/categories", headers=ua).json) == [0, 6]
    assert sorted(k["links"] for k in client.get(f"{base}/categories", headers=admin).json) == [2, 8]


def test_results_opinions_and_turnout_pages_stay_in_the_subtree(app, world, scene):
    """The results, a subject's page with its opinions, the subject table and turnout: the
    subtree's subjects, units and figures only; the sibling's subjects are 404."""
    client = app.test_client()
    base = f"/t/alpha/campaigns/{scene.campaign}"
    login(client, world.a.unit_admin)
    for page in (f"{base}/results", f"{base}/results?depth=all", f"{base}/results/subjects", f"{base}/turnout",
                 f"{base}/turnout?sort=rate", f"{base}/turnout/screen",
                 f"{base}/results/subjects/{scene.subjects['采煤一队党支部']}",
                 f"{base}/results/subjects/{scene.subjects['王伟']}", f"{base}/subjects"):
        r = client.get(page)
        assert r.status_code == 200 and not any(s in r.text for s in SIBLING), page
    assert "采煤的意见" in client.get(f"{base}/results/subjects/{scene.subjects['采煤一队党支部']}").text
    for sibling in ("机关党支部", "李娜"):
        assert client.get(f"{base}/results/subjects/{scene.subjects[sibling]}").status_code == 404
    turnout = client.get(f"{base}/turnout").text
    assert re.search(r'data-testid="total-issued">6<', turnout) and re.search(r'data-testid="total-used">3<', turnout)
    assert client.get(f"{base}/summary").status_code == 403


# ---- the matrix: every route, the sibling's and the root's ids ---------------------------------

# Routes a unit admin reaches without a tenant or with none of its objects (the route matrix of
# tests/web/test_route_matrix.py lists why each is public or the user's own).
NOT_TENANT_ROUTES = {"static", "auth.login", "auth.logout", "auth.home", "auth.password", "auth.api_keys",
                     "auth.revoke_key", "api.openapi", "api.me", "platform.tenants", "platform.tenant_update",
                     "ballot.vote", "ballot.enter_code", "ballot.receipt_check", "ballot.stored", "public.results",
                     "feedback.box_page",  # the public feedback box lists every unit to choose from
                     "ops.healthz", "ops.metrics"}  # operators' endpoints: no tenant (tests/monitoring)
# URL values that name no object of a subtree: filled with the tenant's own.
SHARED = ("campaign_id", "form_id", "section_id", "item_id", "scale_id", "category_id", "membership_id", "what",
          "sub", "key_id", "tenant_id", "season_id", "submission_id")


# URL values that name an object of one subtree: the sibling's or the root's must answer 403/404.
BOUND = {"unit_id", "person_id", "subject_id", "job_id", "file_id", "rect_id", "rect_file_id", "entry_id"}


def _objects(app, world, scene) -> dict:
    with app.app_context(), tenant_context(world.a.id):
        from pingyi import jobs
        from pingyi.models import EvaluatorCategory, Form

        form = db.session.execute(select(Form).order_by(Form.id)).scalars().first()
        section = form.sections[0]
        category = db.session.execute(select(EvaluatorCategory.id).order_by(EvaluatorCategory.id)).scalars().first()
        admin_job = db.session.get(Job, scene.tally_job)
        jf = jobs.add_file(admin_job, "x.csv", "text/csv", b"secret", once=False)
        db.session.commit()
        return {"campaign_id": scene.campaign, "form_id": form.id, "section_id": section.id,
                "item_id": section.items[0].id, "scale_id": form.scales[0].id, "category_id": category,
                "membership_id": world.a.membership, "what": "units", "sub": "alpha", "job_id": admin_job.id,
                "file_id": jf.id, "season_id": 1, "submission_id": 1}  # oversight's: a unit admin gets 403/404


def _writes_body(world, scene) -> dict:
    """A body that names the sibling subtree wherever a unit or person can be named."""
    other = world.a.other_branch
    return {"name": "hijack", "kind": "branch", "parent_id": other, "unit_id": other, "root_unit_id": other,
            "group_unit_id": other, "person_id": None, "code": scene.sibling_code, "position": "书记",
            "bulk": {"kind": "unit", "root_unit_id": other, "form_id": 1}, "op": "bulk", "count": 1,
            "category_id": 1, "action": "open"}


def test_every_route_keeps_a_unit_admin_out_of_the_sibling_subtree_and_the_root(app, world, scene):
    client = app.test_client()
    login(client, world.a.unit_admin)
    shared = _objects(app, world, scene)
    with app.app_context(), tenant_context(world.a.id):
        from pingyi.feedback import box
        from pingyi.models import Campaign, FeedbackEntry
        from pingyi.rectification import evidence, ledger

        li_na = db.session.execute(select(Person.id).where(Person.name == "李娜")).scalar_one()
        admin = ledger.Actor(accounts.user_by_email(world.a.admin).id, world.a.admin, "admin")
        rect = {}  # a ledger item (with an evidence file) of the sibling subtree and of the root
        for unit in (world.a.other_branch, world.a.root):
            item = ledger.create_item(db.session.get(Campaign, scene.campaign),
                                      ledger.Draft("整改问题", unit, clock.day(1).date()), admin, "feedback", "1")
            rect[unit] = {"rect_id": item.id, "rect_file_id": evidence.add_file(item, admin, "a.pdf", b"%PDF-1").id}
            box.submit(unit, "范围外的意见")  # a feedback entry for the same unit
            rect[unit]["entry_id"] = db.session.execute(select(FeedbackEntry.id).where(
                FeedbackEntry.unit_id == unit)).scalar_one()
        db.session.commit()
    elsewhere = [  # (label, the sibling's or the root's objects)
        ("sibling", {"unit_id": world.a.other_branch, "person_id": li_na, "subject_id": scene.subjects["机关党支部"],
                     **rect[world.a.other_branch]}),
        ("root", {"unit_id": world.a.root, "person_id": li_na, "subject_id": scene.subjects["李娜"],
                  **rect[world.a.root]}),
    ]
    body = _writes_body(world, scene)
    before = _tree(app, world.a.id)
    failures, checked = [], 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NOT_TENANT_ROUTES:
            continue
        args = set(rule.arguments) - {"slug"}
        unknown = args - set(SHARED) - BOUND
        assert not unknown, f"{rule.rule}: teach this matrix how to fill {unknown}"
        for label, foreign in elsewhere:
            values = {"slug": "alpha", **{k: v for k, v in {**shared, **foreign}.items() if k in args}}
            path = rule.build(values, append_unknown=False)[1]
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                api = path.startswith("/api/")
                r = client.open(path, method=method, json=body if api and method != "GET" else None,
                                data=body if not api and method != "GET" else None)
                checked += 1
                subtree_bound = args & BOUND
                if subtree_bound and r.status_code not in (403, 404):
                    failures.append(f"{method} {path} ({label}) → {r.status_code}, not 403/404")
                elif r.status_code >= 500 or (api and method != "GET" and r.status_code < 400):
                    failures.append(f"{method} {path} ({label}) → {r.status_code}")
                elif r.status_code == 200 and any(s in r.text for s in SIBLING):
                    failures.append(f"{method} {path} ({label}) shows {[s for s in SIBLING if s in r.text]}")
                if _tree(app, world.a.id) != before:
                    failures.append(f"{method} {path} ({label}) changed the tree")
                    before = _tree(app, world.a.id)
    assert checked > 100
    assert not failures, "\n".join(failures)
