"""Charts of results, drawn by matplotlib with the Chinese font: PNG for the Word and PDF
reports, SVG (text kept as text, so it is searchable and crisp) for the pages. Each function
takes plain data and returns the file's bytes; nothing here reads the database."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from fractions import Fraction

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
matplotlib.rcParams["svg.fonttype"] = "none"  # SVG text stays text (searchable; the browser's CJK font)
from matplotlib import font_manager  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from pingyi.fonts import font_path  # noqa: E402
from pingyi.results.turnout import format_rate  # noqa: E402  (labels print as the tables do)

Rate = Fraction | float | None  # a share in [0, 1]; None: nothing answered
BLUE, RED, GREY = "#2f6fb0", "#c0392b", "#9aa5b1"
PALETTE = ("#2f6fb0", "#5fa35f", "#e0a030", "#c0392b", "#8e6bb8", "#7f8c8d")
_lock = threading.Lock()  # matplotlib's font cache is not thread-safe


@contextmanager
def _drawing() -> Iterator[None]:
    """One chart at a time, every text in it plain: labels are names people typed, and
    matplotlib would read "$…$" in them as mathematics (a unit named ``党委$\\foo$`` raised
    and took the results page down with it)."""
    with _lock, matplotlib.rc_context({"text.parse_math": False}):
        yield


def _font() -> str:
    path = font_path()
    font_manager.fontManager.addfont(path)
    family = font_manager.FontProperties(fname=path).get_name()
    matplotlib.rcParams["font.sans-serif"] = [family, "DejaVu Sans"]  # also the ticks and legends
    return family


def _render(fig: Figure, fmt: str) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=150 if fmt == "png" else 72, bbox_inches="tight",
                metadata={"Date": None} if fmt == "svg" else None)
    return buf.getvalue()


def _figure(rows: int) -> Figure:
    return Figure(figsize=(7.0, max(1.6, 0.36 * rows + 0.9)))


def _short(label: str, n: int = 22) -> str:
    return label if len(label) <= n else label[: n - 1] + "…"


def rate_bars(labels: Sequence[str], rates: Sequence[Rate], title: str, fmt: str = "svg",
              threshold: float | None = None) -> bytes:
    """Horizontal bars of satisfaction rates (per item, per unit, a subject ranking), with the
    value printed at each bar's end; bars under ``threshold`` are red."""
    with _drawing():
        family = _font()
        fig = _figure(len(labels))
        ax = fig.add_subplot()
        ys = list(range(len(labels)))[::-1]
        values = [float(r or 0) * 100 for r in rates]
        colors = [RED if threshold is not None and r is not None and r < threshold else BLUE for r in rates]
        ax.barh(ys, values, color=colors, height=0.6)
        low = min([v for v, r in zip(values, rates, strict=True) if r is not None] or [0])
        ax.set_xlim(max(0, min(low - 10, 80) // 10 * 10), 104)
        ax.set_yticks(ys, [_short(x) for x in labels], fontfamily=family, fontsize=9)
        for y, v, r in zip(ys, values, rates, strict=True):
            ax.text(v + 0.4, y, format_rate(None if r is None else Fraction(r)), va="center", fontsize=8,
                    fontfamily=family)
        ax.set_title(title, fontfamily=family, fontsize=11)
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(axis="x", labelsize=8)
        return _render(fig, fmt)


def distribution(parts: Sequence[tuple[str, int]], title: str, fmt: str = "svg") -> bytes:
    """One stacked bar of the choices' shares (满意 / 比较满意 / …), labelled with count and share."""
    with _drawing():
        family = _font()
        fig = Figure(figsize=(7.0, 1.7))
        ax = fig.add_subplot()
        total = sum(n for _l, n in parts) or 1
        left = 0.0
        for i, (label, n) in enumerate(parts):
            width = 100 * n / total
            ax.barh([0], [width], left=left, color=PALETTE[i % len(PALETTE)], height=0.6,
                    label=f"{label} {n}（{width:.1f}%）")
            left += width
        ax.set_xlim(0, 100)
        ax.set_yticks([])
        ax.set_title(title, fontfamily=family, fontsize=11)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=min(4, len(parts)) or 1, frameon=False,
                  prop=font_manager.FontProperties(family=family, size=8))
        ax.spines[["top", "right", "left"]].set_visible(False)
        ax.tick_params(axis="x", labelsize=8)
        return _render(fig, fmt)
