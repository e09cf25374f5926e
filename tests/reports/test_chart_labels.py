"""Chart labels are plain text (issue 14, item 7): matplotlib reads "$…$" as mathematics, so a
unit named ``西露天矿党委$\\foo$`` made every results page answer 500. Names, items, choices and
titles are drawn as typed, on the pages (SVG) and in the reports (PNG)."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from pingyi.extensions import db
from pingyi.models import Campaign, FormItem, ScaleChoice, Subject, Unit
from pingyi.reports import charts, summary
from pingyi.tenancy import tenant_context
from tests.ballot_world import build, close_and_count, vote
from tests.factories import login

UNIT = "西露天矿党委$\\foo$"
ODD = ["$\\foo$", "a$x^{2$b", "$$", "100$ 与 $\\frac{1}{0}$", "\\$\\bar{x}\\$"]


def _svg_text(svg: bytes) -> str:
    return html.unescape(svg.decode())


@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_charts_draw_dollar_signs_as_typed(fmt):
    bars = charts.rate_bars([UNIT, *ODD], [0.5, 0.9, None, 1, 0.25, 0.75], "标题$\\alpha$", fmt=fmt, threshold=0.6)
    parts = charts.distribution([("满意$\\x$", 3), ("$不满意$", 1)], "$\\sum$", fmt=fmt,
                                tones={"满意$\\x$": 0, "$不满意$": 1})
    if fmt == "png":
        assert bars.startswith(b"\x89PNG") and parts.startswith(b"\x89PNG")
        return
    text = _svg_text(bars)
    for label in [UNIT, *ODD, "标题$\\alpha$"]:
        assert label in text, label
    assert "满意$\\x$ 3" in _svg_text(parts) and "$\\sum$" in _svg_text(parts)


def test_results_page_and_summary_with_a_unit_named_like_mathtext(app, world, client):
    with app.app_context():
        bw = build(world)
        with tenant_context(world.a.id):
            db.session.get(Unit, world.a.committee).name = UNIT  # the committees' turnout chart
            item = db.session.execute(select(FormItem).where(FormItem.kind == "rating")
                                      .order_by(FormItem.id)).scalars().first()
            item.text = "落实$\\frac{a}{b}$情况"  # the items' chart
            db.session.execute(select(ScaleChoice).order_by(ScaleChoice.id)).scalars().first().label = "满意$x$"
            subject = db.session.execute(select(Subject).where(Subject.campaign_id == bw.campaign_id)
                                         .order_by(Subject.id)).scalars().first()
            subject.label = "对象$\\bar$"  # the lowest-satisfaction chart
            db.session.commit()
        vote(world, bw, bw.own[:3], (0, 1, 3))
        close_and_count(world, bw)
    login(client, world.a.admin)
    r = client.get(f"/t/alpha/campaigns/{bw.campaign_id}/results")
    assert r.status_code == 200
    page = html.unescape(r.text)
    for label in (UNIT, "落实$\\frac{a}{b}$情况", "满意$x$", "对象$\\bar$"):
        assert label in page, label
    with app.app_context(), tenant_context(world.a.id):
        c = db.session.get(Campaign, bw.campaign_id)
        assert summary.docx(c).startswith(b"PK") and summary.pdf(c).startswith(b"%PDF")  # PNG charts inside
