"""The Chinese font every generated file needs (PDF slips and reports, charts): found once
through fontconfig, else at Debian's paths. Without one, PDFs and charts show empty boxes."""

from __future__ import annotations

import shutil
import subprocess  # nosec B404 # fc-match is run with a fixed argument list, no shell
from functools import cache
from pathlib import Path

PDF_FONT = "PingyiCJK"  # the name the font is registered under in reportlab
# TrueType-outline CJK fonts reportlab can embed (CFF-based Noto CJK cannot be used).
CANDIDATES = ("WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "AR PL UMing CN", "Droid Sans Fallback")
KNOWN_PATHS = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
               "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf")


class FontMissing(RuntimeError):
    """No usable Chinese font: PDFs would show empty boxes instead of characters."""


@cache
def font_path() -> str:
    if shutil.which("fc-match"):
        for family in CANDIDATES:
            out = subprocess.run(["fc-match", "-f", "%{file}", family], capture_output=True, text=True).stdout  # nosec B603 B607 # a fixed argument list, no shell, no user input; fc-match is found on PATH like any fontconfig tool
            if out.endswith((".ttc", ".ttf")) and any(n in out.lower() for n in ("wqy", "droid", "uming")):
                return out
    for path in KNOWN_PATHS:
        if Path(path).exists():
            return path
    raise FontMissing("PDF 需要中文 TrueType 字体：请安装 fonts-wqy-microhei（apt-get install fonts-wqy-microhei）")


@cache
def register_pdf_font() -> str:
    """Register the font with reportlab (once per process) and return its name."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    path = font_path()
    pdfmetrics.registerFont(TTFont(PDF_FONT, path, subfontIndex=0) if path.endswith(".ttc")
                            else TTFont(PDF_FONT, path))
    return PDF_FONT
