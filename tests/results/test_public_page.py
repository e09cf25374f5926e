"""The publication page (公示) of a campaign with thousands of subjects: the summary first, the
receipt check right under it, the subjects a page at a time (searched, sorted and cut by the
database, each page its own link), opinions only of the subjects listed, the first view a
small page whatever the campaign's size — and no demo wording (issue 17 item 5)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from pingyi.bulk import analyze, insert_rows
from pingyi.campaigns import lifecycle as cp
from pingyi.campaigns import questionnaire as q
from pingyi.extensions import db
from pingyi.models import Campaign, Person, Subject, Unit, utcnow
from pingyi.org import orgtree
from pingyi.results import publication
from pingyi.tenancy import tenant_context
from pingyi.voting import tokens
from tests.ballot_world import cast, close

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted

BRANCHES, PER_BRANCH = 60, 50  # 3 000 people, each a subject
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰"
RARE = "欧阳明月"  # one person, findable by name
FIRST_VIEW_BOUND = 100_000  # bytes of HTML


@dataclass
class Big:
    campaign_id: int
    url: str
    labels: dict[int, str]  # subject id → label
    units: dict[int, str]  # subject id → its unit's name
    commented: set[int]  # subjects that received an opinion


def _person_name(i: int) -> str:
    return SURNAMES[i % len(SURNAMES)] + GIVEN[(i // len(SURNAMES)) % len(GIVEN)] + GIVEN[(i * 7) % len(GIVEN)]


@pytest.fixture
def big(app, world) -> Big:
    """Alpha's 一矿党委 with 60 branches of 50 members; a public campaign rating all 3 000 of them
    (and the world's two), ten ballots cast in two branches (with an opinion each), closed,
    counted and published with opinions."""
    with app.app_context():
        with tenant_context(world.a.id):
            committee = db.session.get(Unit, world.a.committee)
            rows, n = [], 0
            for j in range(BRANCHES):
                unit = orgtree.create_unit(f"综采{j:02d}队党支部", committee, "branch")
                for i in range(PER_BRANCH):
                    name = RARE if (j, i) == (7, 3) else _person_name(n)
                    rows.append({"tenant_id": world.a.id, "unit_id": unit.id, "name": name, "position": "党员",
                                 "is_party_member": True, "sort_order": i, "created_at": utcnow()})
                    n += 1
            insert_rows(Person.__table__, rows)
            now = utcnow()
            c = cp.create_campaign("年度党员民主评议", now - timedelta(hours=1), now + timedelta(days=2),
                                   publication_scope="public")
            cp.add_subjects_bulk(c, "person", db.session.get(Unit, world.a.root), q.copy_template("seed002-member"),
                                 ["branch"])
            (own,) = cp.set_categories(c, [{"name": "群众", "scope": "own_unit"}])
            cp.set_rules(c, [{"metric": "satisfied_share", "op": "lt", "threshold": "90%", "outcome": "提醒谈话",
                              "severity": "warning"}])  # every subject rated below (4 of 5 satisfied)
            voters = [db.session.execute(select(Unit).where(Unit.name == f"综采{j:02d}队党支部")).scalar_one()
                      for j in (0, 1)]
            links = [link for u in voters for link in tokens.issue_links(c, own, u, 5)]
            cp.transition(c, "open")
            c.publish_opinions = True
            db.session.commit()
            cid = c.id
        cast(links, [0, 0, 1, 0, 3] * 2, comment="希望多到一线走访")
        close(world.a.id, cid, publish=True)
        # Fresh statistics, as bulk loads leave them (pingyi.bulk) and autovacuum would within a
        # minute: the session's database was emptied by earlier tests, and PostgreSQL would plan
        # for the empty tables it last analysed (seconds a page instead of milliseconds).
        analyze()
        with tenant_context(world.a.id):
            found = db.session.execute(select(Subject.id, Subject.label, Unit.name).join(Unit, Unit.id == Subject.unit_id)
                                       .where(Subject.campaign_id == cid)).all()
            commented = {s for s, _label, unit in found if unit in ("综采00队党支部", "综采01队党支部")}
    assert len(found) == BRANCHES * PER_BRANCH + 2
    return Big(cid, f"/p/alpha/{cid}", {s: label for s, label, _u in found}, {s: u for s, _l, u in found}, commented)


def _listed(page: str) -> list[str]:
    """The subject table's first cells (labels), in page order."""
    table = page.split('data-testid="subjects"')[1].split("</table>")[0]
    return [html.unescape(x) for x in re.findall(r"<tr><td>([^<]*)</td>", table)]


def _by_label(labels: dict[int, str]) -> list[str]:
    return [labels[s] for s in sorted(labels, key=lambda s: (labels[s], s))]  # code-point order, then id


def test_summary_then_receipt_check_then_the_subjects_in_a_small_first_view(app, big):
    from pingyi.demo.load import CLOSED_DESCRIPTION

    with app.app_context(), tenant_context(_tenant(app, big)):
        db.session.get(Campaign, big.campaign_id).description = CLOSED_DESCRIPTION  # the notice the demo writes
        db.session.commit()
    client = app.test_client()
    first = client.get(big.url)
    page = first.text
    at = {what: page.index(marker) for what, marker in (
        ("summary", 'data-testid="figures"'), ("receipt", 'data-testid="receipt-check"'),
        ("items", 'data-testid="items"'), ("subjects", 'data-testid="subjects"'))}
    assert at["summary"] < at["receipt"] < at["items"] < at["subjects"], at
    form = re.search(r'<section class="card receipt" data-testid="receipt-check">.*?</section>', page, re.S).group(0)
    assert f'action="/p/alpha/{big.campaign_id}/receipt"' in form and 'method="post"' in form and 'name="code"' in form
    # the form works from here: an unknown code is said to be unknown, nothing else
    r = client.post(f"/p/alpha/{big.campaign_id}/receipt", data={"code": "ABCD-EFGH-JKMN"})
    assert r.status_code == 200 and "未找到该回执码" in r.text
    # small, whatever the campaign's size: every subject on one page would take many times the bound
    table = page.split('data-testid="subjects"')[1].split("</table>")[0]
    pages = -(-len(big.labels) // publication.PER_PAGE)
    assert len(table.encode()) * pages > 5 * FIRST_VIEW_BOUND
    assert len(first.data) < FIRST_VIEW_BOUND, len(first.data)
    assert len(client.get(f"{big.url}?page=7").data) < FIRST_VIEW_BOUND
    # the demo's notice reads as a real one; nothing says "demo"
    assert CLOSED_DESCRIPTION in page
    for word in ("种子", "演示", "seed", "demo"):
        assert word not in page, word


def test_subjects_come_a_page_at_a_time_in_label_order_cut_by_the_database(app, big):
    client = app.test_client()
    per = publication.PER_PAGE
    expected = _by_label(big.labels)
    pages = -(-len(expected) // per)
    first = client.get(big.url).text
    assert _listed(first) == expected[:per]
    assert f"共 {len(expected)} 个评议对象" in first and f"第 1 / {pages} 页" in first
    assert f'href="/p/alpha/{big.campaign_id}?page=2#subjects"' in first  # each page has its own link
    for n in (2, 37, pages):
        assert _listed(client.get(f"{big.url}?page={n}").text) == expected[(n - 1) * per:n * per], n
    assert _listed(client.get(f"{big.url}?page={pages + 5}").text) == expected[(pages - 1) * per:]  # clamped
    statements: list[str] = []
    tenant_id = _tenant(app, big)
    with app.app_context(), tenant_context(tenant_id):
        c = db.session.get(Campaign, big.campaign_id)
        listen = (db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        event.listen(*listen)
        try:
            total, lines = publication.subject_page(c, "", 3)
        finally:
            event.remove(*listen)
    assert total == len(expected) and [ln.label for ln in lines] == expected[2 * per:3 * per]
    listing = [s for s in statements if "FROM subjects" in s and "label" in s]
    assert listing and all("LIMIT" in s.upper() or "count(" in s.lower() for s in listing), listing


def test_search_finds_by_name_and_by_unit_in_the_database(app, big):
    client = app.test_client()
    page = client.get(f"{big.url}?q={RARE}").text
    assert _listed(page) == [label for label in big.labels.values() if RARE in label]
    assert "共 1 个评议对象" in page
    in_unit = {s: label for s, label in big.labels.items() if big.units[s] == "综采07队党支部"}
    page = client.get(f"{big.url}?q=综采07队").text
    assert _listed(page) == _by_label(in_unit) and len(in_unit) == PER_BRANCH
    assert 'value="综采07队"' in page  # the box keeps the search
    # a search's pages carry it
    wide = {s: label for s, label in big.labels.items() if "综采0" in big.units[s]}
    second = client.get(f"{big.url}?q=综采0&page=2").text
    assert _listed(second) == _by_label(wide)[publication.PER_PAGE:2 * publication.PER_PAGE]
    assert re.search(r'href="/p/alpha/\d+\?page=3&amp;q=[^"#]+#subjects"', second)
    assert _listed(client.get(f"{big.url}?q=%25").text) == []  # "%" is a character, not a wildcard
    assert "没有符合条件的评议对象" in client.get(f"{big.url}?q=无此人").text


def _tenant(app, big) -> int:
    from pingyi.tenancy import unscoped

    with app.app_context(), unscoped():
        return db.session.execute(select(Campaign.tenant_id).where(Campaign.id == big.campaign_id)).scalar_one()


def test_opinions_shown_are_those_of_the_subjects_listed(app, big):
    client = app.test_client()
    app.config["MIN_CELL"] = 1
    per, order = publication.PER_PAGE, _by_label(big.labels)
    with_opinions = {order.index(big.labels[s]) // per + 1 for s in big.commented}
    pages = with_opinions | {1, 2, 3, -(-len(order) // per)}  # those, and some without any
    assert len(with_opinions) > 3 and pages - with_opinions
    seen = 0
    for n in sorted(pages):
        page = client.get(f"{big.url}?page={n}").text
        listed = set(_listed(page))
        groups = [html.unescape(x) for x in re.findall(
            r"<h3>([^<]*)</h3>", page.split('data-testid="opinions"')[1].split("</section>")[0])]
        assert set(groups) <= listed, n
        assert set(groups) == {big.labels[s] for s in big.commented if big.labels[s] in listed}, n
        seen += len(groups)
    assert seen == len(big.commented)


def test_a_verdict_names_a_few_and_lists_all_its_subjects_a_page_at_a_time(app, big):
    client = app.test_client()
    first = client.get(big.url).text
    names = re.search(r'data-testid="verdict">提醒谈话（(\d+)）</h3>\s*<p class="names small">(.*?)</p>', first, re.S)
    assert names and int(names.group(1)) == len(big.commented)  # the rated subjects: 80% satisfied each
    assert names.group(2).count("；") == 20 - 1
    link = re.search(r'href="([^"]+)" data-testid="verdict-all"', names.group(2)).group(1)
    assert html.unescape(link) == f"/p/alpha/{big.campaign_id}?verdict=0#subjects"
    listed: list[str] = []
    for n in (1, 2):
        page = client.get(f"{big.url}?verdict=0&page={n}").text
        assert "“提醒谈话”的评议对象" in page and f"共 {len(big.commented)} 个评议对象" in page
        listed += _listed(page)
    assert sorted(listed) == sorted(big.labels[s] for s in big.commented)
    assert len(set(listed)) == len(listed)
    found = _listed(client.get(f"{big.url}?verdict=0&q=综采01").text)
    assert found and all("综采01" in label for label in found)
    assert _listed(client.get(f"{big.url}?verdict=9").text) == _by_label(big.labels)[:publication.PER_PAGE]
