"""The world hostile-input tests run in (tests/web/test_bad_input.py, test_fuzz.py): a draft
campaign with a form, a subject and a category, an open one with links; and a snapshot of every
table, to show a refused request wrote nothing."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from pingyi.campaigns import lifecycle as cp
from pingyi.campaigns import questionnaire as q
from pingyi.extensions import db
from pingyi.models import Unit
from pingyi.tenancy import tenant_context, unscoped
from tests import clock
from tests.ballot_world import build, full_answers

VOLATILE_COLUMNS = {"last_used_at", "last_seen_at"}  # touched by authenticating, not by the request
FLASHED_ERROR = '<div class="flash error" role="status">'  # a refusal flashed (base.html), not a page's notice


def snapshot() -> dict[str, list]:
    """Every row of every table (minus columns an authenticated request touches anyway)."""
    out = {}
    with unscoped():
        for table in db.metadata.sorted_tables:
            cols = [c for c in table.columns if c.name not in VOLATILE_COLUMNS]
            out[table.name] = sorted(map(repr, db.session.execute(select(*cols)).all()))
    db.session.rollback()
    return out


@dataclass
class Scene:
    cid: int  # a draft campaign with a form, a subject and a category
    open_cid: int  # an open campaign with links
    fid: int
    sid: int
    kid: int
    scale_id: int
    section_id: int
    item_id: int
    link: str
    code: str  # the short code of another link (paper entry)
    answers: dict
    code_answers: dict


def build_scene(app, world) -> Scene:
    with app.app_context():
        bw = build(world)
        link, code = bw.own[0].secret, bw.own[1].short_code
        answers, code_answers = full_answers(world, bw, link), full_answers(world, bw, code)
        with tenant_context(world.a.id):
            form = q.copy_template("seed002-org")
            c = cp.create_campaign("草稿", clock.wall(1), clock.wall(3))
            s = cp.add_subject(c, "unit", db.session.get(Unit, world.a.branch), form)
            (k,) = cp.set_categories(c, [{"name": "党员"}])
            ids = Scene(c.id, bw.campaign_id, form.id, s.id, k.id, form.scales[0].id, form.sections[0].id,
                        form.sections[0].items[0].id, link, code, answers, code_answers)
            db.session.commit()
    return ids
