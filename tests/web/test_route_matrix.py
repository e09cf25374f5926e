"""Route × tenant matrix: every registered route, asked by a user of tenant A with tenant B's
slug or B's object ids, answers 404 and changes nothing. A new route with a new URL parameter
fails here until the matrix knows how to fill it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from pingyi.extensions import db
from pingyi.models import AuditEvent, Person, Unit
from pingyi.tenancy import unscoped
from tests import clock
from tests.factories import bearer, login

# Routes that need no tenant and take no foreign object (public or the user's own).
NOT_TENANT_ROUTES = {"static", "auth.login", "auth.logout", "auth.home", "auth.password", "auth.api_keys",
                     "api.openapi", "api.me", "platform.tenants",
                     # public by design: the link is the credential (tests/test_ballot_pages.py covers
                     # unknown links and the receipt check's tenant scoping)
                     "ballot.vote", "ballot.enter_code", "ballot.receipt_check",
                     # the same for every tenant: what is kept about an evaluator (test_statement.py)
                     "ballot.stored",
                     # public by design as well: the publication page (公示) is read by slug without a
                     # membership when its scope is "public", so "B's slug answers 404" is not its rule;
                     # tests/test_publication.py covers it (A's slug + B's campaign id, unknown ids,
                     # drafts, the window and every scope answer 404)
                     "public.results",
                     # and the pages it links (counted receipts, the export, what can be checked):
                     # the same visibility, tests/web/test_verification_pages.py
                     "public.receipts_page", "public.receipts_txt", "public.ballots_csv", "public.verify",
                     # the feedback box (信息收集箱) is public per tenant by slug: tests/feedback covers
                     # unknown and deactivated tenants (404) and units of another tenant (refused)
                     "feedback.box_page",
                     # operators' endpoints, no tenant: summed over the service, allowed networks
                     # only (tests/monitoring)
                     "ops.healthz", "ops.metrics"}
# Routes whose ids belong to a *subordinate* tenant, named by ``sub`` (its slug): A's own ids are
# no subordinate of A, so the not-vacuous check cannot fill them; tests/test_oversight.py shows
# them answering 200 for the county over its subordinate.
SUBORDINATE_ROUTES = {"oversight.campaign", "oversight.campaign_report", "oversight.campaign_export"}


def _ids_of(t) -> dict:
    return {"unit_id": t.branch, "person_id": t.person, "membership_id": t.membership, "key_id": t.api_key_id,
            "tenant_id": t.id, "what": "units", "sub": t.slug, **t.units}


@pytest.fixture
def world(world, app):
    """The two-tenant world plus, in each tenant, a form, a campaign with a subject and a
    category: the objects behind ``form_id``, ``campaign_id``, ``subject_id``…"""
    from pingyi.campaigns import lifecycle as cp
    from pingyi.campaigns import questionnaire as q
    from pingyi.tenancy import tenant_context

    with app.app_context():
        for t in (world.a, world.b):
            with tenant_context(t.id):
                form = q.copy_template("seed002-org")
                c = cp.create_campaign("矩阵", clock.wall(0), clock.wall(1))
                s = cp.add_subject(c, "unit", db.session.get(Unit, t.branch), form)
                k = cp.set_categories(c, [{"name": "党员"}])[0]
                from pingyi import jobs

                job = jobs.create("issue_links", {"campaign_id": c.id})
                f = jobs.add_file(job, "x.csv", "text/csv", b"secret", once=True)
                t.units.update(job_id=job.id, file_id=f.id, form_id=form.id, campaign_id=c.id, subject_id=s.id, category_id=k.id,
                               section_id=form.sections[0].id, item_id=form.sections[0].items[0].id,
                               scale_id=form.scales[0].id)
                from pingyi.feedback import box
                from pingyi.models import FeedbackEntry

                box.submit(t.branch, "矩阵意见")
                t.units["entry_id"] = db.session.execute(select(FeedbackEntry.id).where(
                    FeedbackEntry.tenant_id == t.id)).scalar_one()
                from pingyi.models import User
                from pingyi.rectification import evidence, ledger

                admin = ledger.Actor(db.session.execute(select(User.id).where(User.email == t.admin)).scalar(),
                                     t.admin, "admin")
                c.state = "closed"  # a ledger item needs a campaign past its draft; the rest expects a draft
                item = ledger.create_item(c, ledger.Draft("矩阵问题", t.branch, clock.day(1).date()), admin,
                                          "feedback", "1")
                c.state = "draft"
                t.units.update(rect_id=item.id, rect_file_id=evidence.add_file(item, admin, "a.pdf", b"%PDF-1.4").id)
                t.units.update(_season_rows(t, c))
        db.session.commit()
    return world


def _season_rows(t, c) -> dict:
    """A season of ``t`` (the objects behind ``season_id`` and ``submission_id``) with one
    submission. Its issue names ``t`` itself: neither tenant of the matrix has a subordinate,
    and the rows only have to exist (tests/web/test_season_pages.py issues seasons for real)."""
    from pingyi.models import SeasonIssue, SeasonSubmission, utcnow
    from pingyi.seasons import plan

    season = plan.create_season("矩阵年度评议", clock.wall(0), clock.wall(1), clock.day(2).date(),
                                forms=["seed002-org"])
    issue = SeasonIssue(season_id=season.id, target_tenant_id=t.id, campaign_id=c.id, version=1, issued_at=utcnow())
    db.session.add(issue)
    db.session.flush()
    sub = SeasonSubmission(issue_id=issue.id, number=1, summary="矩阵总结", table_name="矩阵.xlsx",
                           table_data=b"PK", submitted_by=t.admin)
    db.session.add(sub)
    db.session.flush()
    return {"season_id": season.id, "submission_id": sub.id}


def _cases(app, world):
    """(method, url, description) for each route filled with B's slug/ids, and A's slug with B's ids."""
    cases = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NOT_TENANT_ROUTES:
            continue
        args = set(rule.arguments)
        unknown = args - {"slug"} - set(_ids_of(world.b))
        assert not unknown, f"route {rule.rule}: teach the matrix how to fill {unknown}"
        assert "slug" in args or rule.rule.startswith("/account/") or rule.endpoint.startswith("platform."), \
            f"{rule.rule} takes object ids but no tenant slug"
        values_b = {k: v for k, v in _ids_of(world.b).items() if k in args}
        variants = []
        if "slug" in args:
            variants.append(({**values_b, "slug": world.b.slug}, "B slug + B ids"))
            if values_b and set(values_b) != {"what"}:
                variants.append(({**values_b, "slug": world.a.slug}, "A slug + B ids"))
        else:
            variants.append((values_b, "B ids"))
        for values, label in variants:
            path = rule.build(values, append_unknown=False)[1]
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                cases.append((method, path, f"{rule.endpoint} [{label}]"))
    return cases


def _b_fingerprint(world):
    with unscoped():
        return (
            db.session.execute(select(func.count()).select_from(Unit).where(Unit.tenant_id == world.b.id)).scalar(),
            db.session.execute(select(func.count()).select_from(Person).where(Person.tenant_id == world.b.id)).scalar(),
            db.session.execute(select(func.count()).select_from(AuditEvent)
                               .where(AuditEvent.tenant_id == world.b.id)).scalar(),
            db.session.execute(select(func.max(Unit.name)).where(Unit.tenant_id == world.b.id)).scalar(),
        )


@pytest.mark.parametrize("who", ["admin", "viewer", "unit_admin", "county_admin"])
def test_foreign_tenant_routes_answer_404(app, world, who):
    client = app.test_client()
    email = {"admin": world.a.admin, "viewer": world.a.viewer, "unit_admin": world.a.unit_admin,
             "county_admin": world.county_admin}[who]
    login(client, email)
    with app.app_context():
        before = _b_fingerprint(world)
    cases = _cases(app, world)
    assert len(cases) > 20
    failures = []
    for method, path, label in cases:
        body = {"name": "hijack", "file": None} if method != "GET" else None
        r = client.open(path, method=method, json=body if path.startswith("/api/") else None,
                        data=None if path.startswith("/api/") else {"name": "hijack"})
        if r.status_code != 404:
            failures.append(f"{method} {path} ({label}) → {r.status_code}")
    assert not failures, "\n".join(failures)
    with app.app_context():
        assert _b_fingerprint(world) == before


def test_foreign_tenant_api_with_bearer_key_answers_404(app, world):
    client = app.test_client()
    failures = []
    for method, path, label in _cases(app, world):
        if not path.startswith("/api/"):
            continue
        r = client.open(path, method=method, headers=bearer(world.a.api_key),
                        json={"name": "hijack"} if method != "GET" else None)
        if r.status_code != 404:
            failures.append(f"{method} {path} ({label}) → {r.status_code}")
    assert not failures, "\n".join(failures)


def test_matrix_is_not_vacuous(app, world):
    """The same routes filled with A's own ids answer normally for A's admin."""
    client = app.test_client()
    login(client, world.a.admin)
    ok = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NOT_TENANT_ROUTES or rule.endpoint in SUBORDINATE_ROUTES or "GET" not in rule.methods:
            continue
        values = {k: v for k, v in {**_ids_of(world.a), "slug": world.a.slug}.items() if k in rule.arguments}
        path = rule.build(values, append_unknown=False)[1]
        r = client.get(path)
        gone = (410,) if rule.endpoint == "api.job_file" else ()  # a download-once file the page route took
        assert r.status_code in (200, 302, *gone), f"{path} → {r.status_code}"
        ok += 1
    assert ok >= 10


def test_superuser_is_not_a_tenant_member_but_may_enter(app, world):
    client = app.test_client()
    login(client, world.superuser)
    assert client.get(f"/t/{world.b.slug}/units").status_code == 200
    assert client.get("/platform/tenants").status_code == 200
    client2 = app.test_client()
    login(client2, world.a.admin)
    assert client2.get("/platform/tenants").status_code == 404
