"""The JSON API: same scoping and roles as the pages, described by its OpenAPI document."""

from __future__ import annotations

import io

from tests.factories import bearer


def test_openapi_describes_every_api_route(app):
    spec = app.test_client().get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    documented = {(path, method) for path, item in spec["paths"].items() for method in item if method != "parameters"}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = rule.rule[len("/api/v1"):].replace("<int:", "{").replace("<", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, f"{method} {path} missing from openapi.json"


def test_units_crud(app, world):
    c, h = app.test_client(), bearer(world.a.api_key)
    units = c.get("/api/v1/t/alpha/units", headers=h).json
    assert {u["name"] for u in units} == {"公司党委", "一矿党委", "采煤一队党支部", "机关党支部"}
    r = c.post("/api/v1/t/alpha/units", headers=h, json={"name": "二矿党委", "kind": "committee",
                                                          "parent_id": world.a.root})
    assert r.status_code == 201
    uid = r.json["id"]
    r = c.post("/api/v1/t/alpha/units", headers=h, json={"name": "二矿党委", "parent_id": world.a.root})
    assert r.status_code == 422 and "同一上级下已有" in r.json["error"]
    r = c.post("/api/v1/t/alpha/units", headers=h, json={"name": "x", "kind": "galaxy"})
    assert r.status_code == 422 and r.json["field"] == "kind"
    r = c.patch(f"/api/v1/t/alpha/units/{world.a.branch}", headers=h, json={"parent_id": uid})
    assert r.status_code == 200 and r.json["path"].endswith(f"/{uid}/{world.a.branch}/")
    r = c.patch(f"/api/v1/t/alpha/units/{uid}", headers=h, json={"parent_id": world.a.branch})
    assert r.status_code == 422
    assert c.delete(f"/api/v1/t/alpha/units/{uid}", headers=h).status_code == 422  # has a child
    r = c.post("/api/v1/t/alpha/units", headers=h, data="not json", content_type="application/json")
    assert r.status_code == 400 and "JSON" in r.json["error"]


def test_people_crud_and_filter(app, world):
    c, h = app.test_client(), bearer(world.a.api_key)
    r = c.post("/api/v1/t/alpha/people", headers=h, json={"name": "周强", "unit_id": world.a.branch})
    assert r.status_code == 201 and r.json["position"] == "党员"
    pid = r.json["id"]
    names = {p["name"] for p in c.get(f"/api/v1/t/alpha/people?unit_id={world.a.committee}", headers=h).json}
    assert names == {"王伟", "周强"}
    r = c.patch(f"/api/v1/t/alpha/people/{pid}", headers=h, json={"position": "委员", "is_party_member": False})
    assert r.json["position"] == "委员" and r.json["is_party_member"] is False
    assert c.delete(f"/api/v1/t/alpha/people/{pid}", headers=h).status_code == 204
    assert c.get(f"/api/v1/t/alpha/people/{pid}", headers=h).status_code == 404
    r = c.post("/api/v1/t/alpha/people", headers=h, json={"name": "x", "unit_id": world.b.branch})
    assert r.status_code == 404


def test_import_endpoint(app, world):
    c, h = app.test_client(), bearer(world.a.api_key)
    good = "单位名称,上级单位,类型\n三矿党委,公司党委,党委\n".encode()
    r = c.post("/api/v1/t/alpha/import/units", headers=h, data={"file": (io.BytesIO(good), "u.csv")},
               content_type="multipart/form-data")
    assert r.json == {"created": 1, "updated": 0}
    bad = "单位名称,上级单位\n甲,无\n".encode()
    r = c.post("/api/v1/t/alpha/import/units", headers=h, data={"file": (io.BytesIO(bad), "u.csv")},
               content_type="multipart/form-data")
    assert r.status_code == 422 and r.json["issues"][0] == {"row": 2, "column": "上级单位",
                                                            "message": "找不到上级单位“无”"}


def test_viewer_key_cannot_write(app, world):
    from pingyi.extensions import db
    from pingyi.org import accounts

    with app.app_context():
        _, key = accounts.create_api_key(accounts.user_by_email(world.a.viewer), "ro")
        db.session.commit()
    c = app.test_client()
    assert c.get("/api/v1/t/alpha/units", headers=bearer(key)).status_code == 200
    assert c.post("/api/v1/t/alpha/units", headers=bearer(key), json={"name": "x"}).status_code == 403


def test_me_lists_tenants(app, world):
    me = app.test_client().get("/api/v1/me", headers=bearer(world.a.api_key)).json
    assert me["tenants"] == [{"slug": "alpha", "name": "甲公司", "role": "admin"}]
