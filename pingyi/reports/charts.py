"""Charts of results, drawn by matplotlib with the Chinese font: PNG for the Word and PDF
reports, SVG (text kept as text, so it is searchable and crisp) for the pages. Each function
takes plain data and returns the file's bytes; nothing here reads the database.

Legible at 100 % (issue 17 item 7): a figure is drawn at the width it is shown at — ``SVG_WIDTH``
is a results-page column at a 1280-pixel window, ``PNG_WIDTH`` the reports' picture width — with
no trimming (``bbox_inches``) to change it, so the point sizes here are the sizes read, all at
least ``FONT``. Colours come from ``palette`` (a choice by its place in its scale); rate axes
always start at 0 and end at 100 %."""

from __future__ import annotations

import io
import math
import threading
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from fractions import Fraction

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
matplotlib.rcParams["svg.fonttype"] = "none"  # SVG text stays text (searchable; the browser's CJK font)
from matplotlib import font_manager  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from pingyi.fonts import font_path  # noqa: E402
from pingyi.results.turnout import format_rate  # noqa: E402  (labels print as the tables do)

from . import palette  # noqa: E402

Rate = Fraction | float | None  # a share in [0, 1]; None: nothing answered
SVG_WIDTH = 5.3  # inches: a results-page column (~510 CSS px) shows the SVG at about its own size
PNG_WIDTH = 15.5 / 2.54  # inches: the reports place the picture 15.5 cm wide (``summary``)
PNG_DPI = 200
FONT, TITLE_FONT = 10.5, 12  # points at the size shown; nothing smaller
LABEL_WIDTH = 13  # a bar label's line, in CJK characters (two Latin letters make one)
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
    matplotlib.rcParams["font.family"] = "sans-serif"
    return family


def width_of(fmt: str) -> float:
    """The figure's width in inches: the size it is shown at, so its point sizes hold."""
    return PNG_WIDTH if fmt == "png" else SVG_WIDTH


def _render(fig: Figure, fmt: str) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=PNG_DPI if fmt == "png" else 72,
                metadata={"Date": None} if fmt == "svg" else None)
    return buf.getvalue()


def _cells(text: str) -> float:
    """Width in CJK characters: a wide (East Asian) character is 1, any other ½."""
    return sum(1 if unicodedata.east_asian_width(ch) in "WF" else 0.5 for ch in text)


def _wrap(label: str, width: float = LABEL_WIDTH, lines: int = 2) -> str:
    """A long name on at most ``lines`` lines of ``width``, evenly broken, cut with … past them
    (the tables have it whole)."""
    total = _cells(label)
    if total > width:  # even lines: not a full line and one orphaned character
        width = min(width, math.ceil(total / min(lines, math.ceil(total / width))))
    out, line = [], ""
    for ch in label:
        if _cells(line + ch) > width:
            out.append(line)
            line = ""
        line += ch
    out.append(line)
    if len(out) > lines:
        out = out[:lines]
        last = out[-1]
        while last and _cells(last + "…") > width:
            last = last[:-1]
        out[-1] = last + "…"
    return "\n".join(out)


def _percent_axis(ax, width: float = 100) -> None:
    """A rate axis from 0 to 100 % (never cut short: a bar's length is its rate)."""
    ticks = list(range(0, 101, 20))
    ax.set_xticks(ticks, [f"{t}%" for t in ticks])
    ax.set_xlim(0, width)
    ax.spines["bottom"].set_bounds(0, 100)
    ax.tick_params(axis="both", labelsize=FONT)


def rate_bars(labels: Sequence[str], rates: Sequence[Rate], title: str, fmt: str = "svg",
              threshold: float | None = None) -> bytes:
    """Horizontal bars of satisfaction rates (per item, per unit, a subject ranking) on a 0–100 %
    axis, with the value printed at each bar's end; bars under ``threshold`` are the palette's
    red, and a dashed line marks the threshold. Bar ``i`` carries the SVG id ``bar-i``."""
    with _drawing():
        _font()
        wrapped = [_wrap(x) for x in labels]
        row = 0.46 if any("\n" in x for x in wrapped) else 0.32
        fig = Figure(figsize=(width_of(fmt), max(1.8, row * len(labels) + 1.0)), layout="constrained")
        ax = fig.add_subplot()
        ys = list(range(len(labels)))[::-1]
        values = [float(r or 0) * 100 for r in rates]
        colors = [palette.WORST if threshold is not None and r is not None and r < threshold else palette.RATE
                  for r in rates]
        for i, bar in enumerate(ax.barh(ys, values, color=colors, height=0.62)):
            bar.set_gid(f"bar-{i}")
        ax.set_yticks(ys, wrapped)
        ax.set_ylim(-0.6, len(labels) - 0.4)
        _percent_axis(ax, 118)  # room right of 100 % for the printed value
        if threshold is not None:
            ax.axvline(threshold * 100, color=palette.WORST, linestyle="--", linewidth=1)
        for y, v, r in zip(ys, values, rates, strict=True):
            ax.text(v + 1, y, format_rate(None if r is None else Fraction(r)), va="center", fontsize=FONT)
        ax.set_title(title, fontsize=TITLE_FONT)
        ax.spines[["top", "right"]].set_visible(False)
        return _render(fig, fmt)


def _legend_columns(entries: Sequence[str], width: float) -> int:
    widest = max((_cells(e) for e in entries), default=1)
    per = widest * FONT / 72 + 0.45  # inches: the text, the swatch and the gap
    return max(1, min(len(entries), int(width / per)))


def _ink(colour: str) -> str:
    """Black or white, whichever reads on ``colour``."""
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return "#000000" if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "#ffffff"


def distribution(parts: Sequence[tuple[str, int]], title: str, fmt: str = "svg", *,
                 tones: Mapping[str, float]) -> bytes:
    """One stacked 0–100 % bar of the choices' shares (满意 / 比较满意 / …), each share printed
    on its segment where it fits, a legend with count and share. ``tones`` (label → place in
    its scale, ``palette.choice_tones``) give each choice its colour; segment ``i`` carries the
    SVG id ``choice-i``."""
    with _drawing():
        _font()
        width = width_of(fmt)
        total = sum(n for _l, n in parts) or 1
        entries = [f"{label} {n}（{100 * n / total:.1f}%）" for label, n in parts]
        ncol = _legend_columns(entries, width)
        legend_rows = -(-len(parts) // ncol) if parts else 0
        fig = Figure(figsize=(width, 1.35 + 0.27 * legend_rows), layout="constrained")
        ax = fig.add_subplot()
        left = 0.0
        for i, ((label, n), entry) in enumerate(zip(parts, entries, strict=True)):
            share = 100 * n / total
            colour = palette.tone_colour(tones.get(label))
            bars = ax.barh([0], [share], left=left, color=colour, height=0.6, label=entry,
                           edgecolor="#ffffff", linewidth=1)
            bars.patches[0].set_gid(f"choice-{i}")
            if share >= 9:
                ax.text(left + share / 2, 0, f"{share:.0f}%", ha="center", va="center", fontsize=FONT,
                        color=_ink(colour))
            left += share
        _percent_axis(ax)
        ax.set_yticks([])
        ax.set_title(title, fontsize=TITLE_FONT)
        if parts:
            fig.legend(loc="outside lower center", ncol=ncol, frameon=False, fontsize=FONT,
                       handlelength=1.2, columnspacing=1.2)
        ax.spines[["top", "right", "left"]].set_visible(False)
        return _render(fig, fmt)
