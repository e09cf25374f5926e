"""The list of decisions as a spreadsheet (through ``pingyi.xlsx``: typed text never runs)."""

from __future__ import annotations

import io

from pingyi.models import Campaign
from pingyi.xlsx import Workbook

from .records import rows

HEADER = ("评议对象", "所在单位", "运用方式", "复核意见", "决定日期", "备注")


def workbook(c: Campaign) -> bytes:
    buf = io.BytesIO()
    wb = Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet("结果运用")
    bold = wb.add_format({"bold": True})
    ws.write(0, 0, f"{c.name} 结果运用情况", bold)
    ws.write_row(2, 0, HEADER, bold)
    for i, r in enumerate(rows(c), start=3):
        ws.write_row(i, 0, (r.subject, r.unit, r.label, r.review, r.decided_on.isoformat(), r.note))
    for col, width in enumerate((24, 24, 14, 50, 12, 30)):
        ws.set_column(col, col, width)
    ws.repeat_rows(2)
    wb.close()
    return buf.getvalue()
