"""年度评议 (seasons) as the county runs them: list and plan a season, issue it to subordinates
(all, or a subtree), watch them (state, turnout against the line, deadlines missed, reminders),
read what came back up (return for correction, accept) and download the 统计表, the archive and
the 汇总表.

Thin views over ``pingyi.seasons``: the season and its submissions are the oversight tenant's
own rows, bound from the URL here (``season_id``, ``submission_id``: another tenant's, or a
submission of another season, is 404 before any role check); everything a subordinate holds is
read by the domain through ``seasons.crossing``, figures only. Viewers read, admins write.
"""

from __future__ import annotations

from dataclasses import asdict
from urllib.parse import quote

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField
from wtforms.validators import Length

from pingyi.campaigns import form_templates
from pingyi.campaigns import lifecycle as cp
from pingyi.campaigns import rules as rl
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.i18n import lazy_gettext as _l
from pingyi.models import FIXABLE, PHASES, SUBJECT_KINDS, Season, SeasonIssue, SeasonSubmission, utcnow
from pingyi.oversight import subordinates
from pingyi.results.rollup import Figures
from pingyi.seasons import issuing, plan, submissions, watch
from pingyi.tenancy import get_scoped
from pingyi.web.access import require_role
from pingyi.web.actions import attempt, submitted
from pingyi.web.forms import DateText, EachLength, Values

from . import bp

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PLAIN_SCOPE = "own_unit"  # a season's categories rate the evaluator's own unit: no unit of the issuer names theirs


def _bind_season(endpoint: str | None, values: dict | None) -> None:
    """After the oversight binding: ``season_id`` names a season of this tenant and
    ``submission_id`` a submission to that season — else 404, before the role check."""
    if not values or "season_id" not in values:
        return
    season = get_scoped(Season, values["season_id"])
    if season is None:
        abort(404)
    g.season = season
    if "submission_id" in values:
        sub = get_scoped(SeasonSubmission, values["submission_id"])
        issue = get_scoped(SeasonIssue, sub.issue_id) if sub is not None else None
        if issue is None or issue.season_id != season.id:
            abort(404)
        g.submission, g.issue = sub, issue


bp.url_value_preprocessor(_bind_season)


class SeasonForm(FlaskForm):
    """The plan of a season as the page posts it (the domain checks what each value means)."""

    name = StringField(_l("名称"), validators=[Length(max=200)])
    description = StringField(_l("说明"), validators=[Length(max=5000)])
    opens_at = StringField(_l("开始时间"), validators=[DateText()])
    closes_at = StringField(_l("结束时间"), validators=[DateText()])
    report_due = StringField(_l("报送截止日期"), validators=[DateText(), Length(max=10)])
    min_turnout = StringField(_l("参评率要求"), validators=[Length(max=20)])
    forms = Values(_l("测评表"), validators=[EachLength(60)])
    presets = Values(_l("结果规则"), validators=[EachLength(30)])
    fixed = Values(_l("统一规定"), validators=[EachLength(20)])
    cat_name = Values(_l("类别名称"), validators=[EachLength(50)])
    cat_weight = Values(_l("权重"), validators=[EachLength(20)])
    phase_kind = Values(_l("阶段"), validators=[EachLength(20)])
    phase_starts = Values(_l("开始日期"), validators=[EachLength(10)])
    phase_ends = Values(_l("结束日期"), validators=[EachLength(10)])

    def fields(self) -> dict:
        """What ``plan.create_season`` / ``update_season`` take, from the posted values."""
        weights = self.cat_weight.data
        categories = [{"name": n.strip(), "weight": (weights[i] if i < len(weights) else "").strip() or "1",
                       "scope": PLAIN_SCOPE} for i, n in enumerate(self.cat_name.data) if n.strip()]
        starts, ends = self.phase_starts.data, self.phase_ends.data
        phases = [{"kind": k, "starts_on": starts[i].strip(), "ends_on": ends[i].strip()}
                  for i, k in enumerate(self.phase_kind.data)
                  if i < len(starts) and i < len(ends) and (starts[i].strip() or ends[i].strip())]
        unknown = [p for p in self.presets.data if p not in rl.PRESETS]
        if unknown:
            raise DomainError(_("未知的规则预设“%(p)s”", p=unknown[0][:30]), "presets")
        rules = [asdict(r) for key in dict.fromkeys(self.presets.data) for r in rl.PRESETS[key]["rules"]]
        return {"forms": list(dict.fromkeys(self.forms.data)), "rules": rules, "categories": categories,
                "phases": phases, "fixed": list(dict.fromkeys(self.fixed.data)),
                "min_turnout": (self.min_turnout.data or "").strip() or "80%",
                "description": self.description.data or ""}


class IssueForm(FlaskForm):
    root = StringField(_l("下发范围"), validators=[Length(max=40)])


class RemindForm(FlaskForm):
    slugs = Values(_l("单位"), validators=[EachLength(40)])


class ReturnForm(FlaskForm):
    comment = StringField(_l("退回意见"), validators=[Length(max=2000)])


def _local_input(dt, tz: str) -> str:
    return cp.local(dt, tz).strftime("%Y-%m-%dT%H:%M") if dt else ""


def _choices() -> dict:
    """What the plan's form offers: templates, rule presets, fixable parts, phases."""
    return {"templates": form_templates.TEMPLATES, "presets": rl.PRESETS, "fixable": FIXABLE, "phases": PHASES,
            "default_categories": cp.DEFAULT_CATEGORIES, "subject_kinds": SUBJECT_KINDS}


def _preset_keys(season: Season) -> list[str]:
    """The presets every rule of which the season's plan holds (to tick them again on its edit page)."""
    held = {(r.get("metric"), r.get("op"), str(r.get("threshold")), r.get("outcome"))
            for r in (season.plan or {}).get("rules", [])}
    return [k for k, p in rl.PRESETS.items()
            if all((r.metric, r.op, r.threshold, r.outcome) in held for r in p["rules"])]


def _download(data: bytes, name: str, mime: str) -> Response:
    return Response(data, mimetype=mime, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}", "Cache-Control": "no-store"})


@bp.route("/seasons")
def seasons():
    """年度评议: the seasons this tenant planned, newest first."""
    return render_template("oversight/seasons.html", rows=plan.seasons())


@bp.route("/seasons/new", methods=["GET", "POST"])
@require_role("admin")
def season_new():
    form = SeasonForm()
    if request.method == "POST" and submitted(form):
        done = attempt(lambda: plan.create_season(form.name.data, form.opens_at.data, form.closes_at.data,
                                                  form.report_due.data, form_ids=None, **form.fields()))
        if done.ok:
            flash(_("已创建年度评议“%(name)s”", name=done.value.name), "success")
            return redirect(url_for(".season", season_id=done.value.id))
    return render_template("oversight/season_form.html", season=None, posted=request.form, **_choices())


@bp.route("/seasons/<int:season_id>/edit", methods=["GET", "POST"])
@require_role("admin")
def season_edit(season_id: int):
    """Change the plan; drafts already built get it by a re-issue (the season page's button)."""
    season = g.season
    form = SeasonForm()
    if request.method == "POST" and submitted(form):
        version = season.version

        def save() -> Season:
            fields = form.fields()
            current = [f.get("template") for f in (season.plan or {}).get("forms", [])]
            if not fields["forms"] or set(fields["forms"]) == set(current):
                fields["forms"] = None  # nothing ticked, or the same templates: the forms stay as they are
            return plan.update_season(season, name=form.name.data, opens_at=form.opens_at.data,
                                      closes_at=form.closes_at.data, report_due=form.report_due.data, **fields)

        done = attempt(save)
        if done.ok:
            changed = season.version != version
            flash(_("已保存；已下发的草稿活动可通过“重新下发”获得修改") if changed and season.state != "draft"
                  else _("已保存"), "success")
            return redirect(url_for(".season", season_id=season.id))
    return render_template("oversight/season_form.html", season=season, posted=request.form,
                           opens=_local_input(season.opens_at, season.timezone),
                           closes=_local_input(season.closes_at, season.timezone),
                           chosen_presets=_preset_keys(season), **_choices())


@bp.route("/seasons/<int:season_id>")
def season(season_id: int):
    """The season page: the watch table, issuing, re-issuing and the submissions."""
    season = g.season
    now = utcnow()
    rows = watch.watch(season, now)
    latest = submissions.latest(season)
    by_issue = {r.issue_id: r for r in rows}
    received = [(by_issue.get(issue_id), s) for issue_id, s in latest.items()]
    received.sort(key=lambda pair: pair[0].name if pair[0] else "")
    subs = subordinates.subordinates(g.tenant)
    issued = {r.slug for r in rows}
    behind = [r for r in rows if watch.behind(r)]
    stale = db.session.execute(select(SeasonIssue.id).where(SeasonIssue.season_id == season.id,
                                                            SeasonIssue.version < season.version)).first()
    try:
        line = rl.parse_threshold(season.min_turnout)
    except DomainError:
        line = None
    return render_template("oversight/season.html", season=season, rows=rows, received=received, subs=subs,
                           not_issued=[t for t in subs if t.slug not in issued], behind=behind,
                           stale=stale is not None, line=line, fixable=FIXABLE, phases=PHASES,
                           templates=form_templates.TEMPLATES)


@bp.route("/seasons/<int:season_id>/issue", methods=["POST"])
@require_role("admin")
def season_issue(season_id: int):
    """Issue to every subordinate (``root`` blank) or to the subtree under one."""
    season = g.season
    form = IssueForm()
    if submitted(form):
        done = attempt(lambda: issuing.issue(
            season, issuing.targets_in_subtree(g.tenant, form.root.data or None), utcnow()))
        if done.ok:
            flash(_("已下发给 %(n)d 个单位", n=len(done.value)), "success")
    return redirect(url_for(".season", season_id=season.id))


@bp.route("/seasons/<int:season_id>/reissue", methods=["POST"])
@require_role("admin")
def season_reissue(season_id: int):
    """Offer the season's changes to the campaigns still in draft; say who was left as it was."""
    season = g.season
    if submitted(FlaskForm()):
        done = attempt(lambda: issuing.reissue(season, utcnow()))
        if done.ok:
            result = done.value
            flash(_("已更新 %(n)d 个草稿活动", n=len(result.updated)) +
                  (("：" + "、".join(result.updated)) if result.updated else ""), "success")
            for slug, state in result.skipped:
                flash(_("%(s)s 没有更新（%(state)s）", s=slug, state=state), "warning")
    return redirect(url_for(".season", season_id=season.id))


@bp.route("/seasons/<int:season_id>/remind", methods=["POST"])
@require_role("admin")
def season_remind(season_id: int):
    """发送提醒: to the chosen subordinates, or (none chosen) every one behind schedule."""
    season = g.season
    form = RemindForm()
    if submitted(form):
        slugs = list(dict.fromkeys(s for s in form.slugs.data if s.strip())) or None
        done = attempt(lambda: watch.remind(season, slugs, utcnow()))
        if done.ok:
            flash(_("已向 %(n)d 个单位发送提醒", n=done.value) if done.value else _("没有需要提醒的单位"),
                  "success" if done.value else "warning")
    return redirect(url_for(".season", season_id=season.id))


@bp.route("/seasons/<int:season_id>/submissions/<int:submission_id>")
def season_submission(season_id: int, submission_id: int):
    """One submission as it came up: its 总结 and figures, and what the county did with it."""
    season, sub = g.season, g.submission
    rows = {r.issue_id: r for r in watch.watch(season, utcnow())}
    newest = submissions.latest(season).get(sub.issue_id)
    counts = sub.figures or {}
    figures = Figures(**{k: int(counts.get(k) or 0) for k in Figures.COUNTS})  # the rates from the counts sent
    return render_template("oversight/season_submission.html", season=season, s=sub, row=rows.get(sub.issue_id),
                           newest=newest is not None and newest.id == sub.id, f=figures)


@bp.route("/seasons/<int:season_id>/submissions/<int:submission_id>/return", methods=["POST"])
@require_role("admin")
def season_return(season_id: int, submission_id: int):
    """退回修改, with the comment the subordinate reads (required)."""
    season, sub = g.season, g.submission
    form = ReturnForm()
    if submitted(form):
        comment = (form.comment.data or "").strip()
        if not comment:
            flash(_("退回修改需要填写意见"), "error")
            return redirect(url_for(".season_submission", season_id=season.id, submission_id=sub.id))
        if attempt(lambda: submissions.return_submission(season, sub.id, comment, utcnow())).ok:
            flash(_("已退回修改"), "success")
    return redirect(url_for(".season", season_id=season.id))


@bp.route("/seasons/<int:season_id>/submissions/<int:submission_id>/accept", methods=["POST"])
@require_role("admin")
def season_accept(season_id: int, submission_id: int):
    season, sub = g.season, g.submission
    if submitted(FlaskForm()) and attempt(lambda: submissions.accept(season, sub.id, utcnow())).ok:
        flash(_("已接收"), "success")
    return redirect(url_for(".season", season_id=season.id))


@bp.route("/seasons/<int:season_id>/submissions/<int:submission_id>/table.xlsx")
def season_submission_table(season_id: int, submission_id: int):
    """The 统计表 exactly as it was submitted."""
    sub = g.submission
    if not sub.table_data:
        abort(404)
    return _download(sub.table_data, sub.table_name or f"统计表-{sub.number}.xlsx", XLSX)


@bp.route("/seasons/<int:season_id>/archive.zip")
def season_archive(season_id: int):
    """Every subordinate's latest 统计表 and 总结 and the 汇总表, as one zip."""
    season = g.season
    data = submissions.archive(season)
    return _download(data, f"{season.name}-报送材料.zip", "application/zip")


@bp.route("/seasons/<int:season_id>/summary.xlsx")
def season_summary_table(season_id: int):
    """汇总表: one row per subordinate."""
    season = g.season
    data = submissions.summary_table(season)
    return _download(data, f"{season.name}-汇总表.xlsx", XLSX)
