"""Import files an attacker (or a careless export) would upload: a minimal but valid .xlsx whose
sheet is written as a stream of XML, so a few hundred kilobytes can unpack to hundreds of
megabytes (a zip bomb) or millions of rows; and CSVs of many rows or columns. Used by
tests/org/test_import_limits.py and to measure the figures in the README."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from xml.sax.saxutils import escape

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
_SHEET_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"

_PARTS = {
    "[Content_Types].xml": f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{_CT}">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_SHEET_CT}"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    "_rels/.rels": f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG}">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG}">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
}


def _cell(value: str | int) -> str:
    if isinstance(value, int):
        return f'<c t="s"><v>{value}</v></c>'  # an index into the shared strings
    return f'<c t="inlineStr"><is><t>{escape(value)}</t></is></c>'


def row(*values: str | int) -> bytes:
    """One ``<row>`` without a row number (Excel numbers it after the previous one)."""
    return ("<row>" + "".join(_cell(v) for v in values) + "</row>").encode()


def xlsx(sheet_rows: Iterable[bytes], shared: Sequence[str] = (), sheet_attrs: str = "") -> bytes:
    """A workbook with one sheet whose ``<sheetData>`` is the concatenation of ``sheet_rows``,
    compressed as it is written (nothing the size of the unpacked sheet is held)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, text in _PARTS.items():
            zf.writestr(name, text)
        strings = "".join(f"<si><t>{escape(s)}</t></si>" for s in shared)
        zf.writestr("xl/sharedStrings.xml", f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{_MAIN}" '
                                            f'count="{len(shared)}" uniqueCount="{len(shared)}">{strings}</sst>')
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            f.write(f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_MAIN}"{sheet_attrs}>'
                    '<sheetData>'.encode())
            pending: list[bytes] = []
            for r in sheet_rows:
                pending.append(r)
                if len(pending) >= 4096:
                    f.write(b"".join(pending))
                    pending.clear()
            f.write(b"".join(pending) + b"</sheetData></worksheet>")
    return buf.getvalue()


PEOPLE = ["姓名", "所在单位"]


def _repeat(chunk: bytes, total: int) -> Iterator[bytes]:
    for _ in range(total // len(chunk)):
        yield chunk
    yield chunk[: total % len(chunk)]


def zip_bomb(megabytes: int = 300) -> bytes:
    """A roster whose one data row's name is ``megabytes`` MB of "A": ~1 KB per MB packed."""
    text = (b"A" * (1 << 20))
    body = [row(0, 1), b'<row><c t="inlineStr"><is><t>', *_repeat(text, megabytes << 20), b"</t></is></c></row>"]
    return xlsx(body, shared=PEOPLE)


def many_rows(n: int, numbered: bool = False) -> bytes:
    """A roster header then ``n`` rows of the same person in the same unit (both shared
    strings); ``numbered`` writes each row's number (``r="…"``) as Excel does."""
    shared = [*PEOPLE, "王伟", "采煤一队党支部"]
    if numbered:
        rows = (f'<row r="{i}"><c r="A{i}" t="s"><v>2</v></c><c r="B{i}" t="s"><v>3</v></c></row>'.encode()
                for i in range(2, n + 2))
        return xlsx([b'<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>', *rows], shared)
    one = row(2, 3)
    return xlsx([row(0, 1), *_repeat(one * 4096, n * len(one))], shared)


def cells(rows: int, per_row: int) -> bytes:
    """A header then ``rows`` rows of ``per_row`` numbers each."""
    return xlsx([row(0, 1), *_repeat(b"<row>" + b"<c><v>1</v></c>" * per_row + b"</row>", rows * (15 * per_row + 11))],
                PEOPLE)


def with_part(data: bytes, name: str, content: bytes, content_type: str | None = None) -> bytes:
    """``data`` with the part ``name`` replaced (or added, declared as ``content_type``)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for info in src.infolist():
            if info.filename == name:
                continue
            part = src.read(info.filename)
            if info.filename == "[Content_Types].xml" and content_type:
                part = part.replace(b"</Types>", f'<Override PartName="/{name}" ContentType="{content_type}"/>'
                                                 "</Types>".encode())
            zf.writestr(info.filename, part)
        zf.writestr(name, content)
    return buf.getvalue()


def second_sheet(data: bytes, sheet_xml: bytes) -> bytes:
    """``data`` with a second worksheet (``sheet_xml``) behind its first: not imported, but
    openpyxl parses it through when it states no dimension."""
    zf = zipfile.ZipFile(io.BytesIO(data))
    book = zf.read("xl/workbook.xml").replace(b"</sheets>", b'<sheet name="S2" sheetId="2" r:id="rId9"/></sheets>')
    rels = zf.read("xl/_rels/workbook.xml.rels").replace(
        b"</Relationships>", f'<Relationship Id="rId9" Type="{_REL}/worksheet" Target="worksheets/sheet2.xml"/>'
                             "</Relationships>".encode())
    data = with_part(data, "xl/worksheets/sheet2.xml", sheet_xml, _SHEET_CT)
    return with_part(with_part(data, "xl/workbook.xml", book), "xl/_rels/workbook.xml.rels", rels)


def lying_sizes(data: bytes, part: str = "xl/worksheets/sheet1.xml", size: int = 100) -> bytes:
    """``data`` rewritten so that its directory says ``part`` unpacks to ``size`` bytes (it
    unpacks to more): the local header and the central directory entry both lie."""
    src = zipfile.ZipFile(io.BytesIO(data))
    data = with_part(data, part, src.read(part))  # written again without zip64: plain 4-byte sizes
    out = bytearray(data)
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(part)
    out[info.header_offset + 22:info.header_offset + 26] = size.to_bytes(4, "little")
    pos = 0
    while (pos := data.find(b"PK\x01\x02", pos)) != -1:  # central directory entries
        name_len = int.from_bytes(data[pos + 28:pos + 30], "little")
        if data[pos + 46:pos + 46 + name_len].decode() == part:
            out[pos + 24:pos + 28] = size.to_bytes(4, "little")
        pos += 4
    return bytes(out)


def far_cells() -> bytes:
    """Two rows, but the second one is row 1 048 576 and reaches column XFD: a reader that pads
    what is missing builds a million rows of 16 384 cells."""
    return xlsx([row(0, 1), b'<row r="1048576"><c r="A1048576" t="s"><v>2</v></c>'
                 b'<c r="XFD1048576" t="s"><v>3</v></c></row>'], [*PEOPLE, "王伟", "采煤一队党支部"])


def csv_rows(n: int) -> bytes:
    return ("姓名,所在单位\n" + "王伟,采煤一队党支部\n" * n).encode()


def csv_columns(n: int) -> bytes:
    return ("姓名,所在单位" + ",x" * n + "\n王伟,采煤一队党支部" + ",1" * n + "\n").encode()
