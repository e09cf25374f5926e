"""意见主题: a closed campaign's opinions grouped into themes (``pingyi.themes``). Everyone who
may read the campaign sees the counts ("<k" under the small-cell rule), a unit admin their
subtree's; admins and unit admins also read the texts per theme and turn a theme into ledger
items; the tenant admin edits the tenant's rules and starts the grouping (a worker job)."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from pingyi.errors import DomainError
from pingyi.i18n import _
from pingyi.rectification.ledger import Actor
from pingyi.themes import counts, items, job, rules
from pingyi.web.access import campaign_or_404, within, writes_need
from pingyi.web.actions import attempt, submitted

from . import bp

MAX_RULES_TEXT = 20000


def _actor() -> Actor:
    return Actor(current_user.id, current_user.email, g.access.role if g.access.can_write else "viewer",
                 g.access.unit_path)


def _save_rules(text: str) -> None:
    if len(text) > MAX_RULES_TEXT:
        raise DomainError(_("规则文本不能超过 %(n)d 字", n=MAX_RULES_TEXT), "rules")
    rules.save_text(text)


@bp.route("/campaigns/<int:campaign_id>/themes", methods=["GET", "POST"])
@writes_need("unit_admin")
def campaign_themes(campaign_id: int):
    c = campaign_or_404(campaign_id)
    form = FlaskForm()
    if request.method == "POST":
        if not submitted(form):
            return redirect(url_for(".campaign_themes", campaign_id=c.id))
        op, f = request.form.get("op"), request.form
        if op in ("run", "rules", "reset") and not g.access.is_admin:
            abort(403)
        if op == "run":
            done = attempt(lambda: job.submit(c, current_user.id))
            if done.ok:
                j = done.value
                if j.state == "done":
                    flash(_("已完成意见归类"), "success")
                elif j.state == "failed":
                    flash(_("意见归类失败：%(e)s", e=j.error), "error")
                else:
                    flash(_("已转入后台归类，请稍后刷新本页"), "success")
        elif op == "rules":
            if attempt(lambda: _save_rules(f.get("rules", ""))).ok:
                flash(_("已保存主题规则；重新归类后生效"), "success")
        elif op == "reset":
            if attempt(rules.reset).ok:
                flash(_("已恢复默认主题规则；重新归类后生效"), "success")
        elif op == "ledger":
            theme = f.get("theme", "")
            done = attempt(lambda: items.to_ledger(c, theme, _actor(), f.get("deadline"), f.get("measure", ""),
                                                   f.get("person", "")))
            if done.ok:
                flash(_("已建立 %(n)d 项整改事项", n=len(done.value)), "success")
        else:
            abort(400)
        return redirect(url_for(".campaign_themes", campaign_id=c.id))
    ready = c.state in counts.READY_STATES
    v = counts.view(c, within()) if ready else None
    show_texts = g.access.can_write
    texts = {}
    if v is not None and show_texts:
        texts = {t: listed for t, listed in counts.texts(c, v.run, within=within()).items()
                 if t in v.total.cells and v.total.cells[t].shown and v.total.cells[t].opinions}
    return render_template("admin/campaign_themes.html", c=c, ready=ready, v=v, texts=texts,
                           stale=ready and counts.stale(c, v.run if v else None),
                           rules_text=rules.format_text(rules.current()) if g.access.is_admin else "",
                           default_rules=rules.is_default(), other=rules.OTHER, form=form)
