"""The command line, migrations as the only schema source, the demo, and configuration."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from pingyi.cli import main
from pingyi.extensions import db
from pingyi.models import AuditEvent, Person, Unit
from pingyi.tenancy import tenant_context, unscoped
from tests import clock


def run(app, *args):
    return app.test_cli_runner().invoke(main, list(args), catch_exceptions=False)


def test_help_lists_commands():
    out = CliRunner().invoke(main, ["--help"]).output
    for cmd in ("db", "tenant", "user", "units", "people", "demo", "worker", "run"):
        assert f"  {cmd} " in out or f"  {cmd}\n" in out, cmd


def test_console_script_help():
    exe = subprocess.run([sys.executable, "-m", "pingyi.cli", "--help"], capture_output=True, text=True)
    assert exe.returncode == 0 and "tenant" in exe.stdout


def test_tenant_create_prints_one_time_password(app):
    r = run(app, "tenant", "create", "--slug", "mine", "--name", "某矿", "--admin-email", "a@mine.test")
    assert r.exit_code == 0 and "一次性密码：" in r.output
    password = r.output.split("一次性密码：")[1].strip()
    client = app.test_client()
    assert client.post("/login", data={"email": "a@mine.test", "password": password}).status_code == 302
    r = run(app, "tenant", "create", "--slug", "mine", "--name", "x", "--admin-email", "b@mine.test")
    assert r.exit_code == 1 and "已被占用" in r.output
    r = run(app, "tenant", "create", "--slug", "kid", "--name", "子", "--parent", "mine",
            "--admin-email", "k@kid.test", "--admin-password", "given-password")
    assert r.exit_code == 0 and "一次性密码" not in r.output
    r = run(app, "tenant", "list", "--json")
    assert '"slug": "kid"' in r.output and '"parent": "mine"' in r.output
    assert run(app, "tenant", "rename", "--slug", "kid", "--name", "子公司").exit_code == 0
    assert run(app, "tenant", "deactivate", "--slug", "kid").exit_code == 0
    assert "inactive" in run(app, "tenant", "list").output


def test_units_and_people_import_commands(app, world, tmp_path):
    good = tmp_path / "u.csv"
    good.write_text("单位名称,上级单位,类型\n新党委,公司党委,党委\n新支部,新党委,党支部\n", encoding="utf-8")
    r = run(app, "units", "import", "--tenant", "alpha", str(good))
    assert r.exit_code == 0 and "新增 2 条" in r.output
    bad = tmp_path / "p.csv"
    bad.write_text("姓名,所在单位\n张三,无此支部\n", encoding="utf-8")
    r = run(app, "people", "import", "--tenant", "alpha", str(bad))
    assert r.exit_code == 1 and "第 2 行「所在单位」列" in r.output
    with app.app_context(), tenant_context(world.a.id):
        assert db.session.execute(select(func.count()).select_from(Unit)).scalar() == 6
        assert db.session.execute(select(func.count()).select_from(Person)).scalar() == 2


@pytest.mark.slow
@pytest.mark.dates
def test_demo_is_seed_scale_and_idempotent(app):
    r = run(app, "demo")
    assert r.exit_code == 0, r.output
    assert "党总支 40 个，党支部 349 个，党员 4720 名" in r.output
    with app.app_context(), unscoped():
        before = [db.session.execute(select(func.count()).select_from(m)).scalar()
                  for m in (Unit, Person, AuditEvent)]
    r = run(app, "demo")
    assert r.exit_code == 0
    with app.app_context(), unscoped():
        after = [db.session.execute(select(func.count()).select_from(m)).scalar()
                 for m in (Unit, Person, AuditEvent)]
    assert before == after, "running the demo twice must change nothing"
    client = app.test_client()
    client.post("/login", data={"email": "admin@pingzhuang.example", "password": "pingyi-demo"})
    page = client.get("/t/pingzhuang/units").text
    assert 'data-testid="branch-count">349<' in page
    assert "示例测评链接 / sample ballot link: http://127.0.0.1:5000/b/" in r.output
    listed = json.loads(run(app, "campaigns", "list", "--tenant", "pingzhuang", "--json").output)
    season_draft = listed.pop()  # the newest: the draft the county's 年度评议 built (pingyi.demo.seasons)
    assert season_draft["state"] == "draft" and season_draft["name"].endswith("年度民主评议")
    seasons = json.loads(run(app, "seasons", "list", "--tenant", "county", "--json").output)
    assert [(t["slug"], t["state"], t["submission"] and t["submission"]["state"]) for t in seasons[0]["tenants"]] \
        == [("pingzhuang", "draft", None), ("school", "closed", "returned")]
    assert [(c["state"], c["subjects_by_kind"]) for c in listed] == [("open", {"unit": 349, "person": 4720}),
                                                                     ("published", {"unit": 349, "person": 4720})]
    # the names carry the year each campaign opens (Beijing time): yesterday's and last year's
    assert [c["name"] for c in listed] == [f"{c['opens_at'][:4]}年创先争优活动群众评议" for c in listed]
    assert [c["opens_at"][:10] for c in listed] == [clock.day(-1).date().isoformat(), clock.day(-367).date().isoformat()]
    with app.app_context(), tenant_context(_tenant_id(app, "pingzhuang")):
        from pingyi.models import Ballot, BallotToken

        live = db.session.execute(select(func.count()).select_from(BallotToken)
                                  .where(BallotToken.campaign_id == listed[0]["id"])).scalar()
        assert live == 4378
        assert db.session.execute(select(func.count()).select_from(Ballot)).scalar() == 4378
    # seed 002 §四: the closed demo campaign's generated ballots print the seed's rates
    out = run(app, "tally", "--tenant", "pingzhuang", "--campaign", str(listed[1]["id"]), "--wait").output
    rates = [line.split("满意率 ")[1].split("%")[0] for line in out.splitlines() if "满意率" in line]
    assert rates == ["98.7", "97.5", "96.4", "98.4", "98.9", "98.7", "96.1", "97.8"], out
    # its summary counts the meetings recorded (seed 002: 评议会 at 23 committees, 座谈会 at 412 units)
    # and names who gave each rate
    from pingyi.models import Campaign
    from pingyi.reports import summary

    with app.app_context(), tenant_context(_tenant_id(app, "pingzhuang")):
        text = {p.key: p.generated for p in summary.paragraphs(db.session.get(Campaign, listed[1]["id"]))}
    assert "共召开各类评议会议435次（民主评议会23次、座谈会412次），参会6063人次；" in text["scope"]
    assert "有4378人参加了评议活动（其中员工群众" in text["scope"]
    assert "全体参评人员对基层党组织" in text["results"] and "其中，员工群众对基层党组织" in text["results"]
    client = app.test_client()
    client.post("/login", data={"email": "admin@county.example", "password": "pingyi-demo"})
    page = client.get("/t/county/oversight/").text
    assert "平庄煤业" in page and "区第一中学" in page and "4720" in page
    _demo_after_the_vote(app, listed[0]["id"], listed[1]["id"])
    _demo_is_verifiable(app, listed[1]["id"])


def _demo_is_verifiable(app, published_id: int) -> None:
    """Issue 20: the published campaign is sealed; its export coarsens the small groups and
    recounts to every cell of its 统计表; counted receipts = ballots; the digest is on the 公示
    page and in the summary report."""
    import io
    import tempfile
    import zipfile
    from collections import Counter
    from pathlib import Path

    from pingyi.models import Campaign
    from pingyi.reports import summary, tally_table
    from pingyi.verification import export, receipts

    with app.app_context(), tenant_context(_tenant_id(app, "pingzhuang")):
        c = db.session.get(Campaign, published_id)
        seal, k = c.seal_digest, c.seal_k
        assert seal and receipts.count(c) == 4378
        table = tally_table.workbook(c)
        report = summary.docx(c)  # the sentence closing the report (no rewrite of a paragraph drops it)
        assert seal.encode() in zipfile.ZipFile(io.BytesIO(report)).read("word/document.xml")
    with tempfile.TemporaryDirectory() as tmp:
        out, xlsx = Path(tmp) / "ballots.csv", Path(tmp) / "统计表.xlsx"
        xlsx.write_bytes(table)
        r = run(app, "export", "ballots", "--tenant", "pingzhuang", "--campaign", str(published_id), "--out", str(out))
        assert r.exit_code == 0, r.output
        r = run(app, "verify", "--tenant", "pingzhuang", "--campaign", str(published_id), "--export", str(out),
                "--table", str(xlsx))
        assert r.exit_code == 0 and "核对通过" in r.output and "统计表" in r.output, r.output
        exp = export.read(io.StringIO(out.read_text(encoding="utf-8"), newline=""))
    groups = Counter((row.unit_id, row.category_id) for row in exp.rows)
    assert len(exp.rows) == 4378 and min(groups.values()) >= k
    assert any(category is None for _unit, category in groups), "the demo's small groups are merged"
    page = app.test_client().get(f"/p/pingzhuang/{published_id}").text
    assert seal in page


def _demo_after_the_vote(app, open_id: int, published_id: int) -> None:
    """Issue 16: the published campaign's ledger (every state, some overdue, four sources), its
    themes, the feedback box, its decisions; 回头看 on the open campaign's results page."""
    from pingyi.decisions import records
    from pingyi.models import Campaign, RectificationFile
    from pingyi.themes import counts

    out = run(app, "rectification", "list", "--tenant", "pingzhuang", "--campaign", str(published_id), "--json")
    assert out.exit_code == 0, out.output
    items = json.loads(out.output)
    assert {i["state"] for i in items} == {"open", "in_progress", "done", "verified", "cannot_fix"}
    assert {"opinion", "theme", "feedback"} <= {i["source"] for i in items} <= {"verdict", "opinion", "theme", "feedback"}
    today = clock.day(0).date().isoformat()
    for i in items:
        assert i["overdue"] == (i["state"] in ("open", "in_progress") and i["deadline"] < today), i
    assert any(i["overdue"] for i in items) and any(i["state"] == "open" and not i["overdue"] for i in items)
    assert all(i["reason"] for i in items if i["state"] == "cannot_fix")
    with app.app_context(), tenant_context(_tenant_id(app, "pingzhuang")):
        c = db.session.get(Campaign, published_id)
        view = counts.view(c)
        assert view is not None and view.run.opinions > 0
        for theme in ("活动形式单一", "开展不平衡", "履职践诺需持之以恒", "信息报送不及时"):
            assert view.total.cells[theme].opinions > 0, theme
        assert len(records.rows(c)) == 2
        assert db.session.execute(select(func.count()).select_from(RectificationFile)).scalar() == 1
    client = app.test_client()
    client.post("/login", data={"email": "admin@pingzhuang.example", "password": "pingyi-demo"})
    answered = client.get("/t/pingzhuang/feedback?show=answered").text
    unanswered = client.get("/t/pingzhuang/feedback?show=unanswered").text
    assert "已公开" in answered and "没有意见" not in answered and "没有意见" not in unanswered
    assert 'data-testid="follow-up"' in client.get(f"/t/pingzhuang/campaigns/{open_id}/results").text


def _tenant_id(app, slug: str) -> int:
    from pingyi.org.accounts import tenant_by_slug

    with app.app_context():
        return tenant_by_slug(slug).id


@pytest.mark.dates
def test_campaign_commands(app, world):
    from pingyi.campaigns import lifecycle as cp
    from pingyi.campaigns import questionnaire as q
    from pingyi.models import Campaign
    from pingyi.voting import tokens

    with app.app_context(), tenant_context(world.a.id):
        c = cp.create_campaign("命令行活动", clock.wall(-1), clock.wall(18, 18))
        db.session.commit()
        cid = c.id
    r = run(app, "campaigns", "open", "--tenant", "alpha", "--campaign", str(cid))
    assert r.exit_code == 1 and "还不能开始评议" in r.output and "还没有添加评议对象" in r.output
    assert run(app, "campaigns", "open", "--tenant", "beta", "--campaign", str(cid)).exit_code == 1  # other tenant
    with app.app_context(), tenant_context(world.a.id):
        c = db.session.get(Campaign, cid)
        cp.add_subjects_bulk(c, "unit", db.session.get(Unit, world.a.root), q.copy_template("seed002-org"), ["branch"])
        k = cp.set_categories(c, [{"name": "群众"}])[0]
        tokens.issue_links(c, k, db.session.get(Unit, world.a.branch), 2)
        db.session.commit()
    listed = json.loads(run(app, "campaigns", "list", "--tenant", "alpha", "--json").output)
    assert listed == [{"id": cid, "name": "命令行活动", "state": "draft", "opens_at": clock.day(-1).isoformat(),
                       "closes_at": clock.day(18, 18).isoformat(), "subjects": 2, "subjects_by_kind": {"unit": 2}}]
    assert run(app, "campaigns", "publish", "--tenant", "alpha", "--campaign", str(cid)).exit_code == 1
    for action, state in (("open", "进行中"), ("close", "已结束"), ("publish", "已公布")):
        r = run(app, "campaigns", action, "--tenant", "alpha", "--campaign", str(cid))
        assert r.exit_code == 0 and state in r.output
    assert "published" in run(app, "campaigns", "list", "--tenant", "alpha").output


def test_migrations_match_models(database):
    """``db upgrade`` alone builds the schema the models describe (no create_all anywhere)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from tests.conftest import make_app

    app = make_app(database)
    with app.app_context():
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        db.engine.dispose()
    assert diff == []


def test_db_upgrade_on_empty_databases(tmp_path):
    """The real command on a fresh SQLite file and a fresh PostgreSQL database."""
    import secrets

    import psycopg

    from tests import servers

    env_sqlite = {"DATABASE_URL": f"sqlite:///{tmp_path}/fresh.sqlite3"}
    _upgrade(env_sqlite)
    servers.require("postgresql")
    name = f"pingyi_test_{secrets.token_hex(6)}"
    with psycopg.connect(servers.PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        from tests.conftest import _pg_url

        _upgrade({"DATABASE_URL": _pg_url(name)})
    finally:
        with psycopg.connect(servers.PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _upgrade(extra_env: dict) -> None:
    import os

    env = {**os.environ, **extra_env}
    env.pop("REDIS_URL", None)
    r = subprocess.run([sys.executable, "-m", "pingyi.cli", "db", "upgrade"], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, "-m", "pingyi.cli", "tenant", "list"], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_production_refuses_to_start_without_secret(monkeypatch):
    from pingyi import create_app
    from pingyi.config import ConfigError

    monkeypatch.setenv("PINGYI_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        create_app({"DATABASE_URL": "sqlite://"})
    monkeypatch.setenv("SECRET_KEY", "s3cret")  # too short to sign sessions and seal ballots
    with pytest.raises(ConfigError, match="32 bytes"):
        create_app({"DATABASE_URL": "sqlite://"})
    monkeypatch.setenv("SECRET_KEY", "k" * 32)
    app = create_app({"DATABASE_URL": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize("name, value, says", [
    ("PINGYI_ENV", "prod", "expected one of development, production"),
    ("PINGYI_ENV", "Production", "expected one of"),
    ("PINGYI_TRUSTED_PROXIES", "one", "not a whole number"),
    ("PINGYI_TRUSTED_PROXIES", "-1", "at least 0"),
    ("PINGYI_MIN_CELL", "0", "at least 1"),
    ("PINGYI_BALLOT_PAGE_LIMIT", "600 a minute", "not a rate limit"),
    ("PINGYI_LOGIN_FAILURE_LIMIT_ACCOUNT", "five", "not a rate limit"),
])
def test_a_misspelt_setting_stops_the_start(monkeypatch, name, value, says):
    """A typo must not quietly run as development with the public development key (PINGYI_ENV),
    nor fail the first request that meets it (limits)."""
    from pingyi import create_app
    from pingyi.config import ConfigError

    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=says):
        create_app({"DATABASE_URL": "sqlite://"})
    r = subprocess.run([sys.executable, "-m", "pingyi.cli", "tenant", "list"], capture_output=True, text=True,
                       env={**os.environ, name: value, "DATABASE_URL": "sqlite://"})
    assert r.returncode != 0 and says in r.stderr


def test_database_url_normalization():
    from pingyi.config import normalize_db_url

    assert normalize_db_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalize_db_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalize_db_url("sqlite:///x") == "sqlite:///x"
