"""Printable QR slips (测评码), several per A4 page: unit, category, serial, QR code of the link,
short code for typing by hand. QR codes are made by zxing-cpp and drawn as vector runs (crisp
in print, ~0.4 ms a slip); text uses a CJK TrueType font found through fontconfig."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import zxingcpp
from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas

from pingyi.fonts import PDF_FONT, register_pdf_font

COLS, ROWS = 3, 4
PARALLEL_FROM = 2000  # slips; below this a process pool costs more than it saves
@dataclass(frozen=True)
class Slip:
    title: str
    unit: str
    category: str
    serial: int
    url: str
    code: str  # formatted short code, e.g. ABCD-EFGH-JKMN


def qr_operators(text: str, x: float, y: float, size: float) -> str:
    """PDF path operators drawing ``text`` as a QR code in a ``size``-point square at (x, y):
    one rectangle per run of dark modules, in module units under a single ``cm`` transform."""
    matrix = np.asarray(zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
                        .to_image(scale=1, add_quiet_zones=False))
    dark = matrix < 128
    n = dark.shape[0]
    padded = np.zeros((n, n + 2), dtype=np.int8)
    padded[:, 1:-1] = dark
    edges = np.diff(padded, axis=1)
    rows, starts = np.nonzero(edges == 1)
    _, ends = np.nonzero(edges == -1)
    s = size / n
    ops = [f"q 0 g {s:.4f} 0 0 {s:.4f} {x:.2f} {y:.2f} cm"]
    ops.extend(f"{a} {n - 1 - r} {e - a} 1 re" for r, a, e in zip(rows.tolist(), starts.tolist(), ends.tolist(), strict=True))
    ops.append("f Q")
    return "\n".join(ops)


def _qr_job(args: tuple[str, float, float, float]) -> str:
    return qr_operators(*args)


def _qr_stream(jobs: list[tuple[str, float, float, float]]) -> Iterator[str]:
    """QR operators in order; large batches are computed by one process per core while this
    process keeps drawing the text (QR encoding is most of the work)."""
    if len(jobs) < PARALLEL_FROM:
        yield from (qr_operators(*j) for j in jobs)
        return
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(max(1, os.cpu_count() or 1)) as pool:
        yield from pool.imap(_qr_job, jobs, chunksize=256)


def _fit(text: str, size: float, width: float, keep_tail: bool = False) -> str:
    """Shorten ``text`` with an ellipsis to fit ``width``; unit paths keep their tail (the branch)."""
    if pdfmetrics.stringWidth(text, PDF_FONT, size) <= width:
        return text
    while text and pdfmetrics.stringWidth("…" + text if keep_tail else text + "…", PDF_FONT, size) > width:
        text = text[1:] if keep_tail else text[:-1]
    return "…" + text if keep_tail else text + "…"


def render(slips: Iterable[Slip], out: BinaryIO, footer: str = "",
           on_progress: Callable[[int], None] | None = None) -> int:
    """Write the slips as a PDF to ``out``; returns the number of pages."""
    font = register_pdf_font()
    slips = list(slips)
    width, height = A4
    sw, sh = width / COLS, height / ROWS
    pad, qr = 5 * mm, 40 * mm
    per_page = COLS * ROWS

    def origin(i: int) -> tuple[float, float]:
        k = i % per_page
        return (k % COLS) * sw, height - (k // COLS + 1) * sh

    qr_ops = _qr_stream([(s.url, origin(i)[0] + (sw - qr) / 2, origin(i)[1] + 17 * mm, qr)
                         for i, s in enumerate(slips)])
    rl_config.useA85 = 0  # binary streams: ASCII85-encoding every page costs more than drawing it
    c = canvas.Canvas(out, pagesize=A4, pageCompression=1)
    c.setTitle("测评码")
    pages = 0
    for i, (slip, ops) in enumerate(zip(slips, qr_ops, strict=True)):
        if i % per_page == 0:
            if i:
                c.showPage()
            pages += 1
            c.setDash(2, 3)
            c.setStrokeGray(0.6)
            for col in range(1, COLS):
                c.line(col * sw, 0, col * sw, height)
            for row in range(1, ROWS):
                c.line(0, row * sh, width, row * sh)
        x0, y0 = origin(i)
        inner = sw - 2 * pad
        c.setFont(font, 7.5)
        c.drawString(x0 + pad, y0 + sh - pad - 7, _fit(slip.title, 7.5, inner))
        c.setFont(font, 10)
        c.drawString(x0 + pad, y0 + sh - pad - 20, _fit(slip.unit, 10, inner, keep_tail=True))
        c.setFont(font, 8.5)
        c.drawString(x0 + pad, y0 + sh - pad - 32, _fit(f"{slip.category}  No.{slip.serial:04d}", 8.5, inner))
        c.addLiteral(ops)
        c.setFont(font, 12.5)
        c.drawCentredString(x0 + sw / 2, y0 + 10 * mm, slip.code)
        if footer:
            c.setFont(font, 6.5)
            c.drawCentredString(x0 + sw / 2, y0 + 5 * mm, _fit(footer, 6.5, inner))
        if on_progress and i % 500 == 499:
            on_progress(i + 1)
    if pages == 0:
        c.setFont(font, 12)
        c.drawString(30 * mm, height - 30 * mm, "（无测评码）")
        pages = 1
    c.save()
    return pages
