"""The charts' colours, each with one meaning everywhere (issue 17 item 7): a choice is coloured
by where it stands in its scale — the best choice green, the worst red, those between on the
way — never by its place in a series, so 不满意 (or 差, 不称职) is the same red in every chart,
on the pages and in the reports, whatever scale it comes from. Bars that are not choices
(rates) are one neutral blue, red where they fall under the rules' line."""

from __future__ import annotations

from sqlalchemy import select

from pingyi.extensions import db
from pingyi.models import Scale, ScaleChoice, Subject

BEST, WORST = "#1a9850", "#d73027"
# a diverging green → yellow → red ramp (ColorBrewer RdYlGn), evenly spaced in tone
STOPS = (BEST, "#91cf60", "#fee08b", "#fc8d59", WORST)
RATE = "#2f6fb0"  # a rate's bar (items, units, subjects): not a choice, so no good/bad hue
UNKNOWN = "#9aa5b1"  # a choice whose place in a scale is not known


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


def tone_colour(tone: float | None) -> str:
    """The colour of a choice at ``tone`` (0 = its scale's best, 1 = its worst), as ``#rrggbb``."""
    if tone is None:
        return UNKNOWN
    t = min(max(float(tone), 0.0), 1.0) * (len(STOPS) - 1)
    i = min(int(t), len(STOPS) - 2)
    a, b, f = _rgb(STOPS[i]), _rgb(STOPS[i + 1]), t - i
    return "#" + "".join(f"{round(x + (y - x) * f):02x}" for x, y in zip(a, b, strict=True))


def scale_tones(positions: list[int]) -> list[float]:
    """Tones of one scale's choices from their positions (0 = first = best; gaps ignored)."""
    order = sorted(set(positions))
    last = max(len(order) - 1, 1)
    return [order.index(p) / last for p in positions]


def choice_tones(campaign_id: int) -> dict[str, float]:
    """choice label → tone, over the scales of the campaign's forms. Choices are merged by label
    in the distributions (``results.dashboard.distribution``), so a label found in several
    scales takes the mean of its tones (满意 is first and 不满意 last in every built-in scale)."""
    forms = select(Subject.form_id).where(Subject.campaign_id == campaign_id).distinct()
    rows = db.session.execute(
        select(ScaleChoice.scale_id, ScaleChoice.position, ScaleChoice.label)
        .join(Scale, Scale.id == ScaleChoice.scale_id).where(Scale.form_id.in_(forms))).all()
    scales: dict[int, list[tuple[int, str]]] = {}
    for scale_id, position, label in rows:
        scales.setdefault(scale_id, []).append((position, label))
    found: dict[str, list[float]] = {}
    for choices in scales.values():
        for (_p, label), tone in zip(choices, scale_tones([p for p, _l in choices]), strict=True):
            found.setdefault(label, []).append(tone)
    return {label: sum(ts) / len(ts) for label, ts in found.items()}
