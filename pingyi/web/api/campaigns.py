"""JSON API for forms (测评表) and campaigns (评议活动): thin views over ``pingyi.campaigns``
(questionnaire, lifecycle) and ``pingyi.voting.tokens``.

Ids in the URL are resolved (and 404ed) by ``bind_tenant_from_url``; ids in a JSON body are
looked up in the current tenant here and a missing one is refused with a 422.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

from flask import g, jsonify, request
from flask_login import current_user
from sqlalchemy import select

from pingyi.campaigns import lifecycle as cp
from pingyi.campaigns import questionnaire as q
from pingyi.campaigns import rules
from pingyi.campaigns.form_templates import TEMPLATES
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import Campaign, EvaluatorCategory, Form, Person, Rule, Subject, Unit
from pingyi.results import live_view
from pingyi.results.tally import after_transition
from pingyi.voting import tokens
from pingyi.web.access import (
    campaign_or_404,
    form_or_404,
    posted_or_refuse,
    require_role,
    subject_or_404,
    within,
    writes_need,
)
from pingyi.web.paging import window

from . import _body, _refused, bp, schemas

T = "/t/<slug>"


# ---- request helpers ---------------------------------------------------------------------------

def _rows(model: type[schemas.Body]) -> list[dict]:
    """The request's JSON array of objects, each as ``model`` takes it (only the keys sent)."""
    return schemas.parse_rows(model)


def _unit(ident, field: str = "unit_id") -> Unit:
    return posted_or_refuse(Unit, ident, _("找不到单位"), field)


def _form(ident) -> Form:
    return posted_or_refuse(Form, ident, _("找不到测评表"), "form_id")


def _int(value, field: str) -> int:
    if isinstance(value, bool):
        value = None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DomainError(_("“%(v)s”不是整数", v=value), field) from None


# ---- JSON shapes -------------------------------------------------------------------------------

def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat() if dt else None


def _form_summary(f: Form) -> dict:
    return {"id": f.id, "family_id": f.family_id, "version": f.version, "name": f.name,
            "subject_kind": f.subject_kind, "frozen": f.is_frozen}


def _campaign_json(c: Campaign) -> dict:
    return {"id": c.id, "name": c.name, "description": c.description, "state": c.state,
            "state_label": c.state_label, "weighting": c.weighting, "publication_scope": c.publication_scope,
            "live_results": c.live_results,
            "window": {"timezone": c.timezone, "opens_at": _iso(c.opens_at), "closes_at": _iso(c.closes_at),
                       "opens_at_local": cp.local(c.opens_at, c.timezone).isoformat(),
                       "closes_at_local": cp.local(c.closes_at, c.timezone).isoformat()}}


def _campaign_detail(c: Campaign) -> dict:
    return {**_campaign_json(c), "opened_at": _iso(c.opened_at), "closed_at": _iso(c.closed_at),
            "published_at": _iso(c.published_at), "archived_at": _iso(c.archived_at),
            "subject_counts": cp.subject_counts(c, within()), "readiness": cp.readiness(c),
            "live_links": tokens.issued_count(c, within())}  # a unit admin: their subtree's


def _subject_json(s: Subject) -> dict:
    return {"id": s.id, "kind": s.kind, "unit_id": s.unit_id, "person_id": s.person_id, "form_id": s.form_id,
            "label": s.label, "position": s.position}


def _category_json(k: EvaluatorCategory) -> dict:
    return {"id": k.id, "name": k.name, "weight": k.weight, "scope": k.scope, "group_unit_id": k.group_unit_id,
            "position": k.position, "links": cp.tokens_for_category(k, within())}


def _rule_json(r: Rule) -> dict:
    return {"id": r.id, "position": r.position, "metric": r.metric, "op": r.op, "threshold": r.threshold,
            "outcome": r.outcome, "applies_to": r.applies_to, "group": r.group, "severity": r.severity,
            "source": r.source}


# ---- forms -------------------------------------------------------------------------------------

@bp.get(f"{T}/form-templates")
def form_templates():
    return jsonify([{"key": k, "name": d["name"], "subject_kind": d["subject_kind"],
                     "description": d["description"]} for k, d in TEMPLATES.items()])


@bp.route(f"{T}/forms", methods=["GET", "POST"])
@writes_need("admin")
def forms():
    if request.method == "GET":
        return jsonify([_form_summary(f) for f in q.latest_forms()])
    data = _body(schemas.FormIn)
    try:
        form = q.copy_template(str(data["template"])) if "template" in data else q.create_form(data)
    except DomainError as exc:
        return _refused(exc)
    db.session.commit()
    return jsonify(q.form_document(form)), 201


@bp.route(f"{T}/forms/<int:form_id>", methods=["GET", "PUT", "DELETE"])
@writes_need("admin")
def form(form_id: int):
    f = form_or_404(form_id)
    if request.method == "GET":
        return jsonify(q.form_document(f))
    try:
        if request.method == "DELETE":
            q.delete_form(f)
            db.session.commit()
            return "", 204
        q.replace_content(f, _body(schemas.FormDocument))
    except DomainError as exc:
        return _refused(exc)
    db.session.commit()
    return jsonify(q.form_document(f))


@bp.post(f"{T}/forms/<int:form_id>/versions")
@require_role("admin")
def form_versions(form_id: int):
    f = form_or_404(form_id)
    latest = q.latest_version(f.family_id).id
    new = q.new_version(f)
    db.session.commit()
    # an unfrozen latest version is returned as it is: nothing was created
    return jsonify(q.form_document(new)), 200 if new.id == latest else 201


# ---- campaigns ---------------------------------------------------------------------------------

@bp.route(f"{T}/campaigns", methods=["GET", "POST"])
@writes_need("admin")
def campaigns():
    if request.method == "GET":
        rows = db.session.execute(select(Campaign).order_by(Campaign.id.desc())).scalars().all()
        return jsonify([_campaign_json(c) for c in rows])
    data = _body(schemas.CampaignIn)
    try:
        c = cp.create_campaign(str(data.get("name") or ""), data.get("opens_at"), data.get("closes_at"),
                               str(data.get("description") or ""), str(data.get("timezone") or cp.DEFAULT_TZ),
                               bool(data.get("weighting", False)),
                               str(data.get("publication_scope") or "tenant"))
    except DomainError as exc:
        return _refused(exc)
    db.session.commit()
    return jsonify(_campaign_detail(c)), 201


@bp.route(f"{T}/campaigns/<int:campaign_id>", methods=["GET", "PATCH"])
@writes_need("admin")
def campaign(campaign_id: int):
    c = campaign_or_404(campaign_id)
    if request.method == "GET":
        return jsonify(_campaign_detail(c))
    data = _body(schemas.CampaignIn)
    text = lambda k: str(data[k]) if data.get(k) is not None else None  # noqa: E731
    try:
        cp.update_campaign(c, name=text("name"), description=text("description"), opens_at=text("opens_at"),
                           closes_at=text("closes_at"),
                           weighting=bool(data["weighting"]) if data.get("weighting") is not None else None,
                           publication_scope=text("publication_scope"))
        if data.get("live_results") is not None:
            live_view.set_live_results(c, bool(data["live_results"]))
    except DomainError as exc:
        return _refused(exc)
    db.session.commit()
    return jsonify(_campaign_detail(c))


@bp.post(f"{T}/campaigns/<int:campaign_id>/transitions")
@require_role("admin")
def campaign_transition(campaign_id: int):
    c = campaign_or_404(campaign_id)
    try:
        cp.transition(c, str(_body(schemas.TransitionIn).get("action") or ""))
    except DomainError as exc:
        return _refused(exc)
    db.session.commit()
    after_transition(c, current_user.id)
    return jsonify(_campaign_detail(c))


@bp.route(f"{T}/campaigns/<int:campaign_id>/subjects", methods=["GET", "POST"])
@writes_need("admin")
def subjects(campaign_id: int):
    c = campaign_or_404(campaign_id)
    if request.method == "GET":
        limit, offset = window()
        stmt = cp.subjects(c, request.args.get("kind") or None, g.access.unit_path).limit(limit).offset(offset)
        return jsonify([_subject_json(s) for s in db.session.execute(stmt).scalars()])
    data = _body(schemas.SubjectIn)
    bulk = data.get("bulk")
    try:
        if bulk is not None:
            kinds = bulk.get("unit_kinds") or []
            added = cp.add_subjects_bulk(c, str(bulk.get("kind") or ""),
                                         _unit(bulk.get("root_unit_id"), "root_unit_id"), _form(bulk.get("form_id")),
                                         [str(k) for k in kinds], bool(bulk.get("party_members_only", True)))
        else:
            person = (posted_or_refuse(Person, data["person_id"], _("找不到人员"), "person_id")
                      if data.get("person_id") is not None else None)
            s = cp.add_subject(c, str(data.get("kind") or ""), _unit(data.get("unit_id")),
                               _form(data.get("form_id")), person)
    except DomainError as exc:
        return _refused(exc)
    db.session.commit()
    return (jsonify({"added": added}), 200) if bulk is not None else (jsonify(_subject_json(s)), 201)


@bp.delete(f"{T}/campaigns/<int:campaign_id>/subjects/<int:subject_id>")
@writes_need("admin")
def subject(campaign_id: int, subject_id: int):
    c = campaign_or_404(campaign_id)
    s = subject_or_404(subject_id, c)
    try:
        cp.remove_subjects(c, [s.id])
    except DomainError as exc:
        return _refused(exc)
    db.session.commit()
    return "", 204


@bp.route(f"{T}/campaigns/<int:campaign_id>/categories", methods=["GET", "PUT"])
@writes_need("admin")
def categories(campaign_id: int):
    c = campaign_or_404(campaign_id)
    if request.method == "GET":
        return jsonify([_category_json(k) for k in cp.categories(c)])
    rows = _rows(schemas.CategoryIn)
    try:
        for r in rows:
            if r.get("id") is not None:
                k = posted_or_refuse(EvaluatorCategory, r["id"], _("找不到参评人员类别"), "id")
                if k.campaign_id != c.id:
                    raise DomainError(_("找不到参评人员类别"), "id")
                r["id"] = k.id
            if r.get("group_unit_id"):
                r["group_unit_id"] = posted_or_refuse(Unit, r["group_unit_id"], _("找不到评议组单位"), "group_unit_id").id
        cats = cp.set_categories(c, rows)
    except DomainError as exc:
        return _refused(exc)
    db.session.commit()
    return jsonify([_category_json(k) for k in cats])


@bp.route(f"{T}/campaigns/<int:campaign_id>/rules", methods=["GET", "PUT"])
@writes_need("admin")
def campaign_rules(campaign_id: int):
    c = campaign_or_404(campaign_id)
    if request.method == "GET":
        return jsonify([_rule_json(r) for r in cp.campaign_rules(c)])
    rows = _rows(schemas.RuleIn)
    try:
        saved = cp.set_rules(c, rows)
    except DomainError as exc:
        return _refused(exc)
    db.session.commit()
    return jsonify([_rule_json(r) for r in saved])


@bp.post(f"{T}/campaigns/<int:campaign_id>/rules/presets")
@require_role("admin")
def campaign_rule_preset(campaign_id: int):
    c = campaign_or_404(campaign_id)
    try:
        saved = cp.add_preset(c, str(_body(schemas.PresetIn).get("preset") or ""))
    except DomainError as exc:
        return _refused(exc)
    db.session.commit()
    return jsonify([_rule_json(r) for r in saved])


@bp.get(f"{T}/rule-presets")
def rule_presets():
    return jsonify({k: {"name": p["name"], "rules": [asdict(s) for s in p["rules"]]}
                    for k, p in rules.PRESETS.items()})


@bp.post(f"{T}/campaigns/<int:campaign_id>/links")
@require_role("admin")
def links(campaign_id: int):
    c = campaign_or_404(campaign_id)
    data = _body(schemas.LinksIn)
    try:
        category = posted_or_refuse(EvaluatorCategory, data.get("category_id"), _("找不到参评人员类别"), "category_id")
        unit, count = _unit(data.get("unit_id")), _int(data.get("count"), "count")
        issued = tokens.issue_links(c, category, unit, count)
    except DomainError as exc:
        return _refused(exc)
    db.session.commit()
    return jsonify({"count": len(issued), "links": [f"/b/{ln.secret}" for ln in issued],
                    "short_codes": [tokens.format_code(ln.short_code) for ln in issued],
                    "serials": [ln.serial for ln in issued]}), 201
