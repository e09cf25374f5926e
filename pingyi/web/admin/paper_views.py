"""Paper ballot double entry (纸质票双人录入)."""

from __future__ import annotations

from flask import flash, render_template, request
from flask_login import current_user

from pingyi.errors import DomainError
from pingyi.i18n import _
from pingyi.voting import ballots, paper, tokens
from pingyi.web.access import campaign_or_404, require_role, unit_or_404, within

from . import bp


@bp.route("/campaigns/<int:campaign_id>/paper", methods=["GET", "POST"])
@require_role("unit_admin")
def campaign_paper(campaign_id: int):
    """The ballot's fields are the ballot's own document, read by ``ballots.parse`` (as on the
    ballot page), not by a page form."""
    c = campaign_or_404(campaign_id)
    code = (request.values.get("code") or "").strip()
    context = {"c": c, "code": code, "result": None, "sheet": None, "errors": {}, "values": {}}
    if code:
        try:
            token = paper.token_for(c, code)
            unit_or_404(token.unit_id)  # a unit admin enters only their own units' forms
            state = ballots.resolve(code)
            context.update(sheet=state.sheet(), category=state.category,
                           code=tokens.format_code(tokens.normalize_code(code)))
        except DomainError as exc:
            flash(exc.message, "error")
            context["code"] = ""
        if request.method == "POST" and context["sheet"]:
            sub = ballots.read(request.form, context["sheet"])
            context.update(errors=sub.errors, values=request.form)
            if not sub.errors:
                try:
                    result = paper.enter(c, code, sub, current_user.id)
                except (DomainError, ballots.AlreadyUsed) as exc:
                    flash(getattr(exc, "message", _("该测评码已经计票，不能重复录入")), "error")
                    result = None
                context["result"] = result
                if result and result.status != "mismatch":
                    flash(_("已计票（纸质票）") if result.status == "counted" else _("已保存，等待另一人录入核对"),
                          "success")
                    context.update(sheet=None, code="", values={})
                if result and result.status == "mismatch":
                    subjects = context["sheet"].subjects
                    labels = {s.id: s.label for s in subjects}
                    items = {it.id: it.text for s in subjects for sec in s.sections for it in sec.items}
                    choices = {str(ch.id): ch.label for s in subjects for sec in s.sections for it in sec.items
                               for ch in it.choices}
                    context["diff_rows"] = [(labels.get(s, s), items.get(i, i), choices.get(a, a),
                                             choices.get(b, b)) for s, i, a, b in result.diffs]
    context["pending"], context["mismatched"] = paper.pending_counts(c, within())
    return render_template("admin/campaign_paper.html", field=ballots.field_name, **context)
