"""The audit trail holds no ballot: read as an attacker with the database would, no audit row
gives a paper form's token, its answers or comments, or how tallies moved ballot by ballot.
What stays is who did what: "a paper entry for campaign C by user U", "a recount of C"."""

from __future__ import annotations

import json
import re

import pytest
from flask_migrate import upgrade
from sqlalchemy import select, text

from pingyi import create_app
from pingyi.extensions import db
from pingyi.models import ScaleChoice, User
from pingyi.results import tally
from pingyi.tenancy import tenant_context, unscoped
from pingyi.voting import tokens
from tests.ballot_world import build, full_answers, vote
from tests.factories import login

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted

COMMENT = "三号楼路灯坏了半年没人修"
FIGURES = re.compile(r"""["'](ballots|answers|valid|satisfied|lowest|rated|issued|used|used_at|"""
                     r"""result|done|total|error|by_choice|payload|token_id|serial)["']\s*:\s*(?!\[?"\*\*\*")""")


def _rows() -> list[dict]:
    """Every audit row, every column, as the database holds it."""
    rows = db.session.execute(text("SELECT * FROM audit_events ORDER BY id")).mappings().all()
    out = []
    for r in rows:
        r = dict(r)
        if isinstance(r["detail"], str):
            r["detail"] = json.loads(r["detail"])
        out.append(r)
    return out


def _dump(row: dict) -> str:
    return json.dumps(row, ensure_ascii=False, default=str)


def _user_id(email: str) -> int:
    with unscoped():
        return db.session.execute(select(User.id).where(User.email == email)).scalar_one()


def _assert_no_ballot_in(rows: list[dict], *secrets_: str) -> None:
    for row in rows:
        dumped = _dump(row)
        assert row["object_type"] not in ("tally_runs", "tally_units", "tally_counts", "tally_inbox",
                                          "ballots", "answers", "comments", "ballot_box"), dumped
        for s in secrets_:
            assert s.lower() not in dumped.lower(), (s, dumped)
        assert not FIGURES.search(dumped), dumped
        if row["object_type"] in ("paper_entries", "ballot_tokens"):
            assert row["object_id"] is None and "ids" not in row["detail"], dumped


def test_a_paper_double_entry_is_audited_without_token_answers_or_comment(app, world):
    with app.app_context():
        bw = build(world)
        link = bw.own[0]
        code = tokens.format_code(link.short_code)
        data = full_answers(world, bw, link.secret, choice_index=3, comment=COMMENT)
        with tenant_context(world.a.id):
            token_id = tokens.lookup(code).id
        key = next(k for k in data if k.startswith("a_"))
        with unscoped():
            other = db.session.execute(select(ScaleChoice.id).where(ScaleChoice.id != int(data[key]))).scalars().first()
        admin_id, typist_id = _user_id(world.a.admin), _user_id(world.a.unit_admin)
    first, second = app.test_client(), app.test_client()
    login(first, world.a.admin)
    login(second, world.a.unit_admin)
    url = f"/t/alpha/campaigns/{bw.campaign_id}/paper"
    assert "等待另一人录入核对" in first.post(url, data={"code": code, **data}).text
    assert "录入不一致" in second.post(url, data={"code": code, **data, key: str(other)}).text
    assert "已计票（纸质票）" in second.post(url, data={"code": code, **data}).text
    with app.app_context():
        rows = _rows()
    triples = [f"[{s}, {i}, {c}]" for s, i, c in
               ((*map(int, k.split("_")[1:]), int(v)) for k, v in data.items() if k.startswith("a_"))]
    _assert_no_ballot_in(rows, link.secret, link.short_code, code, COMMENT, *triples)
    for row in rows:
        assert not re.search(rf"\btoken\D{{0,12}}{token_id}\b", _dump(row)), row
    entries = [r for r in rows if r["object_type"] == "paper_entries" and r["action"] == "create"]
    assert [(r["actor_id"], r["detail"]) for r in entries] == [
        (admin_id, {"campaign_id": bw.campaign_id, "changes": {}}),
        (typist_id, {"campaign_id": bw.campaign_id, "changes": {}})]
    page = first.get("/t/alpha/audit").text
    assert "录入纸质票" in page and COMMENT not in page and link.short_code not in page


def test_tallies_leave_no_figures_and_a_recount_is_audited_as_a_request(app, world):
    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own + bw.group, [3] * len(bw.own + bw.group), comment=COMMENT)  # 不满意 everywhere
        with tenant_context(world.a.id):
            tally.update(bw.campaign_id)  # live tallies (and the ones casting triggered)
            db.session.commit()
            tally.recount(bw.campaign_id)  # a system recount
            db.session.commit()
        admin_id = _user_id(world.a.admin)
    admin = app.test_client()
    login(admin, world.a.admin)
    r = admin.post(f"/t/alpha/campaigns/{bw.campaign_id}/tally")
    assert r.status_code == 302
    with app.app_context():
        rows = _rows()
    _assert_no_ballot_in(rows, COMMENT, *(link.secret for link in bw.own + bw.group))
    requests = [r for r in rows if r["object_type"] == "jobs" and r["action"] == "create"]
    assert [(r["actor_id"], r["detail"]["changes"]) for r in requests] == [
        (admin_id, {"kind": [None, "tally"], "params": [None, str({"campaign_id": bw.campaign_id})]})]
    job_updates = [r["detail"]["changes"] for r in rows if r["object_type"] == "jobs" and r["action"] == "update"]
    assert job_updates and all(set(c) == {"state"} for c in job_updates)
    page = admin.get("/t/alpha/audit").text
    assert "请求重新统计" in page and COMMENT not in page


# -- migration 0007 on a database written by the old hook ---------------------------------

OLD_ROWS = [  # (action, object_type, object_id, count, detail) as the hook wrote them before 0007
    ("create", "paper_entries", 7, 1, {"changes": {
        "campaign_id": [None, 3], "token_id": [None, 42], "entered_by": [None, 5], "mismatch": [None, False],
        "payload": [None, f"{{'answers': [[11, 21, 31]], 'comments': [[11, 22, '{COMMENT}']]}}"]}}),
    ("update", "paper_entries", 7, 1, {"changes": {"payload": ["{'answers': [[11, 21, 31]]}",
                                                               "{'answers': [[11, 21, 32]]}"]}}),
    ("update", "paper_entries", None, 2, {"ids": [7, 8]}),
    ("update", "paper_entries", 8, 1, {"changes": {"mismatch": [False, True]}}),
    ("update", "tally_runs", None, 1, {"changes": {"ballots": [0, 1], "lowest": [0, 47], "version": [1, 2]}}),
    ("create", "tally_units", None, 3, {"ids": [None, None, None]}),
    ("create", "jobs", 9, 1, {"changes": {"kind": [None, "tally"], "params": [None, "{'campaign_id': 3}"],
                                          "total": [None, 0], "created_by": [None, 5]}}),
    ("update", "jobs", 9, 1, {"changes": {"state": ["queued", "running"], "attempts": [0, 1]}}),
    ("update", "jobs", 9, 1, {"changes": {"result": [None, "{'ballots': 1, 'answers': 47}"], "done": [0, 1]}}),
    ("update", "units", 4, 1, {"changes": {"name": ["一矿", "二矿"]}, "name": "二矿"}),
    ("revoke", "ballot_tokens", None, 1, {"campaign_id": 3, "unit": "一矿", "serial": 12}),
]


def test_migration_0007_removes_what_the_old_hook_wrote(fresh_db):
    app = create_app({"DATABASE_URL": fresh_db, "TESTING": True})
    with app.app_context():
        upgrade(revision="0006")
        for action, table, object_id, count, detail in OLD_ROWS:
            db.session.execute(text(
                "INSERT INTO audit_events (actor, action, object_type, object_id, count, detail, created_at) "
                "VALUES ('a@x.test', :action, :table, :object_id, :count, :detail, CURRENT_TIMESTAMP)"),
                {"action": action, "table": table, "object_id": object_id, "count": count,
                 "detail": json.dumps(detail, ensure_ascii=False)})
        db.session.commit()
        upgrade(revision="0007")
        left = [(r["action"], r["object_type"], r["object_id"], r["detail"]) for r in _rows()]
        db.session.remove()
        db.engine.dispose()
    assert left == [
        ("create", "paper_entries", None, {"campaign_id": 3, "changes": {}}),
        ("update", "paper_entries", None, {"changes": {"payload": ["***", "***"]}}),
        ("create", "jobs", 9, {"changes": {"kind": [None, "tally"], "params": [None, "{'campaign_id': 3}"]}}),
        ("update", "jobs", 9, {"changes": {"state": ["queued", "running"]}}),
        ("update", "units", 4, {"changes": {"name": ["一矿", "二矿"]}, "name": "二矿"}),
        ("revoke", "ballot_tokens", None, {"campaign_id": 3, "unit": "一矿", "serial": 12}),
    ]
