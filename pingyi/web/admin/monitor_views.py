"""Monitoring pages of a running campaign: 参评率 (turnout) and 个别访谈 (the interview sample)."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for

from pingyi.i18n import _
from pingyi.models import InterviewSample, utcnow
from pingyi.org.orgtree import unit_label
from pingyi.results import turnout as to
from pingyi.tenancy import get_scoped
from pingyi.voting import sampling
from pingyi.web.access import campaign_or_404, subtree_unit_ids, writes_need
from pingyi.web.actions import attempt, submitted
from pingyi.web.forms import SampleForm

from . import bp

REFRESH_SECONDS = 15
SCREEN_REFRESH_SECONDS = 30  # the 大屏: a projector in the meeting room, read from afar


def _tree(c) -> tuple[to.Tree, str]:
    """The campaign's turnout tree as the reader may see it (a unit admin: their subtree),
    siblings in the order ``?sort=`` asks (tree order by default), and that order."""
    sort = request.args.get("sort", "tree")
    sort = sort if sort in to.SORTS else "tree"
    return to.sort_tree(to.unit_tree(c, g.access.unit_path), sort), sort


def _line(tree: to.Tree) -> dict:
    """The campaign's line, worded for the pages: "低于 80%" or, for an "le" rule, "不高于 80%"."""
    shown = to.format_threshold(tree.limit)
    le = tree.op == "le"
    n = tree.below_count()
    return {"threshold": shown, "mark": to.format_rate(tree.limit), "low": n,
            "below_label": _("不高于 %(t)s", t=shown) if le else _("低于 %(t)s", t=shown),
            "summary": (_("%(n)d 个单位参评率不高于 %(t)s", n=n, t=shown) if le
                        else _("%(n)d 个单位参评率低于 %(t)s", n=n, t=shown))}


@bp.route("/campaigns/<int:campaign_id>/turnout")
def campaign_turnout(campaign_id: int):
    """Any member may watch turnout (a unit admin: their subtree's), folded by committee; the
    page reloads itself while the campaign is open. Link counts only: no ballot is read."""
    c = campaign_or_404(campaign_id)
    tree, sort = _tree(c)
    categories = to.category_rows(c, g.access.unit_path)
    sorts = [("tree", _("按组织")), ("rate", _("参评率从低到高")), ("behind", _("差额从多到少")), ("name", _("按名称"))]
    return render_template(
        "admin/campaign_turnout.html", c=c, tree=tree, total=tree.total, categories=categories, sort=sort,
        sorts=sorts, refresh=REFRESH_SECONDS if c.state == "open" else None,
        low_categories={r.id for r in categories if to.is_below(r.rate, tree.limit, tree.op)}, **_line(tree))


@bp.route("/campaigns/<int:campaign_id>/turnout/screen")
def campaign_turnout_screen(campaign_id: int):
    """参评率大屏: the same figures, dark and large for a projector, one bar per committee (a
    unit admin: per unit below theirs); reloads itself (a meta refresh: no script) while open."""
    c = campaign_or_404(campaign_id)
    tree, _sort = _tree(c)
    return render_template("admin/campaign_turnout_screen.html", c=c, tree=tree, total=tree.total, now=utcnow(),
                           refresh=SCREEN_REFRESH_SECONDS if c.state == "open" else None, **_line(tree))


@bp.route("/campaigns/<int:campaign_id>/sample", methods=["GET", "POST"])
@writes_need("admin")
def campaign_sample(campaign_id: int):
    """Draw (admins) and look up interview samples; shown by unit with slip serials (a unit
    admin: their subtree's units and serials, and counts, only)."""
    c = campaign_or_404(campaign_id)
    form = SampleForm()
    if submitted(form):
        done = attempt(lambda: sampling.create_sample(c, per_unit=form.per_unit.data, seed=form.seed.data or None))
        if done.ok:
            s = done.value
            flash(_("已抽取 %(n)d 人（随机种子 %(seed)d）", n=len(s.entries), seed=s.seed), "success")
            return redirect(url_for(".campaign_sample", campaign_id=c.id, sample=s.id))
    stored = sampling.samples(c)
    chosen = None
    if request.args.get("sample"):
        chosen = get_scoped(InterviewSample, request.args["sample"])
        if chosen is None or chosen.campaign_id != c.id:
            abort(404)
    elif stored:
        chosen = stored[0]
    inside = subtree_unit_ids()
    groups = _grouped(chosen, inside) if chosen is not None else []
    sizes = {s.id: len(_entries(s, inside)) for s in stored}
    return render_template("admin/campaign_sample.html", c=c, stored=stored, chosen=chosen, groups=groups, sizes=sizes,
                           fmt=sampling.format_serial, form_data=request.form if request.method == "POST" else {},
                           max_per_unit=sampling.MAX_PER_UNIT)


def _entries(sample: InterviewSample, inside: set[int] | None) -> list[tuple[int, int]]:
    """The sample's (unit, serial) entries in ``inside`` (None: all)."""
    return [(int(u), int(s)) for u, s in sample.entries if inside is None or int(u) in inside]


def _grouped(sample: InterviewSample, inside: set[int] | None) -> list[tuple[str, list[int]]]:
    """[(unit path label, [serial…])…] ordered by label, of the units in ``inside`` (None: all)."""
    by_unit: dict[int, list[int]] = {}
    for unit_id, serial in _entries(sample, inside):
        by_unit.setdefault(unit_id, []).append(serial)
    units = to.units_with_ancestors(set(by_unit))
    rows = [(unit_label(units[u], units) if u in units else str(u), sorted(serials))
            for u, serials in by_unit.items()]
    return sorted(rows)

