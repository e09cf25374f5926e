"""The summary report (评议工作总结) of a campaign, as Word and PDF, in the register of seed 002:
narrative paragraphs written from the stored tally (scope §二 “全面铺开，广泛开展”, results §四
“认真评议，效果明显”, verdicts, a closing), each of which the admin may rewrite
(``Campaign.narrative``; a paragraph not rewritten follows the figures), then the charts, the
verdict lists and a table of the committees; a sealed campaign's closing ends with the seal's
date and digest (``Campaign.seal_digest``), which no rewrite changes.

Everything is read from the stored tally through ``results``/``rollup`` (never from ballots),
and both files are made from one list of blocks, so the Word and the PDF say the same thing.
Rates are printed by ``tally.percent`` only.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape  # nosec B406 # escape() quotes text for reportlab's paragraph markup; nothing parses XML here

from sqlalchemy import select

from pingyi.campaigns import meetings
from pingyi.campaigns import rules as rl
from pingyi.campaigns.lifecycle import categories, local, rule_specs, subject_counts
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import MEETING_KINDS, SUBJECT_KINDS, UNIT_KINDS, Campaign, Form, Subject, Tenant, utcnow
from pingyi.rectification import overdue
from pingyi.rectification.ledger import STATE_LABELS as RECTIFICATION_LABELS
from pingyi.results import dashboard as rs
from pingyi.results import suppression as sup
from pingyi.results import tally as tl
from pingyi.results import turnout as tu
from pingyi.results.tally import percent, stored_run

from . import charts, palette

MAX_CHARS = 5000  # per paragraph: a page and a half of text, far more than any section of the seeds
# key → (title, numbered heading?). The intro stands under the title without a heading.
SECTIONS: dict[str, tuple[str, bool]] = {
    "intro": ("开头", False),
    "scope": ("全面铺开，广泛开展", True),
    "results": ("认真评议，效果明显", True),
    "verdicts": ("评议结果认定", True),
    "closing": ("通报情况，落实责任", True),
}
NUMERALS = "一二三四五六七八九十"
BODY_FONT, HEADING_FONT = "宋体", "黑体"  # what Word shows for the East Asian text
NO_TALLY = "（尚未统计：统计后将根据评议数据自动生成本段。）"
DEFAULT_THRESHOLD = 0.6
_MEASURE = {"person": "名"}  # 2名党员, 2个基层党组织


@dataclass
class Paragraph:
    """One narrative paragraph: the text made from the figures, and the text the report uses
    (the admin's, when they rewrote it)."""

    key: str
    title: str
    generated: str
    text: str

    @property
    def edited(self) -> bool:
        return self.text != self.generated


@dataclass
class _Facts:
    """What the paragraphs and tables are written from (one read of the stored tally)."""

    c: Campaign
    org: str
    results: rs.Results
    unit_kinds: dict[str, int]  # units below the top where the campaign ran, by kind
    forms: list[tuple[str, str]]  # (name, subject kind) of the subjects' forms, in form order
    subjects: dict[str, int]  # subject kind → count
    rules: list[rl.RuleSpec]
    participants: list[tu.Row]  # per evaluator category with links: issued and used
    by_category: list[tuple[str, dict[int, tl.Figures]]]  # (name, item → figures) of each category shown
    unsplit: list[str]  # categories with ballots not shown on their own (fewer than k, or by subtraction)
    meetings: meetings.Counts  # the meetings recorded for the campaign
    ledger: overdue.Counts  # the rectification ledger's items by state, and overdue at ``now``
    now: datetime


def _facts(c: Campaign, now: datetime | None = None) -> _Facts:
    now = now or utcnow()
    r = rs.campaign_results(c, max_depth=None)  # every unit: the scope counts them, table 1 shows depth 1
    tenant = db.session.get(Tenant, c.tenant_id)
    ran = [(u.unit.kind, u.unit.depth, u.figures) for u in r.units if u.figures.subjects or u.figures.issued]
    below = [x for x in ran if x[1] > 0] or ran  # the organizing (top) unit is not one of "its" units
    kinds: dict[str, int] = {}
    for kind, _depth, _f in below:
        kinds[kind] = kinds.get(kind, 0) + 1
    forms = db.session.execute(
        select(Form.name, Form.subject_kind).where(Form.id.in_(
            select(Subject.form_id).where(Subject.campaign_id == c.id))).order_by(Form.id)).all()
    participants = [row for row in tu.turnout(c)["categories"] if row.issued]
    by_category, unsplit = [], []
    # one category: the pooled rates are its own, and there is nothing to split
    cells = tl.stored_figures(c.id, "item_category", tl.subject_facts(c.id)[1]) \
        if len(participants) > 1 and r.run is not None else {}
    split = sup.campaign_breakdown(c.id) if cells else None
    for k in categories(c) if cells else ():
        if split.ballots.get(k.id) and split.shown(k.id):
            by_category.append((k.name, {item: f for (item, cat), f in cells.items() if cat == k.id}))
        elif split.ballots.get(k.id):
            unsplit.append(k.name)
    return _Facts(c, tenant.name if tenant else "", r, kinds, [(n, k) for n, k in forms], subject_counts(c),
                  rule_specs(c), participants, by_category, unsplit, meetings.counts(c), overdue.totals(c.id, now),
                  now)


def _date(dt: datetime, tz: str) -> str:
    d = local(dt, tz)
    return f"{d.year}年{d.month}月{d.day}日"


def _counted(counts: dict[str, int], labels: dict[str, str]) -> str:
    """2个基层党组织、2名党员 (in the labels' order)."""
    return "、".join(f"{counts[k]}{_MEASURE.get(k, '个')}{label}" for k, label in labels.items() if counts.get(k))


def _intro(f: _Facts) -> str:
    c = f.c
    return (f"按照上级关于开展群众评议工作的部署要求，{f.org}认真组织，精心部署，于{_date(c.opens_at, c.timezone)}至"
            f"{_date(c.closes_at, c.timezone)}深入开展了“{c.name}”群众评议工作。现将评议情况报告如下：")


def _scope(f: _Facts) -> str:
    t = f.results.total
    run = f.results.run
    units = _counted(f.unit_kinds, UNIT_KINDS)
    subjects = _counted(f.subjects, SUBJECT_KINDS)
    forms = "、".join(f"《{name}》{t.issued}份" for name, _kind in f.forms)
    out = f"{f.org}“{f.c.name}”群众评议活动全面铺开"
    out += f"，在所属{units}中广泛开展" if units else ""
    out += f"。共有{subjects}列为评议对象，" if subjects else "。"
    out += f"其中{t.rated}个收到评价，评议覆盖率为{percent(t.coverage)}。"
    if f.meetings.meetings:  # recorded meetings only: a figure without records is left out
        kinds = "、".join(f"{MEETING_KINDS[k]}{n}次" for k, n in f.meetings.by_kind.items())
        out += f"共召开各类评议会议{f.meetings.meetings}次（{kinds}），参会{f.meetings.attendance}人次；"
    out += f"发放测评码{t.issued}个，有{t.used}{_who(f)}参加了评议活动"
    if len(f.participants) > 1:
        out += "（其中" + "、".join(f"{row.name}{row.used}人" for row in f.participants) + "）"
    out += f"，参评率为{percent(t.turnout)}"
    out += f"；发放{forms}" if forms else ""
    return out + f"，收回评议票{run.ballots}张，有效回答{t.valid}个。"


def _who(f: _Facts) -> str:
    """Who took part, as the sentence names them: the one category by its name ("名员工群众"),
    several as people ("人", each category counted after it)."""
    return f"名{f.participants[0].name}" if len(f.participants) == 1 else "人"


def _rates(items: list[rs.ItemRate], figures: dict[int, tl.Figures]) -> str:
    parts = []
    for it in items:
        share = figures[it.id].satisfied_share if it.id in figures else None
        parts.append(f"{it.text}满意率为{percent(share)}" if share is not None else f"{it.text}暂无有效回答")
    return "；".join(parts)


def _results(f: _Facts) -> str:
    t, run = f.results.total, f.results.run
    kinds = "和".join(SUBJECT_KINDS.get(k, k) for k in SUBJECT_KINDS if f.subjects.get(k))
    out = (f"这次群众评议活动，主要对{kinds or '评议对象'}开展“{f.c.name}”的情况进行集中评议，共收回评议票"
           f"{run.ballots}张、有效回答{t.valid}个，总体满意率为{percent(t.satisfied_share)}。")
    kind_of = dict(f.forms)
    groups: list[tuple[str, list[rs.ItemRate]]] = []
    for it in f.results.items:
        if not groups or groups[-1][0] != it.form:
            groups.append((it.form, []))
        groups[-1][1].append(it)
    # the pooled rates are named for who gave them: one category by its name, several as 全体参评人员,
    # then each category shown on its own (never one resting on fewer than k ballots, nor one
    # the others and the pool would give away by subtraction)
    pooled = f.participants[0].name if len(f.participants) == 1 else "全体参评人员"
    for form, items in groups:
        who = SUBJECT_KINDS.get(kind_of.get(form, ""), "评议对象")
        out += f"{pooled}对{who}" + _rates(items, {it.id: it.figures for it in items}) + "。"
        for n, (name, figures) in enumerate(f.by_category):
            out += ("其中，" if n == 0 else "") + f"{name}对{who}" + _rates(items, figures) + "。"
    if f.unsplit:
        out += f"为保护评议人，票数不足{sup.min_cell()}张或可被推算的类别不单独列出：" + "、".join(f.unsplit) + "。"
    return out


def _conditions(specs: list[rl.RuleSpec], outcome: str) -> str:
    seen: list[str] = []
    for s in specs:
        cond = f"{rl.METRICS.get(s.metric, s.metric)}{rl.OPS.get(s.op, s.op)}{s.threshold}"
        if s.outcome == outcome and cond not in seen:
            seen.append(cond)
    return "或".join(seen)


def _verdicts(f: _Facts) -> str:
    if not f.rules:
        return "本次评议未设置结果认定规则。"
    if not f.results.verdicts:
        return f"对照本次评议的结果认定规则，全部{f.results.total.subjects}个评议对象均未触及认定条件。"
    parts = [f"属于“{outcome}”情形（{_conditions(f.rules, outcome)}）的评议对象{len(rows)}个"
             for outcome, _severity, rows in f.results.verdicts]
    return "对照本次评议的结果认定规则，" + "；".join(parts) + "。名单详见下表。"


def _closing(f: _Facts) -> str:
    out = (f"群众评议活动结束后，{f.org}将评议结果进行汇总通报，对群众评议中反映出来的问题进行认真梳理，深入查找原因，"
           "落实整改责任，制定整改措施，及时整改落实；对评议中涌现出的先进典型和经验认真总结提炼，进行交流推广。")
    ledger = f.ledger
    if ledger.total:  # the ledger as recorded, on the day the report is made
        states = "、".join(f"{label}{ledger.by_state[k]}项" for k, label in RECTIFICATION_LABELS.items()
                          if ledger.by_state.get(k))
        out += f"截至{_date(f.now, f.c.timezone)}，已建立整改事项{ledger.total}项（{states}）"
        out += f"，其中逾期未完成{ledger.overdue}项。" if ledger.overdue else "，无逾期未完成事项。"
    return out


_WRITERS = {"intro": _intro, "scope": _scope, "results": _results, "verdicts": _verdicts, "closing": _closing}
_NEED_TALLY = ("scope", "results", "verdicts")


def _paragraphs(f: _Facts) -> list[Paragraph]:
    narrative = f.c.narrative or {}
    out = []
    for key, (title, _numbered) in SECTIONS.items():
        generated = NO_TALLY if f.results.run is None and key in _NEED_TALLY else _WRITERS[key](f)
        out.append(Paragraph(key, title, generated, narrative.get(key) or generated))
    return out


def paragraphs(c: Campaign, now: datetime | None = None) -> list[Paragraph]:
    """The narrative in report order; a key the admin never rewrote carries the generated text."""
    return _paragraphs(_facts(c, now))


def has_tally(c: Campaign) -> bool:
    """A report needs a stored tally; the page offers the files only then."""
    return stored_run(c.id) is not None


def _clean(value: object, key: str) -> str:
    if not isinstance(value, str):
        raise DomainError(_("段落“%(t)s”的内容必须是文字", t=SECTIONS[key][0]), key)
    return "\n".join(line.rstrip() for line in value.replace("\r\n", "\n").replace("\r", "\n").split("\n")).strip()


def save_narrative(c: Campaign, edits: dict[str, str]) -> None:
    """Keep the paragraphs the admin rewrote; a blank one, or one equal to the generated text,
    goes back to following the figures. All-or-nothing: bad input changes nothing."""
    unknown = sorted(k for k in edits if k not in SECTIONS)
    if unknown:
        raise DomainError(_("未知的段落：%(k)s", k="、".join(str(k)[:40] for k in unknown[:5])), "narrative")
    cleaned = {k: _clean(v, k) for k, v in edits.items()}
    for key, text in cleaned.items():
        if len(text) > MAX_CHARS:
            raise DomainError(_("段落“%(t)s”过长：%(n)d 字，最多 %(m)d 字，未保存任何修改",
                                t=SECTIONS[key][0], n=len(text), m=MAX_CHARS), key)
    generated = {p.key: p.generated for p in paragraphs(c)}
    narrative = dict(c.narrative or {})
    for key, text in cleaned.items():
        if not text or text == generated[key].strip():
            narrative.pop(key, None)
        else:
            narrative[key] = text
    if narrative != (c.narrative or {}):
        c.narrative = narrative  # a new dict: the JSON column notices the change, the audit hook records it
        db.session.flush()


# ---- the document as blocks, rendered twice -------------------------------------------------------

@dataclass
class Block:
    """One piece of the report, as both renderers read it."""

    kind: str  # title, note, heading, para, caption, image, table, sign
    text: str = ""
    data: bytes = b""
    header: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()


def _threshold(specs: list[rl.RuleSpec]) -> float:
    """Bars under the highest "satisfaction below …" threshold of the rules are red (60% without one)."""
    limits = [s.fraction for s in specs if s.metric == "satisfied_share" and s.op in ("lt", "le")]
    return float(max(limits)) if limits else DEFAULT_THRESHOLD


def _lines(text: str) -> Iterator[str]:
    return (line.strip() for line in text.split("\n") if line.strip())


def _blocks(c: Campaign) -> list[Block]:
    f = _facts(c)
    r = f.results
    if r.run is None:
        raise DomainError(_("该评议活动尚未统计，请先统计"), "tally")
    paras = {p.key: p for p in _paragraphs(f)}
    out = [Block("title", f"《{c.name}》评议工作总结"),
           Block("note", f"（数据截至{_date(r.run.computed_at, c.timezone)}，第{r.run.version}次统计）")]
    n = 0
    for key, (title, numbered) in SECTIONS.items():
        if numbered:
            out.append(Block("heading", f"{NUMERALS[n]}、{title}"))
            n += 1
        out.extend(Block("para", line) for line in _lines(paras[key].text))
        out.extend(_EXTRAS.get(key, lambda _f: [])(f))
    out.append(Block("sign", f.org))
    return out


def _committees(f: _Facts) -> list[Block]:
    r, t = f.results, f.results.total
    rows = [(u.unit.name, percent(u.figures.coverage), percent(u.figures.turnout), str(u.figures.valid),
             percent(u.figures.satisfied_share)) for u in r.units if u.unit.depth == 1]
    rows.append(("合计", percent(t.coverage), percent(t.turnout), str(t.valid), percent(t.satisfied_share)))
    return [Block("caption", "表1  各单位评议情况（含下级单位）"),
            Block("table", header=("单位", "覆盖率", "参评率", "回答", "满意率"), rows=tuple(rows))]


def _charts(f: _Facts) -> list[Block]:
    r, out = f.results, []
    if r.items:
        out.append(Block("image", data=charts.rate_bars(
            [it.text for it in r.items], [it.figures.satisfied_share for it in r.items],
            "各评议内容满意率", fmt="png", threshold=_threshold(f.rules))))
        out.append(Block("caption", "图1  各评议内容满意率"))
    figure = 2 if out else 1
    if r.distribution:
        out.append(Block("image", data=charts.distribution(r.distribution, "全部回答的选项分布", fmt="png",
                                                            tones=palette.choice_tones(f.c.id))))
        out.append(Block("caption", f"图{figure}  全部回答的选项分布"))
    return out


def _verdict_lists(f: _Facts) -> list[Block]:
    out = []
    for i, (outcome, _severity, rows) in enumerate(f.results.verdicts, start=2):
        out.append(Block("caption", f"表{i}  属于“{outcome}”情形的评议对象（{len(rows)}个）"))
        out.append(Block("table", header=("评议对象", "回答", "满意率", "不满意率"), rows=tuple(
            (s.label, str(s.figures.total), percent(s.figures.satisfied_share), percent(s.figures.lowest_share))
            for s in rows)))
    return out


def _seal(f: _Facts) -> list[Block]:
    """The seal's sentence closing the report, once the campaign is sealed: a fact, not part of
    the paragraph the admin may rewrite, so no rewrite drops or alters the digest."""
    c = f.c
    if not c.seal_digest or c.sealed_at is None:
        return []
    return [Block("para", f"本次评议的全部评议票已于{_date(c.sealed_at, c.timezone)}封存，"
                          f"数字指纹（SHA-256）为{c.seal_digest}，可在公示页核对。")]


_EXTRAS = {"scope": _committees, "results": _charts, "verdicts": _verdict_lists, "closing": _seal}


REPORT = "评议工作总结"
NUMBER_COLUMN_CM = 2.3  # a figure column (覆盖率, 回答 …) in both files; the name column takes the rest


def _widths(columns: int, total_cm: float) -> list[float]:
    """Column widths in cm: the first (a unit's or subject's name) wide, the figures narrow."""
    return [total_cm - NUMBER_COLUMN_CM * (columns - 1)] + [NUMBER_COLUMN_CM] * (columns - 1)


def docx(c: Campaign) -> bytes:
    """评议工作总结.docx (python-docx, A4), East Asian fonts set so Word shows the Chinese text."""
    return render_docx(_blocks(c), c.name)


def pdf(c: Campaign) -> bytes:
    """评议工作总结.pdf (reportlab, A4, the embedded Chinese font, CJK line breaking)."""
    return render_pdf(_blocks(c), c.name)


# ---- Word ---------------------------------------------------------------------------------------

_THEME = ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme")
WORD_MARGIN_CM = 2.6


def _east_asian(rpr, font: str) -> None:
    """Word takes Chinese glyphs from ``w:eastAsia``; theme attributes would override it."""
    from docx.oxml.ns import qn

    rfonts = rpr.get_or_add_rFonts()
    for attr in _THEME:
        rfonts.attrib.pop(qn(attr), None)
    rfonts.set(qn("w:ascii"), "Times New Roman")
    rfonts.set(qn("w:hAnsi"), "Times New Roman")
    rfonts.set(qn("w:eastAsia"), font)


def _docx_styles(doc) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    default = doc.styles.element.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}")
    if default is not None:
        _east_asian(default, BODY_FONT)
    for name, font, size in (("Normal", BODY_FONT, 12), ("Title", HEADING_FONT, 20), ("Heading 1", HEADING_FONT, 14),
                             ("Caption", HEADING_FONT, 10.5), ("Header", BODY_FONT, 9), ("Footer", BODY_FONT, 9)):
        style = doc.styles[name]
        _east_asian(style.element.get_or_add_rPr(), font)
        style.font.size = Pt(size)
        style.font.color.rgb = RGBColor(0, 0, 0)
        if name in ("Title", "Heading 1", "Caption"):
            style.font.bold = name != "Caption"
            style.font.italic = False
    doc.styles["Title"].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.styles["Caption"].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.styles["Normal"].paragraph_format.line_spacing = 1.5
    doc.styles["Normal"].paragraph_format.space_after = Pt(0)


def _flag(parent, tag: str) -> None:
    from docx.oxml import OxmlElement

    parent.append(OxmlElement(tag))


def _docx_table(doc, block: Block, width_cm: float) -> None:
    """A fixed-layout table: explicit widths (the name column wide, the figures narrow), the
    header row repeated on every page (``w:tblHeader``), no row split across pages."""
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    widths = [Cm(w) for w in _widths(len(block.header), width_cm)]
    table = doc.add_table(rows=1, cols=len(block.header), style="Table Grid")
    table.autofit = False  # w:tblLayout fixed: Word keeps the widths below instead of sizing to content
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    tbl_w = table._tbl.tblPr.find(qn("w:tblW"))
    if tbl_w is None:
        tbl_w = OxmlElement("w:tblW")
        table._tbl.tblPr.append(tbl_w)
    tbl_w.set(qn("w:type"), "dxa")
    tbl_w.set(qn("w:w"), str(sum(w.twips for w in widths)))
    for column, w in zip(table.columns, widths, strict=True):
        column.width = w  # w:gridCol
    for cell, text in zip(table.rows[0].cells, block.header, strict=True):
        cell.text = text
        cell.paragraphs[0].runs[0].bold = True
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    for row in block.rows:
        cells = table.add_row().cells
        for i, (cell, text) in enumerate(zip(cells, row, strict=True)):
            cell.text = text
            if i:
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    for n, row in enumerate(table.rows):
        tr_pr = row._tr.get_or_add_trPr()
        _flag(tr_pr, "w:cantSplit")
        if n == 0:
            _flag(tr_pr, "w:tblHeader")  # after cantSplit: the schema's order
        for cell, w in zip(row.cells, widths, strict=True):
            cell.width = w  # w:tcW, which Word reads before the grid
            p = cell.paragraphs[0]
            p.paragraph_format.line_spacing = 1.0
            for run in p.runs:
                run.font.size = Pt(10.5)
    doc.add_paragraph()


def _field(paragraph, instr: str) -> None:
    """A Word field (PAGE, NUMPAGES) that Word fills in when it lays the pages out."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), instr)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def _docx_margins(doc, about: str, width_cm: float) -> None:
    """The running header (campaign … report) and 第 x 页 / 共 y 页 at the foot, as in the PDF."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
    from docx.shared import Cm

    section = doc.sections[0]
    head = section.header.paragraphs[0]
    head.style = doc.styles["Header"]
    tabs = doc.styles["Header"].paragraph_format.tab_stops  # the template's stop at 16.5 cm is off the page
    tabs.clear_all()
    tabs.add_tab_stop(Cm(width_cm), WD_TAB_ALIGNMENT.RIGHT)
    head.text = f"{about}\t{REPORT}"
    foot = section.footer.paragraphs[0]
    foot.style = doc.styles["Footer"]
    foot.alignment = WD_ALIGN_PARAGRAPH.CENTER
    foot.add_run("第 ")
    _field(foot, "PAGE")
    foot.add_run(" 页 / 共 ")
    _field(foot, "NUMPAGES")
    foot.add_run(" 页")


def render_docx(blocks: list[Block], about: str) -> bytes:
    """The Word file of ``blocks``; ``about`` (the campaign's name) heads every page."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Mm, Pt

    doc = Document()
    _docx_styles(doc)
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Cm(WORD_MARGIN_CM)
    section.top_margin = section.bottom_margin = Cm(2.5)
    width_cm = 21.0 - 2 * WORD_MARGIN_CM
    _docx_margins(doc, about, width_cm)
    doc.core_properties.title = blocks[0].text
    for b in blocks:
        if b.kind == "title":
            doc.add_heading(b.text, level=0)
        elif b.kind == "note":
            p = doc.add_paragraph(b.text)
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif b.kind == "heading":
            doc.add_heading(b.text, level=1)
        elif b.kind == "para":
            p = doc.add_paragraph(b.text)
            p.paragraph_format.first_line_indent = Pt(24)
        elif b.kind == "caption":
            doc.add_paragraph(b.text, style="Caption").paragraph_format.keep_with_next = True
        elif b.kind == "image":  # at the width it was drawn for: its type sizes are the sizes read
            doc.add_picture(io.BytesIO(b.data), width=Cm(charts.PNG_WIDTH * 2.54))
            doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
            doc.paragraphs[-1].paragraph_format.keep_with_next = True  # the caption below it
        elif b.kind == "table":
            _docx_table(doc, b, width_cm)
        elif b.kind == "sign":
            p = doc.add_paragraph(b.text)
            p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


# ---- PDF ----------------------------------------------------------------------------------------

KEEP_WITH = 3.5  # cm: a heading or a table's caption starts a page unless this much follows it
# (the heading with three lines, the caption with the header row and two rows); a table longer
# than what is left on the page splits there, its header row repeated, rather than moving whole


def _pdf_styles(font: str) -> dict:
    from reportlab.lib.enums import TA_CENTER, TA_RIGHT
    from reportlab.lib.styles import ParagraphStyle

    base = ParagraphStyle("body", fontName=font, fontSize=11, leading=19, firstLineIndent=22, wordWrap="CJK",
                          allowWidows=0)  # no paragraph's last line alone atop a page
    return {
        "title": ParagraphStyle("title", base, fontSize=18, leading=26, firstLineIndent=0, alignment=TA_CENTER,
                                spaceAfter=4),
        "note": ParagraphStyle("note", base, fontSize=10, leading=14, firstLineIndent=0, alignment=TA_CENTER,
                               spaceAfter=10),
        "heading": ParagraphStyle("heading", base, fontSize=13, leading=20, firstLineIndent=0, spaceBefore=10,
                                  spaceAfter=4),
        "para": base,
        "caption": ParagraphStyle("caption", base, fontSize=10.5, leading=15, firstLineIndent=0, alignment=TA_CENTER,
                                  spaceBefore=6, spaceAfter=4),
        "sign": ParagraphStyle("sign", base, firstLineIndent=0, alignment=TA_RIGHT, spaceBefore=18),
        "cell": ParagraphStyle("cell", base, fontSize=10, leading=13, firstLineIndent=0),
        "head": ParagraphStyle("head", base, fontSize=10, leading=13, firstLineIndent=0, alignment=TA_CENTER),
        "num": ParagraphStyle("num", base, fontSize=10, leading=13, firstLineIndent=0, alignment=TA_RIGHT),
    }


def _pdf_table(b: Block, styles: dict, width: float):
    """Splits across pages with its header row repeated; never kept whole (see ``KEEP_WITH``)."""
    from reportlab.lib import colors
    from reportlab.lib.units import cm
    from reportlab.platypus import Paragraph as P
    from reportlab.platypus import Table, TableStyle

    data = [[P(escape(h), styles["head"]) for h in b.header]]
    data += [[P(escape(v), styles["num" if i else "cell"]) for i, v in enumerate(row)] for row in b.rows]
    widths = [w * cm for w in _widths(len(b.header), width / cm)]
    table = Table(data, colWidths=widths, repeatRows=1, hAlign="CENTER")
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EFEFEF")),
                               ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    return table


def render_pdf(blocks: list[Block], about: str) -> bytes:
    """The PDF of ``blocks``: ``about`` (the campaign's name) and the report's title head every
    page, 第 x 页 / 共 y 页 at its foot."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import cm, inch
    from reportlab.lib.utils import ImageReader
    from reportlab.platypus import CondPageBreak, Image, KeepTogether, SimpleDocTemplate, Spacer
    from reportlab.platypus import Paragraph as P

    from pingyi.fonts import register_pdf_font

    from . import pdfpages

    font = register_pdf_font()
    styles = _pdf_styles(font)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=2.4 * cm, rightMargin=2.4 * cm, topMargin=2.4 * cm,
                            bottomMargin=2.4 * cm, title=blocks[0].text, author=blocks[-1].text)
    story: list = []
    for i, b in enumerate(blocks):
        following = blocks[i + 1].kind if i + 1 < len(blocks) else ""
        if b.kind == "image":  # at the width it was drawn for: its type sizes are the sizes read
            w, h = ImageReader(io.BytesIO(b.data)).getSize()
            width = min(doc.width, charts.PNG_WIDTH * inch)
            story.append(Image(io.BytesIO(b.data), width=width, height=width * h / w))
        elif b.kind == "table":
            story.append(_pdf_table(b, styles, doc.width))
            story.append(Spacer(1, 8))
        elif b.kind == "caption" and i and blocks[i - 1].kind == "image":  # a chart and its caption: one page
            story[-1] = KeepTogether([story[-1], P(escape(b.text), styles["caption"]), Spacer(1, 10)])
        else:
            if b.kind == "heading" or (b.kind == "caption" and following == "table"):
                story.append(CondPageBreak(KEEP_WITH * cm))
            story.append(P(escape(b.text), styles[b.kind]))
    doc.build(story, canvasmaker=pdfpages.canvasmaker(doc, font, about, REPORT))
    return buf.getvalue()
