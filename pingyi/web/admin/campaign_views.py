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
    Unit,
)
from pingyi.org.orgtree import subtree_filter
from pingyi.results import live_view
from pingyi.results.tally import after_transition
from pingyi.voting import issuing, tokens
from pingyi.web.access import (
    campaign_or_404,
    in_subtree,
    posted_or_refuse,
    require_role,
    unit_or_404,
    within,
    writes_need,
)
from pingyi.web.actions import attempt, submitted
from pingyi.web.forms import (
    CampaignForm,
    CampaignPageForm,
    CategoriesForm,
    LinksForm,
    LiveResultsForm,
    RulesForm,
    SubjectsForm,
)
from pingyi.web.paging import paginate

from . import _unit_choices, bp

PAGE = 100


def _local_input(dt, tz) -> str:
    return cp.local(dt, tz).strftime("%Y-%m-%dT%H:%M")


@bp.route("/campaigns", methods=["GET", "POST"])
@writes_need("admin")
def campaigns():
    form = CampaignForm()
    if submitted(form):
        done = attempt(lambda: cp.create_campaign(
            form.name.data, form.opens_at.data, form.closes_at.data, form.description.data,
            weighting=form.weighting.data, publication_scope=form.publication_scope.data or "tenant"))
        if done.ok:
            flash(_("已创建评议活动“%(name)s”", name=done.value.name), "success")
            return redirect(url_for(".campaign", campaign_id=done.value.id))
    rows = db.session.execute(select(Campaign).order_by(Campaign.id.desc())).scalars().all()
    counted = select(Subject.campaign_id, func.count()).group_by(Subject.campaign_id)
    if within():  # a unit admin counts their subtree's subjects
        counted = counted.join(Unit, Unit.id == Subject.unit_id).where(subtree_filter(within()))
    counts = dict(db.session.execute(counted).all())
    return render_template("admin/campaigns.html", rows=rows, counts=counts, scopes=PUBLICATION_SCOPES,
                           form_data=request.form)


@bp.route("/campaigns/<int:campaign_id>", methods=["GET", "POST"])
@writes_need("admin")
def campaign(campaign_id: int):
    c = campaign_or_404(campaign_id)
    form = CampaignPageForm()
    if submitted(form):
        action = form.action.data
        if action:
            if attempt(lambda: cp.transition(c, action)).ok:
                flash(_("评议活动已%(action)s", action=_(cp.ACTION_LABELS[action])), "success")
                after_transition(c, current_user.id)
        elif form.op.data == "publication":
            if attempt(lambda: cp.set_publication(c, form.publication_scope.data, form.publish_until.data or None,
                                                  form.publish_opinions.data, export=form.publish_export.data)).ok:
                flash(_("已保存公示设置"), "success")
        elif attempt(lambda: cp.update_campaign(
                c, name=form.name.data, description=form.description.data, opens_at=form.opens_at.data or None,
                closes_at=form.closes_at.data or None, weighting=form.weighting.data,
                publication_scope=form.publication_scope.data or None)).ok:
            flash(_("已保存"), "success")
        return redirect(url_for(".campaign", campaign_id=c.id))
    links = {k: n.issued for (k,), n in tokens.link_counts(c.id, ("category",), within()).items()}
    actions = [a for a, (sources, _t) in cp.TRANSITIONS.items() if c.state in sources]
    return render_template(
        "admin/campaign.html", c=c, counts=cp.subject_counts(c, within()), categories=cp.categories(c),
        rules=cp.rule_specs(c), problems=cp.readiness(c) if c.state == "draft" else [], actions=actions,
        action_labels=cp.ACTION_LABELS, links=links, opens=_local_input(c.opens_at, c.timezone),
        closes=_local_input(c.closes_at, c.timezone), scopes=PUBLICATION_SCOPES, kinds=SUBJECT_KINDS,
        metrics=rl.METRICS, ops=rl.OPS, states=STATE_LABELS, units=_unit_choices(include_root=False),
        publish_until=_local_input(c.publish_until, c.timezone) if c.publish_until else "",
        public_url=_base_url() + url_for("public.results", campaign_id=c.id, slug=g.tenant.slug))


@bp.route("/campaigns/<int:campaign_id>/live-results", methods=["POST"])
@require_role("admin")
def campaign_live_results(campaign_id: int):
    """Turn live results on or off: while open, figures that move only in steps of k ballots,
    or turnout only (``results.live_view``)."""
    c = campaign_or_404(campaign_id)
    form = LiveResultsForm()
    if submitted(form) and attempt(lambda: live_view.set_live_results(c, form.live_results.data)).ok:
        flash(_("已开启实时结果") if c.live_results else _("已关闭实时结果"), "success")
    return redirect(url_for(".campaign", campaign_id=c.id))


@bp.route("/campaigns/<int:campaign_id>/subjects", methods=["GET", "POST"])
@writes_need("admin")
def campaign_subjects(campaign_id: int):
    c = campaign_or_404(campaign_id)
    form = SubjectsForm()
    if submitted(form):
        op = form.op.data
        if op == "bulk":
            done = attempt(lambda: cp.add_subjects_bulk(
                c, form.kind.data or "unit", unit_or_404(form.root_unit_id.data),
                posted_or_refuse(Form, form.form_id.data, _("请选择测评表"), "form_id"),
                form.unit_kinds.data, party_members_only=form.party_members_only.data))
            if done.ok:
                flash(_("已添加 %(n)d 个评议对象", n=done.value), "success")
        elif op == "remove":
            if attempt(lambda: cp.remove_subjects(c, form.subject_ids)).ok:
                flash(_("已移除"), "success")
        elif op == "clear":
            if attempt(lambda: cp.remove_subjects(c)).ok:
                flash(_("已清空评议对象"), "success")
        else:
            abort(400)
        return redirect(url_for(".campaign_subjects", campaign_id=c.id, kind=request.args.get("kind")))
    kind = request.args.get("kind") or None
    form_names = {f.id: f"{f.name}（v{f.version}）" for f in db.session.execute(select(Form)).scalars()}
    return render_template("admin/campaign_subjects.html", c=c, p=paginate(cp.subjects(c, kind, g.access.unit_path), PAGE),
                           kind=kind, kinds=SUBJECT_KINDS, forms=q.latest_forms(), form_names=form_names,
                           counts=cp.subject_counts(c, g.access.unit_path), unit_kinds=UNIT_KINDS,
                           units=_unit_choices(include_root=False))


@bp.route("/campaigns/<int:campaign_id>/categories", methods=["GET", "POST"])
@writes_need("admin")
def campaign_categories(campaign_id: int):
    c = campaign_or_404(campaign_id)
    form = CategoriesForm()
    if submitted(form):
        rows = cp.DEFAULT_CATEGORIES if form.op.data == "defaults" else form.rows()
        if attempt(lambda: cp.set_categories(c, rows)).ok:
            flash(_("已保存参评人员类别"), "success")
            return redirect(url_for(".campaign_categories", campaign_id=c.id))
    cats = cp.categories(c)
    return render_template("admin/campaign_categories.html", c=c, cats=cats, scopes=SCOPES,
                           units=_unit_choices(include_root=False), blanks=max(2, 5 - len(cats)))


@bp.route("/campaigns/<int:campaign_id>/rules", methods=["GET", "POST"])
@writes_need("admin")
def campaign_rules(campaign_id: int):
    c = campaign_or_404(campaign_id)
    form = RulesForm()
    if submitted(form):
        preset = form.preset.data
        if attempt(lambda: cp.add_preset(c, preset) if preset else cp.set_rules(c, form.rows())).ok:
            flash(_("已保存规则"), "success")
        return redirect(url_for(".campaign_rules", campaign_id=c.id))
    return render_template("admin/campaign_rules.html", c=c, rules=cp.rule_specs(c), presets=rl.PRESETS,
                           metrics=rl.METRICS, ops=rl.OPS, applies=rl.APPLIES, severities=rl.SEVERITIES)


@bp.route("/campaigns/<int:campaign_id>/links", methods=["GET", "POST"])
@writes_need("admin")
def campaign_links(campaign_id: int):
    """Issue links in bulk (a job with a progress bar and download-once files) and revoke them."""
    c = campaign_or_404(campaign_id)
    form = LinksForm()
    if submitted(form):
        if form.op.data == "revoke":
            done = attempt(lambda: tokens.revoke(
                c, unit=unit_or_404(form.unit_id.data) if form.unit_id.data else None, serial=form.serial.data,
                category=_category(c, form.category_id.data) if form.category_id.data else None,
                short_code=form.short_code.data or None))
            if done.ok:
                flash(_("已作废 %(n)d 个测评码", n=done.value), "success")
            return redirect(url_for(".campaign_links", campaign_id=c.id))
        done = attempt(lambda: issuing.submit_issue(
            c, _category(c, form.category_id.data), unit_or_404(form.unit_id.data), form.unit_kinds.data,
            form.count.data or 0, _base_url(), current_user.id))
        if done.ok:
            return redirect(url_for(".job", job_id=done.value.id))
    per_unit = [row for row in issuing.issued_table(c) if in_subtree(row[0])]  # a unit admin: their subtree's
    return render_template("admin/campaign_links.html", c=c, cats=cp.categories(c), per_unit=per_unit,
                           units=_unit_choices(include_root=False), unit_kinds=UNIT_KINDS,
                           jobs=[] if within() else jobs.recent("issue_links", c.id))  # whole-campaign jobs


def _category(c: Campaign, category_id) -> EvaluatorCategory:
    return posted_or_refuse(EvaluatorCategory, category_id, _("请选择参评人员类别"), "category_id", c)


def _base_url() -> str:
    return current_app.config.get("PUBLIC_BASE_URL") or request.host_url.rstrip("/")


from . import paper_views  # noqa: E402,F401  (paper double entry, a campaign page too)
