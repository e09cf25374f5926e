"""JSON API for results and jobs: a campaign's figures as its results page shows them (the same
``results.dashboard`` data, the same ``live_view`` and small-cell rules), its subject table,
and report jobs started and followed to their files — all a program needs without the pages.

Shares are exact fractions on the pages; here each comes as ``{"share": 0.9871, "rate": "98.7%"}``
(``rate`` is the pages' rounding, ``share`` four decimals), or ``null`` where undefined."""

from __future__ import annotations

from fractions import Fraction
from urllib.parse import quote

from flask import Response, g, jsonify, request, url_for
from flask_login import current_user

from pingyi import jobs
from pingyi.models import Job
from pingyi.replica import replica_reads
from pingyi.reports import registry as reports
from pingyi.results import dashboard as rs
from pingyi.results.tally import percent
from pingyi.web.access import campaign_or_404, downloadable_file, job_or_404, require_role

from . import _body, bp, schemas
from .campaigns import T, _iso

MAX_PER_PAGE = 500


def _rate(share: Fraction | None) -> dict | None:
    return None if share is None else {"share": round(float(share), 4), "rate": percent(share)}


def _figures(f) -> dict:
    """A cell's answers and shares (``tally.Figures``)."""
    return {"answers": f.total, "satisfied": _rate(f.satisfied_share), "lowest": _rate(f.lowest_share)}


def results_json(c, r: rs.Results) -> dict:
    t = r.total
    return {
        "campaign": {"id": c.id, "name": c.name, "state": c.state},
        "view": r.view,  # full; live (the snapshot, while open); turnout (no figures while open)
        "tallied_at": _iso(r.run.computed_at) if r.run is not None else None,
        "ballots": r.ballots,
        "total": None if t is None else {
            "links_issued": t.issued, "links_used": t.used, "turnout": _rate(t.turnout),
            "answers": t.valid, "satisfied": _rate(t.satisfied_share)},
        "items": [{"form": i.form, "text": i.text, **_figures(i.figures)} for i in r.items],
        "categories": [{"name": k.name, "ballots": k.ballots, **(_figures(k.figures) if k.figures else {}),
                        "shown": k.figures is not None} for k in r.categories],
        "verdicts": [{"outcome": outcome, "severity": severity,
                      "subjects": [{"id": s.id, "label": s.label, "kind": s.kind, **_figures(s.figures),
                                    "weighted": _rate(s.weighted)} for s in rows]}
                     for outcome, severity, rows in r.verdicts],
        "units": [{"id": u.unit.id, "label": u.label, "links_issued": u.figures.issued,
                   "links_used": u.figures.used, "turnout": _rate(u.figures.turnout),
                   "answers": u.figures.valid, "satisfied": _rate(u.figures.satisfied_share)} for u in r.units],
    }


@bp.get(f"{T}/campaigns/<int:campaign_id>/results")
def campaign_results(campaign_id: int):
    """The results page's figures (a unit admin: their subtree's)."""
    c = campaign_or_404(campaign_id)
    with replica_reads():
        return jsonify(results_json(c, rs.campaign_results(c, 1, g.access.unit_path)))


@bp.get(f"{T}/campaigns/<int:campaign_id>/results/subjects")
def result_subjects(campaign_id: int):
    """The subject table: ``q`` (name or unit), ``form``, ``sort`` (``results.dashboard.SORTS``),
    ``page`` and ``per_page`` (at most 500), sorted and paged by the database."""
    c = campaign_or_404(campaign_id)
    page = max(request.args.get("page", 1, type=int), 1)
    per_page = min(max(request.args.get("per_page", 100, type=int), 1), MAX_PER_PAGE)
    with replica_reads():
        total, lines = rs.subject_page(c, request.args.get("q", ""), request.args.get("form", type=int),
                                       request.args.get("sort", "rate"), g.access.unit_path, page, per_page)
    return jsonify({"total": total, "page": page, "per_page": per_page, "subjects": [
        {"id": ln.id, "label": ln.label, "kind": ln.kind, "form": ln.form, "unit": ln.unit, **_figures(ln.figures),
         "weighted": _rate(ln.weighted),
         "trend": None if ln.trend is None else {"direction": ln.trend.direction, "previous": ln.trend.previous,
                                                 "delta": ln.trend.delta}}
        for ln in lines]})


def job_json(j: Job) -> dict:
    slug = g.tenant.slug
    files = [{"id": f.id, "name": f.name, "mime": f.mime, "size": f.size, "download_once": f.once,
              "available": f.held, "url": url_for("api.job_file", slug=slug, job_id=j.id, file_id=f.id)}
             for f in jobs.files_of(j)]
    return {"id": j.id, "kind": j.kind, "state": j.state, "done": j.done, "total": j.total, "percent": j.percent,
            "error": j.error or None, "created_at": _iso(j.created_at), "finished_at": _iso(j.finished_at),
            "files": files, "url": url_for("api.job", slug=slug, job_id=j.id)}


@bp.post(f"{T}/campaigns/<int:campaign_id>/reports")
@require_role("admin")
def campaign_report(campaign_id: int):
    """Start a report job (``{"kind": "tally", "format": "xlsx"}``); follow it at its ``url``."""
    c = campaign_or_404(campaign_id)
    body = _body(schemas.ReportIn)
    job = reports.submit(c, body.get("kind", ""), body.get("format", "xlsx"), current_user.id)
    return jsonify(job_json(job)), 202


@bp.get(f"{T}/jobs/<int:job_id>")
def job(job_id: int):
    return jsonify(job_json(job_or_404(job_id)))


@bp.get(f"{T}/jobs/<int:job_id>/files/<int:file_id>")
def job_file(job_id: int, file_id: int):
    """The file's bytes; a download-once file (link lists) is gone after this (410 then), as is
    one nobody fetched within PINGYI_JOB_FILE_KEEP_DAYS."""
    f = downloadable_file(job_or_404(job_id), file_id)
    data = jobs.take_file(f)
    if data is None:
        return jsonify(error="downloaded already" if f.downloaded_at else "expired", status=410), 410
    return Response(data, mimetype=f.mime, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(f.name)}", "Cache-Control": "no-store"})
