"""The evaluator's pages over HTTP: vote once, every refusal with its status, short codes,
receipts, rate limits, CSRF bound to the link, and no stack trace ever shown."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import event, func, select

from pingyi.extensions import db
from pingyi.models import Answer, Ballot, BoxedBallot
from pingyi.tenancy import unscoped
from pingyi.voting import tokens
from tests.ballot_world import build, close_and_count, full_answers

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted


def _ballots() -> int:
    """Ballots cast: in the sealed box until the mixer moves a batch of k, then in ``ballots``."""
    with unscoped():
        return sum(db.session.execute(select(func.count()).select_from(m)).scalar_one() for m in (BoxedBallot, Ballot))


def test_vote_once_and_get_a_receipt(app, world):
    client = app.test_client()
    with app.app_context():
        bw = build(world)
        link = bw.own[0].secret
        data = full_answers(world, bw, link, comment="希望多组织学习")
    page = client.get(f"/b/{link}")
    assert page.status_code == 200
    assert "测试评议" in page.text and "采煤一队党支部" in page.text and "王伟（采煤一队党支部）" in page.text
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    assert 'name="csrf_token"' not in page.text
    r = client.post(f"/b/{link}", data=data)
    assert r.status_code == 200 and "提交成功" in r.text
    receipt = re.search(r'data-testid="receipt">([^<]+)<', r.text).group(1)
    again = client.post(f"/b/{link}", data=data)
    assert again.status_code == 409 and "已使用" in again.text
    assert client.get(f"/b/{link}").status_code == 409
    with app.app_context():
        assert _ballots() == 1
    check = re.search(r'href="(/p/alpha/\d+/receipt)"', r.text).group(1)
    assert 'data-testid="result">已收到' in client.post(check, data={"code": receipt}).text  # in the box
    assert "未找到" in client.post(check, data={"code": tokens.new_short_code()}).text
    with app.app_context():
        close_and_count(world, bw)
    assert 'data-testid="result">已计入' in client.post(check, data={"code": receipt}).text


def test_missing_answers_keep_input_and_store_nothing(app, world):
    client = app.test_client()
    with app.app_context():
        bw = build(world)
        link = bw.own[0].secret
        data = full_answers(world, bw, link)
    first = next(k for k in data if k.startswith("a_"))
    partial = {k: v for k, v in data.items() if k != first}
    r = client.post(f"/b/{link}", data=partial)
    assert r.status_code == 422 and "还有 1 项未完成" in r.text
    second = next(k for k in partial if k.startswith("a_"))
    assert f'name="{second}" value="{partial[second]}" checked' in r.text
    with app.app_context():
        assert _ballots() == 0
    assert client.post(f"/b/{link}", data=data).status_code == 200  # the link still works


def test_refusal_pages(app, world):
    from datetime import timedelta

    from pingyi.campaigns import lifecycle as cp
    from pingyi.models import Campaign, utcnow
    from pingyi.tenancy import tenant_context

    client = app.test_client()
    with app.app_context():
        bw = build(world)
    r = client.get("/b/" + "A" * 22)
    assert r.status_code == 404 and "无效" in r.text
    assert client.get("/b/zzz").status_code == 404
    with app.app_context(), tenant_context(world.a.id):
        c = db.session.get(Campaign, bw.campaign_id)
        tokens.revoke(c, short_code=bw.own[1].short_code)
        db.session.commit()
    r = client.get(f"/b/{bw.own[1].secret}")
    assert r.status_code == 410 and "已作废" in r.text
    with app.app_context(), tenant_context(world.a.id):
        c = db.session.get(Campaign, bw.campaign_id)
        c.opens_at = utcnow() + timedelta(hours=2)
        db.session.commit()
    r = client.get(f"/b/{bw.own[2].secret}")
    assert r.status_code == 403 and "未开始" in r.text
    with app.app_context(), tenant_context(world.a.id):
        c = db.session.get(Campaign, bw.campaign_id)
        c.opens_at = utcnow() - timedelta(hours=2)
        cp.transition(c, "close")
        db.session.commit()
    r = client.get(f"/b/{bw.own[2].secret}")
    assert r.status_code == 410 and "已结束" in r.text
    r = client.post(f"/b/{bw.own[2].secret}", data={})
    assert r.status_code == 410
    with app.app_context():
        assert _ballots() == 0


def test_short_code_entry(app, world):
    client = app.test_client()
    with app.app_context():
        bw = build(world)
    code = tokens.format_code(bw.own[0].short_code).lower().replace("-", " ")
    r = client.post("/c", data={"code": code})
    assert r.status_code == 302 and r.location.endswith(f"/b/{bw.own[0].short_code}")
    assert client.get(r.location).status_code == 200
    r = client.post("/c", data={"code": "12345"})
    assert r.status_code == 400 and "短码应为 12 位" in r.text


def test_foreign_origin_post_is_refused(app, world):
    client = app.test_client()
    with app.app_context():
        bw = build(world)
        data = full_answers(world, bw, bw.own[0].secret)
    r = client.post(f"/b/{bw.own[0].secret}", data=data, headers={"Origin": "https://evil.example"})
    assert r.status_code == 400
    r = client.post(f"/b/{bw.own[0].secret}", data=data, headers={"Origin": "http://localhost"})
    assert r.status_code == 200


def test_guessing_codes_is_rate_limited_and_whole_links_still_open(app, world):
    client = app.test_client()
    codes = [client.get(f"/b/{'B' * 10}{i:02d}").status_code for i in range(31)]
    assert codes[:30] == [404] * 30 and codes[30] == 429
    with app.app_context():
        bw = build(world)
    # the same address: a code is refused now, a whole link (a QR code: 128 random bits, never
    # guessed) still opens, and guesses of that shape are never counted
    assert client.get(f"/b/{tokens.format_code(bw.own[1].short_code)}").status_code == 429
    assert client.get(f"/b/{bw.own[0].secret}").status_code == 200
    assert {client.get(f"/b/{'C' * 20}{i:02d}").status_code for i in range(40)} == {404}
    # a code from another address still works
    other = app.test_client()
    assert other.get(f"/b/{bw.own[1].short_code}", environ_base={"REMOTE_ADDR": "10.0.0.2"}).status_code == 200


def test_no_stack_trace_reaches_an_evaluator(app, world, monkeypatch):
    from pingyi.voting import sheet

    with app.app_context():
        bw = build(world)
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def boom(*a, **k):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(sheet, "for_link", boom)
    r = app.test_client().get(f"/b/{bw.own[0].secret}")
    assert r.status_code == 500 and "Traceback" not in r.text and "secret internals" not in r.text
    assert "服务器出错了" in r.text


def test_receipt_check_is_scoped_to_its_tenant(app, world):
    client = app.test_client()
    with app.app_context():
        bw = build(world)
    assert client.get(f"/p/alpha/{bw.campaign_id}/receipt").status_code == 200
    assert client.get(f"/p/beta/{bw.campaign_id}/receipt").status_code == 404
    assert client.get(f"/p/nope/{bw.campaign_id}/receipt").status_code == 404


def test_answers_land_for_the_right_subjects(app, world):
    client = app.test_client()
    with app.app_context():
        bw = build(world)
        data = full_answers(world, bw, bw.group[0].secret, choice_index=3)
    assert client.post(f"/b/{bw.group[0].secret}", data=data).status_code == 200
    with app.app_context():
        close_and_count(world, bw)
    with app.app_context(), unscoped():
        n = db.session.execute(select(func.count(func.distinct(Answer.subject_id)))).scalar_one()
    assert n == 4  # 全评: both branches and both members


def test_a_ballot_costs_the_link_read_and_one_write(app, world):
    """Once a process has served a campaign, a ballot of another unit reads no subject, form or
    tally: the link (one indexed read), then the redeem and the box row (one statement on
    PostgreSQL, two on SQLite), nothing else in the request."""
    client = app.test_client()
    with app.app_context():
        bw = build(world)
        first, other = bw.own[0].secret, bw.other_branch[0].secret
        answers = {link: full_answers(world, bw, link) for link in (first, other)}
        engine = db.engine
    assert client.post(f"/b/{first}", data=answers[first]).status_code == 200  # this process learns the campaign
    mine, seen = threading.get_ident(), []

    def record(_conn, _cursor, statement, *_args):
        if threading.get_ident() == mine:  # not the live tally's thread
            seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        r = client.post(f"/b/{other}", data=answers[other])
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert r.status_code == 200 and "提交成功" in r.text
    writes = 1 if engine.dialect.name == "postgresql" else 2
    assert len(seen) == 1 + writes, seen
    assert seen[0].startswith("SELECT") and "FROM ballot_tokens" in seen[0]
    assert all(s.startswith(("UPDATE ballot_tokens", "INSERT INTO ballot_box", "WITH")) for s in seen[1:]), seen
    assert not [s for s in seen if any(t in s for t in ("subjects", "form_", "tally", "answers"))], seen


def _sheet(link: str):
    from pingyi.voting import ballots

    return ballots.resolve(link).sheet()


def test_the_page_has_an_index_and_counts_without_a_script(app, world):
    """Every subject is one tap away from the top, with how many items it asks; the page's one
    script is this site's file, deferred (the CSP forbids inline script)."""
    with app.app_context():
        bw = build(world)
        link = bw.group[0].secret
        sheet = _sheet(link)
    page = app.test_client().get(f"/b/{link}").text
    assert len(sheet) >= 3
    index = page.split('<nav class="index"', 1)[1].split("</nav>", 1)[0]
    assert re.findall(r'href="#s(\d+)"', index) == [str(s.id) for s in sheet]
    for s in sheet:
        assert f'<section class="subject" id="s{s.id}">' in page
        required = sum(it.required for it in s.items())
        assert re.search(rf'href="#s{s.id}" id="i{s.id}"><span>[^<]+</span> <b>{required} 项</b>', index)
    total = sum(it.required for s in sheet for it in s.items())
    assert f"共 {total} 项必答" in page and page.count('class="item req"') == sum(
        it.required for s in sheet for it in s.items() if it.kind == "rating")
    assert len(re.findall(r"<script[^>]*>", page)) == 1 and re.search(r'<script src="/static/ballot.js\?v=\w+" defer>', page)
    assert 'action="#first-missing"' in page and 'id="first-missing"' not in page
    js = app.test_client().get("/static/ballot.js")
    assert js.status_code == 200 and "javascript" in js.content_type and b"data-done" in js.data


def test_a_refused_submit_lists_what_is_missing_by_subject(app, world):
    """Without a script: the refused page lists the missing answers per subject, each a link to
    its item; the form's action (#first-missing) lands the browser on the first one, focusable;
    the index says what each subject still lacks."""
    with app.app_context():
        bw = build(world)
        link = bw.group[0].secret
        data = full_answers(world, bw, link)
        sheet = _sheet(link)
    first, second, done = sheet.subjects[0], sheet.subjects[1], sheet.subjects[2]
    ratings = [[f"a_{s.id}_{it.id}" for it in s.items() if it.kind == "rating"] for s in (first, second)]
    gone = [ratings[1][-1], ratings[0][1], ratings[1][0]]  # not in page order
    data = {k: v for k, v in data.items() if k not in gone} | {ratings[0][0]: "999999"}  # not a choice
    r = app.test_client().post(f"/b/{link}", data=data)
    assert r.status_code == 422 and "还有 4 项未完成或有误" in r.text
    summary = r.text.split('id="missing">', 1)[1].split("</div>", 1)[0]
    rows = re.findall(r"<li>(.*?)</li>", summary)
    assert len(rows) == 2 and first.label in rows[0] and second.label in rows[1]
    expected = [ratings[0][0], ratings[0][1]], [ratings[1][0], ratings[1][-1]]
    for row, names in zip(rows, expected, strict=True):
        links = re.findall(r'href="#([ac]_\d+_\d+)">第 (\d+) 项', row)
        numbers = {f"a_{s.id}_{it.id}": str(it.number) for s in sheet for it in s.items()}
        assert links == [(n, numbers[n]) for n in names]
        for n in names:
            assert f'<fieldset class="item req bad" id="{n}">' in r.text
    assert r.text.count('id="first-missing"') == 1
    assert re.search(rf'id="{ratings[0][0]}">\s*<legend id="first-missing" tabindex="-1">[^<]*<em>选项无效</em>', r.text)
    assert 'href="#first-missing">跳到第一项未完成' in r.text
    index = r.text.split('<nav class="index"', 1)[1]
    assert f'id="i{first.id}" class="todo"><span>{first.label}</span> <b>还差 2 项' in index
    assert f'id="i{second.id}" class="todo"><span>{second.label}</span> <b>还差 2 项' in index
    assert f'id="i{done.id}" class="done"><span>{done.label}</span> <b>已完成' in index
    kept = ratings[1][1]
    assert f'name="{kept}" value="{data[kept]}" checked' in r.text
