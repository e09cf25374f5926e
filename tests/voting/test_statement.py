"""The statement of what is kept about an evaluator (``/stored``) says what the schema holds:
every column of every table with a ballot or link column, no more, no less, with the migrated
database as the judge; every ballot page links to it; what it promises outside the tables
(no cookie) holds."""

from __future__ import annotations

import dataclasses
import re

import pytest
from sqlalchemy import inspect

from pingyi.extensions import db, limiter
from pingyi.voting import statement
from tests.ballot_world import build, close_and_count, full_answers

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted

BALLOT_SIDE = {"ballots", "answers", "comments", "ballot_box"}


def _is_time(db_type) -> bool:
    name = str(db_type).upper()
    return "DATE" in name or "TIME" in name


def test_the_statement_and_the_migrated_schema_agree(app):
    with app.app_context():
        assert statement.problems() == []
        records = {r.table: r for r in statement.records(5)}
        insp = inspect(db.engine)
        live = {t: {c["name"]: c["type"] for c in insp.get_columns(t)} for t in insp.get_table_names()}
        # every table that can hold something about a link or a ballot is in the statement …
        holding = {t for t, cols in live.items() if set(cols) & statement.EVALUATOR_COLUMNS}
        assert holding <= set(records), holding - set(records)
        assert BALLOT_SIDE | {"ballot_tokens", "paper_entries", "tally_inbox"} <= holding
        for name, r in records.items():
            # … with exactly its columns, each described, times where the database keeps times
            assert sorted(f.name for f in r.fields) == sorted(live[name]), name
            assert all(f.what and f.grain for f in r.fields), [f.name for f in r.fields if not f.what]
            assert {f.name for f in r.fields if f.time} == {c for c, t in live[name].items() if _is_time(t)}, name
        assert not [f.name for t in BALLOT_SIDE for f in records[t].fields if f.time]  # no time on a ballot
        used = next(f for f in records["ballot_tokens"].fields if f.name == "used")
        assert not used.time and "不记录使用时间" in used.grain


def test_a_column_without_words_or_words_without_a_column_is_a_problem(app, monkeypatch):
    specs = list(statement._SPECS)
    ballots_spec = next(s for s in specs if s.model.__tablename__ == "ballots")
    fewer = {k: v for k, v in ballots_spec.fields.items() if k != "paper"}
    stale = {**ballots_spec.fields, "submitted_hour": ("提交时间", "精确到小时")}
    for fields, expected in ((fewer, "ballots.paper: not described"),
                             (stale, "ballots.submitted_hour: described, but no such column")):
        monkeypatch.setattr(statement, "_SPECS", tuple(dataclasses.replace(s, fields=fields)
                                                       if s is ballots_spec else s for s in specs))
        assert statement.problems() == [expected]


def test_the_page_lists_every_field_and_every_ballot_page_links_to_it(app, world, client):
    with app.app_context():
        bw = build(world)
        link = bw.own[0].secret
        data = full_answers(world, bw, link)
    page = client.get("/stored")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    with app.app_context(), app.test_request_context():
        for r in statement.records(app.config["MIN_CELL"]):
            section = page.text.split(f'data-testid="table-{r.table}"')[1].split("</section>")[0]
            assert r.title in section and r.purpose in section and r.kept in section
            assert re.findall(r'data-field="([a-z_]+)"', section) == [f.name for f in r.fields]
            for f in r.fields:
                assert str(f.what) in section
    assert "凑满至少 5 张" in page.text and "每分钟 30 次、每小时 300 次" in page.text and "每分钟 600 次" in page.text
    english = client.get("/stored?lang=en").text
    assert "sealed ballot box" in english and "30 per minute, 300 per hour" in english and "凑满" not in english
    client.get("/stored?lang=zh_CN")

    voter = app.test_client()
    pages = {"vote": voter.get(f"/b/{link}"), "code": voter.get("/c"), "unknown": voter.get("/b/x" + "y" * 21)}
    pages["receipt"] = voter.post(f"/b/{link}", data=data)
    pages["used"] = voter.get(f"/b/{link}")
    pages["check"] = voter.get(f"/p/alpha/{bw.campaign_id}/receipt")
    for name, r in pages.items():
        assert 'href="/stored"' in r.text, name
        assert not r.headers.getlist("Set-Cookie"), name  # as the statement says: no cookie
    counters = " ".join(limiter.storage.storage)  # as it says too: IP address and page kind, no link
    assert "ballot.vote" in counters and link not in counters and "127.0.0.1" in counters
    with app.app_context():
        close_and_count(world, bw)
