"""The pages of verifiable results (issue 20): the 公示 page's 核验 section (the seal's digest, the
counted receipts and their number beside the ballots in the tally), the counted receipts a page
at a time and as text, the anonymised export (public only where the admin published it, with
opinions only where those are published), the page on what can and cannot be checked, the
receipt check's digest, and the admin's and the oversight committee's downloads.

Every public page here answers exactly as the 公示 page does: the same 404s (foreign or unknown
slug, draft, unpublished, outside the window, wrong scope), the same previews for the admin."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import select

from pingyi.campaigns import lifecycle as cp
from pingyi.campaigns import questionnaire as q
from pingyi.extensions import db
from pingyi.models import Campaign, Unit, utcnow
from pingyi.org import accounts
from pingyi.results import live
from pingyi.tenancy import tenant_context
from pingyi.voting import ballots, tokens
from pingyi.web import public
from tests.ballot_world import close, full_answers
from tests.factories import PASSWORD, login

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted

OPINION = "希望食堂早点开门"
CHOICES = (0, 1, 0, 3, 0, 2)  # six ballots: more than k (MIN_CELL, 5), so the export is available


@dataclass
class Sealed:
    slug: str
    tenant_id: int
    campaign_id: int
    receipts: list[str] = field(default_factory=list)  # formatted as printed, in casting order

    @property
    def p(self) -> str:
        return f"/p/{self.slug}/{self.campaign_id}"


def _campaign(app, t, choices=CHOICES, *, scope: str = "public", publish: bool = True, seal: bool = True,
              export: bool = True, opinions: bool = False, closed: bool = True, name: str = "核验评议") -> Sealed:
    """A campaign of tenant ``t``: both branches rated by their members, one ballot per choice
    cast in ``t.branch`` (each with an opinion), then closed (the closing recount), published,
    sealed and given its publication settings, as asked."""
    with app.app_context():
        with tenant_context(t.id):
            now = utcnow()
            c = cp.create_campaign(name, now - timedelta(hours=1), now + timedelta(days=2))
            cp.add_subjects_bulk(c, "unit", db.session.get(Unit, t.root), q.copy_template("seed002-org"), ["branch"])
            (own,) = cp.set_categories(c, [{"name": "群众", "scope": "own_unit"}])
            links = tokens.issue_links(c, own, db.session.get(Unit, t.branch), len(choices) + 1)
            cp.transition(c, "open")
            db.session.commit()
            cid = c.id
        out = Sealed(t.slug, t.id, cid)
        for link, choice in zip(links, choices, strict=False):
            state = ballots.resolve(link.secret)
            subjects = ballots.subjects_for(state.token, state.category)
            receipt = ballots.cast(link.secret, ballots.parse(full_answers(None, None, link.secret, choice, OPINION),
                                                              subjects, ballots.forms_of(subjects)))
            out.receipts.append(tokens.format_code(receipt))
        live.drain()
        if closed:
            close(t.id, cid, publish=publish)
        with tenant_context(t.id):
            c = db.session.get(Campaign, cid)
            if seal and closed:
                from pingyi.verification.seal import seal_campaign

                seal_campaign(c)  # kept as it is when the closing already sealed it
            cp.set_publication(c, scope, None, opinions, export=export)
            db.session.commit()
    return out


def _campaign_row(app, s: Sealed) -> Campaign:
    with app.app_context(), tenant_context(s.tenant_id):
        c = db.session.get(Campaign, s.campaign_id)
        db.session.expunge(c)
        return c


def _update(app, s: Sealed, **values) -> None:
    with app.app_context(), tenant_context(s.tenant_id):
        c = db.session.get(Campaign, s.campaign_id)
        for k, v in values.items():
            setattr(c, k, v)
        db.session.commit()


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _codes(page: str) -> list[str]:
    listed = page.split('data-testid="codes"')[1].split("</ul>")[0]
    return re.findall(r"<li>([0-9A-Z-]+)</li>", listed)


ROUTES = ("", "/receipts", "/receipts.txt", "/ballots.csv", "/verify")


def _statuses(client, s: Sealed, slug: str | None = None) -> dict[str, int]:
    base = f"/p/{slug or s.slug}/{s.campaign_id}"
    return {route or "公示": client.get(base + route).status_code for route in ROUTES}


def _all(status: int) -> dict[str, int]:
    return {route or "公示": status for route in ROUTES}


# ---- the 公示 page's 核验 section and the public pages ---------------------------------------------

def test_publication_page_shows_the_digest_and_as_many_receipts_as_ballots(app, world, client):
    s = _campaign(app, world.a)
    c = _campaign_row(app, s)
    assert c.seal_digest and re.fullmatch(r"[0-9a-f]{64}", c.seal_digest) and c.seal_k
    page = client.get(s.p).text
    section = page.split('data-testid="verification"')[1].split("</section>")[0]
    assert f'data-testid="seal-digest">{c.seal_digest}<' in section and 'data-testid="not-sealed"' not in section
    figures = page.split('data-testid="figures"')[1]
    assert re.search(r'data-testid="ballots">6<', figures)
    assert "已计入的回执码：6 个" in _text(section) and "收回评议票：6 张" in _text(section)
    for route in ("/receipts", "/receipts.txt", "/ballots.csv", "/verify"):
        assert f'href="{s.p}{route}"' in section, route
    # and the figures the section sits beside come first: the summary, the receipt check, the items
    assert page.index('data-testid="figures"') < page.index('data-testid="receipt-check"') \
        < page.index('data-testid="items"') < page.index('data-testid="verification"')


def test_an_unsealed_campaign_says_so_and_offers_no_export(app, world, client):
    """Closing seals; before it (the admin's preview of the open campaign) the page says 尚未封存."""
    s = _campaign(app, world.a, closed=False, export=True)
    login(client, world.a.admin)
    page = client.get(s.p).text
    assert 'data-testid="preview"' in page
    section = page.split('data-testid="verification"')[1].split("</section>")[0]
    assert "尚未封存" in section and "seal-digest" not in section and "/ballots.csv" not in section
    assert client.get(f"{s.p}/ballots.csv").status_code == 404
    assert "本次评议尚未封存" in client.get(f"{s.p}/verify").text


def test_receipts_come_sorted_a_page_at_a_time_and_whole_as_text(app, world, client, monkeypatch):
    s = _campaign(app, world.a)
    expected = sorted(s.receipts)
    assert len(set(expected)) == 6
    monkeypatch.setattr(public, "RECEIPTS_PER_PAGE", 4)  # two pages of six codes
    first = client.get(f"{s.p}/receipts")
    assert first.status_code == 200 and "共 6 个回执码" in _text(first.text) and "第 1 / 2 页" in _text(first.text)
    assert _codes(first.text) == expected[:4]
    assert f'href="{s.p}/receipts?page=2"' in first.text  # the pager
    second = client.get(f"{s.p}/receipts?page=2").text
    assert _codes(second) == expected[4:]
    assert _codes(client.get(f"{s.p}/receipts?page=99").text) == expected[4:]  # clamped to the last page
    c = _campaign_row(app, s)
    assert f'data-testid="seal-digest">{c.seal_digest}<' in first.text
    assert "统计中的评议票：6 张" in _text(first.text)

    txt = client.get(f"{s.p}/receipts.txt")
    assert txt.status_code == 200 and txt.content_type == "text/plain; charset=utf-8"
    assert txt.headers["Content-Disposition"].startswith("attachment;")
    assert txt.is_streamed
    assert txt.get_data(as_text=True) == "".join(code + "\n" for code in expected)


def test_the_export_is_public_only_where_published_with_opinions_only_where_published(app, world, client):
    s = _campaign(app, world.a, export=False)
    page = client.get(s.p).text
    assert client.get(f"{s.p}/ballots.csv").status_code == 404 and "/ballots.csv" not in page
    assert 'data-testid="export-not-shown"' in client.get(f"{s.p}/verify").text

    with app.app_context(), tenant_context(s.tenant_id):
        cp.set_publication(db.session.get(Campaign, s.campaign_id), "public", None, False, export=True)
        db.session.commit()
    r = client.get(f"{s.p}/ballots.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv" and r.is_streamed
    assert r.headers["Content-Disposition"].startswith("attachment;")
    body = r.get_data(as_text=True)
    assert body.lstrip("\ufeff").startswith("# ") and OPINION not in body  # opinions are not published
    assert 'data-testid="ballots-csv"' in client.get(s.p).text

    with app.app_context(), tenant_context(s.tenant_id):
        cp.set_publication(db.session.get(Campaign, s.campaign_id), "public", None, True, export=True)
        db.session.commit()
    assert OPINION in client.get(f"{s.p}/ballots.csv").get_data(as_text=True)


def test_no_export_of_fewer_ballots_than_k_even_when_published(app, world, client):
    s = _campaign(app, world.a, choices=(0, 1, 3), export=True)
    assert client.get(s.p).status_code == 200
    assert client.get(f"{s.p}/ballots.csv").status_code == 404
    assert "/ballots.csv" not in client.get(s.p).text
    assert client.get(f"{s.p}/receipts.txt").get_data(as_text=True).count("\n") == 3


def test_every_page_is_seen_exactly_as_the_publication_page(app, world, client):
    s = _campaign(app, world.a, scope="public")
    assert _statuses(client, s) == _all(200)
    assert _statuses(client, s, "beta") == _all(404)  # another tenant's slug with alpha's campaign id
    assert _statuses(client, s, "nope") == _all(404)
    assert client.get(f"/p/alpha/{s.campaign_id + 1000}/receipts").status_code == 404

    # the tenant's members only: not anonymous, not another tenant's admin
    _update(app, s, publication_scope="tenant")
    assert _statuses(client, s) == _all(404)
    login(client, world.b.admin)
    assert _statuses(client, s) == _all(404)
    client.post("/logout")
    login(client, world.a.viewer)
    assert _statuses(client, s) == _all(200)
    client.post("/logout")

    # the committees above: the county's admin, not alpha's viewer
    _update(app, s, publication_scope="oversight")
    login(client, world.county_admin)
    assert _statuses(client, s) == _all(200)
    client.post("/logout")
    login(client, world.a.viewer)
    assert _statuses(client, s) == _all(404)
    client.post("/logout")

    # after the window: nobody but the tenant's admin, who previews
    _update(app, s, publication_scope="public", published_at=utcnow() - timedelta(days=10),
            publish_until=utcnow() - timedelta(days=1))
    assert _statuses(client, s) == _all(404)
    login(client, world.a.admin)
    assert _statuses(client, s) == _all(200)
    assert 'data-testid="preview"' in client.get(f"{s.p}/receipts").text
    assert 'data-testid="preview"' in client.get(f"{s.p}/verify").text
    client.post("/logout")


def test_unpublished_and_draft_campaigns_answer_404(app, world, client):
    closed = _campaign(app, world.a, publish=False, name="已结束未公布")
    assert _statuses(client, closed) == _all(404)
    login(client, world.a.admin)
    assert _statuses(client, closed) == _all(200)  # the admin's preview, as on the 公示 page
    client.post("/logout")
    with app.app_context(), tenant_context(world.a.id):
        draft = cp.create_campaign("草稿", utcnow() + timedelta(days=1), utcnow() + timedelta(days=2),
                                   publication_scope="public")
        db.session.commit()
        draft_id = draft.id
    login(client, world.a.admin)
    d = Sealed("alpha", world.a.id, draft_id)
    assert _statuses(client, d) == _all(404)


def test_verify_page_explains_in_plain_chinese(app, world, client):
    s = _campaign(app, world.a)
    c = _campaign_row(app, s)
    r = client.get(f"{s.p}/verify")
    assert r.status_code == 200
    text = _text(r.text)
    assert c.seal_digest in text
    assert "已计入的回执码共 6 个，统计中的评议票共 6 张，两个数应当相等" in text
    assert 'data-testid="mismatch"' not in r.text
    assert f"不少于 {c.seal_k} 张票" in text  # small groups merged to k
    assert "某一个人是怎样评议的" in text and "回执码只说明“已计入”" in text
    assert f"pingyi verify --tenant alpha --campaign {s.campaign_id} --export 文件.csv" in text
    for route in ("/receipts", "/receipts.txt", "/ballots.csv"):
        assert f'href="{s.p}{route}"' in r.text, route
    assert f'href="{s.p}/verify"' in client.get(s.p).text  # linked from the 公示 page


# ---- the receipt check -------------------------------------------------------------------------------

def test_a_counted_receipt_of_a_sealed_campaign_shows_the_digest_and_the_list(app, world, client):
    s = _campaign(app, world.a)
    c = _campaign_row(app, s)
    r = client.post(f"{s.p}/receipt", data={"code": s.receipts[2]})
    assert 'data-testid="result">已计入' in r.text
    assert f'data-testid="seal-digest">{c.seal_digest}<' in r.text
    assert f'href="{s.p}/receipts"' in r.text and f'href="{s.p}/verify"' in r.text
    unknown = client.post(f"{s.p}/receipt", data={"code": "ABCD-EFGH-JKMN"}).text
    assert "未找到该回执码" in unknown and "seal-digest" not in unknown


def test_receipt_check_links_only_where_the_publication_is_shown(app, world, client):
    s = _campaign(app, world.a, scope="tenant")
    c = _campaign_row(app, s)
    r = client.post(f"{s.p}/receipt", data={"code": s.receipts[0]}).text
    assert 'data-testid="result">已计入' in r and c.seal_digest in r  # a hash: it names nothing
    assert f"{s.p}/receipts" not in r and f"{s.p}/verify" not in r and c.name not in r


def test_a_counted_receipt_of_an_open_campaign_has_no_digest(app, world, client):
    s = _campaign(app, world.a, closed=False)  # k ballots in a batch: counted while voting goes on
    r = client.post(f"{s.p}/receipt", data={"code": s.receipts[0]}).text
    assert 'data-testid="result">已计入' in r and "seal-digest" not in r


# ---- the admin ----------------------------------------------------------------------------------------

def test_admins_download_the_export_with_opinions_others_do_not(app, world, client):
    s = _campaign(app, world.a, scope="tenant", export=False, opinions=False)
    results = f"/t/alpha/campaigns/{s.campaign_id}/results"
    url = f"/t/alpha/campaigns/{s.campaign_id}/ballots.csv"
    c = _campaign_row(app, s)
    login(client, world.a.admin)
    page = client.get(results).text
    assert f'href="{url}"' in page and "下载匿名票据（CSV）" in page and c.seal_digest in page
    r = client.get(url)
    assert r.status_code == 200 and r.mimetype == "text/csv" and r.is_streamed
    assert r.headers["Content-Disposition"].startswith("attachment;")
    assert OPINION in r.get_data(as_text=True)  # admins see opinions, published or not
    client.post("/logout")

    for who in (world.a.viewer, world.a.unit_admin):
        login(client, who)
        assert url not in client.get(results).text
        assert client.get(url).status_code == 403
        client.post("/logout")

    login(client, world.b.admin)  # another tenant's admin: neither alpha's URL nor alpha's id in beta
    assert client.get(url).status_code == 404
    assert client.get(f"/t/beta/campaigns/{s.campaign_id}/ballots.csv").status_code == 404
    client.post("/logout")


def test_no_admin_export_before_the_seal(app, world, client):
    s = _campaign(app, world.a, closed=False)
    login(client, world.a.admin)
    r = client.get(f"/t/alpha/campaigns/{s.campaign_id}/ballots.csv")
    assert r.status_code == 302 and r.location.endswith(f"/t/alpha/campaigns/{s.campaign_id}/results")
    page = client.get(r.location).text
    assert "封存、且至少有 5 张评议票后，才能下载匿名票据" in page and "/ballots.csv" not in page


def test_the_publication_settings_store_the_export_choice(app, world, client):
    s = _campaign(app, world.a, export=False)
    page = f"/t/alpha/campaigns/{s.campaign_id}"
    login(client, world.a.admin)
    assert 'name="publish_export"' in client.get(page).text and "在公示页提供匿名票据下载" in client.get(page).text
    r = client.post(page, data={"op": "publication", "publication_scope": "public", "publish_export": "1"})
    assert r.status_code == 302
    assert _campaign_row(app, s).publish_export is True
    assert client.get(f"{s.p}/ballots.csv").status_code == 200
    assert 'name="publish_export" value="1" checked' in client.get(page).text
    client.post(page, data={"op": "publication", "publication_scope": "public"})
    assert _campaign_row(app, s).publish_export is False
    client.post("/logout")
    assert client.get(f"{s.p}/ballots.csv").status_code == 404


# ---- the oversight committee ---------------------------------------------------------------------------

def test_the_county_downloads_its_subordinates_export_with_published_opinions_only(app, world, client):
    s = _campaign(app, world.a, scope="tenant", export=False, opinions=False)
    page = f"/t/county/oversight/alpha/campaigns/{s.campaign_id}"
    url = f"{page}/ballots.csv"
    with app.app_context():
        viewer = accounts.create_user("viewer@county.test", PASSWORD)
        accounts.grant(accounts.tenant_by_slug("county"), viewer, "viewer")
        db.session.commit()
    for who in (world.county_admin, "viewer@county.test"):
        login(client, who)
        assert f'href="{url}"' in client.get(page).text
        r = client.get(url)
        assert r.status_code == 200 and r.mimetype == "text/csv" and r.is_streamed
        body = r.get_data(as_text=True)
        assert body.lstrip("\ufeff").startswith("# ") and OPINION not in body  # alpha did not publish opinions
        client.post("/logout")
    _update(app, s, publish_opinions=True)
    login(client, world.county_admin)
    assert OPINION in client.get(url).get_data(as_text=True)
    client.post("/logout")
    # the same as the admin's file, but for opinions only where published: same ballots, same header
    login(client, world.a.admin)
    own = client.get(f"/t/alpha/campaigns/{s.campaign_id}/ballots.csv").get_data(as_text=True)
    client.post("/logout")
    login(client, world.county_admin)
    assert client.get(url).get_data(as_text=True) == own
    client.post("/logout")


def test_the_county_reaches_only_its_own_subordinates_published_sealed_campaigns(app, world, client):
    published = _campaign(app, world.a, name="已公布")
    unpublished = _campaign(app, world.a, publish=False, name="未公布")
    foreign = _campaign(app, world.b, name="乙公司评议")  # beta is no subordinate of the county
    login(client, world.county_admin)
    assert client.get(f"/t/county/oversight/alpha/campaigns/{published.campaign_id}/ballots.csv").status_code == 200
    assert client.get(f"/t/county/oversight/alpha/campaigns/{unpublished.campaign_id}/ballots.csv").status_code == 404
    assert client.get(f"/t/county/oversight/beta/campaigns/{foreign.campaign_id}/ballots.csv").status_code == 404
    assert client.get(f"/t/county/oversight/alpha/campaigns/{foreign.campaign_id}/ballots.csv").status_code == 404
    client.post("/logout")
    for who in (world.a.admin, world.b.admin):  # not members of the county
        login(client, who)
        assert client.get(f"/t/county/oversight/alpha/campaigns/{published.campaign_id}/ballots.csv").status_code == 404
        client.post("/logout")


def test_the_county_gets_no_export_of_too_few_ballots(app, world, client):
    s = _campaign(app, world.a, choices=(0, 3))
    page = f"/t/county/oversight/alpha/campaigns/{s.campaign_id}"
    login(client, world.county_admin)
    assert client.get(page).status_code == 200 and "/ballots.csv" not in client.get(page).text
    assert client.get(f"{page}/ballots.csv").status_code == 404


def test_no_figure_or_file_here_carries_a_receipt_beside_a_choice(app, world, client):
    """The pages that list receipts show nothing of a ballot; the files that show ballots hold no receipt."""
    s = _campaign(app, world.a, opinions=True)
    for route in ("/receipts", "/receipts.txt"):
        body = client.get(s.p + route).get_data(as_text=True)
        assert OPINION not in body, route
    with app.app_context(), tenant_context(world.a.id):
        labels = set(db.session.execute(select(Unit.name)).scalars())
    listed = client.get(f"{s.p}/receipts").text.split('data-testid="codes"')[1].split("</ul>")[0]
    assert not any(label in listed for label in labels)
    login(client, world.a.admin)
    admin_csv = client.get(f"/t/alpha/campaigns/{s.campaign_id}/ballots.csv").get_data(as_text=True)
    client.post("/logout")
    for code in s.receipts:
        assert code not in admin_csv and code.replace("-", "") not in admin_csv
