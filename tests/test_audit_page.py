"""The audit page (操作日志) reads as sentences in Beijing time: who did what to which thing and
what changed, never a table's or column's name or "None →"; it narrows by person, object,
action and calendar day (days in Asia/Shanghai), pages on the server, exports the same rows as
CSV (UTF-8 with a BOM, formulas neutralised), and shows one tenant's trail only."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, timedelta

import pytest
from sqlalchemy import select

from pingyi.audit import acting_as
from pingyi.campaigns import lifecycle as cp
from pingyi.extensions import db
from pingyi.models import AuditEvent, Campaign, Person, Unit
from pingyi.org import orgtree
from pingyi.tenancy import tenant_context, unscoped
from pingyi.web import audit_log
from tests import clock
from tests.factories import login

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted

RAW = ("None", "→", "update", "create", "object_type", "campaigns", "tally_runs")


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def _rows(html: str) -> dict[int, str]:
    """The page's events: id → the row's text (time and sentence)."""
    return {int(i): _text(row) for i, row in re.findall(r'<tr data-event="(\d+)">(.*?)</tr>', html, re.S)}


def _add(tenant_id: int, n: int = 1, **values) -> list[int]:
    """``n`` audit events written as the hook would (defaults: an update of a unit by 甲)."""
    row = {"actor": "甲@alpha.test", "action": "update", "object_type": "units", "count": 1, "detail": {},
           "created_at": clock.now(), **values}
    events = [AuditEvent(tenant_id=tenant_id, **row) for _ in range(n)]
    db.session.add_all(events)
    db.session.commit()
    return [e.id for e in events]


def _describe(**values) -> str:
    e = AuditEvent(actor=values.pop("actor", "admin@alpha.test"), actor_id=None, count=values.pop("count", 1),
                   **values)
    return audit_log.describe(e, audit_log.Names())


@pytest.fixture
def admin(app, world):
    client = app.test_client()
    login(client, world.a.admin)
    return client


def test_what_people_did_reads_as_sentences(app, world, admin):
    with app.app_context(), tenant_context(world.a.id), acting_as(None, world.a.admin):
        c = cp.create_campaign("年度民主评议", clock.day(0), clock.day(10))
        db.session.commit()
        assert c.state == "draft"
        c.state = "open"  # as a transition would (which wants subjects, categories and links first)
        unit = db.session.get(Unit, world.a.branch)
        unit.name = "采煤二队党支部"
        orgtree.create_person("赵敏", unit, "委员")
        db.session.commit()
    with app.app_context(), tenant_context(world.a.id):
        zhao = db.session.execute(select(Person.id).where(Person.name == "赵敏")).scalar_one()
        created = db.session.execute(select(AuditEvent).where(AuditEvent.tenant_id == world.a.id,
                                                              AuditEvent.object_type == "people",
                                                              AuditEvent.action == "create")
                                     .order_by(AuditEvent.id.desc())).scalars().first()
        assert created.object_id == zhao  # a new row's id is recorded too (its identity comes after the flush)
    page = _text(admin.get("/t/alpha/audit").text)
    for sentence in (f"{world.a.admin} 新建评议活动「年度民主评议」",
                     f"{world.a.admin} 将评议活动「年度民主评议」的状态由 草稿 改为 进行中",
                     f"{world.a.admin} 将单位「采煤二队党支部」的名称由 「采煤一队党支部」 改为 「采煤二队党支部」",
                     f"{world.a.admin} 新建人员「赵敏」（单位「采煤二队党支部」）",
                     f"系统 授予「{world.a.unit_admin}」单位管理员角色（单位「一矿党委」）"):
        assert sentence in page, (sentence, page)
    assert not [w for w in RAW if w in page]


def test_known_kinds_unknown_ones_and_missing_values_never_read_as_raw_columns():
    assert _describe(action="update", object_type="campaigns", object_id=3,
                     detail={"name": "二〇二五年评议", "changes": {"state": ["closed", "published"],
                                                                 "publication_scope": ["tenant", "public"]}}) == (
        "admin@alpha.test 将评议活动「二〇二五年评议」的状态由 已结束 改为 已公布，公示范围由 本单位成员 改为 公开")
    assert _describe(action="create", object_type="ballot_tokens", count=40,
                     detail={"campaign_id": 3, "category": "党员", "units": 4, "per_unit": 10}) == (
        "admin@alpha.test 生成 40 个测评码（党员，4 个单位，每单位 10 个）（评议活动 #3）")
    assert _describe(action="revoke", object_type="ballot_tokens", count=1,
                     detail={"campaign_id": 3, "unit": "一矿", "serial": 12}) == (
        "admin@alpha.test 作废 1 个测评码（单位「一矿」，序号 12）（评议活动 #3）")
    assert _describe(action="create", object_type="paper_entries", detail={"campaign_id": 3, "changes": {}}) == (
        "admin@alpha.test 录入纸质票（评议活动 #3）")
    assert _describe(action="create", object_type="jobs", object_id=9, detail={"changes": {
        "kind": [None, "tally"], "params": [None, "{'campaign_id': 3}"]}}) == "admin@alpha.test 请求重新统计（评议活动 #3）"
    assert _describe(action="create", object_type="login_sessions", actor="system") == "系统 登录"
    assert _describe(action="update", object_type="users", object_id=2, detail={
        "name": "张三", "changes": {"password_hash": ["***", "***"]}}) == "admin@alpha.test 将用户账号「张三」的密码重新设置"
    until = clock.day(30, 20, 15, tz="UTC")  # as the hook stores an instant: str() of an aware UTC datetime
    beijing = (until + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    assert _describe(action="update", object_type="campaigns", object_id=3, detail={"name": "评议", "changes": {
        "publish_until": [str(until), None]}}) == f"admin@alpha.test 将评议活动「评议」的公示截止时间清空（原为 {beijing}）"
    assert _describe(action="delete", object_type="people", count=7) == "admin@alpha.test 批量删除 7 个人员"
    # a table, a column and an action nobody taught it: still a sentence, with what is known
    unknown = _describe(action="frobnicate", object_type="widgets", object_id=5,
                        detail={"changes": {"colour": [None, None]}})
    assert unknown == "admin@alpha.test 对widgets（#5）执行「frobnicate」"
    odd = _describe(action="update", object_type="widgets", detail={"changes": {"colour": [None, "red"],
                                                                              "heft": [3, None]}})
    assert odd == "admin@alpha.test 将widgets的colour设为 「red」，heft清空（原为 3）"
    for detail in ({}, {"changes": None}, {"changes": {"x": "not a pair"}}, {"changes": {"state": [None, None]}},
                   {"ids": [None, None]}, {"name": None}):
        for action in ("create", "update", "delete", "revoke", "?"):
            for table in ("campaigns", "jobs", "ballot_tokens", "paper_entries", "login_sessions", "nope"):
                sentence = _describe(action=action, object_type=table, detail=detail)
                assert "None" not in sentence and "→" not in sentence, (action, table, detail, sentence)


def test_times_are_beijing_time(app, world, admin):
    when = clock.day(-3, 17, 30, tz="UTC")  # 01:30 the next day in Beijing
    with app.app_context():
        [eid] = _add(world.a.id, created_at=when)
    row = _rows(admin.get("/t/alpha/audit").text)[eid]
    local = (when + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    assert row.startswith(local), (row, local)


def test_filters_narrow_by_person_object_action_and_beijing_day(app, world, admin):
    midnight = clock.day(-5, 0, 0)  # Beijing midnight, five days ago
    with app.app_context():
        after = _add(world.a.id, actor="乙@alpha.test", object_type="people", created_at=midnight + timedelta(minutes=10))
        before = _add(world.a.id, actor="乙@alpha.test", object_type="units", action="delete",
                      created_at=midnight - timedelta(minutes=10))
        other = _add(world.a.id, actor="丙@alpha.test", object_type="people", action="delete",
                     created_at=midnight - timedelta(days=2))
    day = midnight.strftime("%Y-%m-%d")
    eve = (midnight - timedelta(days=1)).strftime("%Y-%m-%d")
    # both instants fall on the same UTC day: only Beijing days split them
    assert (midnight + timedelta(minutes=10)).astimezone(UTC).date() == (midnight - timedelta(minutes=10)).astimezone(UTC).date()

    def ids(query: str) -> set[int]:
        r = admin.get(f"/t/alpha/audit?{query}")
        assert r.status_code == 200
        return set(_rows(r.text))

    assert ids("actor=乙@alpha.test") == set(after + before)
    assert ids("actor=乙@alpha.test&kind=people") == set(after)
    assert ids("kind=people&action=delete") == set(other)
    assert ids(f"actor=乙@alpha.test&since={day}") == set(after)
    assert ids(f"actor=乙@alpha.test&until={eve}") == set(before)
    assert ids(f"since={eve}&until={eve}") == set(before)
    assert ids(f"since={day}&until={eve}") == set()
    page = admin.get("/t/alpha/audit?actor=乙@alpha.test").text
    assert 'data-testid="count">共 2 条记录' in page
    assert '<option value="丙@alpha.test"' in page and "<option value=\"people\"" in page  # the choices
    # a day nobody can read is said, and not applied
    r = admin.get("/t/alpha/audit?actor=乙@alpha.test&since=下周")
    assert "格式不正确" in r.text and set(_rows(r.text)) == set(after + before)


def test_pages_are_cut_by_the_database_and_carry_the_filters(app, world, admin):
    with app.app_context():
        ids = _add(world.a.id, 120, actor="批量@alpha.test")
    first = admin.get("/t/alpha/audit?actor=批量@alpha.test")
    assert list(_rows(first.text)) == sorted(ids, reverse=True)[:50]
    assert "第 1 / 3 页" in first.text
    assert re.search(r'href="/t/alpha/audit\?page=2&amp;actor=[^"]+"', first.text)
    last = admin.get("/t/alpha/audit?actor=批量@alpha.test&page=3")
    assert list(_rows(last.text)) == sorted(ids, reverse=True)[100:]
    assert list(_rows(admin.get("/t/alpha/audit?actor=批量@alpha.test&page=99").text)) == sorted(ids, reverse=True)[100:]


def test_csv_export_holds_the_filtered_rows_with_formulas_neutralised(app, world, admin):
    with app.app_context():
        plain = _add(world.a.id, 3, actor="导出@alpha.test", object_type="people", action="delete", count=2)
        hostile = _add(world.a.id, actor='=HYPERLINK("http://evil.test","点我")', object_type="units",
                       detail={"name": "+1+2", "changes": {"sort_order": [1, 2]}})
        _add(world.a.id, actor="别人@alpha.test")
    r = admin.get("/t/alpha/audit.csv?actor=导出@alpha.test")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"] and r.headers["Cache-Control"] == "no-store"
    assert r.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0] == ["时间（北京时间）", "操作人", "说明", "操作人账号", "动作", "对象类型", "对象编号", "数量", "详情"]
    assert len(rows) == 1 + len(plain)
    assert {(row[2], row[4], row[5], row[7]) for row in rows[1:]} == {
        ("导出@alpha.test 批量删除 2 个人员", "delete", "people", "2")}
    with app.app_context(), tenant_context(world.a.id):
        e = db.session.get(AuditEvent, plain[0])
        stamp = cp.local(e.created_at, "Asia/Shanghai").strftime("%Y-%m-%d %H:%M:%S")
    assert stamp in {row[0] for row in rows[1:]}
    r = admin.get("/t/alpha/audit.csv?kind=units&action=update")
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    evil = [row for row in rows if "evil.test" in row[1]]
    assert len(evil) == len(hostile) == 1
    for cell in evil[0]:
        assert not cell.startswith(("=", "+", "-", "@")), evil[0]
    assert evil[0][1].startswith("'=") and evil[0][2].startswith("'=") and evil[0][3].startswith("'=")


def test_csv_export_streams_a_long_trail_whole(app, world, admin):
    with app.app_context():
        ids = _add(world.a.id, 1234, actor="长@alpha.test")
    r = admin.get("/t/alpha/audit.csv?actor=长@alpha.test")
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))[1:]
    assert len(rows) == len(ids) == 1234  # more than two chunks of 500, none lost or repeated at the seams
    assert [row[1] for row in rows] == ["长@alpha.test"] * len(ids)


def test_another_tenant_s_trail_never_shows(app, world, admin):
    with app.app_context():
        with tenant_context(world.b.id), acting_as(None, world.b.admin):
            secret = cp.create_campaign("乙方内部评议", clock.day(0), clock.day(10))
            db.session.commit()
            beta_campaign = secret.id
        # an alpha event that names beta's campaign by id (it cannot, but should one): no name leaks
        [pointer] = _add(world.a.id, action="create", object_type="meetings",
                         detail={"changes": {"campaign_id": [None, beta_campaign]}})
        with unscoped():
            beta_events = db.session.execute(select(AuditEvent.id).where(AuditEvent.tenant_id == world.b.id)).scalars().all()
            assert db.session.execute(select(Campaign.name).where(Campaign.id == beta_campaign)).scalar_one() == "乙方内部评议"
    assert beta_events
    for url in ("/t/alpha/audit", f"/t/alpha/audit?actor={world.b.admin}", "/t/alpha/audit?kind=campaigns",
                "/t/alpha/audit.csv", f"/t/alpha/audit.csv?actor={world.b.admin}"):
        body = admin.get(url).data.decode("utf-8-sig")
        if url.startswith("/t/alpha/audit.csv"):
            shown = body
        else:
            rows = _rows(body)
            assert not set(rows) & set(beta_events), url
            shown = " ".join(rows.values())
            assert f'<option value="{world.b.admin}"' not in body  # nor among the choices
        assert "乙方内部评议" not in shown and world.b.admin not in shown, url
    assert len(admin.get(f"/t/alpha/audit.csv?actor={world.b.admin}").data.decode("utf-8-sig").splitlines()) == 1
    page = admin.get("/t/alpha/audit?kind=meetings").text
    assert f"评议活动 #{beta_campaign}" in _rows(page)[pointer]
    # beta's own pages are beta's: alpha's admin is refused there
    assert admin.get("/t/beta/audit").status_code in (403, 404)
    assert admin.get("/t/beta/audit.csv").status_code in (403, 404)


def test_only_admins_read_the_trail_and_the_home_page_tells_it_too(app, world, admin):
    for email in (world.a.viewer, world.a.unit_admin):
        client = app.test_client()
        login(client, email)
        assert client.get("/t/alpha/audit").status_code == 403
        assert client.get("/t/alpha/audit.csv").status_code == 403
    with app.app_context(), tenant_context(world.a.id), acting_as(None, world.a.admin):
        orgtree.create_person("钱七", db.session.get(Unit, world.a.branch), "党员")
        db.session.commit()
    home = _text(admin.get("/t/alpha/").text)
    assert f"{world.a.admin} 新建人员「钱七」（单位「采煤一队党支部」）" in home
