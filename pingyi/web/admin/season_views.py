"""The subordinate's side of a season (年度评议): the notices the tenant above sent (a reminder, a
submission returned), and a campaign a season built — what the season fixes, and once the
campaign is closed 「报送统计表和总结」 with its submission history (returned ones with the
county's comment).

Thin views over ``pingyi.seasons``; what lives in the issuer is read through the domain
(``submissions.history`` / ``season_of``, via ``seasons.crossing``) as plain data. Admins only
submit or mark notices read; a unit admin never sees the whole campaign's report.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length

from pingyi.errors import DomainError
from pingyi.i18n import _
from pingyi.i18n import lazy_gettext as _l
from pingyi.models import FIXABLE, utcnow
from pingyi.seasons import notices, submissions
from pingyi.web.access import campaign_or_404, require_role, writes_need
from pingyi.web.actions import attempt, submitted
from pingyi.web.forms import IdText, as_id

from . import bp

SUBMITTABLE = ("closed", "published", "archived")


class NoticeForm(FlaskForm):
    notice_id = StringField(_l("通知"), validators=[IdText()])


class SubmitForm(FlaskForm):
    summary = StringField(_l("评议工作总结"), validators=[Length(max=100_000)])


def _unread() -> list:
    """The tenant's unread notices for its admins' home page (nobody else's)."""
    access = getattr(g, "access", None)
    if access is None or not access.is_admin:
        return []
    return notices.unread(limit=5)


@bp.context_processor
def _season_helpers() -> dict:
    return {"season_unread": _unread, "season_fixable": FIXABLE}


@bp.route("/notices", methods=["GET", "POST"])
@require_role("admin")
def notices_page():
    """通知: what the tenant above sent; 「标为已读」 takes one off the home page."""
    if request.method == "POST":
        form = NoticeForm()
        if submitted(form):
            notice_id = as_id(form.notice_id.data)
            if notice_id is None:
                abort(404)
            if attempt(lambda: notices.mark_read(notice_id)).ok:
                flash(_("已标为已读"), "success")
        return redirect(url_for(".notices_page"))
    return render_template("admin/season_notices.html", rows=notices.unread(limit=100))


def _history(c) -> tuple[dict | None, list[dict]]:
    try:
        return submissions.season_of(c), submissions.history(c)
    except DomainError:  # the season's issuer is no longer above this tenant: nothing to show
        return None, []


@bp.route("/campaigns/<int:campaign_id>/season", methods=["GET", "POST"])
@writes_need("admin")
def campaign_season(campaign_id: int):
    """A campaign a season built: the fixed parts, 「报送统计表和总结」 once it is closed, and the
    history of what was sent up."""
    c = campaign_or_404(campaign_id)
    if c.season_id is None:  # a campaign of the tenant's own: nothing to report up
        return redirect(url_for(".campaign", campaign_id=c.id))
    if g.access.unit_path:  # a report holds the whole campaign, not a unit admin's subtree
        abort(403)
    form = SubmitForm()
    if request.method == "POST" and submitted(form):
        text = (form.summary.data or "").strip() or None
        done = attempt(lambda: submissions.submit(c, current_user, utcnow(), text).number)
        if done.ok:
            flash(_("已报送（第 %(n)d 次）", n=done.value), "success")
        return redirect(url_for(".campaign_season", campaign_id=c.id))
    season, history = _history(c)
    return render_template("admin/season_campaign.html", c=c, season=season, history=history,
                           can_submit=c.state in SUBMITTABLE and season is not None and season["state"] == "issued",
                           fixed=[FIXABLE[k] for k in (c.season_fixed or []) if k in FIXABLE])
