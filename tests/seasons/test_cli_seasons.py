"""`pingyi seasons list --tenant SLUG [--json]`: each season of the tenant with every subordinate
it went to, the campaign's state and the latest submission (null until one is made)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from pingyi.cli import main
from pingyi.extensions import db
from pingyi.models import Season, SeasonIssue, SeasonSubmission
from pingyi.tenancy import tenant_context
from tests.seasons.conftest import NAME, issue_to, make_season

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted


def run(app, *args):
    return app.test_cli_runner().invoke(main, list(args), catch_exceptions=False)


def test_seasons_list(app, tree):
    with app.app_context():
        sid = make_season(tree.county)
        issue_to(tree.county, sid, ["alpha", "school"])
        with tenant_context(tree.county):
            due = db.session.get(Season, sid).report_due.isoformat()
    listed = json.loads(run(app, "seasons", "list", "--tenant", "county", "--json").output)
    assert listed == [{"id": sid, "name": NAME, "state": "issued", "version": 1, "report_due": due, "tenants": [
        {"slug": "alpha", "state": "draft", "submission": None},
        {"slug": "school", "state": "draft", "submission": None}]}]
    with app.app_context(), tenant_context(tree.county):
        issue = db.session.execute(select(SeasonIssue).where(SeasonIssue.target_tenant_id == tree.school)).scalar_one()
        for n in (1, 2):
            db.session.add(SeasonSubmission(issue_id=issue.id, number=n, state="submitted", summary="总结"))
        db.session.commit()
    listed = json.loads(run(app, "seasons", "list", "--tenant", "county", "--json").output)
    assert [t["submission"] for t in listed[0]["tenants"]] == [None, {"number": 2, "state": "submitted"}]
    text = run(app, "seasons", "list", "--tenant", "county").output
    assert NAME in text and "school" in text and "未报送" in text and "第 2 次 submitted" in text
    assert json.loads(run(app, "seasons", "list", "--tenant", "alpha", "--json").output) == []  # issued to, not issuer
    r = app.test_cli_runner().invoke(main, ["seasons", "list", "--tenant", "nowhere"])
    assert r.exit_code == 1 and "找不到租户" in r.output
