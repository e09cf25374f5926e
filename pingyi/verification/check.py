"""``pingyi verify``: recompute a sealed campaign's digest and figures and say what differs.

Against the database alone it recomputes every ballot's leaf from the ballot tables (naming a
ballot whose row no longer matches its seal), the digest from the leaves, the coarsening (every
shown group ≥ k and true of its ballots) and every tally cell from the answers. Against an
export it does the same from the file: the digest in its header and the one the campaign was
sealed with, each row's leaf, and the published figures — the stored tally and, when given, the
统计表 workbook cell by cell (each choice's count, each item's 满意率, the totals).
"""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction

from sqlalchemy import func, select

from pingyi.extensions import db
from pingyi.models import Ballot, Campaign, CountedReceipt, FormItem, ScaleChoice, SealLeaf, Subject
from pingyi.tenancy import tenant_sql

from . import digest
from . import rows as rw
from .export import Export

SHOWN = 10  # differences named per kind; the count of the rest is given
_CELLS = ("SELECT subject_id, item_id, choice_id, SUM(count) FROM tally_counts "
          "WHERE tenant_id = :tenant_id AND campaign_id = :campaign_id GROUP BY subject_id, item_id, choice_id")


@dataclass
class Report:
    """What was checked (with its figures) and what differs; ``ok`` when nothing does."""
    checked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def differ(self, what: str, items: list[str]) -> None:
        if items:
            more = f"（另有 {len(items) - SHOWN} 处）" if len(items) > SHOWN else ""
            self.problems.append(f"{what}：" + "；".join(items[:SHOWN]) + more)


def stored_cells(c: Campaign) -> Counter:
    """The published figures' cells: (subject, item, choice label) → answers, from the stored tally."""
    choices = dict(db.session.execute(select(ScaleChoice.id, ScaleChoice.label)).all())
    cells: Counter = Counter()
    for subject, item, choice, n in tenant_sql(_CELLS, campaign_id=c.id).all():
        cells[(subject, item, choices.get(choice, str(choice)))] += int(n)
    return +cells


def recount(rows: Iterable[digest.Row]) -> Counter:
    return Counter(a for row in rows for a in row.answers)


def _compare_cells(report: Report, what: str, mine: Counter, published: Counter) -> None:
    differing = [cell for cell in sorted(set(mine) | set(published)) if mine.get(cell, 0) != published.get(cell, 0)]
    if differing:  # named as people read them: the labels are read only then
        subjects = dict(db.session.execute(select(Subject.id, Subject.label)).all())
        items = dict(db.session.execute(select(FormItem.id, FormItem.text)).all())
        report.differ(what, [f"{subjects.get(s, s)}｜{items.get(i, i)}｜{label}：重新计数 {mine.get((s, i, label), 0)}，"
                             f"公布 {published.get((s, i, label), 0)}" for s, i, label in differing])
    else:
        report.checked.append(f"{what}：{len(published)} 个单元格、{sum(published.values())} 个回答全部一致")


def _check_leaves(report: Report, c: Campaign, leaves: dict[str, str], stored: dict[str, str], source: str) -> None:
    changed = [f"票 {b}" for b in sorted(leaves) if b in stored and leaves[b] != stored[b]]
    report.differ(f"{source}中与封存时不同的票", changed)
    report.differ(f"{source}中有、封存时没有的票", [f"票 {b}" for b in sorted(set(leaves) - set(stored))])
    report.differ(f"封存时有、{source}中没有的票", [f"票 {b}" for b in sorted(set(stored) - set(leaves))])
    mine = digest.root([leaves[b] for b in sorted(leaves)])
    if mine != c.seal_digest:
        report.problems.append(f"由{source}重算的数字指纹 {mine} ≠ 封存的 {c.seal_digest}")
    elif not changed:
        report.checked.append(f"由{source}重算的数字指纹与封存的一致：{mine}（{len(leaves)} 张票）")


def _check_groups(report: Report, c: Campaign, shown: Iterable[tuple[int, int | None]]) -> None:
    sizes = Counter(shown)
    k = c.seal_k or 1
    if sum(sizes.values()) < k:
        return
    small = [f"单位 {u}、类别 {'合并' if cat is None else cat}：{n} 张" for (u, cat), n in sorted(
        sizes.items(), key=lambda x: (x[0][0], -1 if x[0][1] is None else x[0][1])) if n < k]
    report.differ(f"少于 k={k} 张票的分组", small)
    if not small:
        report.checked.append(f"每个（单位，类别）分组至少 {k} 张票：{len(sizes)} 组")


def _stored_leaves(c: Campaign) -> dict[str, str]:
    return dict(db.session.execute(select(SealLeaf.ballot_id, SealLeaf.leaf)
                                   .where(SealLeaf.campaign_id == c.id)).all())


def _sealed(report: Report, c: Campaign) -> dict[str, str] | None:
    """The leaves stored at sealing (checked against the digest), or None: not sealed."""
    if not c.seal_digest:
        report.problems.append("该评议活动尚未封存（结束评议后的计票完成时封存）")
        return None
    stored = _stored_leaves(c)
    if digest.root([stored[b] for b in sorted(stored)]) != c.seal_digest:
        report.problems.append("保存的各票哈希与封存的数字指纹不符")
    return stored


def _counts(report: Report, c: Campaign, ballots: int) -> None:
    receipts = db.session.execute(select(func.count()).select_from(CountedReceipt)
                                  .where(CountedReceipt.campaign_id == c.id)).scalar_one()
    stored = db.session.execute(select(func.count()).select_from(Ballot).where(Ballot.campaign_id == c.id)).scalar_one()
    counts = {"已计票的回执": receipts, "数据库中的评议票": stored}
    wrong = [f"{name} {n}" for name, n in counts.items() if n != ballots]
    if wrong:
        report.problems.append(f"票数不符：重算 {ballots} 张，" + "，".join(wrong))
    else:
        report.checked.append(f"票数一致：{ballots} 张票 = {receipts} 个已计票回执")


def database(c: Campaign) -> Report:
    """The campaign's rows against its seal and its stored tally."""
    report = Report()
    stored = _sealed(report, c)
    if stored is None:
        return report
    shown = rw.sealed_groups(c.id)
    real = {b: (u, cat) for b, u, cat in rw.ballots(c.id)}
    parent = rw.parents()
    untrue = [f"票 {b}" for b, (u, cat) in shown.items() if b in real and not _covers((u, cat), real[b], parent)]
    report.differ("封存的分组与票的单位、类别不符", untrue)
    rows = list(rw.rows(c.id, shown))
    _check_leaves(report, c, {r.ballot_id: digest.leaf(r) for r in rows}, stored, "数据库")
    _check_groups(report, c, shown.values())
    _counts(report, c, len(rows))
    _compare_cells(report, "由评议票重新计数与保存的统计结果", recount(rows), stored_cells(c))
    return report


def _covers(shown: tuple[int, int | None], real: tuple[int, int], parent: dict[int, int | None]) -> bool:
    """Is the shown group true of a ballot: its unit or an ancestor, its category or merged?"""
    if shown[1] is not None and shown[1] != real[1]:
        return False
    unit, seen = real[0], set()
    while unit is not None and unit not in seen:
        if unit == shown[0]:
            return True
        seen.add(unit)
        unit = parent.get(unit)
    return False


def exported(c: Campaign, exp: Export, table: bytes | None = None) -> Report:
    """An export against the campaign's seal and published figures (and a 统计表, if given)."""
    report = Report()
    stored = _sealed(report, c)
    if stored is None:
        return report
    if exp.digest != c.seal_digest:
        report.problems.append(f"导出文件头的数字指纹 {exp.digest or '（无）'} ≠ 封存的 {c.seal_digest}")
    _check_leaves(report, c, {r.ballot_id: digest.leaf(r) for r in exp.rows}, stored, "导出文件")
    _check_groups(report, c, ((r.unit_id, r.category_id) for r in exp.rows))
    _counts(report, c, len(exp.rows))
    mine = recount(exp.rows)
    _compare_cells(report, "由导出文件重新计数与公布的统计结果", mine, stored_cells(c))
    if table is not None:
        _compare_table(report, exp, mine, table)
    return report


def _compare_table(report: Report, exp: Export, mine: Counter, table: bytes) -> None:
    """Every form sheet of a 统计表: its rows are the subjects of one form in the legend's order;
    per item (in the legend's order) the count of each choice and the 满意率, then the totals."""
    from openpyxl import load_workbook

    subjects: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for s, label, form in exp.subjects:
        subjects[form].append((s, label))
    items: dict[int, list[tuple[int, list[tuple[str, bool]]]]] = defaultdict(list)
    for i, _text, form, choices in exp.items:
        items[form].append((i, choices))
    wb = load_workbook(io.BytesIO(table), read_only=True, data_only=True)
    sheets = [ws for ws in wb.worksheets if ws.title != "汇总"]
    if len(sheets) != len(subjects):
        report.problems.append(f"统计表有 {len(sheets)} 张测评表工作表，导出文件有 {len(subjects)} 种测评表")
    diffs: list[str] = []
    cells = 0
    for ws, form in zip(sheets, subjects, strict=False):
        values = [list(r) for r in ws.iter_rows(values_only=True)]
        for n, (s, label) in enumerate(subjects[form]):
            where = f"工作表“{ws.title}”第 {n + 3} 行"
            row = values[n + 2] if n + 2 < len(values) else None
            if row is None or row[0] != label:
                diffs.append(f"{where}应为“{label}”，统计表为“{row[0] if row else '（缺）'}”")
                continue
            col, total, satisfied = 2, 0, 0
            for i, choices in items[form]:
                n_item = sat_item = 0
                for choice, counts_as_satisfied in choices:
                    expect = mine.get((s, i, choice), 0)
                    if (row[col] or 0) != expect:
                        diffs.append(f"{where}“{choice}”列：统计表 {row[col]}，重新计数 {expect}")
                    n_item, sat_item = n_item + expect, sat_item + (expect if counts_as_satisfied else 0)
                    col += 1
                if not _same_share(row[col], sat_item, n_item):
                    diffs.append(f"{where}满意率：统计表 {row[col]}，重新计算 {_share(sat_item, n_item)}")
                cells += len(choices) + 1
                col += 1
                total, satisfied = total + n_item, satisfied + sat_item
            cells += 2
            if (row[col] or 0) != total or not _same_share(row[col + 1], satisfied, total):
                diffs.append(f"{where}合计：统计表 {row[col]}、{row[col + 1]}，重新计算 {total}、{_share(satisfied, total)}")
    report.differ("统计表与由导出文件重新计算的结果不符", diffs)
    if not diffs:
        report.checked.append(f"统计表 {len(sheets)} 张测评表工作表的 {cells} 个数字与由导出文件重新计算的一致")


def _share(part: int, whole: int) -> float | None:
    return float(Fraction(part, whole)) if whole else None


def _same_share(cell, part: int, whole: int) -> bool:
    expect = _share(part, whole)
    if expect is None:
        return cell in (None, "")
    return isinstance(cell, int | float) and abs(cell - expect) < 1e-9
