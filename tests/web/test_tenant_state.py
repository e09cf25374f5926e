"""Tenant state (issue 14, item 10): a deactivated tenant serves no ballots, receipts or public
pages (each answers 404 with a clear "已停用" where a voter holds a link); the receipt check of a
campaign whose 公示 is not public names the campaign only to those the publication is for; and
``pingyi demo`` refuses to run in production (its links are derived, so guessable)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from pingyi.extensions import db
from pingyi.models import Ballot, BallotToken, BoxedBallot, Campaign, Tenant
from pingyi.org import accounts
from pingyi.tenancy import tenant_context, unscoped
from pingyi.voting import ballots, tokens
from tests.ballot_world import build, full_answers, published_campaign
from tests.factories import login

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted


def _set_active(app, slug: str, active: bool) -> None:
    with app.app_context():
        accounts.set_tenant_active(accounts.tenant_by_slug(slug, active_only=False), active)
        db.session.commit()


def _stored() -> tuple[int, int]:
    """(ballots in the box or the tables, links used): what a refused ballot must not change."""
    with unscoped():
        return (db.session.execute(select(func.count()).select_from(BoxedBallot)).scalar()
                + db.session.execute(select(func.count()).select_from(Ballot)).scalar(),
                db.session.execute(select(func.count()).select_from(BallotToken).where(BallotToken.used)).scalar())


def test_a_deactivated_tenant_serves_no_ballots_receipts_or_public_pages(app, world):
    client = app.test_client()
    with app.app_context():
        bw = build(world)
        link, code = bw.own[0].secret, tokens.format_code(bw.own[1].short_code)
        data, data2 = full_answers(world, bw, link), full_answers(world, bw, bw.own[2].secret)
        late = ballots.parse(full_answers(world, bw, bw.own[3].secret), *_subjects_and_forms(world, bw.own[3].secret))
        public = published_campaign(world.a, "公开公示", scope="public")
    r = client.post(f"/b/{link}", data=data)
    receipt = re.search(r'data-testid="receipt">([^<]+)<', r.text).group(1)
    pages = {"receipt check": f"/p/alpha/{bw.campaign_id}/receipt", "publication": f"/p/alpha/{public}",
             "public receipt check": f"/p/alpha/{public}/receipt"}
    for url in pages.values():
        assert client.get(url).status_code == 200, url
    assert client.get(f"/b/{bw.own[2].secret}").status_code == 200

    _set_active(app, "alpha", False)
    with app.app_context():
        before = _stored()
    for label, url in pages.items():
        assert client.get(url).status_code == 404, label
    assert client.post(pages["receipt check"], data={"code": receipt}).status_code == 404
    for opened in (client.get(f"/b/{bw.own[2].secret}"), client.post(f"/b/{bw.own[2].secret}", data=data2),
                   client.get(f"/b/{code}"),
                   client.post("/c", data={"code": code}, follow_redirects=True)):
        assert opened.status_code == 404 and "已停用" in opened.text, opened.request.path
        assert "测试评议" not in opened.text and "采煤一队党支部" not in opened.text
    with app.app_context():
        assert _stored() == before
        # the domain refuses too, for a submit that passed the page just before the deactivation
        state = ballots.resolve(bw.own[3].secret)
        assert state.status == "inactive" and state.campaign is None
        with pytest.raises(ballots.AlreadyUsed):
            ballots.cast(bw.own[3].secret, late)
        db.session.rollback()
        assert _stored() == before

    _set_active(app, "alpha", True)  # nothing was lost: the same links work again
    assert client.get(f"/b/{bw.own[2].secret}").status_code == 200
    assert client.post(pages["receipt check"], data={"code": receipt}).status_code == 200


def _subjects_and_forms(world, link: str):
    with tenant_context(world.a.id):
        token = tokens.lookup(link)
        from pingyi.models import EvaluatorCategory

        subjects = ballots.subjects_for(token, db.session.get(EvaluatorCategory, token.category_id))
        return subjects, ballots.forms_of(subjects)


@pytest.mark.parametrize("scope", ["tenant", "oversight", "public"])
def test_the_receipt_check_names_the_campaign_only_to_its_publication_s_audience(app, world, scope):
    with app.app_context():
        bw = build(world, name="西露天矿换届评议")
        with tenant_context(world.a.id):
            db.session.get(Campaign, bw.campaign_id).publication_scope = scope
            db.session.commit()
        tenant_name = db.session.execute(select(Tenant.name).where(Tenant.slug == "alpha")).scalar_one()
    url = f"/p/alpha/{bw.campaign_id}/receipt"
    named = {}
    for who in ("anonymous", world.b.admin, world.a.viewer, world.county_admin):
        client = app.test_client()
        if who != "anonymous":
            login(client, who)
        page = client.get(url)
        assert page.status_code == 200
        named[who] = ("西露天矿换届评议" in page.text, tenant_name in page.text)
        assert "回执" in page.text  # the check itself works for everyone
        r = client.post(url, data={"code": tokens.new_short_code()})
        assert r.status_code == 200 and "未找到" in r.text
    audience = {"public": {"anonymous", world.b.admin, world.a.viewer, world.county_admin},
                "tenant": {world.a.viewer},
                "oversight": {world.a.viewer, world.county_admin}}[scope]
    for who, (campaign_named, tenant_named) in named.items():
        assert campaign_named == (who in audience) and tenant_named == (who in audience), (scope, who)


def test_pingyi_demo_refuses_production(database, tmp_path):
    """In-process with the production setting, and as the operator runs it: a clear refusal, a
    nonzero exit, nothing written."""
    from pingyi.cli import main
    from tests.conftest import _wipe, make_app

    app = make_app(database, ENV_NAME="production")
    with app.app_context():
        _wipe()
    r = app.test_cli_runner().invoke(main, ["demo"])
    assert r.exit_code != 0 and "生产环境" in r.output and "pingzhuang" not in r.output
    with app.app_context(), unscoped():
        assert db.session.execute(select(func.count()).select_from(Tenant)).scalar() == 0
        db.engine.dispose()
    env = {**os.environ, "PINGYI_ENV": "production", "SECRET_KEY": "s" * 48,
           "DATABASE_URL": "sqlite:///" + str(tmp_path / "prod.sqlite3")}
    run = subprocess.run([sys.executable, "-m", "pingyi.cli", "demo"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert run.returncode != 0 and "生产环境" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "prod.sqlite3").exists() or (tmp_path / "prod.sqlite3").stat().st_size == 0
