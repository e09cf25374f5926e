"""The OpenAPI 3.1 description of ``/api/v1`` (kept beside the routes; a test checks every
route is described)."""

from __future__ import annotations

ERR = {"$ref": "#/components/responses/Error"}
SLUG = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}


def _id(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


def _obj(props: dict, required: list[str] | None = None) -> dict:
    return {"type": "object", "properties": props, **({"required": required} if required else {})}


UNIT = _obj({"id": {"type": "integer"}, "name": {"type": "string"},
             "kind": {"type": "string", "enum": ["committee", "general_branch", "branch", "office", "other"]},
             "parent_id": {"type": ["integer", "null"]}, "sort_order": {"type": "integer"},
             "path": {"type": "string"}, "depth": {"type": "integer"}})
PERSON = _obj({"id": {"type": "integer"}, "name": {"type": "string"}, "unit_id": {"type": "integer"},
               "position": {"type": "string"}, "is_party_member": {"type": "boolean"}})


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def spec() -> dict:
    ref = lambda n: {"$ref": f"#/components/schemas/{n}"}  # noqa: E731
    crud_errors = {"401": ERR, "403": ERR, "404": ERR, "422": ERR}
    return {
        "openapi": "3.1.0",
        "info": {"title": "pingyi 评议 API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "per-user API key from /account/keys"}},
            "schemas": {"Unit": UNIT, "Person": PERSON,
                        "Error": _obj({"error": {"type": "string"}, "status": {"type": "integer"},
                                       "issues": {"type": "array"}})},
            "responses": {"Error": {"description": "error", **_json(ref("Error"))}},
        },
        "paths": {
            "/openapi.json": {"get": {"summary": "this document", "security": [],
                                      "responses": {"200": {"description": "OpenAPI document"}}}},
            "/me": {"get": {"summary": "the caller and their tenants",
                            "responses": {"200": {"description": "user"}, "401": ERR}}},
            "/t/{slug}/units": {
                "parameters": [SLUG],
                "get": {"summary": "units visible to the caller",
                        "responses": {"200": {"description": "units", **_json({"type": "array", "items": ref("Unit")})},
                                      **crud_errors}},
                "post": {"summary": "create a unit",
                         "requestBody": _json(_obj({"name": {"type": "string"}, "kind": {"type": "string"},
                                                    "parent_id": {"type": ["integer", "null"]},
                                                    "sort_order": {"type": "integer"}}, ["name"])),
                         "responses": {"201": {"description": "created", **_json(ref("Unit"))}, **crud_errors}},
            },
            "/t/{slug}/units/{unit_id}": {
                "parameters": [SLUG, _id("unit_id")],
                "get": {"summary": "one unit", "responses": {"200": {"description": "unit", **_json(ref("Unit"))},
                                                             **crud_errors}},
                "patch": {"summary": "rename, retype, reorder or move a unit",
                          "requestBody": _json(_obj({"name": {"type": "string"}, "kind": {"type": "string"},
                                                     "parent_id": {"type": ["integer", "null"]},
                                                     "sort_order": {"type": "integer"}})),
                          "responses": {"200": {"description": "unit", **_json(ref("Unit"))}, **crud_errors}},
                "delete": {"summary": "delete an empty unit", "responses": {"204": {"description": "deleted"},
                                                                            **crud_errors}},
            },
            "/t/{slug}/people": {
                "parameters": [SLUG],
                "get": {"summary": "people, optionally of one unit subtree",
                        "parameters": [{"name": "unit_id", "in": "query", "schema": {"type": "integer"}},
                                       {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                                       {"name": "offset", "in": "query", "schema": {"type": "integer"}}],
                        "responses": {"200": {"description": "people",
                                              **_json({"type": "array", "items": ref("Person")})}, **crud_errors}},
                "post": {"summary": "add a person",
                         "requestBody": _json(_obj({"name": {"type": "string"}, "unit_id": {"type": "integer"},
                                                    "position": {"type": "string"},
                                                    "is_party_member": {"type": "boolean"}}, ["name", "unit_id"])),
                         "responses": {"201": {"description": "created", **_json(ref("Person"))}, **crud_errors}},
            },
            "/t/{slug}/people/{person_id}": {
                "parameters": [SLUG, _id("person_id")],
                "get": {"summary": "one person", "responses": {"200": {"description": "person",
                                                                       **_json(ref("Person"))}, **crud_errors}},
                "patch": {"summary": "edit a person", "requestBody": _json(PERSON),
                          "responses": {"200": {"description": "person", **_json(ref("Person"))}, **crud_errors}},
                "delete": {"summary": "remove a person", "responses": {"204": {"description": "deleted"},
                                                                       **crud_errors}},
            },
            "/t/{slug}/import/{what}": {
                "parameters": [SLUG, {"name": "what", "in": "path", "required": True,
                                      "schema": {"type": "string", "enum": ["units", "people"]}}],
                "post": {"summary": "import units (单位名称, 上级单位, 类型) or people (姓名, 所在单位, 职务, 是否党员) "
                                    "from .xlsx/.csv; all or nothing",
                         "requestBody": {"content": {"multipart/form-data": {"schema": _obj(
                             {"file": {"type": "string", "format": "binary"}}, ["file"])}}},
                         "responses": {"200": {"description": "counts", **_json(_obj(
                             {"created": {"type": "integer"}, "updated": {"type": "integer"}}))}, **crud_errors}},
            },
        },
    }
