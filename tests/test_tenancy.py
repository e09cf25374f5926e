"""The scoping mechanism itself: by construction, not by each query remembering."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from pingyi.extensions import db
from pingyi.models import Membership, Person, Unit
from pingyi.org import orgtree
from pingyi.tenancy import TenantScopeError, get_scoped, tenant_context, tenant_sql, unscoped


def test_query_without_tenant_raises(ctx, world):
    with pytest.raises(TenantScopeError):
        db.session.execute(select(Unit)).all()


def test_orm_select_sees_only_current_tenant(ctx, world):
    with tenant_context(world.a.id):
        units = db.session.execute(select(Unit)).scalars().all()
        people = db.session.execute(select(Person).join(Unit, Unit.id == Person.unit_id)).scalars().all()
    assert {u.tenant_id for u in units} == {world.a.id}
    assert len(units) == 4
    assert {p.tenant_id for p in people} == {world.a.id}
    # the same names exist in both tenants: scoping, not luck, separates them
    with unscoped():
        names = db.session.execute(select(Unit.name, Unit.tenant_id)).all()
    assert {n for n, t in names if t == world.a.id} == {n for n, t in names if t == world.b.id}


def test_get_by_id_of_other_tenant_is_none(ctx, world):
    with tenant_context(world.a.id):
        assert get_scoped(Unit, world.b.branch) is None
        assert db.session.get(Unit, world.b.branch) is None
        assert get_scoped(Unit, world.a.branch).name == "采煤一队党支部"
        assert get_scoped(Unit, "not-a-number") is None


def test_a_row_in_the_identity_map_is_not_read_across_tenants(ctx, world):
    """``Session.get`` answers from the identity map without a query: tenant A's unit, loaded
    while scoped to A, must read as nothing once the session is bound to B."""
    from sqlalchemy.exc import NoResultFound

    with tenant_context(world.a.id):
        unit = db.session.get(Unit, world.a.branch)
        assert unit is not None and unit in db.session  # held in the identity map
    with tenant_context(world.b.id):
        assert db.session.get(Unit, world.a.branch) is None
        assert get_scoped(Unit, world.a.branch) is None
        with pytest.raises(NoResultFound):
            db.session.get_one(Unit, world.a.branch)
        assert db.session.get(Unit, world.b.branch).tenant_id == world.b.id
    with pytest.raises(TenantScopeError):
        db.session.get(Unit, world.a.branch)  # no tenant at all: refused, not answered from memory
    with unscoped():
        assert db.session.get(Unit, world.a.branch) is unit
    with tenant_context(world.a.id):
        assert db.session.get(Unit, world.a.branch) is unit


def test_relationship_loads_are_scoped(ctx, world):
    with tenant_context(world.a.id):
        p = db.session.get(Person, world.a.person)
        assert p.unit.tenant_id == world.a.id


def test_joined_other_tenant_rows_are_filtered(ctx, world):
    """A join cannot pull the other tenant's rows in: criteria apply to every tenant class."""
    with tenant_context(world.a.id):
        rows = db.session.execute(select(Person.name, Unit.tenant_id).join(Unit, Unit.name.is_not(None))).all()
    assert rows and {t for _, t in rows} == {world.a.id}


def test_orm_update_and_delete_are_scoped(ctx, world):
    from sqlalchemy import update

    with tenant_context(world.a.id):
        db.session.execute(update(Unit).values(sort_order=7).execution_options(synchronize_session=False))
        db.session.commit()
    with unscoped():
        orders = dict(db.session.execute(select(Unit.tenant_id, Unit.sort_order).distinct()).all())
    assert orders[world.a.id] == 7 and orders[world.b.id] == 0


def test_write_into_other_tenant_is_refused(ctx, world):
    with tenant_context(world.a.id):
        db.session.add(Unit(tenant_id=world.b.id, name="x", kind="other", path="/x/"))
        with pytest.raises(TenantScopeError):
            db.session.flush()
    db.session.rollback()


def test_write_without_tenant_is_refused(ctx, world):
    db.session.add(Person(name="x", unit_id=world.a.branch, position="党员"))
    with pytest.raises(TenantScopeError):
        db.session.flush()
    db.session.rollback()


def test_new_rows_are_stamped_with_current_tenant(ctx, world):
    with tenant_context(world.a.id):
        unit = orgtree.create_unit("新支部", db.session.get(Unit, world.a.root), "branch")
        assert unit.tenant_id == world.a.id


def test_database_refuses_cross_tenant_parent(ctx, world):
    """Composite foreign keys: even raw SQL cannot hang A's unit under B's."""
    with pytest.raises(IntegrityError):
        db.session.execute(text(
            "INSERT INTO units (tenant_id, parent_id, name, kind, sort_order, path, depth, created_at) "
            "VALUES (:t, :p, 'x', 'other', 0, '/', 1, CURRENT_TIMESTAMP)"), {"t": world.a.id, "p": world.b.root})
        db.session.flush()
    db.session.rollback()
    with pytest.raises(IntegrityError):
        db.session.execute(text(
            "INSERT INTO people (tenant_id, unit_id, name, position, is_party_member, sort_order, created_at) "
            "VALUES (:t, :u, 'x', '党员', true, 0, CURRENT_TIMESTAMP)"), {"t": world.a.id, "u": world.b.branch})
        db.session.flush()
    db.session.rollback()


def test_raw_sql_must_bind_tenant(ctx, world):
    with pytest.raises(TenantScopeError), tenant_context(world.a.id):
        tenant_sql("SELECT count(*) FROM units")
    with tenant_context(world.a.id):
        n = tenant_sql("SELECT count(*) FROM units WHERE tenant_id = :tenant_id").scalar_one()
    assert n == 4


def test_tenant_switch_does_not_reuse_first_tenants_criteria(ctx, world):
    """sqlalchemy #5760: a cached criterion must not pin the first tenant's id."""
    seen = []
    for tid in (world.a.id, world.b.id, world.a.id):
        with tenant_context(tid):
            seen.append({u.tenant_id for u in db.session.execute(select(Unit)).scalars()})
        db.session.expunge_all()
    assert seen == [{world.a.id}, {world.b.id}, {world.a.id}]


def test_memberships_are_tenant_owned(ctx, world):
    with tenant_context(world.b.id):
        emails = {m.user.email for m in db.session.execute(select(Membership)).scalars()}
    assert emails == {"admin@beta.test", "viewer@beta.test", "unit@beta.test"}
