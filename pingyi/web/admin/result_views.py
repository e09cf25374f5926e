"""Results of a campaign from its stored tally: the dashboard (item rates, categories,
verdict lists, subtree roll-ups, charts, trends), the subject table and a subject's page;
starting a full recount or a report (worker jobs); the sealed campaign's anonymised ballots
(``verification.export``, with opinions: admins see them whether published or not). What each
reader may see — turnout only, the live snapshot or everything; a unit admin only their
subtree — is ``results.live_view``'s decision, made in the domain functions these views call."""

from __future__ import annotations

from collections import OrderedDict

from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from pingyi.i18n import _
from pingyi.models import Campaign, utcnow
from pingyi.rectification import followthrough, overdue
from pingyi.replica import replica_reads
from pingyi.reports import charts, palette
from pingyi.reports import registry as reports
from pingyi.results import dashboard as rs
from pingyi.results import live_view as lv
from pingyi.results import tally as tl
from pingyi.verification import export
from pingyi.voting import mixer
from pingyi.web.access import campaign_or_404, require_role, subject_or_404
from pingyi.web.actions import attempt, submitted
from pingyi.web.forms import ReportForm
from pingyi.web.paging import paginate_fetched
from pingyi.web.public import streamed_file

from . import bp

PAGE_SIZE = 50
_CHARTS: OrderedDict = OrderedDict()  # (tenant, campaign, tally version, time) → SVGs; the tenant is in the key


def dashboard_charts(c: Campaign, r: rs.Results) -> dict[str, str]:
    """The dashboard's four charts as inline SVG, drawn once per tally version."""
    key = (g.tenant.id, c.id, r.run.version, r.run.computed_at, r.run.full, r.view, g.access.unit_path)
    if key not in _CHARTS:
        top_depth = min((u.unit.depth for u in r.units), default=0) + 1
        top = [u for u in r.units if u.unit.depth == top_depth] or r.units
        turnout = charts.rate_bars([u.unit.name for u in top], [u.figures.turnout for u in top], _("各单位参评率"))
        drawn = {"turnout": turnout} if r.view == lv.TURNOUT else {
            "items": charts.rate_bars([i.text for i in r.items], [i.figures.satisfied_share for i in r.items],
                                      _("各评议内容满意率")),
            "distribution": charts.distribution(r.distribution, _("全部回答的选项分布"),
                                                tones=palette.choice_tones(c.id)),
            "turnout": turnout,
            "ranking": charts.rate_bars([s.label for s in r.lowest_subjects],
                                        [s.figures.satisfied_share for s in r.lowest_subjects],
                                        _("满意率最低的评议对象"), threshold=0.6),
        }
        _CHARTS[key] = {name: svg.decode() for name, svg in drawn.items()}
        while len(_CHARTS) > 32:
            _CHARTS.popitem(last=False)
    return _CHARTS[key]


@bp.route("/campaigns/<int:campaign_id>/results")
@replica_reads()  # figures from the replica when there is one (pingyi.replica); the page writes nothing
def campaign_results(campaign_id: int):
    c = campaign_or_404(campaign_id)
    depth = None if request.args.get("depth") == "all" else 1
    r = rs.campaign_results(c, depth, g.access.unit_path)
    # 回头看 also while the campaign is open: the last campaign's items, this one's figures as shown
    follow_prev, follow = followthrough.follow_up(c, utcnow(), g.access.unit_path)
    return render_template("admin/campaign_results.html", c=c, r=r, all_units=depth is None,
                           charts=dashboard_charts(c, r) if r.run and (r.items or r.view == lv.TURNOUT) else {},
                           refresh=15 if c.state == "open" else None, follow=follow, follow_prev=follow_prev,
                           ledger=overdue.counts_by_subtree(c.id, utcnow(), g.access.unit_path),
                           export_ready=g.access.is_admin and export.available(c))


@bp.route("/campaigns/<int:campaign_id>/results/subjects")
@replica_reads()
def result_subjects(campaign_id: int):
    """Every subject with its rate: search by name or unit, filter by form, sort by any column."""
    c = campaign_or_404(campaign_id)
    q, sort = request.args.get("q", ""), request.args.get("sort", "rate")
    form_id = request.args.get("form", type=int)
    p = paginate_fetched(lambda page, per_page: rs.subject_page(c, q, form_id, sort, g.access.unit_path, page,
                                                                per_page), PAGE_SIZE)
    return render_template("admin/result_subjects.html", c=c, p=p, q=q, sort=sort, form_id=form_id,
                           forms=rs.campaign_forms(c.id), view=lv.mode(c))


@bp.route("/campaigns/<int:campaign_id>/results/subjects/<int:subject_id>")
@replica_reads()
def result_subject(campaign_id: int, subject_id: int):
    c = campaign_or_404(campaign_id)
    s = subject_or_404(subject_id, c)
    return render_template("admin/result_subject.html", c=c, d=rs.subject_detail(c, s), view=lv.mode(c))


@bp.route("/campaigns/<int:campaign_id>/reports", methods=["POST"])
@require_role("admin")
def campaign_report(campaign_id: int):
    """Start a report job (统计表, 意见汇总表, summary, roll-up); its page offers the file when done."""
    c = campaign_or_404(campaign_id)
    form = ReportForm()
    if submitted(form):
        done = attempt(lambda: reports.submit(c, form.kind.data, form.format.data, current_user.id))
        if done.ok:
            return redirect(url_for(".job", job_id=done.value.id))
    return redirect(url_for(".campaign_results", campaign_id=c.id))


@bp.route("/campaigns/<int:campaign_id>/tally", methods=["POST"])
@require_role("admin")
def campaign_tally(campaign_id: int):
    c = campaign_or_404(campaign_id)
    job = tl.submit(c.id, current_user.id)
    return redirect(url_for(".job", job_id=job.id))


@bp.route("/campaigns/<int:campaign_id>/ballots.csv")
@require_role("admin")
def campaign_export(campaign_id: int):
    """下载匿名票据: the sealed campaign's ballots as the export prints them (opinions included),
    streamed; the whole campaign, so admins only (a unit admin sees a subtree). Before the
    campaign is sealed with at least k ballots: back to the results page, saying why."""
    c = campaign_or_404(campaign_id)
    if not export.available(c):
        flash(_("评议结束并封存、且至少有 %(k)d 张评议票后，才能下载匿名票据", k=c.seal_k or mixer.batch_size()), "error")
        return redirect(url_for(".campaign_results", campaign_id=c.id))
    return streamed_file(c.tenant_id, c.id, lambda sealed: export.lines(sealed, opinions=True), export.filename(c),
                         "text/csv")
