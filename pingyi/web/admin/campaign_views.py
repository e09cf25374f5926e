"""Campaign pages: list and create, overview with transitions, subjects, categories, rules, links."""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from pingyi import jobs
from pingyi.campaigns import lifecycle as cp
from pingyi.campaigns import questionnaire as q
from pingyi.campaigns import rules as rl
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import (
    PUBLICATION_SCOPES,
    SCOPES,
    STATE_LABELS,
    SUBJECT_KINDS,
    UNIT_KINDS,
    Campaign,
    EvaluatorCategory,
    Form,
    Subject,
)
from pingyi.results.tally import after_transition
from pingyi.tenancy import get_scoped
from pingyi.voting import issuing, tokens
from pingyi.web.access import campaign_or_404, unit_or_404
from pingyi.web.paging import paginate

from . import _attempt, _unit_choices, bp

PAGE = 100


def _need_admin() -> None:
    if not g.access.is_admin:
        abort(403)


def _local_input(dt, tz) -> str:
    return cp.local(dt, tz).strftime("%Y-%m-%dT%H:%M")


@bp.route("/campaigns", methods=["GET", "POST"])
def campaigns():
    if request.method == "POST":
        _need_admin()
        f = request.form
        created: list[Campaign] = []
        if _attempt(lambda: created.append(cp.create_campaign(
                f.get("name", ""), f.get("opens_at", ""), f.get("closes_at", ""), f.get("description", ""),
                weighting=bool(f.get("weighting")), publication_scope=f.get("publication_scope", "tenant")))):
            flash(_("已创建评议活动“%(name)s”", name=created[0].name), "success")
            return redirect(url_for(".campaign", campaign_id=created[0].id))
    rows = db.session.execute(select(Campaign).order_by(Campaign.id.desc())).scalars().all()
    counts = dict(db.session.execute(select(Subject.campaign_id, func.count()).group_by(Subject.campaign_id)).all())
    return render_template("admin/campaigns.html", rows=rows, counts=counts, scopes=PUBLICATION_SCOPES,
                           form_data=request.form)


@bp.route("/campaigns/<int:campaign_id>", methods=["GET", "POST"])
def campaign(campaign_id: int):
    c = campaign_or_404(campaign_id)
    if request.method == "POST":
        _need_admin()
        f = request.form
        action = f.get("action")
        if action:
            if _attempt(lambda: cp.transition(c, action)):
                flash(_("评议活动已%(action)s", action=_(cp.ACTION_LABELS[action])), "success")
                after_transition(c, current_user.id)
        elif f.get("op") == "publication":
            if _attempt(lambda: cp.set_publication(c, f.get("publication_scope", ""), f.get("publish_until") or None,
                                                   bool(f.get("publish_opinions")))):
                flash(_("已保存公示设置"), "success")
        elif _attempt(lambda: cp.update_campaign(
                c, name=f.get("name"), description=f.get("description"), opens_at=f.get("opens_at") or None,
                closes_at=f.get("closes_at") or None, weighting=bool(f.get("weighting")),
                publication_scope=f.get("publication_scope"))):
            flash(_("已保存"), "success")
        return redirect(url_for(".campaign", campaign_id=c.id))
    links = {k: n.issued for (k,), n in tokens.link_counts(c.id, ("category",)).items()}
    actions = [a for a, (sources, _t) in cp.TRANSITIONS.items() if c.state in sources]
    return render_template(
        "admin/campaign.html", c=c, counts=cp.subject_counts(c), categories=cp.categories(c),
        rules=cp.rule_specs(c), problems=cp.readiness(c) if c.state == "draft" else [], actions=actions,
        action_labels=cp.ACTION_LABELS, links=links, opens=_local_input(c.opens_at, c.timezone),
        closes=_local_input(c.closes_at, c.timezone), scopes=PUBLICATION_SCOPES, kinds=SUBJECT_KINDS,
        metrics=rl.METRICS, ops=rl.OPS, states=STATE_LABELS, units=_unit_choices(include_root=False),
        publish_until=_local_input(c.publish_until, c.timezone) if c.publish_until else "",
        public_url=_base_url() + url_for("public.results", campaign_id=c.id, slug=g.tenant.slug))


@bp.route("/campaigns/<int:campaign_id>/subjects", methods=["GET", "POST"])
def campaign_subjects(campaign_id: int):
    c = campaign_or_404(campaign_id)
    forms = q.latest_forms()
    if request.method == "POST":
        _need_admin()
        f = request.form
        op = f.get("op")
        if op == "bulk":
            form = get_scoped(Form, f.get("form_id"))
            root = unit_or_404(f.get("root_unit_id"))
            added: list[int] = []
            if form is None:
                flash(_("请选择测评表"), "error")
            elif _attempt(lambda: added.append(cp.add_subjects_bulk(
                    c, f.get("kind", "unit"), root, form, f.getlist("unit_kinds"),
                    party_members_only=bool(f.get("party_members_only"))))):
                flash(_("已添加 %(n)d 个评议对象", n=added[0]), "success")
        elif op == "remove":
            ids = [int(i) for i in f.getlist("subject_id") if i.isdigit()]
            if _attempt(lambda: cp.remove_subjects(c, ids)):
                flash(_("已移除"), "success")
        elif op == "clear":
            if _attempt(lambda: cp.remove_subjects(c)):
                flash(_("已清空评议对象"), "success")
        else:
            abort(400)
        return redirect(url_for(".campaign_subjects", campaign_id=c.id, kind=request.args.get("kind")))
    kind = request.args.get("kind") or None
    form_names = {f.id: f"{f.name}（v{f.version}）" for f in db.session.execute(select(Form)).scalars()}
    return render_template("admin/campaign_subjects.html", c=c, p=paginate(cp.subjects(c, kind, g.access.unit_path), PAGE),
                           kind=kind, kinds=SUBJECT_KINDS, forms=forms, form_names=form_names,
                           counts=cp.subject_counts(c, g.access.unit_path), unit_kinds=UNIT_KINDS,
                           units=_unit_choices(include_root=False))


@bp.route("/campaigns/<int:campaign_id>/categories", methods=["GET", "POST"])
def campaign_categories(campaign_id: int):
    c = campaign_or_404(campaign_id)
    if request.method == "POST":
        _need_admin()
        f = request.form
        if f.get("op") == "defaults":
            rows = cp.DEFAULT_CATEGORIES
        else:
            rows = [{"id": f.getlist("id")[i] or None, "name": name, "weight": f.getlist("weight")[i],
                     "scope": f.getlist("scope")[i], "group_unit_id": f.getlist("group_unit_id")[i] or None}
                    for i, name in enumerate(f.getlist("name")) if name.strip()]
        if _attempt(lambda: cp.set_categories(c, rows)):
            flash(_("已保存参评人员类别"), "success")
            return redirect(url_for(".campaign_categories", campaign_id=c.id))
    cats = cp.categories(c)
    return render_template("admin/campaign_categories.html", c=c, cats=cats, scopes=SCOPES,
                           units=_unit_choices(include_root=False), blanks=max(2, 5 - len(cats)))


@bp.route("/campaigns/<int:campaign_id>/rules", methods=["GET", "POST"])
def campaign_rules(campaign_id: int):
    c = campaign_or_404(campaign_id)
    if request.method == "POST":
        _need_admin()
        f = request.form
        if f.get("preset"):
            ok = _attempt(lambda: cp.add_preset(c, f["preset"]))
        else:
            fields = ("metric", "op", "threshold", "outcome", "applies_to", "group", "severity", "source")
            cols = {k: f.getlist(k) for k in fields}
            rows = [{k: cols[k][i] if i < len(cols[k]) else "" for k in fields}
                    for i, outcome in enumerate(cols["outcome"]) if outcome.strip() or cols["threshold"][i].strip()]
            ok = _attempt(lambda: cp.set_rules(c, rows))
        if ok:
            flash(_("已保存规则"), "success")
        return redirect(url_for(".campaign_rules", campaign_id=c.id))
    return render_template("admin/campaign_rules.html", c=c, rules=cp.rule_specs(c), presets=rl.PRESETS,
                           metrics=rl.METRICS, ops=rl.OPS, applies=rl.APPLIES, severities=rl.SEVERITIES)


@bp.route("/campaigns/<int:campaign_id>/links", methods=["GET", "POST"])
def campaign_links(campaign_id: int):
    """Issue links in bulk (a job with a progress bar and download-once files) and revoke them."""
    c = campaign_or_404(campaign_id)
    if request.method == "POST":
        _need_admin()
        f = request.form
        if f.get("op") == "revoke":
            unit = unit_or_404(f["unit_id"]) if f.get("unit_id") else None
            category = get_scoped(EvaluatorCategory, f.get("category_id")) if f.get("category_id") else None
            serial = int(f["serial"]) if (f.get("serial") or "").isdigit() else None
            counted: list[int] = []
            if _attempt(lambda: counted.append(tokens.revoke(c, unit=unit, serial=serial, category=category,
                                                             short_code=f.get("short_code") or None))):
                flash(_("已作废 %(n)d 个测评码", n=counted[0]), "success")
            return redirect(url_for(".campaign_links", campaign_id=c.id))
        category = get_scoped(EvaluatorCategory, f.get("category_id"))
        root = unit_or_404(f.get("unit_id"))
        per_unit = int(f["count"]) if (f.get("count") or "").isdigit() else 0
        submitted: list = []
        if category is None or category.campaign_id != c.id:
            flash(_("请选择参评人员类别"), "error")
        elif _attempt(lambda: submitted.append(issuing.submit_issue(
                c, category, root, f.getlist("unit_kinds"), per_unit, _base_url(), current_user.id))):
            return redirect(url_for(".job", job_id=submitted[0].id))
    return render_template("admin/campaign_links.html", c=c, cats=cp.categories(c), per_unit=issuing.issued_table(c),
                           units=_unit_choices(include_root=False), unit_kinds=UNIT_KINDS,
                           jobs=jobs.recent("issue_links", c.id))


def _base_url() -> str:
    return current_app.config.get("PUBLIC_BASE_URL") or request.host_url.rstrip("/")


from . import paper_views  # noqa: E402,F401  (paper double entry, a campaign page too)
