"""The OpenAPI 3.1 description of ``/api/v1`` (kept beside the routes; a test checks every
route is described). Request bodies are generated from the models that parse them
(``schemas``), so the document and the validation cannot disagree."""

from __future__ import annotations

from . import schemas

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
INT, STR, BOOL = {"type": "integer"}, {"type": "string"}, {"type": "boolean"}
NINT, NSTR = {"type": ["integer", "null"]}, {"type": ["string", "null"]}
KIND = {"type": "string", "enum": ["unit", "person", "team"]}
FORM_SUMMARY = _obj({"id": INT, "family_id": INT, "version": INT, "name": STR, "subject_kind": KIND,
                     "frozen": BOOL})
FORM = _obj({"id": INT, "family_id": INT, "version": INT, "name": STR, "subject_kind": KIND, "description": STR,
             "frozen": BOOL,
             "scales": {"type": "array", "items": _obj({"key": STR, "name": STR, "choices": {
                 "type": "array", "items": _obj({"label": STR, "score": INT, "satisfied": BOOL})}})},
             "sections": {"type": "array", "items": _obj({"title": STR, "items": {"type": "array", "items": _obj(
                 {"text": STR, "kind": {"type": "string", "enum": ["rating", "text"]},
                  "scale": {**NSTR, "description": "a scale key of this document (rating items)"},
                  "required": BOOL, "max_length": INT})}})}}, ["name", "sections"])
WINDOW = _obj({"timezone": STR, "opens_at": {"type": "string", "format": "date-time", "description": "UTC"},
               "closes_at": {"type": "string", "format": "date-time", "description": "UTC"},
               "opens_at_local": {"type": "string", "format": "date-time"},
               "closes_at_local": {"type": "string", "format": "date-time"}})
CAMPAIGN = _obj({"id": INT, "name": STR, "description": STR,
                 "state": {"type": "string", "enum": ["draft", "open", "closed", "published", "archived"]},
                 "state_label": STR, "weighting": BOOL,
                 "live_results": {**BOOL, "description": "while open: figures in steps of k ballots, else turnout only"},
                 "publication_scope": {"type": "string", "enum": ["public", "tenant", "oversight"]},
                 "window": WINDOW, "opened_at": NSTR, "closed_at": NSTR, "published_at": NSTR, "archived_at": NSTR,
                 "subject_counts": {"type": "object", "additionalProperties": INT},
                 "readiness": {"type": "array", "items": STR, "description": "what stops it from opening now"},
                 "live_links": INT})
SUBJECT = _obj({"id": INT, "kind": KIND, "unit_id": INT, "person_id": NINT, "form_id": INT, "label": STR,
                "position": INT})
CATEGORY = _obj({"id": INT, "name": STR, "weight": {"type": "string", "description": "0.4 or 40%"},
                 "scope": {"type": "string", "enum": ["own_unit", "group"]}, "group_unit_id": NINT,
                 "position": INT, "links": INT}, ["name"])
RULE = _obj({"id": INT, "position": INT,
             "metric": {"type": "string", "enum": ["satisfied_share", "lowest_share", "not_satisfied_share",
                                                   "turnout"]},
             "op": {"type": "string", "enum": ["lt", "le", "gt", "ge"]},
             "threshold": {"type": "string", "description": "60%, 0.6, 2/3 or 三分之二"}, "outcome": STR,
             "applies_to": {"type": "string", "enum": ["any", "unit", "person", "team"]}, "group": STR,
             "severity": {"type": "string", "enum": ["action", "warning"]}, "source": STR},
            ["metric", "op", "threshold", "outcome"])


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def spec() -> dict:
    ref = lambda n: {"$ref": f"#/components/schemas/{n}"}  # noqa: E731
    crud_errors = {"401": ERR, "403": ERR, "404": ERR, "422": ERR}
    arr = lambda n: {"type": "array", "items": ref(n)}  # noqa: E731
    ok = lambda desc, schema, code="200": {  # noqa: E731
        code: {"description": desc, **_json(schema)}, **crud_errors}
    done = {"204": {"description": "deleted"}, **crud_errors}
    cid = [SLUG, _id("campaign_id")]
    bodies: dict = {}  # the request models, filled as the paths name them

    def body(model: type[schemas.Body], rows: bool = False) -> dict:
        return _json(schemas.request_schema(model, bodies, rows))

    doc = {
        "openapi": "3.1.0",
        "info": {"title": "pingyi 评议 API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "per-user API key from /account/keys"}},
            "schemas": {"Unit": UNIT, "Person": PERSON, "FormSummary": FORM_SUMMARY, "Form": FORM,
                        "Campaign": CAMPAIGN, "Subject": SUBJECT, "Category": CATEGORY, "Rule": RULE,
                        "Job": _obj({"id": INT, "kind": STR, "state": {"type": "string", "enum": [
                            "queued", "running", "done", "failed"]}, "percent": INT, "error": {"type": [
                                "string", "null"]}, "url": STR, "files": {"type": "array", "items": _obj({
                                    "id": INT, "name": STR, "mime": STR, "size": INT, "download_once": {
                                        "type": "boolean"}, "available": {"type": "boolean"}, "url": STR})}}),
                        "Error": _obj({"error": {"type": "string"}, "status": {"type": "integer"},
                                       "field": {"type": ["string", "null"], "description": "the field refused"},
                                       "issues": {"type": "array", "description": "an import's problems by row"},
                                       "details": {"type": "array", "description": "the schema's, per field: "
                                                   "loc, type, msg"}})},
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
                         "requestBody": body(schemas.UnitIn),
                         "responses": {"201": {"description": "created", **_json(ref("Unit"))}, **crud_errors}},
            },
            "/t/{slug}/units/{unit_id}": {
                "parameters": [SLUG, _id("unit_id")],
                "get": {"summary": "one unit", "responses": {"200": {"description": "unit", **_json(ref("Unit"))},
                                                             **crud_errors}},
                "patch": {"summary": "rename, retype, reorder or move a unit",
                          "requestBody": body(schemas.UnitPatch),
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
                         "requestBody": body(schemas.PersonIn),
                         "responses": {"201": {"description": "created", **_json(ref("Person"))}, **crud_errors}},
            },
            "/t/{slug}/people/{person_id}": {
                "parameters": [SLUG, _id("person_id")],
                "get": {"summary": "one person", "responses": {"200": {"description": "person",
                                                                       **_json(ref("Person"))}, **crud_errors}},
                "patch": {"summary": "edit a person", "requestBody": body(schemas.PersonPatch),
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
            "/t/{slug}/form-templates": {
                "parameters": [SLUG],
                "get": {"summary": "built-in forms (seeds 001–004) that can be copied",
                        "responses": ok("templates", {"type": "array", "items": _obj(
                            {"key": STR, "name": STR, "subject_kind": KIND, "description": STR})})},
            },
            "/t/{slug}/forms": {
                "parameters": [SLUG],
                "get": {"summary": "the latest version of each form family",
                        "responses": ok("forms", arr("FormSummary"))},
                "post": {"summary": "copy a template ({\"template\": key}) or create a form from a document",
                         "requestBody": body(schemas.FormIn),
                         "responses": ok("created", ref("Form"), "201")},
            },
            "/t/{slug}/forms/{form_id}": {
                "parameters": [SLUG, _id("form_id")],
                "get": {"summary": "one form version as a document", "responses": ok("form", ref("Form"))},
                "put": {"summary": "replace a draft version's whole content (frozen versions: 422)",
                        "requestBody": body(schemas.FormDocument), "responses": ok("form", ref("Form"))},
                "delete": {"summary": "delete an unused, unfrozen version", "responses": done},
            },
            "/t/{slug}/forms/{form_id}/versions": {
                "parameters": [SLUG, _id("form_id")],
                "post": {"summary": "copy a frozen version into a new draft version (draft campaigns move to it); "
                                    "an unfrozen latest version is returned as it is (200)",
                         "responses": ok("new version", ref("Form"), "201")},
            },
            "/t/{slug}/campaigns": {
                "parameters": [SLUG],
                "get": {"summary": "campaigns, newest first", "responses": ok("campaigns", arr("Campaign"))},
                "post": {"summary": "create a draft campaign", "requestBody": body(schemas.CampaignIn),
                         "responses": ok("created", ref("Campaign"), "201")},
            },
            "/t/{slug}/campaigns/{campaign_id}": {
                "parameters": cid,
                "get": {"summary": "a campaign with subject counts, readiness and live link count",
                        "responses": ok("campaign", ref("Campaign"))},
                "patch": {"summary": "edit; once open the start is fixed and the end can only move later",
                          "requestBody": body(schemas.CampaignIn), "responses": ok("campaign", ref("Campaign"))},
            },
            "/t/{slug}/campaigns/{campaign_id}/transitions": {
                "parameters": cid,
                "post": {"summary": "draft → open → closed → published → archived; closed → open (reopen)",
                         "requestBody": body(schemas.TransitionIn),
                         "responses": ok("campaign", ref("Campaign"))},
            },
            "/t/{slug}/campaigns/{campaign_id}/subjects": {
                "parameters": cid,
                "get": {"summary": "subjects in order",
                        "parameters": [{"name": "kind", "in": "query", "schema": KIND},
                                       {"name": "limit", "in": "query", "schema": INT},
                                       {"name": "offset", "in": "query", "schema": INT}],
                        "responses": ok("subjects", arr("Subject"))},
                "post": {"summary": "add one subject (201), or in bulk every unit/member of a subtree (200)",
                         "requestBody": body(schemas.SubjectIn),
                         "responses": {"201": {"description": "added", **_json(ref("Subject"))},
                                       **ok("bulk count", _obj({"added": INT}))}},
            },
            "/t/{slug}/campaigns/{campaign_id}/subjects/{subject_id}": {
                "parameters": [*cid, _id("subject_id")],
                "delete": {"summary": "remove a subject of a draft campaign", "responses": done},
            },
            "/t/{slug}/campaigns/{campaign_id}/categories": {
                "parameters": cid,
                "get": {"summary": "evaluator categories (参评人员类别)", "responses": ok("categories", arr("Category"))},
                "put": {"summary": "replace all categories (weights must sum to 1 when weighting is on); "
                                   "keep an id to keep a category",
                        "requestBody": body(schemas.CategoryIn, rows=True),
                        "responses": ok("categories", arr("Category"))},
            },
            "/t/{slug}/campaigns/{campaign_id}/rules": {
                "parameters": cid,
                "get": {"summary": "result rules in order", "responses": ok("rules", arr("Rule"))},
                "put": {"summary": "replace all rules (until results are published)",
                        "requestBody": body(schemas.RuleIn, rows=True), "responses": ok("rules", arr("Rule"))},
            },
            "/t/{slug}/campaigns/{campaign_id}/rules/presets": {
                "parameters": cid,
                "post": {"summary": "append a preset's rules (skipping ones already there)",
                         "requestBody": body(schemas.PresetIn),
                         "responses": ok("rules", arr("Rule"))},
            },
            "/t/{slug}/rule-presets": {
                "parameters": [SLUG],
                "get": {"summary": "rule presets from the seeds, by key",
                        "responses": ok("presets", {"type": "object", "additionalProperties": _obj(
                            {"name": STR, "rules": {"type": "array", "items": RULE}})})},
            },
            "/t/{slug}/campaigns/{campaign_id}/results": {
                "parameters": cid,
                "get": {"summary": "figures as the results page shows them (live_view: full, live or turnout "
                                   "only; small cells suppressed; a unit admin: their subtree); each share as "
                                   "{share, rate}",
                        "responses": ok("results", _obj({
                            "view": {"type": "string", "enum": ["full", "live", "turnout"]}, "ballots": INT,
                            "tallied_at": {"type": ["string", "null"]}, "total": {"type": ["object", "null"]},
                            "items": {"type": "array"}, "categories": {"type": "array"},
                            "verdicts": {"type": "array"}, "units": {"type": "array"}}))},
            },
            "/t/{slug}/campaigns/{campaign_id}/results/subjects": {
                "parameters": cid,
                "get": {"summary": "the subject table, searched, sorted and paged by the database",
                        "parameters": [{"name": "q", "in": "query", "schema": STR},
                                       {"name": "form", "in": "query", "schema": INT},
                                       {"name": "sort", "in": "query", "schema": {
                                           "type": "string",
                                           "enum": ["rate", "-rate", "answers", "-answers", "lowest", "label"]}},
                                       {"name": "page", "in": "query", "schema": INT},
                                       {"name": "per_page", "in": "query", "schema": INT, "description": "≤ 500"}],
                        "responses": ok("one page", _obj({"total": INT, "page": INT, "per_page": INT,
                                                          "subjects": {"type": "array"}}))},
            },
            "/t/{slug}/campaigns/{campaign_id}/reports": {
                "parameters": cid,
                "post": {"summary": "start a report job (统计表, 意见汇总表, summary, roll-up); follow its url",
                         "requestBody": body(schemas.ReportIn), "responses": ok("job", ref("Job"), "202")},
            },
            "/t/{slug}/jobs/{job_id}": {
                "parameters": [SLUG, _id("job_id")],
                "get": {"summary": "a job's state, progress and files", "responses": ok("job", ref("Job"))},
            },
            "/t/{slug}/jobs/{job_id}/files/{file_id}": {
                "parameters": [SLUG, _id("job_id"), _id("file_id")],
                "get": {"summary": "a job's file (link lists once only, then 410; 410 too once expired)",
                        "responses": {"200": {"description": "the file's bytes"}, "410": ERR, **crud_errors}},
            },
            "/t/{slug}/campaigns/{campaign_id}/links": {
                "parameters": cid,
                "post": {"summary": "issue one-time ballot links; the secrets appear only in this response",
                         "requestBody": body(schemas.LinksIn),
                         "responses": ok("links", _obj({"count": INT, "links": {"type": "array", "items": STR}}),
                                         "201")},
            },
        },
    }
    doc["components"]["schemas"].update(bodies)
    return doc
