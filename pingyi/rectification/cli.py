"""``pingyi rectification``: list a campaign's ledger, mark overdue items now."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from pingyi.extensions import db
from pingyi.models import Campaign, Unit, utcnow
from pingyi.org import accounts
from pingyi.tenancy import tenant_context

from . import ledger, overdue


def _fail(message: str) -> None:
    db.session.rollback()
    click.echo(f"错误：{message}", err=True)
    sys.exit(1)


def _tenant_id(slug: str) -> int:
    tenant = accounts.tenant_by_slug(slug, active_only=False)
    if tenant is None:
        _fail(f"找不到租户“{slug}”")
    return tenant.id


@click.group("rectification")
def rectification_cli() -> None:
    """The rectification ledger (整改台账): list items, mark overdue ones."""


def rows(c: Campaign, now) -> list[dict]:
    """The ledger of one campaign as plain data (the command's JSON)."""
    names = dict(db.session.execute(select(Unit.id, Unit.name)).all())
    today = ledger.local_today(now, c.timezone)
    return [{"id": it.id, "state": it.state, "state_label": ledger.STATE_LABELS[it.state],
             "deadline": it.deadline.isoformat(), "overdue": overdue.is_overdue(it.deadline, it.state, today),
             "source": it.source, "source_ref": it.source_ref, "source_label": it.source_label,
             "problem": it.problem, "unit_id": it.unit_id, "unit": names.get(it.unit_id, ""), "person": it.person,
             "measure": it.measure, "reason": it.reason}
            for it in db.session.execute(ledger.items(c.id)).scalars()]


@rectification_cli.command("list")
@click.option("--tenant", "slug", required=True)
@click.option("--campaign", "campaign_id", type=int, required=True)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def list_cmd(slug, campaign_id, as_json) -> None:
    """A campaign's items: state, deadline, overdue (now), source, problem, responsible unit."""
    with tenant_context(_tenant_id(slug)):
        c = db.session.get(Campaign, campaign_id)
        if c is None:
            _fail(f"租户 {slug} 中没有编号为 {campaign_id} 的评议活动")
        data = rows(c, utcnow())
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    for r in data:
        click.echo(f"{r['id']:>5}  {r['state_label']:<5} {r['deadline']}{' 逾期' if r['overdue'] else '     '}  "
                   f"{ledger.SOURCE_LABELS[r['source']]}  {r['unit']}  {r['problem'][:40]}")
    click.echo(f"共 {len(data)} 项，逾期 {sum(r['overdue'] for r in data)} 项")


@rectification_cli.command("overdue")
@click.option("--tenant", "slug", help="one tenant (default: every tenant)")
@with_appcontext
def overdue_cmd(slug) -> None:
    """Mark overdue items now (what the worker does daily)."""
    now = utcnow()
    if slug:
        tid = _tenant_id(slug)
        with tenant_context(tid):
            result = {tid: overdue.mark_overdue(now)}
            db.session.commit()
    else:
        result = overdue.mark_all(now)
    click.echo(f"逾期事项 {sum(result.values())} 项（{len(result)} 个租户）")
