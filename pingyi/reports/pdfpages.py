"""What every page of a PDF report carries (issue 17 item 6): a running header (what the report
is about and which report it is, over a thin rule) and "第 x 页 / 共 y 页" at the foot.

The total is known only once the story has been laid out, so the canvas holds each finished
page and draws the header and footer on all of them when the document is saved (reportlab's
own deferred-``showPage`` recipe); nothing is laid out twice."""

from __future__ import annotations

from collections.abc import Callable

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas
from reportlab.platypus import BaseDocTemplate

HEADER_SIZE = FOOTER_SIZE = 9


def page_label(page: int, pages: int) -> str:
    return f"第 {page} 页 / 共 {pages} 页"


def fit(text: str, font: str, size: float, width: float) -> str:
    """``text`` cut with … to ``width`` points (a long campaign name must not run off the page)."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def canvasmaker(doc: BaseDocTemplate, font: str, left: str, right: str) -> Callable[..., canvas.Canvas]:
    """A canvas class for ``doc.build(story, canvasmaker=…)``: ``left`` and ``right`` are the
    header's two ends (e.g. the campaign's name and the report's title)."""
    width, height = doc.pagesize
    x0, x1 = doc.leftMargin, width - doc.rightMargin
    header_y = height - doc.topMargin + 5 * mm
    footer_y = doc.bottomMargin - 9 * mm
    right_w = stringWidth(right, font, HEADER_SIZE)
    left = fit(left, font, HEADER_SIZE, max(x1 - x0 - right_w - 8 * mm, 20 * mm))

    class PagedCanvas(canvas.Canvas):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self._held: list[dict] = []

        def showPage(self) -> None:
            self._held.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            for n, state in enumerate(self._held, start=1):
                self.__dict__.update(state)
                self._decorate(n, len(self._held))
                super().showPage()
            super().save()

        def _decorate(self, page: int, pages: int) -> None:
            self.saveState()
            self.setFont(font, HEADER_SIZE)
            self.setFillColor(colors.HexColor("#444444"))
            self.drawString(x0, header_y, left)
            self.drawRightString(x1, header_y, right)
            self.setStrokeColor(colors.HexColor("#999999"))
            self.setLineWidth(0.5)
            self.line(x0, header_y - 2 * mm, x1, header_y - 2 * mm)
            self.setFont(font, FOOTER_SIZE)
            self.drawCentredString((x0 + x1) / 2, footer_y, page_label(page, pages))
            self.restoreState()

    return PagedCanvas
