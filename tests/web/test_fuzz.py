"""Hypothesis fuzz (issue 14, item 6): generated bodies to every API route and generated fields
to every admin form, as the tenant's admin. No answer is a 500, and a refused request — an error
status, or a page whose refusal is flashed or shown at its field — leaves every table as it was.

The routes come from the app's URL map (``api.*``, and ``admin.*`` taking POST), so a new route
is fuzzed without being named here. Bodies mix what the schemas know (their field names, the
scene's real ids, so requests reach the domain) with what attackers send: huge and negative
integers, inf/NaN/1e400, deep nesting, long and odd strings, dates such as 0001-01-01.

``make test`` runs a bounded, derandomized number of examples (profile ``pingyi-ci``);
``PINGYI_FUZZ=deep`` runs many more, freshly random each time."""

from __future__ import annotations

import io
import json
import os
import re

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from pingyi.extensions import db
from pingyi.models import Membership, User
from pingyi.tenancy import tenant_context
from pingyi.web import forms as page_forms
from pingyi.web.api import schemas
from tests.factories import bearer, login
from tests.web.hostile_scene import FLASHED_ERROR, Scene, build_scene, snapshot

pytestmark = pytest.mark.dates

_COMMON = {"deadline": None, "database": None, "print_blob": True,
           "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.data_too_large]}
settings.register_profile("pingyi-ci", max_examples=200, derandomize=True, **_COMMON)
settings.register_profile("pingyi-deep", max_examples=2000, **_COMMON)
PROFILE = settings.get_profile("pingyi-deep" if os.environ.get("PINGYI_FUZZ") == "deep" else "pingyi-ci")

ODD_TEXT = ["", " ", "inf", "-inf", "NaN", "nan", "1e400", "1e999999999", "-1", "0", "2147483648",
            "18446744073709551616", "9" * 5000, "0001-01-01 00:00", "0001-01-01T00:00", "9999-12-31T23:59",
            "2000-02-30 25:61", "²", "١٢", "0x10", "1/0", "60%", "0.4", "40%", "三分之二", "=HYPERLINK(\"x\")",
            "$\\foo$", "<script>", "a" * 300, "\x00", "../../etc/passwd", "unit", "person", "team", "open",
            "close", "publish", "group", "own_unit", "branch", "committee", "rating", "text", "satisfaction4",
            "seed002-org", "seed001-3", "tally", "xlsx", "bulk", "remove", "clear", "revoke", "defaults",
            "publication", "add_scale", "save_scale", "add_item", "move_item", "new_version", "delete"]
HUGE_INTS = st.integers(min_value=2**31 - 2, max_value=2**70) | st.integers(max_value=-(2**31) + 2)


def _schema_fields() -> list[str]:
    names = set()
    for model in schemas.Body.__subclasses__() + [schemas.FormIn]:
        names.update(model.model_fields)
    return sorted(names)


def _form_fields() -> list[str]:
    names = {"csrf_token", "code", "file", "what", "text-intro", "reset-intro"}
    for cls in vars(page_forms).values():
        if isinstance(cls, type) and issubclass(cls, page_forms.FlaskForm) and cls is not page_forms.FlaskForm:
            names.update(name for name in dir(cls) if not name.startswith("_") and
                         hasattr(getattr(cls, name), "field_class"))
    return sorted(names)


def _ids(app, world, scene: Scene) -> dict:
    """The real ids a request may name, so generated requests reach the domain's checks."""
    with app.app_context(), tenant_context(world.a.id):
        viewer = db.session.execute(select(Membership.id).join(User, User.id == Membership.user_id)
                                    .where(User.email == world.a.viewer)).scalar_one()
    return {"unit_id": [world.a.root, world.a.committee, world.a.branch, world.a.other_branch, world.b.branch],
            "person_id": [world.a.person, world.b.person], "campaign_id": [scene.cid, scene.open_cid],
            "form_id": [scene.fid], "subject_id": [scene.sid], "category_id": [scene.kid],
            "scale_id": [scene.scale_id], "section_id": [scene.section_id], "item_id": [scene.item_id],
            # never the admin's own membership: removing it would end the fuzzing, not find a bug
            "membership_id": [viewer], "job_id": [1], "file_id": [1]}


def _leaf(real_ids: list[int]):
    return st.one_of(st.none(), st.booleans(), st.integers(), HUGE_INTS, st.sampled_from(real_ids),
                     st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30), st.sampled_from(ODD_TEXT))


def _json_value(real_ids: list[int], keys):
    return st.recursive(_leaf(real_ids), lambda kids: st.lists(kids, max_size=4) | st.dictionaries(keys, kids, max_size=6),
                        max_leaves=25)


def _body_keys(spec: dict, rule, method: str) -> list[str]:
    """The field names the OpenAPI document gives the route's request body, nested ones too."""
    path = re.sub(r"<(?:[a-z]+:)?(\w+)>", r"{\1}", rule.rule).removeprefix("/api/v1")
    body = spec["paths"].get(path, {}).get(method.lower(), {}).get("requestBody", {})
    keys: set[str] = set()
    seen: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/components/schemas/") and ref not in seen:
                seen.add(ref)
                walk(spec["components"]["schemas"].get(ref.rsplit("/", 1)[1], {}))
            if isinstance(node.get("properties"), dict):
                keys.update(node["properties"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(body)
    return sorted(keys)


def _json_body(real_ids: list[int], route_keys: list[str]):
    """A body for a route whose documented fields are ``route_keys``: mostly an object (or an array
    of them) holding some of those fields with hostile values, sometimes anything at all."""
    keys = st.sampled_from(route_keys * 4 + _schema_fields()) if route_keys else st.sampled_from(_schema_fields())
    keys = keys | st.text(max_size=8)
    value = _json_value(real_ids, keys)
    obj = st.fixed_dictionaries({}, optional=dict.fromkeys(route_keys, value)) | st.dictionaries(keys, value, max_size=8)
    text = st.one_of(
        obj.map(lambda d: json.dumps(d)),  # NaN and Infinity as JSON literals, huge ints as digits
        st.lists(obj, max_size=4).map(json.dumps),
        value.map(json.dumps),
        st.sampled_from(["", "not json", "[" * 5000 + "]" * 5000, '{"a":' * 3000 + "1" + "}" * 3000,
                         '{"name": 1e400}', '{"sort_order": NaN}', '{"count": 1e999999999}', '{"name": "\\ud800"}',
                         "[" + "9" * 5000 + "]", '{"x": 1, "x": "y"}']),
    )
    return text


def _url(rule, method: str, draw, ids: dict) -> str:
    """The rule's URL filled mostly with the scene's own slug and ids (so requests get past the
    404 to the parsing), sometimes with a foreign slug or a huge id. Routes that delete take a
    real id rarely: once the scene's form or person is gone, later examples would only see 404s."""
    destructive = method == "DELETE" or rule.endpoint.endswith(("_delete", "_remove"))

    def fill(match):
        name = match.group(1)
        if name == "slug":
            return draw(st.sampled_from(["alpha"] * 8 + ["beta", "nope"]))
        if name == "what":
            return draw(st.sampled_from(["units", "people", "x"]))
        if name == "sub":
            return draw(st.sampled_from(["beta", "alpha"]))
        if draw(st.sampled_from(["real"] + ["other"] * 9 if destructive else ["real"] * 8 + ["other"] * 2)) == "real":
            return str(draw(st.sampled_from(ids.get(name) or ids["unit_id"])))
        return str(draw(st.integers(min_value=0, max_value=2**64) | st.just(2**31)))
    return re.sub(r"<(?:[a-z]+:)?(\w+)>", fill, rule.rule)


def _check(app, endpoint: str, response, before, page: bool) -> None:
    event(f"{endpoint} {response.status_code}")  # --hypothesis-show-statistics: what the examples reached
    assert response.status_code < 500, response.text[:800]
    refused = response.status_code >= 400 or page and (FLASHED_ERROR in response.text or
                                                       '<small class="error">' in response.text)
    if refused:
        with app.app_context():
            assert snapshot() == before, f"refused ({response.status_code}) but something was written"


@pytest.fixture
def scene(app, world) -> Scene:
    return build_scene(app, world)


@pytest.fixture
def fuzzed(app, world, scene):
    """The app answering as it does for a user (a crash is a 500, not a raised exception), and the
    ids of the scene."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return _ids(app, world, scene)


@pytest.fixture
def api_spec(app) -> dict:
    return app.test_client().get("/api/v1/openapi.json").json


@pytest.fixture
def admin(app, world):
    client = app.test_client()
    login(client, world.a.admin)
    return client


def _api_routes(app) -> list[tuple]:
    """Every (rule, method) of the API; writes three times as often as reads (a read's body is
    ignored: only its query string and URL are fuzzed)."""
    pairs = []
    for rule in sorted((r for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")), key=lambda r: r.rule):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            pairs += [(rule, method)] * (1 if method == "GET" else 3)
    return pairs


@settings(PROFILE)
@given(data=st.data())
def test_no_api_body_crashes_or_writes_when_refused(app, world, fuzzed, api_spec, data):
    ids = fuzzed
    real = sorted({i for v in ids.values() for i in v})
    rule, method = data.draw(st.sampled_from(_api_routes(app)), label="route")
    url = _url(rule, method, data.draw, ids)
    client = app.test_client()
    headers = bearer(world.a.api_key)
    with app.app_context():
        before = snapshot()
    if rule.endpoint == "api.import_file":
        content = data.draw(st.binary(max_size=300) | st.text(max_size=300).map(str.encode) |
                            st.sampled_from([b"\xe5\x8d\x95\xe4\xbd\x8d\xe5\x90\x8d\xe7\xa7\xb0,\xe4\xb8\x8a\xe7\xba\xa7"
                                             b"\xe5\x8d\x95\xe4\xbd\x8d,\xe6\x8e\x92\xe5\xba\x8f\nA,,inf\n"]))
        name = data.draw(st.sampled_from(["u.csv", "u.xlsx", "u.txt", "u", "u.xls"]))
        r = client.open(url, method=method, headers=headers, content_type="multipart/form-data",
                        data={"file": (io.BytesIO(content), name)})
    else:
        query = data.draw(st.dictionaries(st.sampled_from(["limit", "offset", "unit_id", "kind"]),
                                          st.sampled_from(ODD_TEXT[:16]) | st.integers().map(str), max_size=2))
        r = client.open(url, method=method, headers=headers, query_string=query,
                        data=data.draw(_json_body(real, _body_keys(api_spec, rule, method)), label="body"),
                        content_type="application/json")
    _check(app, rule.endpoint, r, before, page=False)


@settings(PROFILE)
@given(data=st.data())
def test_no_admin_form_crashes_or_writes_when_refused(app, scene, fuzzed, admin, data):
    ids = fuzzed
    real = [str(i) for i in sorted({i for v in ids.values() for i in v})]
    rules = sorted((r for r in app.url_map.iter_rules() if r.endpoint.startswith("admin.") and "POST" in r.methods),
                   key=lambda r: r.rule)
    rule = data.draw(st.sampled_from(rules), label="route")
    url = _url(rule, "POST", data.draw, ids)
    names = (st.sampled_from(_form_fields()) | st.sampled_from(sorted(scene.answers)) | st.text(max_size=8)
             | st.sampled_from(["", "\r", "a\r\nb", "text-", "reset-"]))  # "\r" arrives as the name None
    values = st.sampled_from(ODD_TEXT) | st.sampled_from(real) | st.text(max_size=40) | HUGE_INTS.map(str)
    fields = data.draw(st.lists(st.tuples(names, values), max_size=12), label="fields")
    form = MultiDict(fields)
    if rule.endpoint == "admin.import_file" or data.draw(st.booleans()):
        content = data.draw(st.binary(max_size=200) | st.sampled_from(
            ["单位名称,上级单位,排序\n甲,,1e400\n".encode(), "姓名,所在单位\n张三,公司党委\n".encode()]))
        form.add("file", (io.BytesIO(content), data.draw(st.sampled_from(["u.csv", "u.xlsx", "p.csv"]))))
    with app.app_context():
        before = snapshot()
    r = admin.post(url, data=form, content_type="multipart/form-data", follow_redirects=True)
    _check(app, rule.endpoint, r, before, page=True)
