"""An uploaded table read within limits, so that no file can take the memory or the time of the
process that reads it.

An .xlsx is a zip of XML parts, and a few hundred kilobytes can unpack to hundreds of megabytes
(a zip bomb) or to millions of rows; openpyxl and pandas would build all of it in memory first.
So before anything parses it, ``check_xlsx`` reads the zip's directory (the unpacked size of
every part: in all, and for the parts openpyxl loads whole), then streams the first sheet's XML
through a counter of its rows (by their numbers, as openpyxl numbers them) and cells, stopping
at the first one too many — a refusal within a fraction of a second, holding one chunk at a time.
Python's zipfile never unpacks more than a part's declared size (a part that lies fails its
CRC), and no part may carry a DTD (no entity expansion, no external entities). ``read_xlsx``
then reads the checked sheet with openpyxl in read-only mode: only the columns that have a
header, never more rows than allowed. A CSV is at most ``max_bytes`` and ``check_csv`` counts
its records and fields while streaming.

Limits: ``IMPORT_MAX_BYTES`` (the upload), ``IMPORT_MAX_UNCOMPRESSED_BYTES`` (an .xlsx
unpacked), ``IMPORT_MAX_ROWS`` (data rows); the rest are constants far above any real roster.
"""

from __future__ import annotations

import csv
import io
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from xml.etree import ElementTree  # nosec B405 # only parts of at most 1 MiB with no DTD are parsed (see _xml)

from flask import current_app, has_app_context

from pingyi.i18n import _

MAX_BYTES = 10 * 1024 * 1024  # defaults of the settings
MAX_UNCOMPRESSED = 50 * 1024 * 1024
MAX_ROWS = 100_000
MAX_CELLS = 3_000_000  # cells in the sheet (100 000 rows of 30 filled cells)
MAX_ROW_CELLS = 1000  # cells in one row (openpyxl builds a row whole)
MAX_COLUMNS = 100  # header columns read
MAX_PARTS = 1000  # entries of the zip
MAX_PART = 1024 * 1024  # any part openpyxl reads whole (styles, workbook, relationships, …)
MAX_STRINGS = 16 * 1024 * 1024  # the shared strings (100 000 rows of distinct names need ~3 MB)
MAX_STRING_COUNT = 300_000  # distinct texts in them (openpyxl loads them all: 1 M took 7 s)
CHUNK = 1 << 20

_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_STRINGS = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_WORKBOOK = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
             "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
             "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
             "application/vnd.ms-excel.template.macroEnabled.main+xml")
_CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
# A row's start tag, with its namespace prefix (if any).
_ROW = re.compile(rb"<([A-Za-z_][\w.-]*:)?row(?=[\s/>])")
_CELL = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c(?=[\s/>])")
_SI = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si(?=[\s/>])")
_TAG_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:row|c)(?=[\s/>])")
_LONG_TAG = 64 * 1024
_R_ATTR = re.compile(rb"""\sr\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)")


class Refused(ValueError):
    """The file is refused; ``message`` says why in the users' words, ``row`` where (if known)."""

    def __init__(self, message: str, row: int | None = None):
        super().__init__(message)
        self.message, self.row = message, row


@dataclass(frozen=True)
class Limits:
    max_bytes: int = MAX_BYTES
    max_uncompressed: int = MAX_UNCOMPRESSED
    max_rows: int = MAX_ROWS

    @classmethod
    def current(cls, max_bytes: int | None = None) -> Limits:
        """The running app's settings (the defaults outside one); ``max_bytes`` wins if given."""
        cfg = current_app.config if has_app_context() else {}
        return cls(max_bytes if max_bytes is not None else int(cfg.get("IMPORT_MAX_BYTES", MAX_BYTES)),
                   int(cfg.get("IMPORT_MAX_UNCOMPRESSED_BYTES", MAX_UNCOMPRESSED)),
                   int(cfg.get("IMPORT_MAX_ROWS", MAX_ROWS)))


def _mb(n: int) -> str:
    return f"{n / 1048576:.1f}"


def _too_many_rows(limits: Limits) -> Refused:
    return Refused(_("行数过多（超过 %(limit)d 行），请分成几个文件导入", limit=limits.max_rows))


# ---- .xlsx -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Checked:
    """What a check found: the sheet that will be read (an .xlsx), its rows after the header
    (an upper bound: blank rows count) and the cells of every sheet (the fields of a CSV)."""

    sheet: str
    rows: int
    cells: int


def _chunks(zf: zipfile.ZipFile, name: str) -> Iterator[bytes]:
    """The part's bytes, a chunk at a time; a DTD anywhere refuses the file."""
    tail = b""
    with zf.open(name) as f:
        while chunk := f.read(CHUNK):
            if _DTD.search(tail + chunk[:16]) or _DTD.search(chunk):
                raise Refused(_("Excel 文件含有不允许的 XML 声明（DTD），请在 Excel 中另存为新的 .xlsx"))
            tail = chunk[-16:]
            yield chunk


def _xml(zf: zipfile.ZipFile, name: str) -> ElementTree.Element:
    """A small part (at most ``MAX_PART``, checked before), parsed."""
    return ElementTree.fromstring(b"".join(_chunks(zf, name)))  # nosec B314 # _chunks refused any DTD: no entities to expand or fetch


def _first_sheet(zf: zipfile.ZipFile, types: dict[str, str]) -> str:
    """The part openpyxl reads as the first worksheet: the workbook part (by content type), its
    first ``<sheet>`` whose relationship is a worksheet that exists."""
    book = next((name for name, ct in types.items() if ct in _WORKBOOK), None)
    names = set(zf.namelist())
    if book is None or book not in names:
        raise Refused(_("不是有效的 Excel（.xlsx）文件"))
    folder, leaf = posixpath.split(book)
    rels_name = posixpath.join(folder, "_rels", leaf + ".rels")
    if rels_name not in names:
        raise Refused(_("不是有效的 Excel（.xlsx）文件"))
    targets = {}
    for rel in _xml(zf, rels_name).iter(f"{_REL_NS}Relationship"):
        if rel.get("Type", "").endswith("/worksheet"):
            target = rel.get("Target", "")
            path = target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
            targets[rel.get("Id")] = path
    for sheet in _xml(zf, book).iter(f"{_MAIN_NS}sheet"):
        path = targets.get(sheet.get(_R_ID))
        if path in names:
            return path
    raise Refused(_("Excel 文件中没有工作表"))


def _cells_in(chunk: bytes) -> int:
    """Cell start tags in a chunk of sheet XML, by ``bytes.count`` (a prefixed ``<x:c`` by the
    slower regular expression); one split by the chunk's end is missed, which is no matter."""
    if b":c" in chunk:
        return len(_CELL.findall(chunk))
    return sum(chunk.count(b"<c" + end) for end in (b" ", b">", b"/", b"\n", b"\t", b"\r"))


def _row_number(raw: bytes) -> int:
    try:
        return int(raw)
    except ValueError:
        value = float(raw)  # openpyxl accepts "5.0"
        if not value.is_integer():
            raise Refused(_("无法读取该 Excel 文件，可能已损坏")) from None
        return int(value)


def _count(zf: zipfile.ZipFile, sheet: str, limits: Limits) -> tuple[int, int]:
    """The sheet's highest row number, as openpyxl numbers rows (``r``, else the previous + 1),
    and its cells, counted on the stream; stops at the first row or cell too many. A tag holds
    no "<", so up to a chunk's last "<" every tag is whole (the rest waits for the next chunk),
    and a row's attributes end before the next "<". Cells are counted as ``<c`` (with the row's
    namespace prefix) between row starts, by ``bytes.count``: a second for millions of them."""
    highest = number = cells = in_row = 0
    cell_tag, pending = b"<c", b""

    def add_cells(buf: bytes, start: int, end: int) -> None:
        nonlocal cells, in_row
        n = buf.count(cell_tag, start, end)
        cells, in_row = cells + n, in_row + n
        if in_row > MAX_ROW_CELLS:
            raise Refused(_("第 %(row)d 行的单元格过多（超过 %(n)d 个）", row=number, n=MAX_ROW_CELLS), row=number)
        if cells > MAX_CELLS:
            raise Refused(_("单元格过多（超过 %(n)d 个），请删除不需要的列或分成几个文件导入", n=MAX_CELLS))

    for chunk in _chunks(zf, sheet):
        buf = pending + chunk
        cut = buf.rfind(b"<")
        cut = len(buf) if cut < 0 else cut
        pos = 0
        for m in _ROW.finditer(buf, 0, cut):
            if number:
                add_cells(buf, pos, m.start())
            r = _R_ATTR.search(buf, m.end(), buf.find(b"<", m.end()))
            number = _row_number(r.group(1) if r.group(1) is not None else r.group(2)) if r else number + 1
            if number > highest:
                highest = number
                if highest > limits.max_rows + 1:
                    raise _too_many_rows(limits)
            cell_tag, in_row, pos = b"<" + (m.group(1) or b"") + b"c", 0, m.end()
        if number:
            add_cells(buf, pos, cut)
        pending = buf[cut:]
        if len(pending) > _LONG_TAG and not _TAG_START.match(pending):
            pending = b""  # a long text, not a row still open: nothing to wait for
    return max(highest - 1, 0), cells


def check_xlsx(data: bytes, limits: Limits) -> Checked:
    """Refuse an .xlsx that would cost too much to read, before anything parses it; see the
    module docstring. Takes a fraction of a second and one chunk of memory at most."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise Refused(_("无法读取该 Excel 文件，可能已损坏")) from None
    if len(infos) > MAX_PARTS:
        raise Refused(_("Excel 文件的组成部分过多（%(n)d 个），可能已损坏", n=len(infos)))
    unpacked = sum(i.file_size for i in infos)
    if unpacked > limits.max_uncompressed:
        packed = max(sum(i.compress_size for i in infos), 1)
        raise Refused(_("Excel 文件解压后过大（%(size)s MB，压缩比 %(ratio)d∶1），上限 %(limit)s MB；"
                        "请删除多余的内容或分成几个文件导入",
                        size=_mb(unpacked), ratio=unpacked // packed, limit=_mb(limits.max_uncompressed)))
    sizes = {i.filename: i.file_size for i in infos}
    try:
        if sizes.get("[Content_Types].xml", 0) > MAX_PART:
            raise Refused(_("不是有效的 Excel（.xlsx）文件"))
        if "[Content_Types].xml" not in sizes:
            raise Refused(_("不是有效的 Excel（.xlsx）文件"))
        types = {o.get("PartName", "").lstrip("/"): o.get("ContentType", "")
                 for o in _xml(zf, "[Content_Types].xml").iter(f"{_CT_NS}Override")}
        # openpyxl reads the styles by their path, the workbook and the strings by their type, and
        # streams the sheets: some writers declare no type for them, so their folder will do.
        kinds = {name: None if name == "xl/styles.xml" else types.get(name) or (
            _WORKSHEET if name.startswith("xl/worksheets/") else None) for name in sizes}
        for name, size in sizes.items():
            kind = kinds[name]
            cap = None if kind == _WORKSHEET else MAX_STRINGS if kind == _STRINGS else MAX_PART
            if cap is not None and size > cap:
                raise Refused(_("Excel 文件中的“%(part)s”过大（%(size)s MB），请在 Excel 中把数据复制到新的工作簿后另存",
                                part=name, size=_mb(size)))
        sheet = _first_sheet(zf, types)
        rows, cells = _count(zf, sheet, limits)
        for name in sizes:  # every other part openpyxl may parse: no DTD (the sheet was streamed above)
            if name != sheet and name.endswith((".xml", ".rels")):
                strings = 0
                for chunk in _chunks(zf, name):
                    if kinds[name] == _STRINGS:  # openpyxl holds every one: count them first
                        strings += len(_SI.findall(chunk))
                        if strings > MAX_STRING_COUNT:
                            raise Refused(_("Excel 文件中的不同文字过多（超过 %(n)d 个），请分成几个文件导入",
                                            n=MAX_STRING_COUNT))
                    elif kinds[name] == _WORKSHEET:  # openpyxl parses other sheets too, for their size
                        cells += _cells_in(chunk)
                        if cells > MAX_CELLS:
                            raise Refused(_("单元格过多（超过 %(n)d 个），请删除不需要的列或分成几个文件导入",
                                            n=MAX_CELLS))
    except Refused:
        raise
    except Exception:  # zipfile, zlib and expat raise many types for broken or encrypted parts  # noqa: BLE001
        raise Refused(_("无法读取该 Excel 文件，可能已损坏")) from None
    return Checked(sheet, rows, cells)


def _text(value: object) -> str:
    """A cell's value as text, as pandas' ``read_excel(dtype=str)`` printed it (1.0 → "1")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return str(value)
    return str(value).strip()


def read_xlsx(data: bytes, checked: Checked, limits: Limits) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The checked sheet's header (row 1, up to its last heading, at most ``MAX_COLUMNS``) and
    its data rows as (row number, texts), blank rows left out."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
        try:
            ws = wb.worksheets[0] if wb.worksheets else None
            if ws is None or getattr(ws, "_worksheet_path", checked.sheet) != checked.sheet:
                raise Refused(_("无法读取该 Excel 文件，可能已损坏"))  # not the sheet that was counted
            ws.reset_dimensions()  # a stated dimension (A1:XFD1048576) is no reason to pad
            header = next(ws.iter_rows(min_row=1, max_row=1, max_col=MAX_COLUMNS, values_only=True), ())
            names = [_text(v) for v in header]
            while names and not names[-1]:
                names.pop()
            rows: list[tuple[int, list[str]]] = []
            if names:
                for number, values in enumerate(ws.iter_rows(min_row=2, max_col=len(names), values_only=True), 2):
                    if number > limits.max_rows + 1:
                        raise _too_many_rows(limits)
                    texts = [_text(v) for v in values]
                    if any(texts):
                        rows.append((number, texts + [""] * (len(names) - len(texts))))
        finally:
            wb.close()
    except Refused:
        raise
    except Exception:  # openpyxl raises many types for broken zips/XML  # noqa: BLE001
        raise Refused(_("无法读取该 Excel 文件，可能已损坏")) from None
    return names, rows


# ---- .csv ------------------------------------------------------------------------------------

def check_csv(text: str, limits: Limits) -> Checked:
    """The CSV's records after the header (blank lines count) and fields, read as a stream;
    refuses more than ``max_rows`` records, a record of more than ``MAX_ROW_CELLS`` fields or
    more than ``MAX_CELLS`` fields in all."""
    records = fields_in_all = 0
    try:
        for fields in csv.reader(io.StringIO(text)):
            records += 1
            if records > limits.max_rows + 1:
                raise _too_many_rows(limits)
            if len(fields) > MAX_ROW_CELLS:
                raise Refused(_("第 %(row)d 行的列数过多（超过 %(n)d 列）", row=records, n=MAX_ROW_CELLS), row=records)
            fields_in_all += len(fields)
            if fields_in_all > MAX_CELLS:
                raise Refused(_("单元格过多（超过 %(n)d 个），请删除不需要的列或分成几个文件导入", n=MAX_CELLS))
    except csv.Error:
        raise Refused(_("CSV 格式有误，请用 Excel 另存为 CSV"), row=records + 1) from None
    return Checked("", max(records - 1, 0), fields_in_all)
