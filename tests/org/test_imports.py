"""Unit and roster import: good files land whole, every bad file is refused whole with a
Chinese message naming row and column, and nothing is written."""

from __future__ import annotations

import io
import os

import openpyxl
import pytest
from sqlalchemy import func, select

from pingyi.extensions import db
from pingyi.models import AuditEvent, Person, Unit
from pingyi.org.imports import ImportRefused, import_people, import_units
from pingyi.tenancy import tenant_context, unscoped


def xlsx(rows: list[list]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv(rows: list[list], encoding: str = "utf-8") -> bytes:
    return ("\n".join(",".join(str(c) for c in r) for r in rows) + "\n").encode(encoding)


UNITS = [["单位名称", "上级单位", "类型"],
         ["新公司党委", "", "党委"],
         ["一厂党委", "新公司党委", "党委"],
         ["一车间党支部", "一厂党委", "党支部"],
         ["机关党总支", "新公司党委", "党总支"],
         ["综合党支部", "机关党总支", ""]]


def snapshot():
    with unscoped():
        return (db.session.execute(select(func.count()).select_from(Unit)).scalar(),
                db.session.execute(select(func.count()).select_from(Person)).scalar(),
                db.session.execute(select(func.count()).select_from(AuditEvent)).scalar())


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "csv-gbk"])
def test_good_unit_file_imports_whole(ctx, world, fmt):
    data = xlsx(UNITS) if fmt == "xlsx" else csv(UNITS, "gb18030" if fmt == "csv-gbk" else "utf-8")
    with tenant_context(world.a.id):
        plan = import_units(data, f"units.{fmt.split('-')[0]}")
        db.session.commit()
        assert (plan.created, plan.updated) == (5, 0)
        units = {u.name: u for u in db.session.execute(select(Unit)).scalars()}
    assert units["一车间党支部"].parent_id == units["一厂党委"].id
    assert units["一车间党支部"].path == f"/{units['新公司党委'].id}/{units['一厂党委'].id}/{units['一车间党支部'].id}/"
    assert units["综合党支部"].kind == "branch"  # inferred from the name
    assert units["机关党总支"].kind == "general_branch"
    assert units["一车间党支部"].depth == 2
    # the other tenant is untouched
    with tenant_context(world.b.id):
        assert db.session.execute(select(func.count()).select_from(Unit)).scalar() == 4


def test_reimport_updates_and_changes_nothing_else(ctx, world):
    with tenant_context(world.a.id):
        import_units(xlsx(UNITS), "u.xlsx")
        db.session.commit()
        before = snapshot()
        plan = import_units(xlsx(UNITS), "u.xlsx")
        db.session.commit()
    assert (plan.created, plan.updated) == (0, 5)
    assert snapshot() == before  # no rows and no audit events: nothing actually changed


def test_children_may_come_before_parents_and_paths_disambiguate(ctx, world):
    rows = [["单位名称", "上级单位", "类型"],
            ["采煤一队党支部", "公司党委/一矿党委", "党支部"],  # exists already: an update
            ["二队党支部", "二矿党委", "党支部"],               # parent defined below
            ["二矿党委", "公司党委", "党委"]]
    with tenant_context(world.a.id):
        plan = import_units(csv(rows), "u.csv")
        db.session.commit()
        assert (plan.created, plan.updated) == (2, 1)
        two = db.session.execute(select(Unit).where(Unit.name == "二队党支部")).scalar_one()
        assert two.parent.name == "二矿党委"


def _refused(world, data: bytes, filename: str, importer=import_units) -> ImportRefused:
    before = snapshot()
    with tenant_context(world.a.id):
        with pytest.raises(ImportRefused) as info:
            importer(data, filename)
        db.session.rollback()
    assert snapshot() == before, "a refused file must write nothing"
    return info.value


def test_unknown_parent(ctx, world):
    exc = _refused(world, xlsx([["单位名称", "上级单位"], ["甲支部", "不存在的党委"]]), "u.xlsx")
    assert (exc.issues[0].row, exc.issues[0].column) == (2, "上级单位")
    assert "找不到上级单位“不存在的党委”" in str(exc.issues[0])
    assert str(exc.issues[0]).startswith("第 2 行「上级单位」列")


def test_cycle(ctx, world):
    rows = [["单位名称", "上级单位"], ["甲", "乙"], ["乙", "丙"], ["丙", "甲"]]
    exc = _refused(world, csv(rows), "u.csv")
    assert any("循环" in i.message and i.column == "上级单位" for i in exc.issues)


def test_self_parent(ctx, world):
    exc = _refused(world, csv([["单位名称", "上级单位"], ["甲", "甲"]]), "u.csv")
    assert "自己的上级" in exc.issues[0].message


def test_duplicate_name_under_one_parent(ctx, world):
    rows = [["单位名称", "上级单位"], ["新党委", "公司党委"], ["新支部", "新党委"], ["新支部", "新党委"]]
    exc = _refused(world, xlsx(rows), "u.xlsx")
    assert exc.issues[0].row == 4 and "与第 3 行重复" in exc.issues[0].message


def test_ambiguous_parent_name_asks_for_a_path(ctx, world):
    rows = [["单位名称", "上级单位"], ["二矿党委", "公司党委"], ["采煤一队党支部", "二矿党委"],
            ["甲小组", "采煤一队党支部"]]
    exc = _refused(world, csv(rows), "u.csv")
    assert exc.issues[0].row == 4 and "不唯一" in exc.issues[0].message


@pytest.mark.parametrize("header", [["名字", "上级单位"], ["单位名称", "类型"], ["a", "b", "c"]])
def test_wrong_header(ctx, world, header):
    exc = _refused(world, xlsx([header, ["x", "y"]]), "u.xlsx")
    assert exc.issues[0].row == 1 and "缺少必需的列" in exc.issues[0].message


def test_bad_kind_and_order_are_reported_with_columns(ctx, world):
    rows = [["单位名称", "上级单位", "类型", "排序"], ["甲", "公司党委", "党小组", "x"]]
    exc = _refused(world, csv(rows), "u.csv")
    assert {(i.row, i.column) for i in exc.issues} == {(2, "类型"), (2, "排序")}


@pytest.mark.parametrize("data,name,message", [
    (b"", "u.xlsx", "文件是空的"),
    (b"\xef\xbb\xbf", "u.csv", "文件是空的"),
    (b"\xef\xbb\xbf\xe5\x8d\x95\xe4\xbd\x8d\xe5\x90\x8d\xe7\xa7\xb0\n", "u.csv", "缺少必需的列「上级单位」"),
    ("单位名称,上级单位\n甲,乙\n丙,丁,戊,己\n".encode(), "u.csv", "第 3 行"),
    (csv([["单位名称", "上级单位"]]), "u.csv", "没有数据行"),
    (b"%PDF-1.4 not a spreadsheet", "u.xlsx", "不是有效的 Excel"),
    (b"PK\x03\x04broken zip", "u.xlsx", "无法读取"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "u.csv", "二进制"),
    (b"hello", "u.pdf", "只支持 .xlsx 和 .csv"),
    (b"\xd0\xcf\x11\xe0", "u.xls", ".xls"),
])
def test_not_a_spreadsheet(ctx, world, data, name, message):
    exc = _refused(world, data, name)
    assert message in str(exc.issues[0])


def test_twenty_megabytes_of_junk(ctx, world):
    junk = os.urandom(20 * 1024 * 1024)
    exc = _refused(world, junk, "big.xlsx")
    assert "文件过大" in exc.issues[0].message


def test_people_import_and_upsert(ctx, world):
    rows = [["姓名", "所在单位", "职务", "是否党员"],
            ["赵敏", "采煤一队党支部", "委员", "是"],
            ["钱进", "公司党委/机关党支部", "", "否"],
            ["王伟", "采煤一队党支部", "副书记", ""]]  # exists: position updated
    with tenant_context(world.a.id):
        plan = import_people(xlsx(rows), "p.xlsx")
        db.session.commit()
        assert (plan.created, plan.updated) == (2, 1)
        people = {p.name: p for p in db.session.execute(select(Person)).scalars()}
    assert people["钱进"].is_party_member is False and people["钱进"].position == "党员"
    assert people["王伟"].position == "副书记"


def test_people_bad_rows_refused_whole(ctx, world):
    rows = [["姓名", "所在单位", "职务", "是否党员"],
            ["赵敏", "采煤一队党支部", "委员", "是"],
            ["", "采煤一队党支部", "", ""],
            ["钱进", "火星党支部", "", ""],
            ["孙立", "采煤一队党支部", "", "也许"],
            ["赵敏", "采煤一队党支部", "", ""]]
    exc = _refused(world, csv(rows), "p.csv", import_people)
    where = {(i.row, i.column) for i in exc.issues}
    assert where == {(3, "姓名"), (4, "所在单位"), (5, "是否党员"), (6, "姓名")}


def test_people_cannot_reach_other_tenants_units(ctx, world):
    """B has a unit with the same path; importing into A resolves it to A's unit only."""
    with tenant_context(world.a.id):
        import_people(csv([["姓名", "所在单位"], ["新人", "公司党委/一矿党委/采煤一队党支部"]]), "p.csv")
        db.session.commit()
        p = db.session.execute(select(Person).where(Person.name == "新人")).scalar_one()
    assert p.unit_id == world.a.branch and p.tenant_id == world.a.id


def test_import_page_shows_errors_and_writes_nothing(app, world):
    from tests.factories import login

    client = app.test_client()
    login(client, world.a.admin)
    with app.app_context():
        before = snapshot()
    r = client.post(f"/t/{world.a.slug}/import", data={
        "what": "units", "file": (io.BytesIO(xlsx([["单位名称", "上级单位"], ["甲", "无此单位"]])), "u.xlsx")},
        content_type="multipart/form-data")
    assert r.status_code == 200
    assert "文件未导入" in r.text and "无此单位" in r.text
    with app.app_context():
        assert snapshot() == before
    r = client.post(f"/t/{world.a.slug}/import", data={
        "what": "units", "file": (io.BytesIO(xlsx(UNITS)), "u.xlsx")}, content_type="multipart/form-data")
    assert "导入成功：新增 5 条" in r.text


def test_upload_over_request_limit_is_refused_cleanly(app, world):
    from tests.factories import login

    client = app.test_client()
    login(client, world.a.admin)
    r = client.post(f"/t/{world.a.slug}/import", data={
        "what": "units", "file": (io.BytesIO(b"x" * (33 * 1024 * 1024)), "u.csv")}, content_type="multipart/form-data")
    assert r.status_code == 413 and "文件过大" in r.text
