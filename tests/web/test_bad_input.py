"""Input that used to crash (issue 14, item 6): ids beyond the database's integers in URLs,
forms and JSON, wrong JSON types, ``inf``/``NaN``/``1e400`` in numbers and decimals, JSON nested
5 000 deep, dates such as 0001-01-01, a 5 000-digit ballot choice, table columns posted with
unequal lengths, an import with a 1 500-deep parent chain or 排序 ``inf``. Each answers 400, 404
or 422 with a clear message (pages: the refusal flashed), and writes nothing."""

from __future__ import annotations

import io
import json

import pytest
from flask import Response

from tests.factories import bearer, login
from tests.web.hostile_scene import FLASHED_ERROR, Scene, build_scene, snapshot

pytestmark = pytest.mark.dates  # campaign windows relative to today

HUGE = 2**64  # beyond SQLite's and PostgreSQL's integers
BIG = 2**31  # beyond PostgreSQL's INTEGER (the id and sort_order columns)
DIGITS = "9" * 5000
DEEP = "[" * 5000 + "]" * 5000


@pytest.fixture
def scene(app, world) -> Scene:
    return build_scene(app, world)


def _client(app, world, who: str):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash answers 500, as it does for a user
    c = app.test_client()
    if who == "admin":
        login(c, world.a.admin)
    elif who == "super":
        login(c, world.superuser)
    return c


def _send(app, world, scene, c, who, method, path, body):
    fill = {"cid": scene.cid, "ocid": scene.open_cid, "fid": scene.fid, "sid": scene.sid, "kid": scene.kid,
            "unit": world.a.branch, "person": world.a.person, "link": scene.link, "HUGE": HUGE}
    path = path.format(**fill)
    headers = bearer(world.a.api_key) if who == "api" else {}
    kwargs = {}
    if isinstance(body, str):
        kwargs = {"data": body, "content_type": "application/json"}
    elif body is not None and path.startswith("/api/"):
        kwargs = {"data": json.dumps(body), "content_type": "application/json"}
    elif body is not None:
        kwargs = {"data": {k: (v.format(**fill) if isinstance(v, str) else v) for k, v in body.items()}}
    with app.app_context():
        before = snapshot()
    try:
        r = c.open(path, method=method, headers=headers, follow_redirects=not path.startswith("/api/"), **kwargs)
    except Exception:  # the error page itself failed (a broken transaction): a 500 all the same
        r = Response("crashed", 500)
    with app.app_context():
        after = snapshot()
    return r, before, after


# (id, who, method, path, body, what the answer must say)
# JSON bodies go to /api/ paths; dicts to page paths are form fields; a str is sent as it is.
ID_URLS = [
    ("url-admin-unit", "admin", "GET", "/t/alpha/units/{HUGE}", None, None),
    ("url-admin-unit-post", "admin", "POST", "/t/alpha/units/{HUGE}", {"name": "x"}, None),
    ("url-admin-person", "admin", "GET", "/t/alpha/people/{HUGE}", None, None),
    ("url-admin-campaign", "admin", "GET", "/t/alpha/campaigns/{HUGE}", None, None),
    ("url-admin-results", "admin", "GET", "/t/alpha/campaigns/{HUGE}/results", None, None),
    ("url-admin-form", "admin", "GET", "/t/alpha/forms/{HUGE}", None, None),
    ("url-admin-job", "admin", "GET", "/t/alpha/jobs/{HUGE}", None, None),
    ("url-admin-subject", "admin", "GET", "/t/alpha/campaigns/{ocid}/results/subjects/{HUGE}", None, None),
    ("url-admin-digits", "admin", "GET", "/t/alpha/units/" + DIGITS, None, None),
    ("url-api-unit", "api", "GET", "/api/v1/t/alpha/units/{HUGE}", None, None),
    ("url-api-person", "api", "PATCH", "/api/v1/t/alpha/people/{HUGE}", {"name": "x"}, None),
    ("url-api-form", "api", "GET", "/api/v1/t/alpha/forms/{HUGE}", None, None),
    ("url-api-campaign", "api", "GET", "/api/v1/t/alpha/campaigns/{HUGE}", None, None),
    ("url-api-subject", "api", "DELETE", "/api/v1/t/alpha/campaigns/{cid}/subjects/{HUGE}", None, None),
    ("url-public", "anon", "GET", "/p/alpha/{HUGE}", None, None),
    ("url-public-receipt", "anon", "GET", "/p/alpha/{HUGE}/receipt", None, None),
    ("url-public-receipt-post", "anon", "POST", "/p/alpha/{HUGE}/receipt", {"code": "x"}, None),
    ("url-platform-tenant", "super", "POST", "/platform/tenants/{HUGE}", {"name": "x"}, None),
    # found by the fuzz test: a person who is a campaign's subject is still referenced (409)
    ("delete-subject-person-api", "api", "DELETE", "/api/v1/t/alpha/people/{person}", None, None),
    ("delete-subject-person-page", "admin", "POST", "/t/alpha/people/{person}/delete", {}, None),
]
QUERY_STRINGS = [
    ("query-people-unit", "admin", "GET", "/t/alpha/people?unit={HUGE}", None, None),
    ("query-sample", "admin", "GET", "/t/alpha/campaigns/{ocid}/sample?sample={HUGE}", None, None),
    ("query-result-form", "admin", "GET", "/t/alpha/campaigns/{ocid}/results/subjects?form={HUGE}", None, None),
    ("query-api-people-unit", "api", "GET", "/api/v1/t/alpha/people?unit_id={HUGE}", None, None),
    ("query-api-offset", "api", "GET", "/api/v1/t/alpha/people?offset={HUGE}", None, None),
    ("query-api-subjects-offset", "api", "GET", "/api/v1/t/alpha/campaigns/{cid}/subjects?offset={HUGE}", None, None),
]
JSON_BODIES = [
    ("json-unit-name-int", "api", "POST", "/api/v1/t/alpha/units", {"name": 5}, "name"),
    ("json-unit-name-list", "api", "POST", "/api/v1/t/alpha/units", {"name": ["a"]}, "name"),
    ("json-unit-kind-list", "api", "POST", "/api/v1/t/alpha/units", {"name": "x", "kind": ["a"]}, "kind"),
    ("json-unit-parent-huge", "api", "POST", "/api/v1/t/alpha/units", {"name": "x", "parent_id": HUGE}, "parent_id"),
    ("json-unit-sort-huge", "api", "POST", "/api/v1/t/alpha/units", {"name": "x", "sort_order": HUGE}, "sort_order"),
    ("json-unit-sort-big", "api", "POST", "/api/v1/t/alpha/units", {"name": "x", "sort_order": BIG}, "sort_order"),
    ("json-unit-sort-1e400", "api", "POST", "/api/v1/t/alpha/units", '{"name": "x", "sort_order": 1e400}',
     "sort_order"),
    ("json-unit-sort-nan", "api", "POST", "/api/v1/t/alpha/units", '{"name": "x", "sort_order": NaN}', "sort_order"),
    ("json-unit-sort-abc", "api", "POST", "/api/v1/t/alpha/units", {"name": "x", "sort_order": "abc"}, "sort_order"),
    ("json-unit-patch-sort-abc", "api", "PATCH", "/api/v1/t/alpha/units/{unit}", {"sort_order": "abc"}, "sort_order"),
    ("json-unit-patch-name-list", "api", "PATCH", "/api/v1/t/alpha/units/{unit}", {"name": ["x"]}, "name"),
    ("json-unit-patch-parent-huge", "api", "PATCH", "/api/v1/t/alpha/units/{unit}", {"parent_id": HUGE}, "parent_id"),
    ("json-person-name-int", "api", "POST", "/api/v1/t/alpha/people", {"name": 5, "unit_id": 1}, "name"),
    ("json-person-position-int", "api", "POST", "/api/v1/t/alpha/people",
     {"name": "x", "unit_id": "{unit}", "position": 5}, "position"),
    ("json-person-unit-huge", "api", "POST", "/api/v1/t/alpha/people", {"name": "x", "unit_id": HUGE}, "unit_id"),
    ("json-person-patch-name-list", "api", "PATCH", "/api/v1/t/alpha/people/{person}", {"name": ["x"]}, "name"),
    ("json-person-patch-unit-huge", "api", "PATCH", "/api/v1/t/alpha/people/{person}", {"unit_id": HUGE},
     "unit_id"),
    ("json-form-score-1e400", "api", "POST", "/api/v1/t/alpha/forms",
     '{"name": "x", "scales": [{"key": "s", "choices": [{"label": "a", "score": 1e400, "satisfied": true},'
     ' {"label": "b", "score": 0}]}], "sections": [{"items": [{"text": "t", "scale": "s"}]}]}', "score"),
    ("json-form-score-huge", "api", "POST", "/api/v1/t/alpha/forms",
     {"name": "x", "scales": [{"key": "s", "choices": [{"label": "a", "score": HUGE, "satisfied": True},
                                                        {"label": "b", "score": 0}]}],
      "sections": [{"items": [{"text": "t", "scale": "s"}]}]}, "score"),
    ("json-form-maxlen-inf", "api", "PUT", "/api/v1/t/alpha/forms/{fid}",
     '{"name": "x", "scales": [{"key": "s", "choices": [{"label": "a", "score": 1, "satisfied": true},'
     ' {"label": "b", "score": 0}]}], "sections": [{"items": [{"text": "t", "scale": "s"},'
     ' {"text": "u", "kind": "text", "max_length": Infinity}]}]}', "max_length"),
    ("json-campaign-year-1", "api", "POST", "/api/v1/t/alpha/campaigns",
     {"name": "x", "opens_at": "0001-01-01 00:00", "closes_at": "0001-01-02 00:00"}, "opens_at"),
    ("json-campaign-year-9999", "api", "POST", "/api/v1/t/alpha/campaigns",
     {"name": "x", "opens_at": "9999-12-31 00:00", "closes_at": "9999-12-31 23:59", "timezone": "America/Adak"},
     "opens_at"),
    ("json-campaign-patch-year-1", "api", "PATCH", "/api/v1/t/alpha/campaigns/{cid}",
     {"opens_at": "0001-01-01 00:00"}, "opens_at"),
    ("json-subject-unit-huge", "api", "POST", "/api/v1/t/alpha/campaigns/{cid}/subjects",
     {"kind": "unit", "unit_id": HUGE, "form_id": "{fid}"}, "unit_id"),
    ("json-subject-person-huge", "api", "POST", "/api/v1/t/alpha/campaigns/{cid}/subjects",
     {"kind": "person", "unit_id": "{unit}", "form_id": "{fid}", "person_id": HUGE}, "person_id"),
    ("json-subject-bulk-root-huge", "api", "POST", "/api/v1/t/alpha/campaigns/{cid}/subjects",
     {"bulk": {"kind": "unit", "root_unit_id": HUGE, "form_id": "{fid}"}}, "root_unit_id"),
    ("json-category-weight-nan", "api", "PUT", "/api/v1/t/alpha/campaigns/{cid}/categories",
     [{"name": "x", "weight": "NaN"}], "weight"),
    ("json-category-weight-huge-exponent", "api", "PUT", "/api/v1/t/alpha/campaigns/{cid}/categories",
     [{"name": "x", "weight": "1e999999999"}], "weight"),
    ("json-category-id-huge", "api", "PUT", "/api/v1/t/alpha/campaigns/{cid}/categories",
     [{"id": HUGE, "name": "x"}], "id"),
    ("json-category-group-huge", "api", "PUT", "/api/v1/t/alpha/campaigns/{cid}/categories",
     [{"name": "x", "scope": "group", "group_unit_id": HUGE}], "group_unit_id"),
    ("json-category-scope-list", "api", "PUT", "/api/v1/t/alpha/campaigns/{cid}/categories",
     [{"name": "x", "scope": ["group"]}], "scope"),
    ("json-rule-threshold-digits", "api", "PUT", "/api/v1/t/alpha/campaigns/{cid}/rules",
     [{"metric": "satisfied_share", "op": "lt", "threshold": DIGITS, "outcome": "x"}], "threshold"),
    ("json-rule-threshold-long", "api", "PUT", "/api/v1/t/alpha/campaigns/{cid}/rules",
     [{"metric": "satisfied_share", "op": "lt", "threshold": "0." + "5" * 30, "outcome": "x"}], "threshold"),
    ("json-links-count-1e400", "api", "POST", "/api/v1/t/alpha/campaigns/{cid}/links",
     '{"category_id": %s, "unit_id": %s, "count": 1e400}', "count"),
    ("json-links-category-huge", "api", "POST", "/api/v1/t/alpha/campaigns/{cid}/links",
     {"category_id": HUGE, "unit_id": "{unit}", "count": 1}, "category_id"),
    ("json-deep-units", "api", "POST", "/api/v1/t/alpha/units", DEEP, None),
    ("json-deep-categories", "api", "PUT", "/api/v1/t/alpha/campaigns/{cid}/categories", DEEP, None),
    ("json-deep-object", "api", "POST", "/api/v1/t/alpha/forms", '{"name": ' + DEEP + "}", None),
]
PAGE_FORMS = [
    ("form-unit-parent-huge", "admin", "POST", "/t/alpha/units/new",
     {"name": "x", "kind": "other", "parent_id": str(HUGE)}, None),
    ("form-unit-sort-huge", "admin", "POST", "/t/alpha/units/new",
     {"name": "x", "kind": "other", "parent_id": "", "sort_order": str(HUGE)}, "排序"),
    ("form-unit-sort-big", "admin", "POST", "/t/alpha/units/new",
     {"name": "x", "kind": "other", "parent_id": "", "sort_order": str(BIG)}, "排序"),
    ("form-unit-edit-sort-huge", "admin", "POST", "/t/alpha/units/{unit}",
     {"name": "x", "kind": "other", "parent_id": "", "sort_order": str(HUGE)}, "排序"),
    ("form-person-unit-huge", "admin", "POST", "/t/alpha/people/new", {"name": "x", "unit_id": str(HUGE)}, None),
    ("form-member-unit-huge", "admin", "POST", "/t/alpha/members",
     {"email": "n@alpha.test", "role": "unit_admin", "unit_id": str(HUGE)}, None),
    ("form-campaign-year-1", "admin", "POST", "/t/alpha/campaigns",
     {"name": "x", "opens_at": "0001-01-01T00:00", "closes_at": "0001-01-02T00:00"}, "开始时间"),
    ("form-campaign-edit-year-1", "admin", "POST", "/t/alpha/campaigns/{cid}",
     {"name": "x", "opens_at": "0001-01-01T00:00"}, "开始时间"),
    ("form-publish-until-year-1", "admin", "POST", "/t/alpha/campaigns/{cid}",
     {"op": "publication", "publication_scope": "tenant", "publish_until": "0001-01-01T00:00"}, "公示截止"),
    ("form-subjects-root-huge", "admin", "POST", "/t/alpha/campaigns/{cid}/subjects",
     {"op": "bulk", "kind": "unit", "root_unit_id": str(HUGE), "form_id": "{fid}"}, "单位"),
    ("form-subjects-form-huge", "admin", "POST", "/t/alpha/campaigns/{cid}/subjects",
     {"op": "bulk", "kind": "unit", "root_unit_id": "{unit}", "form_id": str(HUGE)}, "测评表"),
    ("form-subjects-remove-huge", "admin", "POST", "/t/alpha/campaigns/{cid}/subjects",
     {"op": "remove", "subject_id": str(HUGE)}, None),
    ("form-categories-weight-nan", "admin", "POST", "/t/alpha/campaigns/{cid}/categories",
     {"id": "", "name": "x", "weight": "NaN", "scope": "own_unit", "group_unit_id": ""}, "权重"),
    ("form-categories-group-huge", "admin", "POST", "/t/alpha/campaigns/{cid}/categories",
     {"id": "", "name": "x", "weight": "1", "scope": "group", "group_unit_id": str(HUGE)}, "评议组"),
    ("form-categories-id-huge", "admin", "POST", "/t/alpha/campaigns/{cid}/categories",
     {"id": str(HUGE), "name": "x", "weight": "1", "scope": "own_unit", "group_unit_id": ""}, None),
    ("form-rules-threshold-digits", "admin", "POST", "/t/alpha/campaigns/{cid}/rules",
     {"metric": "satisfied_share", "op": "lt", "threshold": DIGITS, "outcome": "x"}, "阈值"),
    ("form-rules-threshold-long", "admin", "POST", "/t/alpha/campaigns/{cid}/rules",
     {"metric": "satisfied_share", "op": "lt", "threshold": "0." + "5" * 30, "outcome": "x"}, "阈值"),
    ("form-links-category-huge", "admin", "POST", "/t/alpha/campaigns/{cid}/links",
     {"category_id": str(HUGE), "unit_id": "{unit}", "count": "1"}, None),
    ("form-links-unit-huge", "admin", "POST", "/t/alpha/campaigns/{cid}/links",
     {"category_id": "{kid}", "unit_id": str(HUGE), "count": "1"}, None),
    ("form-links-count-huge", "admin", "POST", "/t/alpha/campaigns/{cid}/links",
     {"category_id": "{kid}", "unit_id": "{unit}", "count": str(HUGE)}, "数量"),
    ("form-links-serial-huge", "admin", "POST", "/t/alpha/campaigns/{cid}/links",
     {"op": "revoke", "unit_id": "{unit}", "serial": str(HUGE)}, "序号"),
    ("form-designer-scale-huge", "admin", "POST", "/t/alpha/forms/{fid}",
     {"op": "delete_scale", "scale_id": str(HUGE)}, None),
    ("form-designer-section-huge", "admin", "POST", "/t/alpha/forms/{fid}",
     {"op": "save_section", "section_id": str(HUGE), "title": "t"}, None),
    ("form-designer-delta-huge", "admin", "POST", "/t/alpha/forms/{fid}",
     {"op": "move_section", "section_id": "{sid}", "delta": str(HUGE)}, None),
    ("form-designer-maxlen-huge", "admin", "POST", "/t/alpha/forms/{fid}",
     {"op": "add_item", "section_id": "{sid}", "text": "t", "kind": "text", "max_length": str(HUGE)}, None),
    ("form-sample-huge", "admin", "POST", "/t/alpha/campaigns/{ocid}/sample", {"per_unit": str(HUGE), "seed": "1"},
     "每个单位抽取人数"),
]


def _problem(app, world, scene, clients: dict, case) -> str | None:
    """What is wrong with the answer to one listed input, or ``None``."""
    name, who, method, path, body, says = case
    if isinstance(body, str) and "%s" in body:
        body = body % (scene.kid, world.a.branch)
    if isinstance(body, (dict, list)) and path.startswith("/api/"):
        body = json.loads(json.dumps(body).replace('"{unit}"', str(world.a.branch))
                          .replace('"{fid}"', str(scene.fid)).replace('"{person}"', str(world.a.person)))
    if who not in clients:
        clients[who] = _client(app, world, who)
    r, before, after = _send(app, world, scene, clients[who], who, method, path, body)
    if r.status_code >= 500:
        return f"{name}: {r.status_code}"
    if after != before:
        return f"{name}: {r.status_code}, but something was written"
    if path.startswith("/api/"):
        if r.status_code not in (400, 404, 409, 422) or not (r.is_json and r.json.get("error")):
            return f"{name}: {r.status_code} {r.text[:300]}"
        if r.status_code == 422 and says and r.json["field"] != says and not any(
                says in ".".join(map(str, d["loc"])) for d in r.json.get("details", [])):
            return f"{name}: refused, but not naming {says}: {r.json}"
    elif r.status_code in (400, 404, 409):
        if r.status_code != 404 and 'data-testid="error-message"' not in r.text:
            return f"{name}: {r.status_code} without a reason"
    elif r.status_code != 200 or (FLASHED_ERROR not in r.text and '<small class="error">' not in r.text):
        return f"{name}: {r.status_code}, no refusal shown"
    elif says and says not in r.text:
        return f"{name}: refused, but the page does not say {says!r}"
    return None


FAMILIES = {"ids-in-urls": ID_URLS, "query-strings": QUERY_STRINGS, "json-bodies": JSON_BODIES,
            "page-forms": PAGE_FORMS}


@pytest.mark.parametrize("family", FAMILIES)
def test_bad_input_is_refused_with_a_reason_and_writes_nothing(app, world, scene, family):
    """Every input of the family (one scene for all: each must leave it as it was)."""
    clients: dict = {}
    problems = [p for case in FAMILIES[family] if (p := _problem(app, world, scene, clients, case))]
    assert problems == []


def _posted(app, world, client, path, data, **kwargs):
    with app.app_context():
        before = snapshot()
    r = client.post(path, data=data, follow_redirects=True, **kwargs)
    with app.app_context():
        assert snapshot() == before, "something was written"
    return r


def test_a_5000_digit_choice_on_the_ballot_is_an_invalid_choice(app, world, scene):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    first = next(k for k in scene.answers if k.startswith("a_"))
    r = _posted(app, world, app.test_client(), f"/b/{scene.link}", {**scene.answers, first: DIGITS})
    assert r.status_code == 422 and "选项无效" in r.text
    admin = _client(app, world, "admin")
    first = next(k for k in scene.code_answers if k.startswith("a_"))
    r = _posted(app, world, admin, f"/t/alpha/campaigns/{scene.open_cid}/paper",
                {**scene.code_answers, first: DIGITS, "code": scene.code})
    assert r.status_code == 200 and "选项无效" in r.text


def test_table_columns_posted_with_unequal_lengths_are_refused(app, world, scene):
    admin = _client(app, world, "admin")
    r = _posted(app, world, admin, f"/t/alpha/campaigns/{scene.cid}/categories",
                {"id": [str(scene.kid)], "name": ["甲", "乙"], "weight": ["1"], "scope": ["own_unit", "group"],
                 "group_unit_id": ["", str(world.a.root), ""]})
    assert r.status_code == 200 and FLASHED_ERROR in r.text and "行数不一致" in r.text
    r = _posted(app, world, admin, f"/t/alpha/campaigns/{scene.cid}/rules",
                {"metric": ["satisfied_share", "turnout"], "op": ["lt"], "threshold": ["60%", "80%"],
                 "outcome": ["整改", "提醒"]})
    assert r.status_code == 200 and FLASHED_ERROR in r.text and "行数不一致" in r.text


def test_a_multipart_field_without_a_name_is_ignored(app, world, scene):
    """Found by the fuzz test: a part named "\\r" reaches the form as the name None."""
    admin = _client(app, world, "admin")
    r = _posted(app, world, admin, f"/t/alpha/campaigns/{scene.cid}/summary", {"\r": "x"},
                content_type="multipart/form-data")
    assert r.status_code == 200


def _deep_chain(n: int) -> bytes:
    """Units named child first: each row's parent is the next row, n levels deep."""
    rows = ["单位名称,上级单位"] + [f"单位{i},单位{i + 1}" for i in range(n)] + [f"单位{n},"]
    return "\n".join(rows).encode()


@pytest.mark.parametrize("content, says", [
    (_deep_chain(1500), "层级"),
    ("单位名称,上级单位,排序\n甲,,inf\n".encode(), "排序"),
    ("单位名称,上级单位,排序\n甲,,1e400\n".encode(), "排序"),
    ("单位名称,上级单位,排序\n甲,,NaN\n".encode(), "排序"),
    ("单位名称,上级单位,排序\n甲,,1e20\n".encode(), "排序"),
    (f"单位名称,上级单位,排序\n甲,,{DIGITS}\n".encode(), "排序"),
], ids=["1500-deep", "inf", "1e400", "nan", "1e20", "5000-digits"])
def test_an_import_that_crashed_is_refused_with_its_rows(app, world, content, says):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    admin = _client(app, world, "admin")
    r = _posted(app, world, admin, "/t/alpha/import", {"what": "units", "file": (io.BytesIO(content), "u.csv")},
                content_type="multipart/form-data")
    assert r.status_code == 200 and "文件未导入" in r.text and says in r.text
    r = _posted(app, world, app.test_client(), "/api/v1/t/alpha/import/units",
                {"file": (io.BytesIO(content), "u.csv")}, headers=bearer(world.a.api_key),
                content_type="multipart/form-data")
    assert r.status_code == 422 and r.json["issues"] and any(says in i["message"] or says == i["column"]
                                                             for i in r.json["issues"])


def test_the_openapi_document_states_the_schemas_bounds(app):
    """Request bodies in openapi.json are generated from the models that parse them."""
    spec = app.test_client().get("/api/v1/openapi.json").json
    schemas = spec["components"]["schemas"]
    body = spec["paths"]["/t/{slug}/units"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    unit_in = schemas[body["$ref"].rsplit("/", 1)[1]]
    assert unit_in["properties"]["sort_order"]["maximum"] == 2**31 - 1
    assert unit_in["properties"]["name"]["maxLength"] == 200
    refs = set()

    def walk(node):
        if isinstance(node, dict):
            refs.update(v for k, v in node.items() if k == "$ref")
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(spec)
    assert {r.rsplit("/", 1)[1] for r in refs if r.startswith("#/components/schemas/")} <= set(schemas)
