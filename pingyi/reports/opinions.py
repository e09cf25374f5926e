"""意见汇总表 (seed 003): the free-text opinions of a campaign, a sheet per form ("基层党组织…
意见汇总表", "党员…意见汇总表"), grouped by subject and item, each naming the evaluator
category only where the subject's breakdown shows it (``results.suppression``); plus a count per
subject and category, hidden for the same categories.

Streamed: comments are read in batches and written row by row (xlsxwriter's constant-memory
mode), never held whole — exports of large response sets run out of memory elsewhere."""

from __future__ import annotations

import io

from sqlalchemy import select

from pingyi.campaigns.lifecycle import categories
from pingyi.extensions import db
from pingyi.models import Campaign, Comment, Form, FormItem, FormSection, Subject, Unit
from pingyi.org.orgtree import unit_label
from pingyi.results import suppression as sup
from pingyi.xlsx import Workbook

from .tally_table import sheet_name

BATCH = 2000
COLUMNS = ("序号", "评议对象", "所在单位", "评议内容", "意见建议", "参评人员类别")


def workbook(c: Campaign) -> bytes:
    """The workbook's bytes: 按对象统计, then one sheet per form with every opinion."""
    splits = sup.subject_breakdowns(c.id)
    names = {k.id: k.name for k in categories(c)}
    units = {u.id: u for u in db.session.execute(select(Unit)).scalars()}
    forms = db.session.execute(select(Form).where(Form.id.in_(
        select(Subject.form_id).where(Subject.campaign_id == c.id))).order_by(Form.id)).scalars().all()
    buf = io.BytesIO()
    wb = Workbook(buf, {"constant_memory": True})
    head = wb.add_format({"bold": True, "bg_color": "#EFEFEF", "border": 1, "align": "center", "valign": "vcenter"})
    title = wb.add_format({"bold": True, "font_size": 14})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    used = {"按对象统计"}
    counts_ws = wb.add_worksheet("按对象统计")
    sheets = [(f, wb.add_worksheet(sheet_name(f"{f.name}意见汇总表", used))) for f in forms]

    counts = _subject_counts(c.id)
    _counts_sheet(counts_ws, c, counts, names, splits, units, head, title)
    for form, ws in sheets:
        ws.write_string(0, 0, f"《{form.name}》群众评议意见汇总表（{c.name}）", title)
        for col, text in enumerate(COLUMNS):
            ws.write_string(2, col, text, head)
        ws.freeze_panes(3, 0)
        for col, width in enumerate((6, 22, 36, 30, 70, 12)):
            ws.set_column(col, col, width)
        row = 3
        query = (select(Subject.label, Subject.unit_id, FormItem.text, Comment.text, Comment.category_id,
                        Comment.subject_id)
                 .join(Subject, Subject.id == Comment.subject_id).join(FormItem, FormItem.id == Comment.item_id)
                 .join(FormSection, FormSection.id == FormItem.section_id)
                 .where(Comment.campaign_id == c.id, Subject.form_id == form.id)
                 .order_by(Subject.position, Subject.id, FormSection.position, FormItem.position, Comment.text)
                 .execution_options(yield_per=BATCH))
        for label, unit_id, item, text, category, subject_id in db.session.execute(query):
            unit = units.get(unit_id)
            ws.write_number(row, 0, row - 2)
            ws.write_string(row, 1, label)
            ws.write_string(row, 2, unit_label(unit, units) if unit else "")
            ws.write_string(row, 3, item)
            ws.write_string(row, 4, text, wrap)
            ws.write_string(row, 5, splits.get(subject_id, sup.Breakdown()).name(category, names.get(category, "")))
            row += 1
        if row == 3:
            ws.write_string(3, 0, "（没有意见建议）")
        ws.autofilter(2, 0, max(row - 1, 3), len(COLUMNS) - 1)
    wb.close()
    return buf.getvalue()


def _subject_counts(campaign_id: int) -> dict[int, dict[int, int]]:
    """subject → category → number of opinions."""
    out: dict[int, dict[int, int]] = {}
    for subject_id, category, n in db.session.execute(
            select(Comment.subject_id, Comment.category_id, db.func.count())
            .where(Comment.campaign_id == campaign_id).group_by(Comment.subject_id, Comment.category_id)).all():
        out.setdefault(subject_id, {})[category] = int(n)
    return out


def _counts_sheet(ws, c: Campaign, counts, names, splits, units, head, title) -> None:
    """One row per subject with opinions: the total and, per category, the count or "<k"
    where the subject's breakdown hides that category."""
    ws.write_string(0, 0, f"{c.name} 意见建议条数（按评议对象）", title)
    ws.write_string(1, 0, f"“{sup.label()}”：该类参评人员不足 {sup.min_cell()} 人，或可由合计推算出这样的类别，不单独列出。")
    cats = list(names)
    for col, text in enumerate(["评议对象", "所在单位", "意见建议（条）", *names.values()]):
        ws.write_string(2, col, text, head)
    ws.freeze_panes(3, 1)
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 36)
    ws.set_column(2, 2 + len(cats), 12)
    subjects = db.session.execute(select(Subject.id, Subject.label, Subject.unit_id).where(
        Subject.id.in_(list(counts))).order_by(Subject.form_id, Subject.position, Subject.id)).all()
    for r, (subject_id, label, unit_id) in enumerate(subjects, start=3):
        unit = units.get(unit_id)
        ws.write_string(r, 0, label)
        ws.write_string(r, 1, unit_label(unit, units) if unit else "")
        ws.write_number(r, 2, sum(counts[subject_id].values()))
        for col, k in enumerate(cats, start=3):
            if not splits.get(subject_id, sup.Breakdown()).shown(k):
                ws.write_string(r, col, sup.label())
            else:
                ws.write_number(r, col, counts[subject_id].get(k, 0))
