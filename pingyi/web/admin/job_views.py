"""Job pages: progress of a worker job, its error and retry, its download-once files."""

from __future__ import annotations

from flask import Response, current_app, flash, redirect, render_template, url_for

from pingyi import jobs
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.web.access import downloadable_file, job_or_404, require_role

from . import bp


@bp.route("/jobs/<int:job_id>")
def job(job_id: int):
    j = job_or_404(job_id)  # a unit admin: only a job they started
    return render_template("admin/job.html", job=j, files=jobs.files_of(j))


@bp.route("/jobs/<int:job_id>/retry", methods=["POST"])
@require_role("admin")
def job_retry(job_id: int):
    j = job_or_404(job_id)
    if j.state != "failed":
        flash(_("只有失败的任务可以重试"), "error")
    else:
        j.state, j.done = "queued", 0
        db.session.commit()
        jobs.requeue(j)
    return redirect(url_for(".job", job_id=j.id))


@bp.route("/jobs/<int:job_id>/files/<int:file_id>")
def job_file(job_id: int, file_id: int):
    """Link lists are secrets: only admins download them, and only once."""
    j = job_or_404(job_id)
    f = downloadable_file(j, file_id)
    data = jobs.take_file(f)
    if data is None:
        flash(_("该文件已下载过，为保密不再保留；如需要请作废后重新发放") if f.downloaded_at else
              _("该文件超过 %(n)d 天未下载，已删除；如需要请重新生成", n=current_app.config["JOB_FILE_KEEP_DAYS"]),
              "error")
        return redirect(url_for(".job", job_id=j.id))
    from urllib.parse import quote

    return Response(data, mimetype=f.mime, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(f.name)}", "Cache-Control": "no-store"})
