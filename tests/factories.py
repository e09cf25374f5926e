"""Small data builders for tests (CTFd-style ``gen_*`` helpers, but returning plain ids)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pingyi.extensions import db
from pingyi.models import ApiKey, Unit
from pingyi.org import accounts, orgtree
from pingyi.tenancy import tenant_context

PASSWORD = "correct-horse-1"


@dataclass
class TenantData:
    slug: str
    id: int
    admin: str
    viewer: str
    unit_admin: str
    root: int
    committee: int
    branch: int
    other_branch: int
    person: int
    membership: int
    api_key: str
    api_key_id: int
    units: dict[str, int] = field(default_factory=dict)


@dataclass
class World:
    a: TenantData
    b: TenantData
    county: str
    county_admin: str
    superuser: str


def build_tenant(slug: str, name: str, parent: str | None = None) -> TenantData:
    tenant = accounts.create_tenant(slug, name, parent)
    with tenant_context(tenant.id):
        root = orgtree.create_unit("公司党委", None, "committee")
        com = orgtree.create_unit("一矿党委", root, "committee")
        br = orgtree.create_unit("采煤一队党支部", com, "branch")
        other = orgtree.create_unit("机关党支部", root, "branch")
        person = orgtree.create_person("王伟", br, "书记")
        orgtree.create_person("李娜", other, "党员")
    admin = accounts.create_user(f"admin@{slug}.test", PASSWORD)
    viewer = accounts.create_user(f"viewer@{slug}.test", PASSWORD)
    uadmin = accounts.create_user(f"unit@{slug}.test", PASSWORD)
    m = accounts.grant(tenant, admin, "admin")
    accounts.grant(tenant, viewer, "viewer")
    accounts.grant(tenant, uadmin, "unit_admin", com)
    key, full = accounts.create_api_key(admin, "ci")
    db.session.commit()
    return TenantData(slug, tenant.id, admin.email, viewer.email, uadmin.email, root.id, com.id, br.id, other.id,
                      person.id, m.id, full, key.id,
                      units={"root": root.id, "committee": com.id, "branch": br.id, "other": other.id})


def build_world() -> World:
    county = accounts.create_tenant("county", "县委")
    cadmin = accounts.create_user("admin@county.test", PASSWORD)
    accounts.grant(county, cadmin, "admin")
    su = accounts.create_user("root@platform.test", PASSWORD, superuser=True)
    db.session.commit()
    a = build_tenant("alpha", "甲公司", "county")
    b = build_tenant("beta", "乙公司")
    return World(a, b, "county", cadmin.email, su.email)


def login(client, email: str, password: str = PASSWORD):
    r = client.post("/login", data={"email": email, "password": password})
    assert r.status_code == 302, r.text[:500]
    return r


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def unit_count(tenant_id: int) -> int:
    with tenant_context(tenant_id):
        return db.session.query(Unit).count()


def api_key_count() -> int:
    return db.session.query(ApiKey).count()
