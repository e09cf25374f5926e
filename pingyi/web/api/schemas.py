"""The API's one schema layer: a pydantic model for every request body, parsed at the edge.

Types are strict (a name is a string, an id an integer, a flag a boolean: nothing is coerced),
integers lie in the database's range (ids and INTEGER columns: PostgreSQL's 4 bytes), numbers are
finite, strings and lists are bounded (strings by their columns), dates lie in
``forms.year_range``, and the JSON itself is parsed by pydantic's parser (nesting beyond ~200
levels is refused, not a RecursionError). What a value *means* — a known unit kind, a window of at
most a year, weights summing to 1 — stays the domain's check, with its Chinese messages.

``parse`` returns plain dicts holding only the keys the client sent (``exclude_unset``), so the
views keep telling "absent" from "null" (``parent_id: null`` makes a unit a root); a refused body
raises ``BodyRefused``: a 400 (no JSON object at all) or a 422 naming the first bad field, with
pydantic's per-field details. ``openapi`` describes the same models (``request_schema``).
"""

from __future__ import annotations

from typing import Annotated, Any

from flask import request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from pingyi.errors import DomainError
from pingyi.i18n import _
from pingyi.web.forms import DECIMAL_TEXT, ID_RANGE, INT_RANGE, date_out_of_range

Id = Annotated[int, Field(ge=ID_RANGE[0], le=ID_RANGE[1])]
Int32 = Annotated[int, Field(ge=INT_RANGE[0], le=INT_RANGE[1])]
Finite = Annotated[float, Field(allow_inf_nan=False)]


def Text(n: int) -> Any:  # noqa: N802  (a type, spelt like one)
    """A string of at most ``n`` characters (the column's size)."""
    return Annotated[str, Field(max_length=n)]


def _date(value: str) -> str:
    problem = date_out_of_range(value)
    if problem:
        raise ValueError(problem)
    return value


def _decimal(value: str | float | int) -> str | float | int:
    if isinstance(value, str) and value.strip() and not DECIMAL_TEXT.fullmatch(value):
        raise ValueError(_("“%(v)s”不是数字，请写成 0.4 或 40%%", v=value[:20]))
    return value


LocalTime = Annotated[str, Field(max_length=40, description="local wall-clock time, YYYY-MM-DD HH:MM"),
                      AfterValidator(_date)]
DecimalIn = Annotated[Text(20) | Finite | Int32, AfterValidator(_decimal)]  # 0.4, "40%", 1


class Body(BaseModel):
    """Strict, and unknown keys are ignored (a document read from GET may be sent back whole)."""

    model_config = ConfigDict(strict=True, extra="ignore")


# ---- org ---------------------------------------------------------------------------------------

class UnitIn(Body):
    name: Text(200) = ""
    kind: Text(20) = "other"
    parent_id: Id | None = None
    sort_order: Int32 = 0


class UnitPatch(Body):
    name: Text(200) | None = None
    kind: Text(20) | None = None
    parent_id: Id | None = Field(None, description="null: make it a top-level unit")
    sort_order: Int32 | None = None


class PersonIn(Body):
    name: Text(100) = ""
    unit_id: Id | None = None
    position: Text(50) | None = None
    is_party_member: bool = True


class PersonPatch(Body):
    name: Text(100) | None = None
    unit_id: Id | None = None
    position: Text(50) | None = None
    is_party_member: bool | None = None


# ---- forms (测评表 documents) ---------------------------------------------------------------------

class ChoiceIn(Body):
    label: Text(30) = ""
    score: Int32 = 0
    satisfied: bool = False


class ScaleIn(Body):
    key: Text(50) | None = None
    name: Text(100) | None = None
    choices: Annotated[list[ChoiceIn], Field(max_length=50)] | None = None


class ItemIn(Body):
    text: Text(500) = ""
    kind: Text(10) = "rating"
    scale: Text(50) | None = None
    required: bool | None = None
    max_length: Int32 | None = None


class SectionIn(Body):
    title: Text(200) = ""
    items: Annotated[list[ItemIn], Field(max_length=500)] | None = None


class FormDocument(Body):
    name: Text(200) = ""
    subject_kind: Text(10) = "unit"
    description: Text(2000) = ""
    scales: Annotated[list[ScaleIn], Field(max_length=50)] | None = None
    sections: Annotated[list[SectionIn], Field(max_length=200)] | None = None


class FormIn(FormDocument):
    template: Text(50) | None = Field(None, description="copy this built-in form instead of sending a document")


# ---- campaigns ---------------------------------------------------------------------------------

class CampaignIn(Body):
    name: Text(200) | None = None
    description: Text(5000) | None = None
    opens_at: LocalTime | None = None
    closes_at: LocalTime | None = None
    timezone: Text(50) | None = None
    weighting: bool | None = None
    publication_scope: Text(12) | None = None
    live_results: bool | None = None


class TransitionIn(Body):
    action: Text(20) = Field("", description="open, close, reopen, publish or archive")


class PresetIn(Body):
    preset: Text(50) = ""


class ReportIn(Body):
    kind: Text(20) = Field("", description="tally (统计表), opinions (意见汇总表), summary (评议工作总结) or rollup")
    format: Text(10) = Field("xlsx", description="tally, opinions: xlsx; summary: docx or pdf; rollup: xlsx or pdf")


class BulkSubjectsIn(Body):
    kind: Text(10) = ""
    root_unit_id: Id | None = None
    form_id: Id | None = None
    unit_kinds: Annotated[list[Text(20)], Field(max_length=20)] = []
    party_members_only: bool = True


class SubjectIn(Body):
    """One subject, or with ``bulk`` every unit (or member) of a subtree."""

    kind: Text(10) = Field("", description="unit, person or team")
    unit_id: Id | None = None
    form_id: Id | None = None
    person_id: Id | None = None
    bulk: BulkSubjectsIn | None = None


class CategoryIn(Body):
    id: Id | None = None
    name: Text(50) = ""
    weight: DecimalIn = "1"
    scope: Text(10) | None = None
    group_unit_id: Id | None = None


class RuleIn(Body):
    metric: Text(30) | None = None
    op: Text(2) | None = None
    threshold: Text(20) | Finite | Int32 = Field("", description="60%, 0.6, 2/3 or 三分之二")
    outcome: Text(100) = ""
    applies_to: Text(10) | None = None
    group: Text(30) | None = None
    severity: Text(10) | None = None
    source: Text(100) | None = None


class LinksIn(Body):
    category_id: Id | None = None
    unit_id: Id | None = None
    count: Int32 | None = None


MAX_ROWS = 200  # categories or rules in one PUT


# ---- parsing -----------------------------------------------------------------------------------

class BodyRefused(DomainError):
    """A body the schema refused: 400 (not a JSON object or array at all) or 422 (a field)."""

    def __init__(self, message: str, field: str | None, status: int, details: list[dict]):
        super().__init__(message, field)
        self.status, self.details = status, details


def _messages() -> dict[str, str]:
    """Pydantic's error types as the caller reads them (built per call: translated per request)."""
    return {"missing": _("缺少此项"), "string_type": _("不是字符串"), "int_type": _("不是整数"),
            "bool_type": _("不是 true 或 false"), "list_type": _("不是数组"), "model_type": _("不是 JSON 对象"),
            "float_type": _("不是数字"), "finite_number": _("不是有限的数字（不能是 inf、NaN 或 1e400）")}


# Union members pydantic appends to a location (``('weight', 'constrained-str')``): not field names.
_MEMBERS = {"str", "int", "float", "bool", "none"}
_MEMBER_PREFIXES = ("constrained-", "function-", "nullable[", "list[", "union[")


def _location(loc: tuple) -> tuple:
    while loc and isinstance(loc[-1], str) and (loc[-1] in _MEMBERS or loc[-1].startswith(_MEMBER_PREFIXES)):
        loc = loc[:-1]
    return loc


def _describe(error: dict, union: list[dict]) -> str:
    """One error in words; for a value no member of a union took, the most telling member's."""
    for telling in ("value_error", "finite_number", "less_than_equal", "greater_than_equal", "string_too_long"):
        error = next((e for e in union if e["type"] == telling), error)
        if error["type"] == telling:
            break
    kind, ctx = error["type"], error.get("ctx", {})
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "string_too_long":
        return _("过长（最多 %(n)d 字）", n=ctx["max_length"])
    if kind == "too_long":
        return _("条目过多（最多 %(n)d 条）", n=ctx["max_length"])
    if kind == "less_than_equal":
        return _("超出范围（最大 %(n)d）", n=ctx["le"])
    if kind == "greater_than_equal":
        return _("超出范围（最小 %(n)d）", n=ctx["ge"])
    return _messages().get(kind, _("格式不正确"))


def _refusal(exc: ValidationError) -> BodyRefused:
    errors = exc.errors(include_url=False, include_input=False)
    details = [{"loc": list(_location(e["loc"])), "type": e["type"], "msg": e["msg"]} for e in errors]
    first = errors[0]
    loc = _location(first["loc"])
    if first["type"] == "json_invalid":
        return BodyRefused(_("请求体不是有效的 JSON（%(why)s）", why=first["msg"].removeprefix("Invalid JSON: ")),
                           None, 400, details)
    if not loc:
        return BodyRefused(_("请求体应为 JSON 数组") if first["type"] == "list_type" else _("请求体应为 JSON 对象"),
                           None, 400, details)
    if len(loc) == 1 and isinstance(loc[0], int) and first["type"] == "model_type":
        return BodyRefused(_("请求体应为由 JSON 对象组成的数组"), None, 400, details)
    union = [e for e in errors if _location(e["loc"]) == loc]
    field = next((p for p in reversed(loc) if isinstance(p, str)), None)
    where = ".".join(str(p) for p in loc)
    return BodyRefused(_("%(where)s：%(what)s", where=where, what=_describe(first, union)), field, 422, details)


def _raw() -> bytes:
    if not request.is_json:
        raise BodyRefused(_("请求体应为 JSON（Content-Type: application/json）"), None, 400, [])
    return request.get_data(cache=True)


def parse(model: type[Body]) -> dict:
    """The request's JSON object validated by ``model``: only the keys sent, typed and bounded."""
    try:
        return model.model_validate_json(_raw()).model_dump(exclude_unset=True)
    except ValidationError as exc:
        raise _refusal(exc) from None


def parse_rows(model: type[Body], limit: int = MAX_ROWS) -> list[dict]:
    """The request's JSON array of objects, each validated by ``model``."""
    try:
        rows = _row_adapter(model, limit).validate_json(_raw())
    except ValidationError as exc:
        raise _refusal(exc) from None
    return [r.model_dump(exclude_unset=True) for r in rows]


_ADAPTERS: dict[tuple[type, int], TypeAdapter] = {}


def _row_adapter(model: type[Body], limit: int) -> TypeAdapter:
    key = (model, limit)
    if key not in _ADAPTERS:
        _ADAPTERS[key] = TypeAdapter(Annotated[list[model], Field(max_length=limit)])
    return _ADAPTERS[key]


def request_schema(model: type[Body], components: dict, rows: bool = False) -> dict:
    """The OpenAPI (JSON Schema) description of a body ``parse`` (``rows``: ``parse_rows``)
    accepts; the models it nests go into ``components`` (the document's components/schemas)."""
    ref = "#/components/schemas/{model}"
    schema = (_row_adapter(model, MAX_ROWS).json_schema(ref_template=ref) if rows
              else model.model_json_schema(ref_template=ref))
    components.update(schema.pop("$defs", {}))
    if not rows:  # the model itself is a component too
        components[model.__name__] = schema
        return {"$ref": ref.format(model=model.__name__)}
    return schema
