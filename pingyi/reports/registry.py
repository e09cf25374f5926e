"""Report files, made from the stored tally (never from ballots) as a worker job (``report``,
on the ``reports`` queue) or by ``pingyi report``; the bytes are stored on the job like any
job file, and only once complete, so nothing half-written is offered.

Kinds: 统计表 ``tally`` (``tally_table``), 意见汇总表 ``opinions`` (``opinions``), the summary
report ``summary`` (``summary``) and the roll-up ``rollup`` (``rollup_report``): of one campaign
through its unit tree, or — with no campaign — of the subordinate tenants' published campaigns,
for an oversight committee."""

from __future__ import annotations

from pingyi import jobs
from pingyi.errors import DomainError
from pingyi.i18n import _
from pingyi.models import Campaign
from pingyi.replica import replica_reads
from pingyi.results.live_view import refuse_open
from pingyi.results.tally import stored_run
from pingyi.tenancy import get_scoped

KINDS = {"tally": ("xlsx",), "opinions": ("xlsx",), "summary": ("docx", "pdf"), "rollup": ("xlsx", "pdf")}
KIND_LABELS = {"tally": "统计表", "opinions": "意见汇总表", "summary": "评议工作总结", "rollup": "汇总报告"}
NEEDS_CAMPAIGN = ("tally", "opinions", "summary")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MIME = {"xlsx": XLSX, "pdf": "application/pdf",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def check(c: Campaign | None, kind: str, fmt: str) -> None:
    """Refuse what cannot be made, before a job is queued."""
    if kind not in KINDS or fmt not in KINDS[kind]:
        raise DomainError(_("暂不支持该报表：%(k)s / %(f)s", k=kind, f=fmt), "kind")
    if c is None:
        if kind in NEEDS_CAMPAIGN:
            raise DomainError(_("该报表需要指定评议活动"), "campaign")
        return
    refuse_open(c)  # every kind holds figures the open campaign may not show yet
    if stored_run(c.id) is None:
        raise DomainError(_("该评议活动尚未统计，请先统计"), "tally")


def _build(c: Campaign | None, kind: str, fmt: str, source: dict | None) -> bytes:
    if kind == "tally":
        from . import tally_table

        return tally_table.workbook(c)
    if kind == "opinions":
        from . import opinions

        return opinions.workbook(c)
    if kind == "summary":
        from . import summary

        return summary.docx(c) if fmt == "docx" else summary.pdf(c)
    from . import rollup_report

    return rollup_report.make(fmt, c, source)


def make(c: Campaign | None, kind: str, fmt: str, source: dict | None = None) -> tuple[str, str, bytes]:
    """(file name, MIME type, bytes) of one report. ``c`` is None for a cross-tenant roll-up;
    ``source`` ({"tenant_id", "campaign_id"}) narrows that one to a subordinate's campaign.
    Read from the replica when there is one (``pingyi.replica``): the job writes the file after."""
    with replica_reads():
        check(c, kind, fmt)
        data = _build(c, kind, fmt, source)
    return f"{c.name if c else _('下级单位')}-{KIND_LABELS[kind]}.{fmt}", MIME[fmt], data


def submit(c: Campaign | None, kind: str, fmt: str, user_id: int | None = None, run_here: bool = False,
           source: dict | None = None):
    """Queue a report job on the ``reports`` queue (or run it here); refuses bad input first."""
    check(c, kind, fmt)
    return jobs.submit("report", {"campaign_id": c.id if c else None, "kind": kind, "format": fmt,
                                  "source": source}, total=1, user_id=user_id, run_here=run_here)


@jobs.handles("report", queue="reports")
def run_report_job(job) -> None:
    c = None
    if job.params.get("campaign_id") is not None:
        c = get_scoped(Campaign, job.params["campaign_id"])
        if c is None:
            raise LookupError(f"no campaign {job.params['campaign_id']}")
    name, mime, data = make(c, job.params["kind"], job.params["format"], job.params.get("source"))
    jobs.add_file(job, name, mime, data)
    job.result = {"file": name, "bytes": len(data)}
    job.done = job.total = 1
