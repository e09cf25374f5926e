"""Reports that print (issue 17 item 6): every PDF page carries the running header and
"第 x 页 / 共 y 页"; a table that does not fit under the title starts on page 1 and splits, its
header row repeated, instead of leaving page 1 half blank; the roll-up PDF names its campaign
once, not on every row; the Word tables have fixed widths that fit the page and a header row
Word repeats (``w:tblHeader``). Charts in the files are placed at the width they were drawn for,
so their type is read at the size it was set in."""

from __future__ import annotations

import io
import re
import struct
from pathlib import Path

import docx as docxlib
import pypdfium2
import pytest
from docx.oxml.ns import qn
from docx.shared import Cm
from sqlalchemy import select

from pingyi.campaigns import lifecycle as cp
from pingyi.extensions import db
from pingyi.models import Campaign, Unit
from pingyi.reports import charts, rollup_report, summary
from pingyi.reports.summary import Block
from pingyi.results.rollup import Figures
from pingyi.tenancy import tenant_context
from tests.ballot_world import build, close_and_count, vote

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted
ARTIFACTS = Path(__file__).parents[1] / "artifacts"
HEADER = ("单位", "覆盖率", "参评率", "回答", "满意率")


def _pages(data: bytes) -> list[str]:
    pdf = pypdfium2.PdfDocument(data)
    return [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _assert_paged(pages: list[str], *header: str) -> None:
    """Each page: the header's texts and its own 第 x 页 / 共 y 页."""
    for n, text in enumerate(pages, start=1):
        flat = _flat(text)
        for part in header:
            assert _flat(part) in flat, (n, part)
        assert f"第{n}页/共{len(pages)}页" in flat, (n, text[-80:])


def _long_table_blocks(rows: int) -> list[Block]:
    """Page 1 as the demo's summary has it: title, a paragraph, then table 1 — long enough
    that it fits on a page of its own but not under the paragraph."""
    para = "平庄煤业“某评议活动”群众评议活动全面铺开，在所属23个党委、40个党总支、349个党支部中广泛开展。" * 5
    table = tuple((f"测试单位{i:02d}", "100.0%", "98.0%", str(1000 + i), "97.5%") for i in range(1, rows + 1))
    return [Block("title", "《某评议活动》评议工作总结"), Block("note", "（数据截至某日，第1次统计）"),
            Block("heading", "一、全面铺开，广泛开展"), Block("para", para),
            Block("caption", "表1  各单位评议情况（含下级单位）"), Block("table", header=HEADER, rows=table),
            Block("sign", "平庄煤业")]


def test_a_table_that_does_not_fit_under_the_title_starts_on_page_one_and_splits():
    pages = _pages(summary.render_pdf(_long_table_blocks(30), "某评议活动"))
    assert len(pages) == 2
    _assert_paged(pages, "某评议活动", summary.REPORT)
    first, second = (_flat(p) for p in pages)
    assert "表1" in first and "".join(HEADER) in first and "测试单位01" in first  # not pushed to page 2
    assert "测试单位30" in second and "".join(HEADER) in second  # the header row again where it goes on
    assert all(f"测试单位{i:02d}" in first + second for i in range(1, 31))


def _voted(app, world) -> int:
    with app.app_context():
        bw = build(world)
        with tenant_context(world.a.id):  # rules, so that the summary lists subjects in tables 2 and 3
            cp.add_preset(db.session.get(Campaign, bw.campaign_id), "seed001-3")
            db.session.commit()
        vote(world, bw, bw.own[:3], (0, 1, 3))
        vote(world, bw, bw.other_branch[:1], (3,))
        close_and_count(world, bw)
    return bw.campaign_id


def _png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG")
    return struct.unpack(">II", data[16:24])


def test_summary_pdf_pages_and_charts(app, world):
    campaign_id = _voted(app, world)
    with app.app_context(), tenant_context(world.a.id):
        c = db.session.get(Campaign, campaign_id)
        name, data = c.name, summary.pdf(c)
    pages = _pages(data)
    assert len(pages) >= 2
    _assert_paged(pages, name, summary.REPORT)
    assert "表1" in _flat(pages[0]) and "".join(HEADER) in _flat(pages[0])
    pdf = pypdfium2.PdfDocument(data)
    images = [obj for i in range(len(pdf))
              for obj in pdf[i].get_objects(filter=(pypdfium2.raw.FPDF_PAGEOBJ_IMAGE,))]
    assert len(images) == 2  # the items' rates and the distribution
    for image in images:
        left, _bottom, right, _top = image.get_bounds()
        assert abs((right - left) - charts.PNG_WIDTH * 72) < 1  # at the width drawn for: 1 pt is 1 pt
    ARTIFACTS.mkdir(exist_ok=True)
    for i in range(len(pdf)):
        pdf[i].render(scale=1).to_pil().save(ARTIFACTS / f"summary-print-{i + 1}.png")


def test_chart_pictures_are_drawn_at_the_size_they_are_shown():
    """No trimming to change the size: a PNG is ``PNG_WIDTH`` inches at ``PNG_DPI``, an SVG
    ``SVG_WIDTH`` inches, and no text in them is set under ``FONT`` (10.5 pt)."""
    png = charts.rate_bars(["甲", "乙"], [0.5, 0.9], "标题", fmt="png", threshold=0.6)
    assert _png_size(png)[0] == round(charts.PNG_WIDTH * charts.PNG_DPI)
    png = charts.distribution([("满意", 3), ("不满意", 1)], "分布", fmt="png", tones={"满意": 0, "不满意": 1})
    assert _png_size(png)[0] == round(charts.PNG_WIDTH * charts.PNG_DPI)
    for svg in (charts.rate_bars(["一个很长很长很长很长的评议内容名称", "乙"], [0.5, None], "标题"),
                charts.distribution([("满意", 3), ("不满意", 1)], "分布", tones={"满意": 0, "不满意": 1})):
        text = svg.decode()
        assert f'width="{charts.SVG_WIDTH * 72:g}pt"' in text
        sizes = [float(x) for x in re.findall(r"font-size: ([\d.]+)px", text)]
        assert sizes and min(sizes) >= charts.FONT >= 10


def test_summary_word_tables_headers_and_page_numbers(app, world):
    campaign_id = _voted(app, world)
    with app.app_context(), tenant_context(world.a.id):
        c = db.session.get(Campaign, campaign_id)
        name, data = c.name, summary.docx(c)
    doc = docxlib.Document(io.BytesIO(data))
    section = doc.sections[0]
    text_width = section.page_width - section.left_margin - section.right_margin
    assert section.header.paragraphs[0].text == f"{name}\t{summary.REPORT}"
    fields = [f.get(qn("w:instr")) for f in section.footer._element.iter(qn("w:fldSimple"))]
    assert fields == ["PAGE", "NUMPAGES"] and "页 / 共" in section.footer.paragraphs[0].text
    assert len(doc.tables) >= 2  # table 1 and the verdict lists
    for table in doc.tables:
        tbl = table._tbl
        assert tbl.tblPr.find(qn("w:tblLayout")).get(qn("w:type")) == "fixed"  # no autofit
        grid = [int(col.get(qn("w:w"))) for col in tbl.tblGrid.iter(qn("w:gridCol"))]
        assert grid[0] > 2 * max(grid[1:])  # the name column wide, the figures narrow
        assert sum(grid) * 635 <= text_width  # twips → EMU: the table fits between the margins
        assert int(tbl.tblPr.find(qn("w:tblW")).get(qn("w:w"))) == sum(grid)
        rows = tbl.tr_lst
        assert rows[0].trPr.find(qn("w:tblHeader")) is not None  # Word repeats it on each page
        assert all(r.trPr.find(qn("w:tblHeader")) is None for r in rows[1:])
        for row in rows:
            widths = [int(tc.tcPr.find(qn("w:tcW")).get(qn("w:w"))) for tc in row.tc_lst]
            assert widths == grid
    for shape in doc.inline_shapes:  # the charts at the width they were drawn for
        assert abs(shape.width - Cm(charts.PNG_WIDTH * 2.54)) < Cm(0.01)


def _line(unit: str, campaign: str, level: int, n: int) -> rollup_report.Line:
    return rollup_report.Line(unit, campaign, Figures(subjects=n, rated=n, issued=10, used=7, valid=5 * n,
                                                      satisfied=4 * n), level)


def test_rollup_pdf_names_the_campaign_once_and_pages_like_the_others():
    name = "二〇二五年度创先争优活动群众评议"
    rows = [_line("平庄煤业（合计）", name, 0, 120)] + [_line(f"第{i:03d}党支部", name, 2, 1) for i in range(1, 121)]
    title = f"{name} 汇总报告（按组织）"
    pages = _pages(rollup_report.pdf(title, rows))
    assert len(pages) >= 3
    _assert_paged(pages, title, "有效回答")  # the column header row on every page too
    assert "平庄煤业（合计）" in pages[0] and "第001党支部" in pages[0]  # the table starts under the title
    whole = "".join(_flat(p) for p in pages)
    assert whole.count(name) == len(pages) + 1  # the header of each page and the title: not 121 rows
    assert all(f"第{i:03d}党支部" in whole for i in range(1, 121))

    # a subordinates' report of two campaigns: each named once, above its rows
    other = "丙公司评议"
    rows = [_line("甲公司（合计）", name, 0, 40)] + [_line(f"甲{i:02d}党委", name, 1, 1) for i in range(40)] \
        + [_line("丙公司（合计）", other, 0, 40)] + [_line(f"丙{i:02d}党委", other, 1, 1) for i in range(40)]
    whole = "".join(_flat(p) for p in _pages(rollup_report.pdf("县委 下级单位评议汇总报告", rows)))
    assert whole.count(name) == 1 and whole.count(other) == 1
    assert whole.index(name) < whole.index("甲公司（合计）") < whole.index(other) < whole.index("丙公司（合计）")


def test_own_campaign_rollup_pdf(app, world):
    campaign_id = _voted(app, world)
    with app.app_context(), tenant_context(world.a.id):
        c = db.session.get(Campaign, campaign_id)
        name, data = c.name, rollup_report.make("pdf", c)
        units = db.session.execute(select(Unit.name)).scalars().all()
    pages = _pages(data)
    _assert_paged(pages, f"{name} 汇总报告（按组织）")
    whole = "".join(_flat(p) for p in pages)
    assert whole.count(name) == len(pages) + 1
    assert "评议活动" not in whole.replace("各评议活动", "")  # no campaign column (the note says 各评议活动)
    assert "采煤一队党支部" in units and "采煤一队党支部" in whole
