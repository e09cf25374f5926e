"""Bulk link issuing, as a job: e.g. 15 unit evaluators for each of 349 branches. Produces the
links once, as files (CSV, Excel, a PDF of QR slips) that can each be downloaded once.

Idempotent: a retried job first deletes the unused links its failed attempt left (nobody
ever received them: the files are written only at the end), then issues them all again.

Hand-out order (三重随机): every file lists the slips in the order they are printed and handed
out, and within each unit that order is a fresh random permutation (``secrets.SystemRandom``),
not the serial order. Units stay in tree order, each unit's slips together (one stack per unit
meeting); the serial printed on a slip ("No.0007", for revoking it or finding a sampled slip)
says nothing about who was handed it, since the stack does not follow it.
"""

from __future__ import annotations

import csv
import io
import secrets
import time
from typing import NamedTuple

from sqlalchemy import delete, or_, select

from pingyi import jobs
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.fonts import FontMissing
from pingyi.i18n import _
from pingyi.models import BallotToken, Campaign, EvaluatorCategory, Job, Unit
from pingyi.org import orgtree
from pingyi.org.orgtree import subtree_filter
from pingyi.xlsx import Workbook, neutral

from . import slips, tokens

CHUNK = 5000
PDF_PART_SLIPS = 5000  # slips per PDF file (417 A4 pages): see ``pdf_parts``
HEADERS = ["单位", "参评类别", "序号", "测评链接", "短码"]


def plan_units(root: Unit, unit_kinds: list[str] | None) -> list[Unit]:
    """The units to issue for: ``root`` itself, or every unit of ``unit_kinds`` in its subtree."""
    if not unit_kinds:
        return [root]
    q = select(Unit).where(subtree_filter(root.path), Unit.kind.in_(unit_kinds)).order_by(Unit.path)
    return db.session.execute(q).scalars().all()


def submit_issue(campaign: Campaign, category: EvaluatorCategory, root: Unit, unit_kinds: list[str] | None,
                 per_unit: int, base_url: str, user_id: int | None = None, run_here: bool = False) -> Job:
    """Validate the request, then queue the job (or run it in-process without Redis)."""
    if campaign.state not in ("draft", "open"):
        raise DomainError(_("只有草稿或进行中的评议活动可以发放测评码"))
    if category.campaign_id != campaign.id:
        raise DomainError(_("参评类别不属于该评议活动"), "category")
    units = plan_units(root, unit_kinds)
    if not units:
        raise DomainError(_("所选范围内没有这些类型的单位"), "unit_kinds")
    if not 1 <= per_unit <= 1000:
        raise DomainError(_("每个单位的数量应在 1 到 1000 之间"), "count")
    if len(units) * per_unit > tokens.MAX_PER_CALL:
        raise DomainError(_("一次最多发放 %(n)d 个测评码", n=tokens.MAX_PER_CALL), "count")
    params = {"campaign_id": campaign.id, "category_id": category.id, "unit_ids": [u.id for u in units],
              "per_unit": per_unit, "base_url": base_url.rstrip("/")}
    return jobs.submit("issue_links", params, total=len(units) * per_unit, user_id=user_id, run_here=run_here)


class IssuedRow(NamedTuple):
    unit: Unit
    parent_name: str  # branches of different mines share names (供应一队党支部): the parent tells them apart
    category: EvaluatorCategory
    links: tokens.Links


def issued_table(campaign: Campaign) -> list[IssuedRow]:
    """Each (unit, category) that holds live links, with how many were issued and used, in
    tree order (the links page's table)."""
    counts = {k: n for k, n in tokens.link_counts(campaign.id, ("unit", "category")).items() if n.issued}
    held = {u for u, _k in counts}
    units = {u.id: u for u in db.session.execute(select(Unit).where(or_(  # with their parents, in one read
        Unit.id.in_(held), Unit.id.in_(select(Unit.parent_id).where(Unit.id.in_(held)))))).scalars()}
    categories = {k.id: k for k in db.session.execute(
        select(EvaluatorCategory).where(EvaluatorCategory.campaign_id == campaign.id)).scalars()}
    rows = [IssuedRow(units[u], units[units[u].parent_id].name if units[u].parent_id in units else "",
                      categories[k], n) for (u, k), n in counts.items()]
    return sorted(rows, key=lambda r: (r.unit.path, r.category.position, r.category.id))


@jobs.handles("issue_links", queue="bulk")
def run_issue_job(job: Job) -> None:
    p = job.params
    campaign = db.session.get(Campaign, p["campaign_id"])
    category = db.session.get(EvaluatorCategory, p["category_id"])
    if campaign is None or category is None:
        raise DomainError(_("评议活动或参评类别已不存在"))
    clock, timings = time.perf_counter(), {}

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 2)
        clock = now

    db.session.execute(delete(BallotToken).where(BallotToken.batch_id == job.id, BallotToken.used.is_(False)))
    all_units = {u.id: u for u in db.session.execute(select(Unit)).scalars()}
    units = [all_units[i] for i in p["unit_ids"] if i in all_units]
    labels = {u.id: orgtree.unit_label(u, all_units) for u in units}
    links: list[tokens.IssuedLink] = []
    step = max(1, CHUNK // p["per_unit"])
    for i in range(0, len(units), step):
        links += tokens.issue_many(campaign, category, units[i:i + step], p["per_unit"], batch_id=job.id)
        jobs.progress(job, len(links) // 2)  # the first half of the work: links; the second: files
    lap("links_s")
    base = p["base_url"]
    rows = [(labels[ln.unit_id], category.name, ln.serial, f"{base}/b/{ln.secret}", tokens.format_code(ln.short_code))
            for ln in hand_out_order(links)]
    stem = f"测评码-{campaign.name}-{category.name}-{job.id}"
    jobs.add_file(job, f"{stem}.csv", "text/csv", links_csv(rows), once=True)
    jobs.add_file(job, f"{stem}.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                  links_xlsx(rows), once=True)
    lap("tables_s")
    half, done = len(links) // 2, 0
    pages, pdf_error, parts = 0, "", pdf_parts([r[0] for r in rows], PDF_PART_SLIPS)
    try:
        for n, (start, end) in enumerate(parts, 1):
            buf = io.BytesIO()
            pages += slips.render(
                (slips.Slip(campaign.name, r[0], r[1], r[2], r[3], r[4]) for r in rows[start:end]), buf,
                footer=_("扫码评议，或访问 %(url)s 输入短码", url=f"{base}/c"),
                on_progress=lambda k, done=done: jobs.progress(job, half + (done + k) // 2))
            name = f"{stem}.pdf" if len(parts) == 1 else f"{stem}-{_('第%(n)d册', n=n)}.pdf"
            jobs.add_file(job, name, "application/pdf", buf.getvalue(), once=True)
            done += end - start
            del buf  # one part in memory at a time
    except FontMissing as exc:  # the lists are still delivered; the page says what to install
        pdf_error = str(exc)
    lap("pdf_s")
    db.session.flush()
    lap("store_s")
    job.result = {"links": len(links), "units": len(units), "pdf_pages": pages, "pdf_parts": len(parts),
                  "timings": timings, "pdf_error": pdf_error}
    job.done = job.total = len(links)


def hand_out_order(links: list[tokens.IssuedLink]) -> list[tokens.IssuedLink]:
    """The order the slips are printed and handed out in: each unit's links together, units in
    the order given, within a unit a random permutation from the operating system's generator
    (an order seeded or derived from anything stored could be replayed to match serials to
    places in the stack)."""
    shuffle, by_unit = secrets.SystemRandom().shuffle, {}
    for ln in links:
        by_unit.setdefault(ln.unit_id, []).append(ln)
    for stack in by_unit.values():
        shuffle(stack)
    return [ln for stack in by_unit.values() for ln in stack]


def pdf_parts(units: list[str], most: int) -> list[tuple[int, int]]:
    """Slices of the hand-out order, one PDF each, of at most ``most`` slips where a unit's
    stack allows: a part ends at a unit's end when it can (a unit larger than ``most`` gets
    parts of its own). The PDF library holds every page of a file until it is written, so a
    part bounds the job's memory (100 000 slips in one file took 0.85 GB)."""
    parts, start, i, n = [], 0, 0, len(units)
    while i < n:
        j = i
        while j < n and units[j] == units[i]:
            j += 1  # [i, j): one unit's stack
        if j - start > most and i > start:
            parts.append((start, i))
            start = i
        while j - start > most:  # a unit alone beyond the bound
            parts.append((start, start + most))
            start += most
        i = j
    if start < n:
        parts.append((start, n))
    return parts


def links_csv(rows: list[tuple]) -> bytes:
    """UTF-8 with BOM so Excel on Windows shows the Chinese columns correctly; Excel opens it
    too, so a unit or category named like a formula is neutralised as in the xlsx."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(HEADERS)
    writer.writerows([neutral(v) if isinstance(v, str) else v for v in r] for r in rows)
    return buf.getvalue().encode("utf-8-sig")


def links_xlsx(rows: list[tuple]) -> bytes:
    """XlsxWriter in constant-memory mode: rows stream out (openpyxl took 13 s for 100 000)."""
    buf = io.BytesIO()
    wb = Workbook(buf, {"constant_memory": True, "in_memory": False})
    ws = wb.add_worksheet("测评码")
    head = wb.add_format({"bold": True, "bg_color": "#F2F2F2"})
    for col, width in enumerate((40, 12, 8, 60, 18)):
        ws.set_column(col, col, width)
    ws.freeze_panes(1, 0)
    ws.write_row(0, 0, HEADERS, head)
    for n, r in enumerate(rows, start=1):
        ws.write_row(n, 0, r)
    wb.close()
    return buf.getvalue()
