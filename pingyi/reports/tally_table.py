"""统计表 (tally table) workbook, from the stored tally: a summary sheet with one row per unit
subtree (subjects, 覆盖率, links, 参评率, answers, 满意率, 不满意; and, once the campaign has a
整改台账, its items, finished and overdue ones), then one sheet per form with a row per subject
and, per item, the count of each choice and the item's satisfaction rate."""

from __future__ import annotations

import io
from collections import defaultdict
from fractions import Fraction

from sqlalchemy import select

from pingyi.extensions import db
from pingyi.models import Campaign, Form, FormItem, FormSection, Scale, ScaleChoice, Subject, Unit, utcnow
from pingyi.org.orgtree import unit_label
from pingyi.rectification import overdue
from pingyi.results import dashboard as rs
from pingyi.tenancy import tenant_sql
from pingyi.xlsx import Workbook

LEDGER_COLUMNS = ("整改事项", "已完成（含已验收）", "逾期未完成")
_CELLS = ("SELECT subject_id, item_id, choice_id, SUM(count) FROM tally_counts "
          "WHERE tenant_id = :tenant_id AND campaign_id = :campaign_id GROUP BY subject_id, item_id, choice_id")


def _share(part: int, whole: int) -> float | None:
    return float(Fraction(part, whole)) if whole else None


def _rate(ws, row: int, col: int, share: float | None, fmt) -> None:
    """A percentage cell; empty where there is nothing to divide by."""
    if share is None:
        ws.write_blank(row, col, None)
    else:
        ws.write_number(row, col, share, fmt)


def _rating_items(form_id: int) -> list[tuple[FormItem, list[ScaleChoice]]]:
    items = db.session.execute(
        select(FormItem).join(FormSection, FormSection.id == FormItem.section_id)
        .where(FormItem.form_id == form_id, FormItem.kind == "rating")
        .order_by(FormSection.position, FormItem.position)).scalars().all()
    scales = {s.id: s for s in db.session.execute(select(Scale).where(Scale.form_id == form_id)).scalars()}
    choices = defaultdict(list)
    for ch in db.session.execute(select(ScaleChoice).where(ScaleChoice.scale_id.in_(list(scales)))
                                 .order_by(ScaleChoice.position)).scalars():
        choices[ch.scale_id].append(ch)
    return [(it, choices[it.scale_id]) for it in items]


def workbook(c: Campaign) -> bytes:
    """统计表.xlsx: 汇总 (per unit subtree) then one sheet per form."""
    buf = io.BytesIO()
    wb = Workbook(buf, {"in_memory": True})
    head = wb.add_format({"bold": True, "bg_color": "#EFEFEF", "border": 1, "text_wrap": True, "valign": "vcenter",
                          "align": "center"})
    pct = wb.add_format({"num_format": "0.0%"})
    bold_pct = wb.add_format({"num_format": "0.0%", "bold": True})
    title = wb.add_format({"bold": True, "font_size": 14})
    _summary_sheet(wb, c, head, pct, title)
    cells = defaultdict(int)
    for subject, item, choice, n in tenant_sql(_CELLS, campaign_id=c.id).all():
        cells[(subject, item, choice)] += int(n)
    subjects = db.session.execute(select(Subject).where(Subject.campaign_id == c.id)
                                  .order_by(Subject.form_id, Subject.position, Subject.id)).scalars().all()
    units = {u.id: u for u in db.session.execute(select(Unit)).scalars()}
    by_form = defaultdict(list)
    for s in subjects:
        by_form[s.form_id].append(s)
    forms = {f.id: f for f in db.session.execute(select(Form).where(Form.id.in_(list(by_form)))).scalars()}
    used_names: set[str] = {"汇总"}
    for form_id, rows in by_form.items():
        name = sheet_name(forms[form_id].name, used_names)
        _form_sheet(wb.add_worksheet(name), forms[form_id], rows, _rating_items(form_id), cells, units,
                    head, pct, bold_pct)
    wb.close()
    return buf.getvalue()


def sheet_name(name: str, used: set[str]) -> str:
    """Excel: ≤ 31 characters, none of []:*?/\\, unique."""
    base = "".join(ch for ch in name if ch not in "[]:*?/\\")[:28] or "表"
    out, i = base, 2
    while out in used:
        out, i = f"{base[:26]}{i}", i + 1
    used.add(out)
    return out


def _summary_sheet(wb, c: Campaign, head, pct, title) -> None:
    ws = wb.add_worksheet("汇总")
    ws.write_string(0, 0, f"{c.name} 统计表（按组织汇总）", title)
    columns = ["单位（含下级）", "评议对象", "已评价对象", "覆盖率", "有效测评码", "已参评", "参评率", "有效回答",
               "满意（含比较满意）", "满意率", "不满意（最低档）", "不满意率"]
    for col, text in enumerate(columns):
        ws.write_string(2, col, text, head)
    ws.freeze_panes(3, 1)
    ws.set_column(0, 0, 46)
    ws.set_column(1, len(columns) - 1, 11)
    ledger = overdue.counts_by_subtree(c.id, utcnow())  # 整改台账 as recorded today, when it has items
    if ledger:
        for col, text in enumerate(LEDGER_COLUMNS, start=len(columns)):
            ws.write_string(2, col, text, head)
    for r, row in enumerate(rs.unit_rows(c.id, None), start=3):
        f = row.figures
        ws.write_string(r, 0, "　" * row.unit.depth + row.unit.name)
        values = [f.subjects, f.rated, _share(f.rated, f.subjects), f.issued, f.used, _share(f.used, f.issued),
                  f.valid, f.satisfied, _share(f.satisfied, f.valid), f.lowest, _share(f.lowest, f.valid)]
        if ledger:
            items = ledger.get(row.unit.id, overdue.Counts())
            values += [items.total, sum(items.by_state.get(k, 0) for k in ("done", "verified")), items.overdue]
        for col, v in enumerate(values, start=1):
            if isinstance(v, int):
                ws.write_number(r, col, v)
            else:
                _rate(ws, r, col, v, pct)


def _form_sheet(ws, form: Form, subjects: list[Subject], items, cells, units, head, pct, bold_pct) -> None:
    """Two header rows: each item spans its choices and its rate; frozen below and right of them."""
    ws.merge_range(0, 0, 1, 0, "评议对象", head)
    ws.merge_range(0, 1, 1, 1, "所在单位", head)
    col = 2
    for it, choices in items:
        span = len(choices) + 1
        if span > 1:
            ws.merge_range(0, col, 0, col + span - 1, it.text, head)
        for j, ch in enumerate(choices):
            ws.write_string(1, col + j, ch.label, head)
        ws.write_string(1, col + len(choices), "满意率", head)
        col += span
    ws.merge_range(0, col, 0, col + 1, "合计", head)
    ws.write_string(1, col, "有效回答", head)
    ws.write_string(1, col + 1, "满意率", head)
    ws.set_row(0, 48)
    ws.freeze_panes(2, 1)
    ws.set_column(0, 0, 24)
    ws.set_column(1, 1, 40)
    ws.set_column(2, col + 1, 9)
    for r, s in enumerate(subjects, start=2):
        ws.write_string(r, 0, s.label)
        unit = units.get(s.unit_id)
        ws.write_string(r, 1, unit_label(unit, units) if unit else "")
        c, total, satisfied = 2, 0, 0
        for it, choices in items:
            n_item = sat_item = 0
            for ch in choices:
                n = cells.get((s.id, it.id, ch.id), 0)
                ws.write_number(r, c, n)
                n_item += n
                sat_item += n if ch.counts_as_satisfied else 0
                c += 1
            _rate(ws, r, c, _share(sat_item, n_item), pct)
            c += 1
            total, satisfied = total + n_item, satisfied + sat_item
        ws.write_number(r, c, total)
        _rate(ws, r, c + 1, _share(satisfied, total), bold_pct)
