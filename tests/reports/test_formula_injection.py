"""Spreadsheet formula injection (issue 14, item 4): names and texts that people type — the
campaign's name, form items, scale choices, units, subjects, opinions, a subordinate tenant's
name — land in every xlsx (and the link list's CSV) as text that no spreadsheet evaluates, and
the figures stay numbers."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from sqlalchemy import select

from pingyi.extensions import db
from pingyi.models import Campaign, EvaluatorCategory, FormItem, JobFile, ScaleChoice, Subject, Tenant, Unit
from pingyi.reports import opinions, rollup_report, tally_table
from pingyi.tenancy import tenant_context
from pingyi.voting import issuing
from pingyi.xlsx import FORMULA_STARTS, Workbook, neutral
from tests.ballot_world import build, close, vote

EVIL = ['=HYPERLINK("http://e.x","x")', "+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1"]


def _cells(data: bytes) -> list[openpyxl.cell.Cell]:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    return [cell for ws in wb.worksheets for row in ws.iter_rows() for cell in row if cell.value is not None]


def _read(value: str) -> str:
    """A cell's text as Excel reads it (openpyxl leaves xlsx's escape of a CR as it is)."""
    return value.replace("_x000D_", "\r")


def _assert_inert(data: bytes, must_hold: list[str]) -> list[str]:
    """No formula anywhere, no text a spreadsheet would take for one; every text in
    ``must_hold`` readable (behind its quote); some numbers still numbers. Returns the texts."""
    cells = _cells(data)
    formulas = [(c.coordinate, c.value) for c in cells if c.data_type == "f"]
    assert formulas == []
    texts = [c.value for c in cells if c.data_type in ("s", "inlineStr")]
    assert [t for t in texts if _read(t).startswith(FORMULA_STARTS)] == []
    joined = "\n".join(_read(t) for t in texts)
    for text in must_hold:
        assert neutral(text) in joined, text
    return texts


def _evil_world(world) -> tuple[int, dict[str, str]]:
    """The ballot world with every typed name replaced by one of ``EVIL``, ballots and an
    opinion cast, links issued (a job: CSV and xlsx files), closed, counted and published."""
    bw = build(world, links=6)
    names: dict[str, str] = {}
    with tenant_context(world.a.id):
        c = db.session.get(Campaign, bw.campaign_id)
        c.name = EVIL[0]
        names["campaign"] = c.name
        for i, item in enumerate(db.session.execute(select(FormItem).order_by(FormItem.id)).scalars()):
            item.text = EVIL[i % len(EVIL)] + f" 第{i}项"
            names[f"{'item' if item.kind == 'rating' else 'text'}{i}"] = item.text
        for i, choice in enumerate(db.session.execute(select(ScaleChoice).order_by(ScaleChoice.id)).scalars()):
            choice.label = EVIL[(i + 1) % len(EVIL)] + str(i)  # at most 30 characters
            names[f"choice{i}"] = choice.label
        for i, unit in enumerate(db.session.execute(select(Unit).order_by(Unit.id)).scalars()):
            unit.name = EVIL[(i + 2) % len(EVIL)] + f"单位{i}"
            names[f"unit{i}"] = unit.name
        for i, s in enumerate(db.session.execute(select(Subject).order_by(Subject.id)).scalars()):
            s.label = EVIL[(i + 3) % len(EVIL)] + f"对象{i}"
            names[f"subject{i}"] = s.label
        category = db.session.execute(select(EvaluatorCategory).order_by(EvaluatorCategory.id)).scalars().first()
        category.name = "@群众"
        db.session.get(Tenant, world.a.id).name = "=HYPERLINK(\"http://evil.example\",\"甲\")"
        db.session.commit()
        job = issuing.submit_issue(c, category, db.session.get(Unit, world.a.branch), None, 2, "http://x.test")
        assert job.state == "done", job.error
        names["job"] = job.id
    vote(world, bw, bw.own[:5], (0, 1, 3, 0, 1), comment="=1+1 请改进")
    close(world.a.id, bw.campaign_id, publish=True)
    return bw.campaign_id, names


def test_no_report_cell_is_a_formula(ctx, world):
    campaign_id, names = _evil_world(world)
    typed = [v for k, v in names.items() if k != "job"]
    with tenant_context(world.a.id):
        c = db.session.get(Campaign, campaign_id)
        table = tally_table.workbook(c)
        texts = _assert_inert(table, [names["campaign"] + " 统计表（按组织汇总）", names["unit0"]]
                              + [v for k, v in names.items() if k.startswith(("item", "choice"))])
        assert any(t.startswith("'") for t in texts)
        numbers = [cell for cell in _cells(table) if cell.data_type == "n"]
        assert numbers and all(isinstance(cell.value, int | float) for cell in numbers)
        _assert_inert(opinions.workbook(c), [names["campaign"], "=1+1 请改进", "@群众"]
                      + [v for k, v in names.items() if k.startswith("text")])
        _assert_inert(rollup_report.make("xlsx", c), [names["campaign"] + " 汇总报告（按组织）"])
        files = {f.mime: f.data for f in db.session.execute(
            select(JobFile).where(JobFile.job_id == names["job"])).scalars()}
    xlsx_mime = next(m for m in files if m.endswith("spreadsheetml.sheet"))
    _assert_inert(files[xlsx_mime], ["@群众"])
    rows = list(csv.reader(io.StringIO(files["text/csv"].decode("utf-8-sig"))))
    assert rows[1][1] == "'@群众" and not any(cell.startswith(FORMULA_STARTS) for row in rows for cell in row)
    county = db.session.execute(select(Tenant).where(Tenant.slug == "county")).scalar_one()
    with tenant_context(county.id):
        oversight = rollup_report.make("xlsx", None)
    _assert_inert(oversight, ['=HYPERLINK("http://evil.example","甲")（合计）', names["campaign"]])
    assert typed


@pytest.mark.parametrize("text", EVIL + ["=1", "普通文字", "http://evil.example/x", "{=SUM(A1)}"])
def test_every_way_of_writing_a_cell_writes_inert_text(text):
    """The helper's worksheet neutralises whichever xlsxwriter call wrote the text; numbers,
    booleans and empty cells stay what they are."""
    buf = io.BytesIO()
    wb = Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet("表")
    ws.write(0, 0, text)
    ws.write_string(1, 0, text)
    ws.write_row(2, 0, [text, 3, 2.5, True, None])
    ws.write_column(3, 0, [text])
    ws.merge_range(4, 0, 4, 2, text)
    wb.close()
    sheet = openpyxl.load_workbook(io.BytesIO(buf.getvalue()))["表"]
    for ref in ("A1", "A2", "A3", "A4", "A5"):
        cell = sheet[ref]
        assert cell.data_type == "s" and cell.hyperlink is None, ref
        assert _read(cell.value) == neutral(text)
    assert [sheet["B3"].value, sheet["C3"].value, sheet["D3"].value] == [3, 2.5, True]
    assert neutral(text).startswith("'") == text.startswith(FORMULA_STARTS)


def test_every_xlsx_writer_uses_the_helper():
    """One place decides what a cell holds: nothing else in the app opens an xlsxwriter workbook."""
    import re
    from pathlib import Path

    root = Path(__file__).parents[2] / "pingyi"
    imports = re.compile(r"^\s*(import|from)\s+xlsxwriter\b", re.MULTILINE)
    users = sorted(str(p.relative_to(root)) for p in root.rglob("*.py")
                   if imports.search(p.read_text()) and p.name != "xlsx.py")
    assert users == []
