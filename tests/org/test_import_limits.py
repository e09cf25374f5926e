"""Import resource limits (issue 14, item 8): a zip bomb, a file of millions of rows and its
relatives are refused with a clear message well within a second, before anything parses them,
without the memory their size would take, and nothing is written; large legitimate files are
imported by a worker job, all or nothing, and the job page shows the result."""

from __future__ import annotations

import functools
import io
import json
import os
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from pingyi import jobs
from pingyi.extensions import db
from pingyi.models import Job, JobFile, Person
from pingyi.org import sheets
from pingyi.org.imports import ImportRefused, check_file, import_people, import_units, submit_import
from pingyi.tenancy import tenant_context, unscoped
from tests import servers
from tests.factories import login
from tests.org import hostile_files as hostile
from tests.org.test_imports import snapshot

SANE = 5.0  # seconds: a generous bound for a shared 2-core machine; the README gives the figures


@functools.cache
def bomb() -> bytes:
    return hostile.zip_bomb(300)  # 307 KB, 300 MB unpacked: the issue's file


@functools.cache
def million_rows() -> bytes:
    """A million compact rows: 63 KB, 26 MB unpacked — under the size limit, so the rows count."""
    return hostile.xlsx([hostile.row(0, 1)] + [b"<row><c><v>1</v></c></row>" * 1000] * 1000, hostile.PEOPLE)


def _refused_fast(world, data: bytes, name: str, importer=import_people) -> str:
    before = snapshot()
    with tenant_context(world.a.id):
        start = time.perf_counter()
        with pytest.raises(ImportRefused) as info:
            importer(data, name)
        elapsed = time.perf_counter() - start
        db.session.rollback()
    assert elapsed < SANE, f"refused only after {elapsed:.1f} s"
    assert snapshot() == before, "a refused file must write nothing"
    assert str(info.value).startswith("文件未导入，没有写入任何数据。")
    return info.value.issues[0].message


def test_zip_bomb(ctx, world):
    assert len(bomb()) < 400 * 1024
    message = _refused_fast(world, bomb(), "bomb.xlsx")
    assert "解压后过大（300.0 MB" in message and "上限 50.0 MB" in message


def test_seven_million_rows(ctx, world):
    data = hostile.many_rows(7_000_000)  # ~1 MB, 354 MB unpacked
    assert len(data) < 2 * 1024 * 1024
    assert "解压后过大" in _refused_fast(world, data, "rows.xlsx")


@pytest.mark.parametrize("make,expected", [
    (million_rows, "行数过多（超过 100000 行）"),
    (lambda: hostile.many_rows(100_002, numbered=True), "行数过多（超过 100000 行）"),
    (hostile.far_cells, "行数过多（超过 100000 行）"),  # row 1 048 576, column XFD: padding would build it all
    (lambda: hostile.cells(2, 1500), "第 2 行的单元格过多（超过 1000 个）"),
    (lambda: hostile.cells(3500, 900), "单元格过多（超过 3000000 个）"),
    (lambda: hostile.with_part(hostile.many_rows(3), "xl/styles.xml", b"<styleSheet>" + b"<xf/>" * 400_000 + b"</styleSheet>"),
     "“xl/styles.xml”过大"),  # openpyxl builds every style: 2 MB of them took 1.4 GB
    (lambda: hostile.with_part(hostile.many_rows(3), "xl/sharedStrings.xml",
                               b"<sst>" + b"<si><t>x</t></si>" * 1_100_000 + b"</sst>"), "“xl/sharedStrings.xml”过大"),
    (lambda: hostile.with_part(hostile.many_rows(3), "xl/sharedStrings.xml",
                               b"<sst>" + b"<si><t>x</t></si>" * 300_001 + b"</sst>"), "不同文字过多（超过 300000 个）"),
    (lambda: hostile.with_part(hostile.many_rows(3), "xl/workbook.xml",
                               b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY e SYSTEM "file:///etc/passwd">]><w>&e;</w>'),
     "DTD"),
    (lambda: hostile.lying_sizes(hostile.many_rows(30_000)), "无法读取该 Excel 文件，可能已损坏"),
])
def test_hostile_xlsx(ctx, world, make, expected):
    assert expected in _refused_fast(world, make(), "p.xlsx")


@pytest.mark.parametrize("make,expected", [
    (lambda: hostile.csv_rows(150_000), "行数过多（超过 100000 行）"),
    (lambda: "单位名称,上级单位".encode() + b"\n" * 5_000_000, "行数过多（超过 100000 行）"),  # blank lines are rows to pandas
    (lambda: hostile.csv_columns(2000), "第 1 行的列数过多（超过 1000 列）"),
])
def test_hostile_csv(ctx, world, make, expected):
    assert expected in _refused_fast(world, make(), "p.csv", import_units)


def test_a_sheet_without_a_declared_type_is_still_a_sheet():
    data = hostile.many_rows(40_000)  # a sheet of 2 MB: more than any other part may hold
    types = io.BytesIO(data)
    import zipfile

    ct = zipfile.ZipFile(types).read("[Content_Types].xml")
    plain = ct.replace(b'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="'
                       + sheets._WORKSHEET.encode() + b'"/>', b"")
    assert plain != ct
    assert check_file(hostile.with_part(data, "[Content_Types].xml", plain), "p.xlsx").rows == 40_000
    styles_as_sheet = hostile.with_part(data, "xl/styles.xml", b"<styleSheet>" + b"<xf/>" * 400_000 + b"</styleSheet>",
                                        sheets._WORKSHEET)  # the styles' path decides, whatever it claims to be
    with pytest.raises(ImportRefused, match="styles.xml"):
        check_file(styles_as_sheet, "p.xlsx")


def test_the_cells_of_every_sheet_count():
    """openpyxl parses every sheet that states no dimension: their cells weigh on the import
    (a job, not the page) and count toward the limit."""
    import zipfile

    from pingyi.org.imports import is_large

    def sheet_of(rows: int, per_row: int) -> bytes:
        return zipfile.ZipFile(io.BytesIO(hostile.cells(rows, per_row))).read("xl/worksheets/sheet1.xml")

    checked = check_file(hostile.second_sheet(hostile.many_rows(3), sheet_of(200, 500)), "p.xlsx")
    assert (checked.rows, checked.cells) == (3, 8 + 2 + 100_000)
    assert is_large(checked, 5000) and not is_large(check_file(hostile.many_rows(3), "p.xlsx"), 5000)
    with pytest.raises(ImportRefused, match="单元格过多"):
        check_file(hostile.second_sheet(hostile.many_rows(3), sheet_of(3100, 1000)), "p.xlsx")


def test_the_limits_are_settings(ctx, world):
    ctx.config.update(IMPORT_MAX_ROWS=3, IMPORT_MAX_UNCOMPRESSED_BYTES=1024 * 1024)
    rows = [["姓名", "所在单位"]] + [[f"人{i}", "采煤一队党支部"] for i in range(4)]
    assert "行数过多（超过 3 行）" in _refused_fast(world, hostile.many_rows(4), "p.xlsx")
    from tests.org.test_imports import csv

    assert "行数过多（超过 3 行）" in _refused_fast(world, csv(rows), "p.csv")
    assert "上限 1.0 MB" in _refused_fast(world, hostile.many_rows(60_000), "p.xlsx")
    with tenant_context(world.a.id):
        assert (check_file(csv(rows[:4]), "p.csv").rows, check_file(csv(rows[:4]), "p.csv").cells) == (3, 8)
        assert import_people(csv(rows[:4]), "p.csv").created == 3
        db.session.rollback()


_MEASURE = """
import json, sys, time
from pingyi import create_app
from pingyi.org import imports
app = create_app({"DATABASE_URL": "sqlite:///" + sys.argv[2], "TESTING": True, "SECRET_KEY": "x"})
def status(key):
    return next(int(line.split()[1]) // 1024 for line in open("/proc/self/status") if line.startswith(key))
data = open(sys.argv[1], "rb").read()
with app.app_context():
    imports.read_table(b"a,b\\n1,2\\n", "warm.csv")  # pandas and openpyxl imported, caches warm
    before, start = status("VmRSS"), time.perf_counter()
    try:
        imports.read_table(data, sys.argv[1])
        outcome = "read"
    except imports.ImportRefused as exc:
        outcome = exc.issues[0].message
    print(json.dumps({"seconds": time.perf_counter() - start, "grew_mb": status("VmHWM") - before, "outcome": outcome}))
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads /proc")
@pytest.mark.parametrize("name", ["bomb.xlsx", "million.xlsx", "far.xlsx"])
def test_refusals_take_no_memory(tmp_path, name):
    """In a process of its own: reading the file (refused) raises the peak RSS by a few MB at
    most — the bomb took 282 → 838 MB, a million rows hundreds of MB, the far cells gigabytes."""
    data = {"bomb.xlsx": bomb, "million.xlsx": million_rows, "far.xlsx": hostile.far_cells}[name]()
    path = tmp_path / name
    path.write_bytes(data)
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(path), str(tmp_path / "m.sqlite3")],
                          capture_output=True, text=True, timeout=120, cwd=os.getcwd())
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["outcome"] != "read"
    assert figures["grew_mb"] < 40 and figures["seconds"] < SANE, figures


def test_a_legitimate_large_file_still_reads():
    """Excel's way of writing (numbered rows and cells), just under the row limit."""
    from pingyi.org.imports import read_table

    data = hostile.many_rows(99_999, numbered=True)
    assert (check_file(data, "p.xlsx").rows, check_file(data, "p.xlsx").cells) == (99_999, 200_000)

    df = read_table(data, "p.xlsx")
    assert len(df) == 99_999 and list(df.iloc[-1][["姓名", "所在单位", "_row"]]) == ["王伟", "采煤一队党支部", 100_000]


def test_the_api_refuses_at_once_too(app, world, client):
    from tests.factories import bearer

    start = time.perf_counter()
    r = client.post("/api/v1/t/alpha/import/people", headers=bearer(world.a.api_key),
                    data={"file": (io.BytesIO(bomb()), "bomb.xlsx")}, content_type="multipart/form-data")
    assert time.perf_counter() - start < SANE
    assert r.status_code == 422 and "解压后过大" in r.json["issues"][0]["message"]


# ---- large imports run as a job -------------------------------------------------------------

def _roster(n: int, bad_row: int | None = None, prefix: str = "人员", notes: int = 0) -> bytes:
    """``n`` people in 采煤一队党支部 (one in a unit that does not exist), with ``notes`` more
    columns the import does not read."""
    from tests.org.test_imports import xlsx

    rows = [["姓名", "所在单位", "职务", "是否党员"] + [f"备注{j}" for j in range(notes)]]
    rows += [[f"{prefix}{i}", "火星党支部" if i == bad_row else "采煤一队党支部", "党员", "是"] + ["…"] * notes
             for i in range(n)]
    return xlsx(rows)


def _people(tenant_id: int) -> int:
    with tenant_context(tenant_id):
        return db.session.execute(select(func.count()).select_from(Person)).scalar()


def _post(client, data: bytes):
    return client.post("/t/alpha/import", data={"what": "people", "file": (io.BytesIO(data), "名册.xlsx")},
                       content_type="multipart/form-data")


def test_large_import_goes_to_a_job_and_its_page_shows_the_result(app, world, client):
    """Without Redis the job runs in-process (embedded mode): the page names it, the job page
    shows the counts; the upload is gone once imported and never offered for download."""
    login(client, world.a.admin)
    with app.app_context():
        people = _people(world.a.id)
    r = _post(client, _roster(6000))  # IMPORT_JOB_ROWS: 5000
    assert r.status_code == 302 and "/jobs/" in r.location
    job_id = int(r.location.rstrip("/").rsplit("/", 1)[1])
    page = client.get(r.location)
    assert "文件有 6000 行，已转入后台导入" in page.text
    assert "导入成功：新增 6000 条，更新 0 条" in page.text and "名册.xlsx" not in page.text
    with app.app_context():
        assert _people(world.a.id) == people + 6000
        with unscoped():
            job = db.session.get(Job, job_id)
            assert (job.kind, job.state, job.result, job.done) == ("import", "done", {"created": 6000, "updated": 0}, 6000)
            assert db.session.execute(select(JobFile).where(JobFile.job_id == job_id)).first() is None
    r = _post(client, _roster(10, prefix="新人"))  # small files: on the page, as before
    assert r.status_code == 200 and "导入成功：新增 10 条" in r.text
    r = _post(client, _roster(2000, prefix="宽表", notes=30))  # few rows, but 68 000 cells: as much work as more
    assert r.status_code == 302 and "/jobs/" in r.location
    assert "导入成功：新增 2000 条" in client.get(r.location).text


def test_a_refused_job_writes_nothing_and_lists_the_problems(app, world, client):
    app.config["IMPORT_JOB_ROWS"] = 5
    login(client, world.a.admin)
    with app.app_context():
        before = snapshot()
    r = _post(client, _roster(20, bad_row=7))
    page = client.get(r.location).text
    assert "未导入" in page and "文件未导入，没有写入任何数据" in page
    assert "找不到单位“火星党支部”" in page and "<td>9</td>" in page  # row 9 of the sheet: the header is row 1
    with app.app_context():
        assert snapshot()[:2] == before[:2]  # no unit, no person (the job row's audit aside)
        with unscoped():
            job = db.session.execute(select(Job).where(Job.kind == "import")).scalar_one()
            assert job.result["issues"][0]["row"] == 9 and job.state == "done"
            assert db.session.execute(select(JobFile).where(JobFile.job_id == job.id)).first() is None
    assert _post(client, hostile.zip_bomb(80)).status_code == 200  # a bomb is refused on the page, never queued


def test_a_retried_import_still_has_its_upload(ctx, world):
    """A retry drops the files a failed attempt made, never the file the job was given."""
    with tenant_context(world.a.id):
        job = jobs.create("import", {"what": "people", "filename": "p.xlsx"}, total=3)
        jobs.add_input(job, "p.xlsx", _roster(3))
        jobs.add_file(job, "half-made.txt", "text/plain", b"from the failed attempt")
        job.attempts = 1
        db.session.commit()
        job_id = job.id
    jobs.run(job_id)
    with tenant_context(world.a.id):
        job = db.session.get(Job, job_id)
        assert (job.state, job.result) == ("done", {"created": 3, "updated": 0}), job.error
        assert db.session.execute(select(JobFile).where(JobFile.job_id == job_id)).first() is None


def test_import_job_on_a_real_rq_worker(rq_app, world, database):
    """With Redis the import is queued on ``bulk`` and a worker process reads the upload from
    the database."""
    from tests.worker.test_worker_rq import _burst

    servers.require("redis")
    with rq_app.app_context(), tenant_context(world.a.id):
        data = _roster(40)
        job = submit_import("people", data, "名册.xlsx", check_file(data, "名册.xlsx").rows)
        job_id = job.id
        assert job.state == "queued"
    _burst(rq_app, database, "bulk")
    with rq_app.app_context():
        assert _people(world.a.id) == 2 + 40
        with tenant_context(world.a.id):
            job = db.session.get(Job, job_id)
            assert (job.state, job.result) == ("done", {"created": 40, "updated": 0}), job.error


def test_limits_from_settings_outside_an_app():
    assert sheets.Limits.current() == sheets.Limits(10 * 1024 * 1024, 50 * 1024 * 1024, 100_000)
