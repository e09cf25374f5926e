"""Tenant admin pages under ``/t/<slug>/``: home, tree, units, people, import, members, audit."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from pingyi import audit as trail
from pingyi.campaigns.lifecycle import DEFAULT_TZ, local, parse_day, zone
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import AuditEvent, Membership, Person, Unit, User, utcnow
from pingyi.org import accounts, orgtree
from pingyi.org.imports import ImportRefused, check_file, import_people, import_units, is_large, submit_import
from pingyi.tenancy import scoped
from pingyi.web import audit_log
from pingyi.web.access import (
    bind_for_page,
    check_unit_write,
    inject_slug,
    is_own_root,
    membership_or_404,
    person_or_404,
    require_role,
    unit_or_404,
    unit_write_refusal,
    visible_units,
    writes_need,
)
from pingyi.web.actions import attempt
from pingyi.web.forms import ImportForm, MemberForm, PersonForm, RenameForm, UnitForm
from pingyi.web.oversight import home_url as oversight_home
from pingyi.web.paging import paginate

bp = Blueprint("admin", __name__, url_prefix="/t/<slug>")
PAGE = 50


bp.url_value_preprocessor(bind_for_page)
bp.url_defaults(inject_slug)
bp.context_processor(lambda: {"audit_lines": audit_log.lines})  # the home page's recent events read as the log does


def _unit_choices(include_root: bool) -> list[tuple[str, str]]:
    units = db.session.execute(visible_units().order_by(Unit.path)).scalars().all()
    by_id = {u.id: u for u in units}
    ordered = []
    for node in orgtree.build_tree(g.access.unit_path):
        stack = [node]
        while stack:
            n = stack.pop()
            ordered.append(n.unit)
            stack.extend(reversed(n.children))
    choices = [("", _("（无，顶层单位）"))] if include_root and not g.access.unit_path else []
    base = min((u.depth for u in by_id.values()), default=0)
    choices += [(str(u.id), "　" * (u.depth - base) + u.name) for u in ordered]
    return choices


@bp.route("/")
def home():
    if (overview := oversight_home()) is not None:  # an oversight tenant's home: 下级督导
        return redirect(overview)
    kinds = orgtree.kind_counts(g.access.unit_path)
    people, members = orgtree.people_counts(g.access.unit_path)
    recent = []
    if g.access.is_admin:
        recent = db.session.execute(scoped(AuditEvent).order_by(AuditEvent.id.desc()).limit(8)).scalars().all()
    return render_template("admin/home.html", kinds=kinds, people=people, members=members, recent=recent)


@bp.route("/units")
def units():
    tree = orgtree.build_tree(g.access.unit_path)
    kinds = orgtree.kind_counts(g.access.unit_path)
    return render_template("admin/units.html", tree=tree, kinds=kinds)


def _parent_from_form(value: str) -> Unit | None:
    return unit_or_404(value) if value else None


@bp.route("/units/new", methods=["GET", "POST"])
@writes_need("unit_admin")
def unit_new():
    form = UnitForm()
    form.parent_id.choices = _unit_choices(include_root=True)
    if request.method == "GET" and request.args.get("parent"):
        form.parent_id.data = request.args["parent"]

    def create():
        parent = _parent_from_form(form.parent_id.data)
        check_unit_write(None, parent)
        return orgtree.create_unit(form.name.data, parent, form.kind.data, form.sort_order.data or 0)

    if form.validate_on_submit():
        done = attempt(create)
        if done.ok:
            flash(_("已添加单位“%(name)s”", name=done.value.name), "success")
            return redirect(url_for(".unit_edit", unit_id=done.value.id))
    return render_template("admin/unit_form.html", form=form, unit=None)


@bp.route("/units/<int:unit_id>", methods=["GET", "POST"])
@writes_need("unit_admin")
def unit_edit(unit_id: int):
    unit = unit_or_404(unit_id)
    form = UnitForm(obj=unit) if request.method == "GET" else UnitForm()
    form.parent_id.choices = _unit_choices(include_root=True)
    if request.method == "GET":
        form.parent_id.data = str(unit.parent_id or "")
    own_root = is_own_root(unit)  # the page offers no parent for it: its place is not the unit admin's

    def save():
        parent = False if own_root else _parent_from_form(form.parent_id.data)
        check_unit_write(unit, parent)
        orgtree.update_unit(unit, name=form.name.data, kind=form.kind.data, sort_order=form.sort_order.data or 0,
                            parent=parent)

    if form.validate_on_submit() and attempt(save).ok:
        flash(_("已保存"), "success")
        return redirect(url_for(".unit_edit", unit_id=unit.id))
    people = db.session.execute(
        select(Person).where(Person.unit_id == unit.id).order_by(Person.sort_order, Person.id)
    ).scalars().all()
    children = db.session.execute(
        select(Unit).where(Unit.parent_id == unit.id).order_by(Unit.sort_order, Unit.name)
    ).scalars().all()
    return render_template("admin/unit_form.html", form=form, unit=unit, people=people, children=children,
                           label=orgtree.unit_label(unit), movable=not own_root,
                           deletable=unit_write_refusal(unit, delete=True) is None)


@bp.route("/units/<int:unit_id>/delete", methods=["POST"])
@writes_need("unit_admin")
def unit_delete(unit_id: int):
    unit = unit_or_404(unit_id)
    if unit_write_refusal(unit, delete=True) is not None:
        abort(403)  # the page offers no such button
    parent_id = unit.parent_id
    if not attempt(lambda: orgtree.delete_unit(unit)).ok:
        return redirect(url_for(".unit_edit", unit_id=unit_id))
    flash(_("已删除"), "success")
    return redirect(url_for(".unit_edit", unit_id=parent_id) if parent_id else url_for(".units"))


@bp.route("/people")
def people():
    q = (request.args.get("q") or "").strip()
    unit_id = request.args.get("unit", type=int)
    within = unit_or_404(unit_id).path if unit_id else g.access.unit_path
    return render_template("admin/people.html", p=paginate(orgtree.people(within, q), PAGE), q=q, unit_id=unit_id)


@bp.route("/people/new", methods=["GET", "POST"])
@writes_need("unit_admin")
def person_new():
    form = PersonForm()
    form.unit_id.choices = _unit_choices(include_root=False)
    if request.method == "GET" and request.args.get("unit"):
        form.unit_id.data = request.args["unit"]
    if form.validate_on_submit():
        done = attempt(lambda: orgtree.create_person(form.name.data, unit_or_404(form.unit_id.data),
                                                     form.position.data, form.is_party_member.data))
        if done.ok:
            flash(_("已添加“%(name)s”", name=done.value.name), "success")
            return redirect(url_for(".unit_edit", unit_id=done.value.unit_id))
    return render_template("admin/person_form.html", form=form, person=None)


@bp.route("/people/<int:person_id>", methods=["GET", "POST"])
@writes_need("unit_admin")
def person_edit(person_id: int):
    person = person_or_404(person_id)
    form = PersonForm(obj=person) if request.method == "GET" else PersonForm()
    form.unit_id.choices = _unit_choices(include_root=False)
    if request.method == "GET":
        form.unit_id.data = str(person.unit_id)
    if form.validate_on_submit() and attempt(lambda: orgtree.update_person(
            person, name=form.name.data, unit=unit_or_404(form.unit_id.data), position=form.position.data,
            is_party_member=form.is_party_member.data)).ok:
        flash(_("已保存"), "success")
        return redirect(url_for(".person_edit", person_id=person.id))
    return render_template("admin/person_form.html", form=form, person=person)


@bp.route("/people/<int:person_id>/delete", methods=["POST"])
@writes_need("unit_admin")
def person_delete(person_id: int):
    person = person_or_404(person_id)
    unit_id = person.unit_id
    if attempt(lambda: orgtree.delete_person(person)).ok:
        flash(_("已删除"), "success")
    return redirect(url_for(".unit_edit", unit_id=unit_id))


@bp.route("/import", methods=["GET", "POST"])
@require_role("admin")
def import_file():
    form = ImportForm()
    issues, result = [], None
    if form.validate_on_submit():
        upload = form.file.data
        limit = current_app.config["IMPORT_MAX_BYTES"]
        data, filename = upload.read(limit + 1), upload.filename or ""
        try:
            checked = check_file(data, filename, limit)  # a zip bomb or a million rows: refused at once
            if is_large(checked, current_app.config["IMPORT_JOB_ROWS"]):  # longer than a request should take
                job = submit_import(form.what.data, data, filename, checked.rows, user_id=current_user.id)
                flash(_("文件有 %(n)d 行，已转入后台导入，结果见本页", n=checked.rows), "success")
                return redirect(url_for(".job", job_id=job.id))
            run = import_units if form.what.data == "units" else import_people
            plan = run(data, filename, limit)
            db.session.commit()
            result = (plan.created, plan.updated)
            flash(_("导入成功：新增 %(c)d 条，更新 %(u)d 条", c=plan.created, u=plan.updated), "success")
        except ImportRefused as exc:
            db.session.rollback()
            issues = exc.issues
            flash(_("文件未导入，没有写入任何数据。请修改后重新上传。"), "error")
    return render_template("admin/import.html", form=form, issues=issues, result=result)


AUDIT_ARGS = ("actor", "kind", "action", "since", "until")


def _audit_filter(say: bool = True) -> tuple[trail.Filter, dict[str, str]]:
    """The audit page's filters from the query string — calendar days in Asia/Shanghai, like
    every time the page shows — and the arguments that carry them to other pages and the export."""
    args = {k: (request.args.get(k) or "").strip()[:254] for k in AUDIT_ARGS}
    days = {}
    for key in ("since", "until"):
        if args[key]:
            try:
                days[key] = datetime.combine(parse_day(args[key], field=key), time(), zone(DEFAULT_TZ))
            except DomainError as exc:
                if say:  # the page says it; an export simply leaves the day out
                    flash(exc.message, "error")
                args[key] = ""
    until = days.get("until")
    f = trail.Filter(args["actor"], args["kind"], args["action"], days.get("since"),
                     until + timedelta(days=1) if until else None)
    return f, {k: v for k, v in args.items() if v}


@bp.route("/audit")
@require_role("admin")
def audit():
    f, args = _audit_filter()
    p = paginate(trail.events(f), PAGE)
    actors, kinds, actions = trail.facets()
    return render_template("admin/audit.html", lines=audit_log.lines(p.items), p=p, args=args,
                           actors=actors, kinds=kinds, actions=actions, tables=audit_log.TABLES,
                           verbs=audit_log.ACTIONS)


@bp.route("/audit.csv")
@require_role("admin")
def audit_export():
    """The filtered trail as CSV (the page's sentence and the raw fields), streamed."""
    f, _args = _audit_filter(say=False)
    name = f"{g.tenant.slug}-audit-{local(utcnow(), DEFAULT_TZ):%Y%m%d-%H%M}.csv"
    return Response(stream_with_context(audit_log.export(f)), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}", "Cache-Control": "no-store"})


@bp.route("/members", methods=["GET", "POST"])
@require_role("admin")
def members():
    form = MemberForm()
    form.unit_id.choices = [("", "—")] + _unit_choices(include_root=False)
    created_password = None
    if form.validate_on_submit():
        done = attempt(lambda: accounts.grant_by_email(
            g.tenant, form.email.data, form.role.data, unit_or_404(form.unit_id.data) if form.unit_id.data else None))
        if done.ok:
            user, created_password = done.value
            flash(_("已授权 %(email)s 为 %(role)s", email=user.email, role=form.role.data), "success")
    rows = db.session.execute(
        select(Membership, User).join(User, User.id == Membership.user_id).order_by(User.email)
    ).all()
    return render_template("admin/members.html", form=form, rows=rows, created_password=created_password)


@bp.route("/members/<int:membership_id>/remove", methods=["POST"])
@require_role("admin")
def member_remove(membership_id: int):
    membership = membership_or_404(membership_id)
    if attempt(lambda: db.session.delete(membership)).ok:
        flash(_("已移除"), "success")
    return redirect(url_for(".members"))


@bp.route("/settings", methods=["GET", "POST"])
@require_role("admin")
def settings():
    form = RenameForm(obj=g.tenant)
    if form.validate_on_submit() and attempt(lambda: accounts.rename_tenant(g.tenant, form.name.data)).ok:
        flash(_("已保存"), "success")
        return redirect(url_for(".settings"))
    return render_template("admin/settings.html", form=form)


from . import (  # noqa: E402,F401  (routes on this blueprint)
    campaign_views,
    decision_views,
    feedback_views,
    form_views,
    job_views,
    meeting_views,
    monitor_views,
    rectification_views,
    result_views,
    season_views,
    summary_views,
    themes_views,
)
