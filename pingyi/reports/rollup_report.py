"""汇总报告 (roll-up report) as .xlsx or .pdf, from stored tallies only (never ballots).

With a campaign of the current tenant: its whole unit tree, every depth. Without one (an
oversight committee's report): every published campaign of every subordinate tenant — each read
in its own ``tenant_context``, only its totals and the units down to depth 1 — or, with
``source = {"tenant_id", "campaign_id"}``, just that one, which must be a subordinate's
published campaign (anything else is a ``LookupError``, so a job can never be steered into a
tenant the committee does not oversee). File contents are Chinese, like the other reports.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction
from xml.sax.saxutils import escape  # nosec B406 # escape() quotes text for reportlab's paragraph markup; nothing parses XML here

from sqlalchemy import select

from pingyi.extensions import db
from pingyi.models import PUBLISHED_STATES, Campaign, Tenant
from pingyi.oversight.subordinates import subordinates
from pingyi.results import dashboard as rs
from pingyi.results import rollup
from pingyi.results.tally import percent, stored_run
from pingyi.tenancy import get_scoped, require_tenant_id, tenant_context

COLUMNS = ("单位", "评议活动", "评议对象", "已评价", "覆盖率", "有效测评码", "已参评", "参评率", "有效回答", "满意率")
NOTE = ("覆盖率 = 已评价的评议对象 ÷ 评议对象；参评率 = 已参评（已使用的测评码）÷ 有效测评码；"
        "满意率 = 计入满意的回答 ÷ 有效回答。数据来自各评议活动最近一次统计结果。")


@dataclass
class Line:
    """One row: a campaign's total (``level`` 0) or a unit subtree (``level`` = depth + 1)."""

    unit: str
    campaign: str
    figures: rollup.Figures
    level: int

    def values(self) -> list[int | Fraction | None]:
        f = self.figures
        return [f.subjects, f.rated, f.coverage, f.issued, f.used, f.turnout, f.valid, f.satisfied_share]


def _run_totals(campaign_id: int) -> rollup.Figures:
    run = stored_run(campaign_id)
    return rollup.Figures.of(run) if run is not None else rollup.Figures()


def _campaign_lines(owner: str, c: Campaign, max_depth: int | None) -> list[Line]:
    """The campaign's total then its unit rows, inside the campaign's tenant scope."""
    out = [Line(f"{owner}（合计）", c.name, _run_totals(c.id), 0)]
    out += [Line(row.unit.name, c.name, row.figures, row.unit.depth + 1) for row in rs.unit_rows(c.id, max_depth)]
    return out


def _source_ids(source: dict) -> tuple[int, int]:
    try:
        return int(source["tenant_id"]), int(source["campaign_id"])
    except (KeyError, TypeError, ValueError):
        raise LookupError(f"bad roll-up source {source!r}") from None


def lines_for(c: Campaign | None, source: dict | None = None) -> tuple[str, list[Line]]:
    """(title, rows) of the report; see the module docstring for what ``c`` and ``source`` select."""
    me = db.session.get(Tenant, require_tenant_id())
    if c is not None:
        return f"{c.name} 汇总报告（按组织）", _campaign_lines(me.name, c, None)
    subs = subordinates(me)
    wanted = None
    if source:
        tenant_id, campaign_id = _source_ids(source)
        subs = [t for t in subs if t.id == tenant_id]
        if not subs:
            raise LookupError(f"tenant {tenant_id} is not a subordinate of {me.slug}")
        wanted = campaign_id
    out: list[Line] = []
    for sub in subs:
        with tenant_context(sub.id):
            if wanted is not None:
                one = get_scoped(Campaign, wanted)
                if one is None or one.state not in PUBLISHED_STATES:
                    raise LookupError(f"no published campaign {wanted} in tenant {sub.slug}")
                campaigns = [one]
            else:
                campaigns = db.session.execute(select(Campaign).where(Campaign.state.in_(PUBLISHED_STATES))
                                               .order_by(Campaign.published_at, Campaign.id)).scalars().all()
            for campaign in campaigns:
                out += _campaign_lines(sub.name, campaign, 1)
    if wanted is not None:
        return f"{subs[0].name} {out[0].campaign} 汇总报告", out
    return f"{me.name} 下级单位评议汇总报告", out


def make(fmt: str, c: Campaign | None, source: dict | None = None) -> bytes:
    """The report's bytes in ``fmt`` ("xlsx" or "pdf")."""
    title, rows = lines_for(c, source)
    if fmt == "xlsx":
        return workbook(title, rows)
    if fmt == "pdf":
        return pdf(title, rows)
    raise ValueError(f"unsupported roll-up format {fmt!r}")


def workbook(title: str, rows: list[Line]) -> bytes:
    """One sheet 汇总: title, Chinese header frozen with the unit column, rates as % formats."""
    from pingyi.xlsx import Workbook

    buf = io.BytesIO()
    wb = Workbook(buf, {"in_memory": True})
    head = wb.add_format({"bold": True, "bg_color": "#EFEFEF", "border": 1, "text_wrap": True, "valign": "vcenter",
                          "align": "center"})
    pct, bold_pct = wb.add_format({"num_format": "0.0%"}), wb.add_format({"num_format": "0.0%", "bold": True})
    bold = wb.add_format({"bold": True})
    ws = wb.add_worksheet("汇总")
    ws.write_string(0, 0, title, wb.add_format({"bold": True, "font_size": 14}))
    for col, text in enumerate(COLUMNS):
        ws.write_string(2, col, text, head)
    ws.freeze_panes(3, 1)
    ws.set_column(0, 0, 36)
    ws.set_column(1, 1, 24)
    ws.set_column(2, len(COLUMNS) - 1, 11)
    for r, line in enumerate(rows, start=3):
        total = line.level == 0
        ws.write_string(r, 0, "　" * (line.level - 1) + line.unit if not total else line.unit, bold if total else None)
        ws.write_string(r, 1, line.campaign)
        for col, v in enumerate(line.values(), start=2):
            if isinstance(v, Fraction):
                ws.write_number(r, col, float(v), bold_pct if total else pct)
            elif v is None:
                ws.write_blank(r, col, None)
            else:
                ws.write_number(r, col, v, bold if total else None)
    if not rows:
        ws.write_string(3, 0, "没有已公布的评议活动")
    ws.write_string(len(rows) + 4, 0, NOTE)
    wb.close()
    return buf.getvalue()


def pdf(title: str, rows: list[Line]) -> bytes:
    """A4 landscape: title, one table (header row repeated on every page), the definitions;
    the title heads every page, 第 x 页 / 共 y 页 at the foot. A campaign is named once — in the
    title, or (a subordinates' report) in a row above its rows — never on every row."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    from pingyi.fonts import register_pdf_font

    from . import pdfpages

    font = register_pdf_font()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=18 * mm, bottomMargin=18 * mm, title=title, author="pingyi")
    title_style = ParagraphStyle("title", fontName=font, fontSize=16, leading=22, spaceAfter=4 * mm)
    note_style = ParagraphStyle("note", fontName=font, fontSize=9, leading=12, textColor=colors.HexColor("#555555"))
    cell = ParagraphStyle("cell", fontName=font, fontSize=10, leading=12.5, wordWrap="CJK")
    indents = {}

    def unit_cell(line: Line) -> Paragraph:
        level = max(line.level - 1, 0)
        style = indents.setdefault(level, ParagraphStyle(f"unit{level}", parent=cell, leftIndent=level * 10))
        return Paragraph(escape(line.unit), style)

    columns = [col for col in COLUMNS if col != "评议活动"]
    campaigns = {line.campaign for line in rows}
    grouped = len(campaigns) > 1 or not all(name in title for name in campaigns)  # else the title names it
    data: list[list] = [columns]
    style = [("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 10),
             ("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EFEFEF")),
             ("ALIGN", (1, 0), (-1, -1), "RIGHT"), ("ALIGN", (0, 0), (-1, 0), "CENTER"),
             ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
    for i, line in enumerate(rows):
        if grouped and (i == 0 or line.campaign != rows[i - 1].campaign):
            n = len(data)  # the campaign's name once, above its rows, kept with the first of them
            data.append([Paragraph(f"<b>{escape(line.campaign)}</b>", cell)] + [""] * (len(columns) - 1))
            style += [("SPAN", (0, n), (-1, n)), ("BACKGROUND", (0, n), (-1, n), colors.HexColor("#F4F6F8")),
                      ("NOSPLIT", (0, n), (-1, n + 1))]
        if line.level == 0:
            style.append(("BACKGROUND", (0, len(data)), (-1, len(data)), colors.HexColor("#FDF1F1")))
        data.append([unit_cell(line)] + [percent(v) if isinstance(v, Fraction) or v is None else str(v)
                                         for v in line.values()])
    unit_width = 90 * mm
    widths = [unit_width] + [(doc.width - unit_width) / (len(columns) - 1)] * (len(columns) - 1)
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle(style))
    story = [Paragraph(escape(title), title_style), table if rows else Paragraph("没有已公布的评议活动", cell),
             Spacer(1, 4 * mm), Paragraph(escape(NOTE), note_style)]
    doc.build(story, canvasmaker=pdfpages.canvasmaker(doc, font, title, ""))
    return buf.getvalue()
