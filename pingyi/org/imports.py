"""Unit and roster import from ``.xlsx``/``.csv`` with the users' Chinese headers.

Reading and planning are pure (bytes → DataFrame → plan); a file with any problem is refused
whole with every problem listed as 第 N 行「列」, and only a clean plan is applied, in the
caller's transaction. Imports add and update; they never delete what the file leaves out.

Rows name units by plain name (``西露天矿党委``) when that is unique in the tenant plus the
file, or by full path (``平庄煤业公司党委/西露天矿党委``) when it is not.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import select

from pingyi import jobs
from pingyi.bulk import note_filled
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import UNIT_KINDS, Job, Person, Unit
from pingyi.tenancy import require_tenant_id

from . import sheets
from .orgtree import set_path

MAX_ISSUES = 50
MAX_ROWS = sheets.MAX_ROWS  # the default of IMPORT_MAX_ROWS
KIND_BY_LABEL = {label: code for code, label in UNIT_KINDS.items()} | {c: c for c in UNIT_KINDS} | {
    "总支": "general_branch", "支部": "branch", "部门": "office",
}
TRUE_WORDS = {"是", "y", "yes", "true", "1", "党员", "中共党员"}
FALSE_WORDS = {"否", "n", "no", "false", "0", "群众", "非党员"}


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    required: bool
    aliases: tuple[str, ...] = ()


UNIT_COLUMNS = (
    Column("name", "单位名称", True, ("名称", "单位", "组织名称")),
    Column("parent", "上级单位", True, ("上级", "上级组织", "上级党组织")),
    Column("kind", "类型", False, ("单位类型", "类别", "组织类型")),
    Column("order", "排序", False, ("序号", "顺序")),
)
PERSON_COLUMNS = (
    Column("name", "姓名", True, ("名字",)),
    Column("unit", "所在单位", True, ("单位", "所在支部", "所在党组织")),
    Column("position", "职务", False, ("职位", "党内职务")),
    Column("member", "是否党员", False, ("党员", "政治面貌")),
)


@dataclass
class ImportIssue:
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(_("第 %(row)d 行", row=self.row))
        if self.column:
            where.append(f"「{self.column}」列")
        return ("".join(where) + "：" if where else "") + self.message


class ImportRefused(DomainError):
    """The whole file is refused; ``issues`` lists each problem with its row and column."""

    def __init__(self, issues: list[ImportIssue]):
        self.issues = issues[:MAX_ISSUES]
        more = len(issues) - len(self.issues)
        head = _("文件未导入，没有写入任何数据。") + "；".join(str(i) for i in self.issues[:3])
        if len(issues) > 3:
            head += _("……共 %(n)d 处问题", n=len(issues))
        super().__init__(head)
        self.more = more


def _refuse(message: str, row: int | None = None, column: str | None = None):
    raise ImportRefused([ImportIssue(row, column, message)])


def _checked(data: bytes, filename: str, limits: sheets.Limits) -> tuple[str, str | None, sheets.Checked]:
    """The cheap checks, in the order that refuses soonest: size, type, then the content's
    size, rows and cells (``sheets``) — nothing parsed yet. Returns (kind, a CSV's text, what
    the check found)."""
    name = (filename or "").lower()
    if not data:
        _refuse(_("文件是空的"))
    if len(data) > limits.max_bytes:
        _refuse(_("文件过大（%(size).1f MB），上限 %(limit).0f MB",
                  size=len(data) / 1048576, limit=limits.max_bytes / 1048576))
    try:
        if name.endswith(".xls"):
            _refuse(_("不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 或 .csv"))
        if name.endswith((".xlsx", ".xlsm")):
            if not data.startswith(b"PK\x03\x04"):
                _refuse(_("不是有效的 Excel（.xlsx）文件"))
            return "xlsx", None, sheets.check_xlsx(data, limits)
        if name.endswith((".csv", ".txt")):
            if b"\x00" in data[:65536]:
                _refuse(_("不是文本表格文件（含二进制内容）"))
            text = None
            for encoding in ("utf-8-sig", "gb18030"):
                try:
                    text = data.decode(encoding)
                    break
                except UnicodeDecodeError:
                    continue
            if text is None:
                _refuse(_("无法识别文件编码，请保存为 UTF-8 或 GBK 编码的 CSV"))
            if not text.strip():
                _refuse(_("文件是空的"))
            return "csv", text, sheets.check_csv(text, limits)
    except sheets.Refused as exc:
        _refuse(exc.message, row=exc.row)
    _refuse(_("只支持 .xlsx 和 .csv 文件"))


CELLS_PER_ROW = 10  # a roster's row has 4 to 10 cells: a file of more cells is as much work as more rows


def check_file(data: bytes, filename: str, max_bytes: int | None = None) -> sheets.Checked:
    """Refuse a file that is empty, too large, of the wrong type, unpacks too large or holds too
    many rows or cells — within a fraction of a second, before anything parses it (``sheets``);
    returns its rows after the header (blank rows count) and cells."""
    return _checked(data, filename, sheets.Limits.current(max_bytes))[2]


def is_large(checked: sheets.Checked, job_rows: int) -> bool:
    """Whether a checked file takes longer to import than a page request should wait: more than
    ``job_rows`` rows, or as many cells as that many rows of ``CELLS_PER_ROW``."""
    return checked.rows > job_rows or checked.cells > job_rows * CELLS_PER_ROW


def read_table(data: bytes, filename: str, max_bytes: int | None = None) -> pd.DataFrame:
    """Bytes of an uploaded file → DataFrame of stripped strings with a ``_row`` column
    holding the spreadsheet row number (header = row 1). Checked first (``check_file``), then
    read within the limits: an .xlsx through openpyxl's read-only reader (never pandas'
    ``read_excel``, which pads every row to the widest and holds the whole sheet)."""
    limits = sheets.Limits.current(max_bytes)
    kind, text, checked = _checked(data, filename, limits)
    if kind == "xlsx":
        try:
            names, rows = sheets.read_xlsx(data, checked, limits)
        except sheets.Refused as exc:
            _refuse(exc.message, row=exc.row)
        df = pd.DataFrame([texts for _n, texts in rows], columns=_unique(names), dtype=str)
        df["_row"] = [n for n, _t in rows]
    else:
        try:
            df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=False)
        except pd.errors.ParserError as exc:
            line = re.search(r"line (\d+)", str(exc))
            _refuse(_("CSV 格式有误：各行的列数不一致，请用 Excel 另存为 CSV"), row=int(line.group(1)) if line else None)
        df.columns = [str(c).strip() for c in df.columns]
        df = df.map(lambda v: str(v).strip())
        df["_row"] = range(2, len(df) + 2)
    data_cols = [c for c in df.columns if c != "_row"]
    df = df[(df[data_cols] != "").any(axis=1)] if data_cols else df.iloc[0:0]
    if len(df) > limits.max_rows:
        _refuse(_("行数过多（%(n)d 行），上限 %(limit)d 行", n=len(df), limit=limits.max_rows))
    return df


def _unique(names: list[str]) -> list[str]:
    """Column names as pandas makes them: an empty heading "Unnamed: i", a repeated one "名称.1"."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        n = n or f"Unnamed: {i}"
        if n in seen:
            seen[n] += 1
            n = f"{n}.{seen[n]}"
        seen.setdefault(n, 0)
        out.append(n)
    return out


def map_columns(df: pd.DataFrame, columns: tuple[Column, ...]) -> pd.DataFrame:
    """Rename the users' headers to keys; a missing required column refuses the file."""
    rename, missing = {}, []
    for col in columns:
        found = next((h for h in (col.label, *col.aliases) if h in df.columns), None)
        if found:
            rename[found] = col.key
        elif col.required:
            missing.append(col.label)
    if missing:
        expected = "、".join(c.label for c in columns)
        _refuse(_("缺少必需的列「%(cols)s」（表头应为：%(expected)s）", cols="」「".join(missing), expected=expected),
                row=1)
    out = df.rename(columns=rename)
    for col in columns:
        if col.key not in out.columns:
            out[col.key] = ""
    if out.empty:
        _refuse(_("表格没有数据行"))
    return out[[c.key for c in columns] + ["_row"]]


# ---- units -----------------------------------------------------------------------------------

@dataclass
class UnitOp:
    row: int
    key: tuple[str, ...]
    kind: str | None
    order: int | None
    existing_id: int | None = None


@dataclass
class UnitPlan:
    ops: list[UnitOp] = field(default_factory=list)

    @property
    def created(self) -> int:
        return sum(1 for op in self.ops if op.existing_id is None)

    @property
    def updated(self) -> int:
        return len(self.ops) - self.created


def existing_unit_keys(units: list[tuple[int, int | None, str]]) -> dict[tuple[str, ...], int]:
    """(id, parent_id, name) rows → {name path: id}."""
    by_id = {uid: (pid, name) for uid, pid, name in units}
    keys: dict[tuple[str, ...], int] = {}
    for uid in by_id:
        chain, node, seen = [], uid, set()
        while node is not None and node not in seen:
            seen.add(node)
            pid, name = by_id[node]
            chain.append(name)
            node = pid
        keys[tuple(reversed(chain))] = uid
    return keys


def _parse_kind(value: str, name: str) -> str | None:
    if not value:
        for suffix, code in (("党总支", "general_branch"), ("总支部", "general_branch"), ("支部", "branch"),
                             ("党委", "committee")):
            if name.endswith(suffix):
                return code
        return None
    return KIND_BY_LABEL.get(value) or KIND_BY_LABEL.get(value.lower())


MAX_DEPTH = 30  # levels of a unit tree (a real one has 5): the chain resolver recurses once per level


def plan_units(df: pd.DataFrame, existing: dict[tuple[str, ...], int]) -> UnitPlan:
    """Resolve every row's place in the tree; collect all problems before refusing. A parent
    chain deeper than ``MAX_DEPTH`` is refused before it can exhaust the recursion."""
    from .orgtree import SORT_ORDER_RANGE
    issues: list[ImportIssue] = []
    rows = df.to_dict("records")
    by_name: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_name.setdefault(r["name"], []).append(i)
    existing_by_last: dict[str, list[tuple[str, ...]]] = {}
    for key in existing:
        existing_by_last.setdefault(key[-1], []).append(key)

    resolved: dict[int, tuple[str, ...] | None] = {}
    visiting: list[int] = []

    def resolve(i: int) -> tuple[str, ...] | None:
        if i in resolved:
            return resolved[i]
        r = rows[i]
        if i in visiting:
            chain = " → ".join(rows[j]["name"] for j in visiting[visiting.index(i):] + [i])
            issues.append(ImportIssue(r["_row"], "上级单位", _("上级关系形成循环：%(chain)s", chain=chain)))
            for j in visiting[visiting.index(i):]:
                resolved[j] = None
            return None
        if len(visiting) >= MAX_DEPTH:
            issues.append(ImportIssue(r["_row"], "上级单位", _("上级单位的层级过深（最多 %(n)d 级）", n=MAX_DEPTH)))
            resolved[i] = None
            return None
        visiting.append(i)
        key = _resolve_parent(i, r)
        visiting.pop()
        if i not in resolved:
            resolved[i] = key
        return resolved[i]

    def _resolve_parent(i: int, r: dict) -> tuple[str, ...] | None:
        parent = r["parent"]
        if not parent:
            return (r["name"],)
        if "/" in parent:
            pkey = tuple(p.strip() for p in parent.split("/") if p.strip())
            candidates = {pkey} if pkey in existing else set()
            for j in by_name.get(pkey[-1], []):
                if j != i and resolve(j) == pkey:
                    candidates.add(pkey)
        else:
            candidates = set(existing_by_last.get(parent, []))
            for j in by_name.get(parent, []):
                if j == i:
                    issues.append(ImportIssue(r["_row"], "上级单位", _("单位不能是自己的上级")))
                    return None
                k = resolve(j)
                if k is None:
                    return None
                candidates.add(k)
        if not candidates:
            issues.append(ImportIssue(r["_row"], "上级单位", _("找不到上级单位“%(p)s”", p=parent)))
            return None
        if len(candidates) > 1:
            sample = "、".join("/".join(c) for c in sorted(candidates)[:3])
            issues.append(ImportIssue(r["_row"], "上级单位",
                                      _("上级单位“%(p)s”不唯一，请写完整路径，如：%(s)s", p=parent, s=sample)))
            return None
        return next(iter(candidates)) + (r["name"],)

    plan = UnitPlan()
    seen_keys: dict[tuple[str, ...], int] = {}
    for i, r in enumerate(rows):
        if not r["name"]:
            issues.append(ImportIssue(r["_row"], "单位名称", _("单位名称不能为空")))
            continue
        if len(r["name"]) > 200 or "/" in r["name"]:
            issues.append(ImportIssue(r["_row"], "单位名称", _("单位名称过长或含有“/”")))
            continue
        kind = _parse_kind(r["kind"], r["name"])
        if r["kind"] and kind is None:
            issues.append(ImportIssue(r["_row"], "类型", _("未知的单位类型“%(k)s”，可用：%(ok)s",
                                                          k=r["kind"], ok="、".join(UNIT_KINDS.values()))))
        order = None
        if r["order"]:
            try:
                number = float(r["order"])  # Excel may write 3 as "3.0"
            except ValueError:
                number = None
            low, high = SORT_ORDER_RANGE  # a comparison with inf or NaN is False: refused too
            if number is not None and low <= number <= high:
                order = int(number)
            else:
                issues.append(ImportIssue(r["_row"], "排序", _("排序必须是整数（%(low)d 到 %(high)d）",
                                                            low=low, high=high)))
        key = resolve(i)
        if key is None:
            continue
        if len(key) > MAX_DEPTH:
            issues.append(ImportIssue(r["_row"], "上级单位", _("上级单位的层级过深（最多 %(n)d 级）", n=MAX_DEPTH)))
            continue
        if key in seen_keys:
            issues.append(ImportIssue(r["_row"], "单位名称", _("与第 %(other)d 行重复：同一上级下已有同名单位“%(n)s”",
                                                             other=seen_keys[key], n=r["name"])))
            continue
        seen_keys[key] = r["_row"]
        plan.ops.append(UnitOp(r["_row"], key, kind, order, existing.get(key)))
    if issues:
        issues.sort(key=lambda x: (x.row or 0))
        raise ImportRefused(issues)
    plan.ops.sort(key=lambda op: len(op.key))
    return plan


def import_units(data: bytes, filename: str, max_bytes: int | None = None) -> UnitPlan:
    """Read, plan and apply a unit file in the current tenant; raise ``ImportRefused``."""
    df = map_columns(read_table(data, filename, max_bytes), UNIT_COLUMNS)
    return import_unit_frame(df)


def _load_units() -> tuple[dict[int, Unit], dict[tuple[str, ...], int]]:
    units = {u.id: u for u in db.session.execute(select(Unit)).scalars()}
    keys = existing_unit_keys([(u.id, u.parent_id, u.name) for u in units.values()])
    return units, keys


def import_unit_frame(df: pd.DataFrame) -> UnitPlan:
    units, keys = _load_units()
    plan = plan_units(df, keys)
    tenant_id = require_tenant_id()
    ids = dict(keys)
    depth_groups: dict[int, list[UnitOp]] = {}
    for op in plan.ops:
        depth_groups.setdefault(len(op.key), []).append(op)
    for depth in sorted(depth_groups):
        fresh: list[tuple[Unit, UnitOp]] = []
        for op in depth_groups[depth]:
            if op.existing_id is not None:
                u = units[op.existing_id]
                if op.kind and u.kind != op.kind:
                    u.kind = op.kind
                if op.order is not None and u.sort_order != op.order:
                    u.sort_order = op.order
                continue
            parent_id = ids[op.key[:-1]] if len(op.key) > 1 else None
            u = Unit(tenant_id=tenant_id, name=op.key[-1], kind=op.kind or "other", sort_order=op.order or 0,
                     parent_id=parent_id, path="")
            db.session.add(u)
            fresh.append((u, op))
        db.session.flush()
        for u, op in fresh:
            ids[op.key] = u.id
            units[u.id] = u
            set_path(u, units.get(u.parent_id))
        db.session.flush()
        note_filled("units", len(fresh))
    return plan


# ---- people ----------------------------------------------------------------------------------

@dataclass
class PeoplePlan:
    creates: list[dict] = field(default_factory=list)
    updates: list[tuple[int, dict]] = field(default_factory=list)

    @property
    def created(self) -> int:
        return len(self.creates)

    @property
    def updated(self) -> int:
        return len(self.updates)


def _parse_member(value: str) -> bool | None:
    if not value:
        return True
    v = value.lower()
    if v in TRUE_WORDS or "党员" in value and "非" not in value:
        return True
    if v in FALSE_WORDS:
        return False
    return None


def resolve_unit_ref(ref: str, keys: dict[tuple[str, ...], int],
                     by_last: dict[str, list[tuple[str, ...]]]) -> tuple[int | None, str | None]:
    """A unit named in a cell → (id, None) or (None, problem)."""
    if "/" in ref:
        key = tuple(p.strip() for p in ref.split("/") if p.strip())
        return (keys[key], None) if key in keys else (None, _("找不到单位“%(u)s”", u=ref))
    matches = by_last.get(ref, [])
    if not matches:
        return None, _("找不到单位“%(u)s”，请先导入组织架构", u=ref)
    if len(matches) > 1:
        sample = "、".join("/".join(m) for m in sorted(matches)[:3])
        return None, _("单位“%(u)s”不唯一，请写完整路径，如：%(s)s", u=ref, s=sample)
    return keys[matches[0]], None


def plan_people(df: pd.DataFrame, keys: dict[tuple[str, ...], int],
                existing: dict[tuple[int, str], int]) -> PeoplePlan:
    issues: list[ImportIssue] = []
    by_last: dict[str, list[tuple[str, ...]]] = {}
    for key in keys:
        by_last.setdefault(key[-1], []).append(key)
    plan, seen = PeoplePlan(), {}
    for r in df.to_dict("records"):
        row = r["_row"]
        if not r["name"]:
            issues.append(ImportIssue(row, "姓名", _("姓名不能为空")))
            continue
        if len(r["name"]) > 100:
            issues.append(ImportIssue(row, "姓名", _("姓名过长")))
            continue
        if len(r["position"]) > 50:
            issues.append(ImportIssue(row, "职务", _("职务过长")))
            continue
        member = _parse_member(r["member"])
        if member is None:
            issues.append(ImportIssue(row, "是否党员", _("“%(v)s”无法识别，请填“是”或“否”", v=r["member"])))
        if not r["unit"]:
            issues.append(ImportIssue(row, "所在单位", _("所在单位不能为空")))
            continue
        unit_id, problem = resolve_unit_ref(r["unit"], keys, by_last)
        if problem:
            issues.append(ImportIssue(row, "所在单位", problem))
            continue
        k = (unit_id, r["name"])
        if k in seen:
            issues.append(ImportIssue(row, "姓名", _("与第 %(other)d 行重复：同一单位下同名人员“%(n)s”",
                                                      other=seen[k], n=r["name"])))
            continue
        seen[k] = row
        values = {"name": r["name"], "unit_id": unit_id, "position": r["position"] or "党员",
                  "is_party_member": bool(member), "sort_order": row}
        if k in existing:
            plan.updates.append((existing[k], values))
        else:
            plan.creates.append(values)
    if issues:
        raise ImportRefused(issues)
    return plan


def import_people(data: bytes, filename: str, max_bytes: int | None = None) -> PeoplePlan:
    df = map_columns(read_table(data, filename, max_bytes), PERSON_COLUMNS)
    return import_people_frame(df)


def import_people_frame(df: pd.DataFrame) -> PeoplePlan:
    _, keys = _load_units()
    people = {(p.unit_id, p.name): p for p in db.session.execute(select(Person)).scalars()}
    plan = plan_people(df, keys, {k: p.id for k, p in people.items()})
    tenant_id = require_tenant_id()
    by_id = {p.id: p for p in people.values()}
    for pid, values in plan.updates:
        p = by_id[pid]
        for attr in ("position", "is_party_member"):
            if getattr(p, attr) != values[attr]:
                setattr(p, attr, values[attr])
    db.session.add_all(Person(tenant_id=tenant_id, **values) for values in plan.creates)
    note_filled("people", len(plan.creates))
    db.session.flush()
    return plan


# ---- large files: a job ----------------------------------------------------------------------

IMPORTERS = {"units": import_units, "people": import_people}


def submit_import(what: str, data: bytes, filename: str, rows: int, user_id: int | None = None,
                  run_here: bool = False) -> Job:
    """Import a checked file (``check_file``) as a job on the ``bulk`` queue, or here without
    Redis: a large file would hold a web worker past its timeout. The file is kept with the job
    row until the import has run; the job's result is the counts or the refusal with its issues."""
    if what not in IMPORTERS:
        raise ValueError(f"unknown import {what!r}")
    name = (filename or "upload")[-200:]
    job = jobs.create("import", {"what": what, "filename": name}, total=rows, user_id=user_id)
    jobs.add_input(job, name, data)
    db.session.commit()
    return jobs.requeue(job, run_here)


@jobs.handles("import", queue="bulk")
def run_import_job(job: Job) -> None:
    """All or nothing, as on the page: the rows, the result and the dropped upload are committed
    together by ``jobs.run``; a refused file writes nothing but the refusal (not an error: the
    same file would be refused again, so there is nothing to retry)."""
    upload = jobs.input_of(job)
    if upload is None or upload.data is None:
        raise DomainError(_("上传的文件已不在，请重新上传"))
    try:
        plan = IMPORTERS[job.params["what"]](upload.data, job.params["filename"])
    except ImportRefused as exc:
        db.session.rollback()
        job.result = {"refused": str(exc), "more": exc.more,
                      "issues": [{"row": i.row, "column": i.column, "message": i.message} for i in exc.issues]}
    else:
        job.result = {"created": plan.created, "updated": plan.updated}
    db.session.delete(jobs.input_of(job))  # a roster is personal data: kept no longer than needed
    job.done = job.total
