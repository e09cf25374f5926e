"""JSON API ``/api/v1``: bearer API keys (or a browser session), same scoping as the pages."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g, jsonify, request
from flask_login import current_user

from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.models import Person, Unit
from pingyi.org import orgtree
from pingyi.org.imports import ImportRefused, import_people, import_units
from pingyi.web.access import (
    bind_tenant_from_url,
    check_unit_write,
    person_or_404,
    require_role,
    unit_or_404,
    visible_units,
    writes_need,
)
from pingyi.web.origin import session_write_allowed
from pingyi.web.paging import window

from . import schemas
from .openapi import spec

bp = Blueprint("api", __name__, url_prefix="/api/v1")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@bp.before_request
def _auth():
    if request.endpoint == "api.openapi":
        return None
    if not current_user.is_authenticated:
        return jsonify(error="authentication required", status=401), 401
    if request.method not in SAFE_METHODS and not g.get("api_auth") and not session_write_allowed():
        return jsonify(error="a browser session needs the page's CSRF token (X-CSRFToken) or a same-origin "
                             "Origin to write", status=403), 403
    return None


@bp.url_value_preprocessor
def _bind(endpoint, values):
    if values and "slug" in values and current_user.is_authenticated:
        bind_tenant_from_url(values)


def _unit_json(u: Unit) -> dict:
    return {"id": u.id, "name": u.name, "kind": u.kind, "parent_id": u.parent_id, "sort_order": u.sort_order,
            "path": u.path, "depth": u.depth}


def _person_json(p: Person) -> dict:
    return {"id": p.id, "name": p.name, "unit_id": p.unit_id, "position": p.position,
            "is_party_member": p.is_party_member}


def _body(model: type[schemas.Body]) -> dict:
    """The request's JSON object as ``model`` takes it (only the keys sent); a refused body
    raises ``schemas.BodyRefused``, answered by ``_refused``."""
    return schemas.parse(model)


@bp.errorhandler(DomainError)
def _refused(exc: DomainError):
    db.session.rollback()
    status = getattr(exc, "status", 422)  # 403: a write the role may not make (access.NotPermitted)
    payload = {"error": exc.message, "field": exc.field, "status": status}
    if isinstance(exc, ImportRefused):
        payload["issues"] = [{"row": i.row, "column": i.column, "message": i.message} for i in exc.issues]
    if isinstance(exc, schemas.BodyRefused):
        payload["details"] = exc.details  # pydantic's, per field
    return jsonify(payload), status


@bp.get("/openapi.json")
def openapi():
    return jsonify(spec())


@bp.get("/me")
def me():
    from pingyi.org.accounts import memberships_of

    return jsonify({"id": current_user.id, "email": current_user.email, "is_superuser": current_user.is_superuser,
                    "tenants": [{"slug": t.slug, "name": t.name, "role": m.role}
                                for m, t in memberships_of(current_user)]})


@bp.route("/t/<slug>/units", methods=["GET", "POST"])
@writes_need("unit_admin")
def units():
    if request.method == "GET":
        rows = db.session.execute(visible_units().order_by(Unit.path)).scalars().all()
        return jsonify([_unit_json(u) for u in rows])
    data = _body(schemas.UnitIn)
    try:
        parent = unit_or_404(data["parent_id"]) if data.get("parent_id") else None
        check_unit_write(None, parent)
        unit = orgtree.create_unit(data.get("name", ""), parent, data.get("kind", "other"),
                                   data.get("sort_order", 0))
    except DomainError as exc:
        return _refused(exc)
    db.session.commit()
    return jsonify(_unit_json(unit)), 201


@bp.route("/t/<slug>/units/<int:unit_id>", methods=["GET", "PATCH", "DELETE"])
@writes_need("unit_admin")
def unit(unit_id: int):
    u = unit_or_404(unit_id)
    if request.method == "GET":
        return jsonify(_unit_json(u))
    try:
        if request.method == "DELETE":
            check_unit_write(u, delete=True)
            orgtree.delete_unit(u)
            db.session.commit()
            return "", 204
        data = _body(schemas.UnitPatch)
        parent = False  # absent, or sent back as read: it stays where it is
        if "parent_id" in data and data["parent_id"] != u.parent_id:
            parent = unit_or_404(data["parent_id"]) if data["parent_id"] else None
        check_unit_write(u, parent)
        orgtree.update_unit(u, name=data.get("name"), kind=data.get("kind"), sort_order=data.get("sort_order"),
                            parent=parent)
    except DomainError as exc:
        return _refused(exc)
    db.session.commit()
    return jsonify(_unit_json(u))


@bp.route("/t/<slug>/people", methods=["GET", "POST"])
@writes_need("unit_admin")
def people():
    if request.method == "GET":
        within = unit_or_404(request.args["unit_id"]).path if request.args.get("unit_id") else g.access.unit_path
        limit, offset = window()
        rows = db.session.execute(orgtree.people(within).limit(limit).offset(offset)).scalars().all()
        return jsonify([_person_json(p) for p in rows])
    data = _body(schemas.PersonIn)
    try:
        person = orgtree.create_person(data.get("name", ""), unit_or_404(data.get("unit_id")),
                                       data.get("position") or "党员", data.get("is_party_member", True))
    except DomainError as exc:
        return _refused(exc)
    db.session.commit()
    return jsonify(_person_json(person)), 201


@bp.route("/t/<slug>/people/<int:person_id>", methods=["GET", "PATCH", "DELETE"])
@writes_need("unit_admin")
def person(person_id: int):
    p = person_or_404(person_id)
    if request.method == "GET":
        return jsonify(_person_json(p))
    if request.method == "DELETE":
        orgtree.delete_person(p)
        db.session.commit()
        return "", 204
    data = _body(schemas.PersonPatch)
    try:
        orgtree.update_person(p, name=data.get("name"), position=data.get("position"),
                              unit=unit_or_404(data["unit_id"]) if data.get("unit_id") else None,
                              is_party_member=data.get("is_party_member"))
    except DomainError as exc:
        return _refused(exc)
    db.session.commit()
    return jsonify(_person_json(p))


@bp.post("/t/<slug>/import/<what>")
@require_role("admin")
def import_file(what: str):
    if what not in ("units", "people"):
        abort(404)
    upload = request.files.get("file")
    if upload is None:
        abort(400, description="multipart field 'file' is required")
    limit = current_app.config["IMPORT_MAX_BYTES"]
    try:
        plan = (import_units if what == "units" else import_people)(upload.read(limit + 1), upload.filename or "", limit)
    except ImportRefused as exc:
        return _refused(exc)
    db.session.commit()
    return jsonify({"created": plan.created, "updated": plan.updated})


from . import campaigns, results  # noqa: E402,F401
