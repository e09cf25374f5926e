"""Chart colours and axes (issue 17 item 7): a choice's colour is what it means — its place in
its scale, best green to worst red — so 不满意 is the same red in a four-choice chart and a
three-choice one, on the results page (SVG) and in the summary report (PNG), whatever place it
has in the series; rate axes start at 0."""

from __future__ import annotations

import io
import re

import docx as docxlib
import numpy as np
import pytest
from matplotlib import image as mpimg

from pingyi.extensions import db
from pingyi.models import Campaign
from pingyi.reports import charts, palette, summary
from pingyi.results import dashboard as rs
from pingyi.tenancy import tenant_context
from tests.ballot_world import build, close_and_count, vote
from tests.factories import login

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted
FOUR = ["满意", "比较满意", "不太满意", "不满意"]
THREE = ["满意", "一般", "不满意"]


def _segment_fills(svg: bytes) -> list[str]:
    """The fill of segment ``choice-i``, in series order."""
    found = dict(re.findall(r'<g id="choice-(\d+)">\s*<path [^>]*?style="fill: (#[0-9a-f]{6})', svg.decode()))
    return [found[str(i)] for i in range(len(found))]


def _tones(labels: list[str]) -> dict[str, float]:
    return dict(zip(labels, palette.scale_tones(list(range(len(labels)))), strict=True))


def test_tones_follow_the_place_in_the_scale_not_the_series():
    assert palette.scale_tones([0, 1, 2, 3]) == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert palette.scale_tones([1, 5, 9]) == [0, 0.5, 1]  # positions with gaps
    assert palette.scale_tones([0]) == [0]
    assert palette.tone_colour(0) == palette.BEST and palette.tone_colour(1) == palette.WORST
    assert palette.tone_colour(None) == palette.UNKNOWN
    shades = [palette.tone_colour(t) for t in palette.scale_tones([0, 1, 2, 3])]
    assert len(set(shades)) == 4
    reds = [int(c[1:3], 16) - int(c[3:5], 16) for c in shades]
    assert reds == sorted(reds)  # redder with every step down the scale


def test_the_same_choice_has_the_same_colour_in_two_charts():
    four = charts.distribution([(label, 10) for label in FOUR], "四级", tones=_tones(FOUR))
    three = charts.distribution([(label, 10) for label in THREE], "三级", tones=_tones(THREE))
    fills4, fills3 = _segment_fills(four), _segment_fills(three)
    assert fills4[FOUR.index("不满意")] == fills3[THREE.index("不满意")] == palette.WORST  # 4th in one, 3rd in the other
    assert fills4[0] == fills3[0] == palette.BEST
    assert len(set(fills4)) == 4 and fills3[1] not in (palette.BEST, palette.WORST)
    # the series in another order: each choice keeps its colour
    shuffled = ["不满意", "满意", "不太满意", "比较满意"]
    fills = _segment_fills(charts.distribution([(label, 10) for label in shuffled], "乱序", tones=_tones(FOUR)))
    assert dict(zip(shuffled, fills, strict=True)) == dict(zip(FOUR, fills4, strict=True))


def test_rate_axes_start_at_zero():
    """Rates of 85–95 % on an axis from 0 (it once started at 70, which tripled the differences)."""
    svg = charts.rate_bars(["甲", "乙", "丙"], [0.85, 0.95, 0.9], "满意率", threshold=0.6).decode()
    ticks = re.findall(r'<text[^>]*>([^<]*%)</text>', svg)
    assert ticks[:6] == ["0%", "20%", "40%", "60%", "80%", "100%"]
    zero = float(re.search(r'<g id="xtick_1">.*?<use [^>]*?x="([\d.]+)"', svg, re.S).group(1))
    starts = [float(x) for x in re.findall(r'<g id="bar-\d+">\s*<path d="M ([\d.]+) ', svg)]
    assert len(starts) == 3 and all(abs(x - zero) < 0.01 for x in starts)


def _closed_campaign(app, world) -> int:
    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:3], (0, 1, 3))
        vote(world, bw, bw.other_branch[:1], (2,))
        close_and_count(world, bw)
    return bw.campaign_id


def test_results_page_and_summary_report_colour_choices_alike(app, world, client):
    campaign_id = _closed_campaign(app, world)
    with app.app_context(), tenant_context(world.a.id):
        c = db.session.get(Campaign, campaign_id)
        tones = palette.choice_tones(c.id)
        order = [label for label, _n in rs.campaign_results(c).distribution]
        report = summary.docx(c)
    assert tones == dict(zip(FOUR, palette.scale_tones([0, 1, 2, 3]), strict=True))  # the built-in scale
    assert order == FOUR  # all four chosen (and 不满意 among them)

    login(client, world.a.admin)
    page = client.get(f"/t/alpha/campaigns/{campaign_id}/results").text
    svg = next(s for s in re.findall(r"<svg.*?</svg>", page, re.S) if 'id="choice-0"' in s)
    assert _segment_fills(svg.encode()) == [palette.tone_colour(tones[label]) for label in FOUR]

    # the report's PNG: the same red and green, read from its pixels
    doc = docxlib.Document(io.BytesIO(report))
    blobs = [doc.part.related_parts[s._inline.graphic.graphicData.pic.blipFill.blip.embed].blob
             for s in doc.inline_shapes]
    pixels = mpimg.imread(io.BytesIO(blobs[-1]), format="png")[..., :3]  # the distribution (figure 2)
    colours = {tuple(int(round(v * 255)) for v in px) for px in np.unique(pixels.reshape(-1, 3), axis=0)}
    for hex_colour in (palette.WORST, palette.BEST):
        assert tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)) in colours, hex_colour
