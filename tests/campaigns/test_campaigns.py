"""Campaign preparation and lifecycle: every transition, every guard, every bad input."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from sqlalchemy import func, select

from pingyi.campaigns import lifecycle as cp
from pingyi.campaigns import questionnaire as q
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.models import AuditEvent, Campaign, Person, Subject, Unit
from pingyi.tenancy import tenant_context, unscoped
from pingyi.voting import tokens
from tests import clock

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted

NOW = clock.day(0, 16).astimezone(UTC)  # the `now` the transitions are given: today 16:00 Beijing time


def _campaign(**kw):
    args = {"name": f"{clock.day().year}年度群众评议", "opens_at": clock.wall(0), "closes_at": clock.wall(14, 18)}
    args.update(kw)
    return cp.create_campaign(**args)


def _ready(world, weighting=False):
    """A campaign with subjects, categories and links: ready to open."""
    c = _campaign(weighting=weighting)
    org = q.copy_template("seed002-org")
    root = db.session.get(Unit, world.a.root)
    cp.add_subjects_bulk(c, "unit", root, org, ["branch"])
    cats = cp.set_categories(c, [{"name": "党员", "weight": "0.5"}, {"name": "群众", "weight": "0.5"}])
    tokens.issue_links(c, cats[0], db.session.get(Unit, world.a.branch), 3)
    return c, org


def test_window_is_read_in_beijing_time(ctx, world):
    with tenant_context(world.a.id):
        c = _campaign()
        assert c.opens_at == clock.day(0, 9) and c.opens_at.hour == 1  # 09:00 Beijing time, 01:00 UTC
        assert cp.local(c.opens_at, c.timezone).hour == 9
        c2 = _campaign(timezone="UTC", opens_at=clock.wall(0, sep="T"), closes_at=clock.wall(1, sep="T"))
        assert c2.opens_at.hour == 9


@pytest.mark.parametrize("opens,closes,field", [
    (clock.wall(14), clock.wall(0), "closes_at"),
    (clock.wall(0), clock.wall(0), "closes_at"),
    (clock.wall(0), clock.wall(731), "closes_at"),
    ("明天", clock.wall(0), "opens_at"),
    (f"{clock.day().year}-13-01 09:00", clock.wall(19), "opens_at"),
])
def test_impossible_windows_are_refused(ctx, world, opens, closes, field):
    with tenant_context(world.a.id):
        with pytest.raises(DomainError) as info:
            _campaign(opens_at=opens, closes_at=closes)
        assert info.value.field == field
        assert db.session.execute(select(func.count()).select_from(Campaign)).scalar() == 0


def test_full_lifecycle_with_guards(ctx, world):
    with tenant_context(world.a.id):
        c = _campaign()
        with pytest.raises(DomainError) as info:
            cp.transition(c, "open", NOW)
        assert "还没有添加评议对象" in info.value.message and "还没有发放测评码" in info.value.message
        assert c.state == "draft"
        for action in ("close", "reopen", "publish", "archive"):
            with pytest.raises(DomainError):
                cp.transition(c, action, NOW)
        db.session.rollback()
        c, org = _ready(world)
        cp.transition(c, "open", NOW)
        assert c.state == "open" and c.opened_at == NOW and org.is_frozen
        with pytest.raises(DomainError):
            cp.transition(c, "open", NOW)
        with pytest.raises(DomainError):
            cp.transition(c, "publish", NOW)  # must close first
        cp.transition(c, "close", NOW)
        cp.transition(c, "reopen", NOW)
        cp.transition(c, "close", NOW)
        cp.transition(c, "publish", NOW)
        with pytest.raises(DomainError) as info:
            cp.transition(c, "reopen", NOW)
        assert "已公布" in info.value.message
        cp.transition(c, "archive", NOW)
        assert c.state == "archived" and c.archived_at == NOW
        with pytest.raises(DomainError):
            cp.transition(c, "bogus", NOW)


def test_cannot_edit_subjects_or_categories_once_open(ctx, world):
    with tenant_context(world.a.id):
        c, org = _ready(world)
        cp.transition(c, "open", NOW)
        unit = db.session.get(Unit, world.a.other_branch)
        with pytest.raises(DomainError):
            cp.add_subject(c, "unit", unit, org)
        with pytest.raises(DomainError):
            cp.remove_subjects(c)
        with pytest.raises(DomainError):
            cp.set_categories(c, [{"name": "新类别"}])
        cp.set_rules(c, [{"metric": "turnout", "op": "lt", "threshold": "80%", "outcome": "提醒"}])  # allowed


def test_window_extension_rules(ctx, world):
    with tenant_context(world.a.id):
        c, _ = _ready(world)
        cp.update_campaign(c, opens_at=clock.wall(1))  # draft: anything valid
        cp.transition(c, "open", NOW)
        with pytest.raises(DomainError):
            cp.update_campaign(c, opens_at=clock.wall(2))
        with pytest.raises(DomainError):
            cp.extend_window(c, clock.wall(9))  # earlier
        cp.extend_window(c, clock.wall(19, 18))
        assert cp.local(c.closes_at, c.timezone) == clock.day(19, 18)
        cp.transition(c, "close", NOW)
        late = c.closes_at + timedelta(days=1)
        with pytest.raises(DomainError) as info:
            cp.transition(c, "reopen", late)
        assert "延长" in info.value.message
        cp.extend_window(c, clock.wall(30, 18))
        cp.transition(c, "reopen", late)


def test_weights_must_sum_to_one(ctx, world):
    with tenant_context(world.a.id):
        c = _campaign(weighting=True)
        with pytest.raises(DomainError) as info:
            cp.set_categories(c, [{"name": "党员", "weight": "0.5"}, {"name": "群众", "weight": "0.4"}])
        assert "之和必须等于 1（现为 0.9）" in info.value.message
        assert cp.categories(c) == []
        cats = cp.set_categories(c, [{"name": "党员", "weight": "0.3"}, {"name": "群众", "weight": "0.3"},
                                     {"name": "服务对象", "weight": "40%"}])
        assert [k.weight for k in cats] == ["0.3", "0.3", "0.4"]
        for bad in ([{"name": "党员", "weight": "x"}], [{"name": "党员", "weight": "1.2"}],
                    [{"name": "", "weight": "1"}], [{"name": "党员", "weight": "0.5"}, {"name": "党员", "weight": "0.5"}],
                    [{"name": "全评", "weight": "1", "scope": "group"}], []):
            with pytest.raises(DomainError):
                cp.set_categories(c, bad)
        assert len(cp.categories(c)) == 3


def test_categories_keep_ids_and_group_scope(ctx, world):
    with tenant_context(world.a.id):
        c = _campaign()
        first = cp.set_categories(c, [{"name": "单位参评人员", "scope": "own_unit"},
                                      {"name": "全评参评人员", "scope": "group", "group_unit_id": world.a.root}])
        again = cp.set_categories(c, [{"id": k.id, "name": k.name, "scope": k.scope,
                                       "group_unit_id": k.group_unit_id} for k in first])
        assert [k.id for k in again] == [k.id for k in first]
        assert again[1].group_unit.name == "公司党委"
        with pytest.raises(DomainError):  # a group unit of another tenant is not found
            cp.set_categories(c, [{"name": "全评", "scope": "group", "group_unit_id": world.b.root}])


def test_bulk_subjects_like_seed_002(ctx, world):
    with tenant_context(world.a.id):
        c = _campaign()
        org, member = q.copy_template("seed002-org"), q.copy_template("seed002-member")
        root = db.session.get(Unit, world.a.root)
        assert cp.add_subjects_bulk(c, "unit", root, org, ["branch"]) == 2
        assert cp.add_subjects_bulk(c, "unit", root, org, ["branch"]) == 0  # idempotent
        db.session.add(Person(name="非党员", unit_id=world.a.branch, is_party_member=False, position="群众"))
        db.session.flush()
        assert cp.add_subjects_bulk(c, "person", root, member, ["branch"]) == 2
        assert cp.subject_counts(c) == {"unit": 2, "person": 2}
        with pytest.raises(DomainError) as info:
            cp.add_subjects_bulk(c, "unit", root, member, ["branch"])  # a member form for units
        assert "不能用于" in info.value.message
        team = q.copy_template("seed004-team")
        com = db.session.get(Unit, world.a.committee)
        s = cp.add_subject(c, "team", com, team)
        assert s.label == "一矿党委领导班子"
        with pytest.raises(DomainError):
            cp.add_subject(c, "team", com, team)
        labels = set(db.session.execute(select(Subject.label).where(Subject.kind == "person")).scalars())
        assert labels == {"王伟（采煤一队党支部）", "李娜（机关党支部）"}
    with unscoped():
        ev = db.session.execute(select(AuditEvent).where(AuditEvent.object_type == "subjects")
                                .order_by(AuditEvent.id)).scalars().all()
    assert [(e.action, e.count) for e in ev] == [("create", 2), ("create", 2), ("create", 1)]


def test_subject_from_another_tenant_is_impossible(ctx, world):
    """B's unit cannot even be loaded in A's scope, and the database refuses the row anyway."""
    with tenant_context(world.a.id):
        c = _campaign()
        org = q.copy_template("seed002-org")
        assert db.session.get(Unit, world.b.branch) is None
        from sqlalchemy.exc import IntegrityError

        with pytest.raises(IntegrityError):
            db.session.execute(Subject.__table__.insert().values(
                tenant_id=world.a.id, campaign_id=c.id, kind="unit", unit_id=world.b.branch, form_id=org.id,
                label="x", position=0))
    db.session.rollback()


def test_several_campaigns_open_at_once(ctx, world):
    with tenant_context(world.a.id):
        c1, _ = _ready(world)
        c2, _ = _ready(world)
        cp.transition(c1, "open", NOW)
        cp.transition(c2, "open", NOW)
        assert {c1.state, c2.state} == {"open"}


def test_new_version_moves_draft_campaigns_only(ctx, world):
    with tenant_context(world.a.id):
        c_open, org = _ready(world)
        cp.transition(c_open, "open", NOW)
        c_draft = _campaign()
        cp.add_subjects_bulk(c_draft, "unit", db.session.get(Unit, world.a.root), org, ["branch"])
        v2 = q.new_version(org)
        forms = lambda c: set(db.session.execute(select(Subject.form_id).where(  # noqa: E731
            Subject.campaign_id == c.id)).scalars())
        assert forms(c_open) == {org.id} and forms(c_draft) == {v2.id}


def test_rule_presets(ctx, world):
    with tenant_context(world.a.id):
        c = _campaign()
        cp.add_preset(c, "seed001-3")
        cp.add_preset(c, "seed001-3")  # no duplicates
        cp.add_preset(c, "seed003")
        specs = cp.rule_specs(c)
        assert [s.threshold for s in specs] == ["60%", "1/3", "2/3", "80%"]
        with pytest.raises(DomainError):
            cp.add_preset(c, "nope")
        with pytest.raises(DomainError):
            cp.set_rules(c, [{"metric": "satisfied_share", "op": "lt", "threshold": "150%", "outcome": "x"}])
        assert len(cp.rule_specs(c)) == 4


def test_person_only_on_person_subjects_and_ids_are_checked(ctx, world):
    with tenant_context(world.a.id):
        c = _campaign()
        org = q.copy_template("seed002-org")
        unit = db.session.get(Unit, world.a.branch)
        with pytest.raises(DomainError) as info:
            cp.add_subject(c, "unit", unit, org, db.session.get(Person, world.a.person))
        assert info.value.field == "person_id"
        for bad in ({"name": "全评", "scope": "group", "group_unit_id": "abc"}, {"id": "x", "name": "党员"}):
            with pytest.raises(DomainError):
                cp.set_categories(c, [bad])


def test_bulk_subjects_are_analysed_after_the_commit(ctx, world, monkeypatch):
    """A bulk add of subjects refreshes the planner's statistics once committed, like the other
    bulk loads (on PostgreSQL a stale 'subjects' made one page of the subject table take 11 s)."""
    from pingyi import bulk

    monkeypatch.setattr(bulk, "ANALYZE_AFTER_ROWS", 2)
    monkeypatch.setattr(bulk, "analyze_grown", lambda *tables, **kw: seen.append(("grown", tables)))
    monkeypatch.setattr(bulk, "analyze", lambda *tables: seen.append(("analyze", tables)))
    seen: list = []
    with tenant_context(world.a.id):
        c = _campaign()
        db.session.commit()
        assert cp.add_subjects_bulk(c, "unit", db.session.get(Unit, world.a.root), q.copy_template("seed002-org"),
                                    ["branch"]) == 2
        assert seen == []  # not before the commit
        db.session.commit()
    assert [tables for _how, tables in seen] == [("subjects",)]
