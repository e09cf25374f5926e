"""The ``pingyi`` command line (same as ``flask --app wsgi``)."""

from __future__ import annotations

import json
import sys
from importlib.metadata import entry_points
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select

from pingyi.audit import set_actor
from pingyi.backup.cli import backup_cmd, restore_cmd
from pingyi.config import base_url_for_cli
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.org import accounts
from pingyi.org.imports import ImportRefused, import_people, import_units
from pingyi.rectification.cli import rectification_cli
from pingyi.security import random_password
from pingyi.tenancy import tenant_context


def _create_app(*_args, **_kwargs):
    from pingyi import create_app
    from pingyi.config import ConfigError

    try:
        return create_app()
    except ConfigError as exc:  # a setting's mistake is one line, not a traceback
        click.echo(f"错误：{exc}", err=True)
        sys.exit(2)


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """pingyi 评议 — manage tenants, organization trees, demo data and workers."""


def _fail(message: str) -> None:
    db.session.rollback()
    click.echo(f"错误：{message}", err=True)
    sys.exit(1)


def _campaign(slug: str, campaign_id: int):
    """A campaign of the current tenant (call inside ``tenant_context``), or exit with a message."""
    from pingyi.models import Campaign

    c = db.session.get(Campaign, campaign_id)
    if c is None:
        _fail(f"租户 {slug} 中没有编号为 {campaign_id} 的评议活动")
    return c


def _tenant(slug: str):
    tenant = accounts.tenant_by_slug(slug, active_only=False)
    if tenant is None:
        _fail(f"找不到租户“{slug}”")
    return tenant


@click.group("tenant")
def tenant_cli() -> None:
    """Create, rename, list and deactivate tenants."""


@tenant_cli.command("create")
@click.option("--slug", required=True, help="URL identifier, e.g. pingzhuang")
@click.option("--name", required=True, help="display name, e.g. 平庄煤业")
@click.option("--parent", default=None, help="slug of the overseeing tenant")
@click.option("--admin-email", required=True, help="admin account (created when new)")
@click.option("--admin-password", default=None, help="set this password instead of printing a one-time one")
@with_appcontext
def tenant_create(slug, name, parent, admin_email, admin_password) -> None:
    """Create a tenant and its first admin; prints the admin's one-time password."""
    set_actor(None, "cli")
    try:
        tenant = accounts.create_tenant(slug, name, parent)
        user = accounts.user_by_email(admin_email)
        shown = None
        if user is None:
            shown = admin_password or random_password()
            user = accounts.create_user(admin_email, shown)
        elif admin_password:
            accounts.check_password_strength(admin_password)
            accounts.set_password(user, admin_password)
        accounts.grant(tenant, user, "admin")
        db.session.commit()
    except DomainError as exc:
        _fail(exc.message)
    click.echo(f"已创建租户 {tenant.slug}（{tenant.name}），管理员 {user.email}")
    if shown and not admin_password:
        click.echo(f"一次性密码：{shown}")


@tenant_cli.command("rename")
@click.option("--slug", required=True)
@click.option("--name", required=True)
@with_appcontext
def tenant_rename(slug, name) -> None:
    """Rename a tenant."""
    set_actor(None, "cli")
    try:
        accounts.rename_tenant(_tenant(slug), name)
        db.session.commit()
    except DomainError as exc:
        _fail(exc.message)
    click.echo("已改名")


@tenant_cli.command("deactivate")
@click.option("--slug", required=True)
@click.option("--undo", is_flag=True, help="reactivate instead")
@with_appcontext
def tenant_deactivate(slug, undo) -> None:
    """Deactivate (or with --undo reactivate) a tenant; its pages then answer 404."""
    set_actor(None, "cli")
    accounts.set_tenant_active(_tenant(slug), undo)
    db.session.commit()
    click.echo("已启用" if undo else "已停用")


@tenant_cli.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def tenant_list(as_json) -> None:
    """List tenants with their parent and state."""
    from pingyi.models import Tenant

    rows = db.session.execute(select(Tenant).order_by(Tenant.slug)).scalars().all()
    data = [{"slug": t.slug, "name": t.name, "parent": t.parent.slug if t.parent else None,
             "active": t.is_active} for t in rows]
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
    else:
        for d in data:
            click.echo(f"{d['slug']:<20} {d['name']:<20} parent={d['parent'] or '-'} "
                       f"{'active' if d['active'] else 'inactive'}")


@click.group("user")
def user_cli() -> None:
    """Create users and set passwords."""


@user_cli.command("create")
@click.option("--email", required=True)
@click.option("--password", default=None, help="default: print a random one")
@click.option("--superuser", is_flag=True, help="platform superuser (all tenants)")
@with_appcontext
def user_create(email, password, superuser) -> None:
    """Create a login account."""
    set_actor(None, "cli")
    shown = password or random_password()
    try:
        accounts.create_user(email, shown, superuser=superuser)
        db.session.commit()
    except DomainError as exc:
        _fail(exc.message)
    click.echo(f"已创建用户 {email}" + ("" if password else f"，一次性密码：{shown}"))


def _import(kind: str, slug: str, path: str) -> None:
    tenant = _tenant(slug)
    set_actor(None, "cli")
    limit = current_app.config["IMPORT_MAX_BYTES"]
    with Path(path).open("rb") as f:
        data = f.read(limit + 1)  # enough to know it is too large; a huge file is never read whole
    with tenant_context(tenant.id):
        try:
            run = import_units if kind == "units" else import_people
            plan = run(data, path, limit)
            db.session.commit()
        except ImportRefused as exc:
            db.session.rollback()
            click.echo("文件未导入，没有写入任何数据：", err=True)
            for issue in exc.issues:
                click.echo(f"  {issue}", err=True)
            sys.exit(1)
    click.echo(f"导入成功：新增 {plan.created} 条，更新 {plan.updated} 条")


@click.group("units")
def units_cli() -> None:
    """Organization tree import (.xlsx/.csv: 单位名称, 上级单位, 类型, 排序)."""


@units_cli.command("import")
@click.option("--tenant", "slug", required=True)
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def units_import(slug, path) -> None:
    """Import units from FILE in one transaction; a bad file changes nothing."""
    _import("units", slug, path)


@click.group("people")
def people_cli() -> None:
    """Roster import (.xlsx/.csv: 姓名, 所在单位, 职务, 是否党员)."""


@people_cli.command("import")
@click.option("--tenant", "slug", required=True)
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def people_import(slug, path) -> None:
    """Import people from FILE in one transaction; a bad file changes nothing."""
    _import("people", slug, path)


@click.command("demo")
@click.option("--password", default="pingyi-demo", show_default=True, help="password of the demo accounts")
@click.option("--base-url", default=None, help="where the printed sample link points (the address you serve on); "
              "default: PINGYI_PUBLIC_BASE_URL or http://127.0.0.1:5000")
@with_appcontext
def demo_cmd(password, base_url) -> None:
    """Load the demo tenants (平庄煤业 at seed scale, a county over it, a school); idempotent."""
    from pingyi.demo.load import load_demo

    set_actor(None, "demo")
    try:
        summary = load_demo(password, base_url)  # refused in production: its links are guessable
    except DomainError as exc:
        _fail(exc.message)
    db.session.commit()
    for line in summary:
        click.echo(line)


@click.group("campaigns")
def campaigns_cli() -> None:
    """List campaigns and move them through draft → open → closed → published → archived."""


@campaigns_cli.command("list")
@click.option("--tenant", "slug", required=True)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def campaigns_list(slug, as_json) -> None:
    """Each campaign's id, name, state, window (local time) and subject count."""
    from pingyi.campaigns import lifecycle as cp
    from pingyi.models import Campaign

    tenant = _tenant(slug)
    with tenant_context(tenant.id):
        rows = []
        for c in db.session.execute(select(Campaign).order_by(Campaign.id)).scalars():
            counts = cp.subject_counts(c)
            rows.append({"id": c.id, "name": c.name, "state": c.state,
                         "opens_at": cp.local(c.opens_at, c.timezone).isoformat(),
                         "closes_at": cp.local(c.closes_at, c.timezone).isoformat(),
                         "subjects": sum(counts.values()), "subjects_by_kind": counts})
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        click.echo(f"{r['id']:>5}  {r['state']:<10} {r['opens_at'][:16]} — {r['closes_at'][:16]}  "
                   f"对象 {r['subjects']:>5}  {r['name']}")


def _transition_command(action: str):
    @click.option("--tenant", "slug", required=True)
    @click.option("--campaign", "campaign_id", required=True, type=int, help="campaign id (see `campaigns list`)")
    @with_appcontext
    def command(slug, campaign_id) -> None:
        from pingyi.campaigns import lifecycle as cp

        tenant = _tenant(slug)
        set_actor(None, "cli")
        with tenant_context(tenant.id):
            c = _campaign(slug, campaign_id)
            try:
                cp.transition(c, action)
                db.session.commit()
            except DomainError as exc:
                _fail(exc.message)
            click.echo(f"{c.name}：{c.state_label}")
            from pingyi.results.tally import after_transition

            after_transition(c)

    command.__doc__ = f"{cp_label(action)} a campaign, with the same guards as the admin page."
    return campaigns_cli.command(action)(command)


def cp_label(action: str) -> str:
    return {"open": "Open", "close": "Close", "reopen": "Reopen", "publish": "Publish", "archive": "Archive"}[action]


for _action in ("open", "close", "reopen", "publish", "archive"):
    _transition_command(_action)


@click.group("seasons")
def seasons_cli() -> None:
    """Seasons (年度评议) a tenant issued to its subordinates."""


@seasons_cli.command("list")
@click.option("--tenant", "slug", required=True)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def seasons_list(slug, as_json) -> None:
    """Each season of the tenant with every subordinate it went to: the campaign's state and
    the latest submission (number and state; null until one is made)."""
    from pingyi.models import utcnow
    from pingyi.seasons import plan, watch

    tenant = _tenant(slug)
    now = utcnow()
    with tenant_context(tenant.id):
        rows = [{"id": s.id, "name": s.name, "state": s.state, "version": s.version,
                 "report_due": s.report_due.isoformat(),
                 "tenants": [{"slug": r.slug, "state": r.state,
                              "submission": {"number": r.submission.number, "state": r.submission.state}
                              if r.submission else None} for r in watch.watch(s, now)]}
                for s in plan.seasons()]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        click.echo(f"{r['id']:>5}  {r['state']:<7} v{r['version']}  报送截止 {r['report_due']}  {r['name']}")
        for t in r["tenants"]:
            sub = f"第 {t['submission']['number']} 次 {t['submission']['state']}" if t["submission"] else "未报送"
            click.echo(f"       {t['slug']:<20} {t['state'] or '-':<10} {sub}")


@click.group("links")
def links_cli() -> None:
    """One-time ballot links (测评码)."""


@links_cli.command("issue")
@click.option("--tenant", "slug", required=True)
@click.option("--campaign", "campaign_id", required=True, type=int)
@click.option("--category", required=True, help="evaluator category name or id")
@click.option("--unit", required=True, help="unit id, name or path (平庄煤业公司党委/西露天矿党委)")
@click.option("--count", required=True, type=int, help="links per unit")
@click.option("--each", "unit_kinds", multiple=True, type=click.Choice(["committee", "general_branch", "branch",
                                                                         "office", "other"]),
              help="issue for every unit of this kind under --unit instead (repeatable)")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="CSV file for the links")
@click.option("--pdf", type=click.Path(dir_okay=False), help="also write the printable QR slips here")
@click.option("--base-url", default=None, help="default: PINGYI_PUBLIC_BASE_URL or http://127.0.0.1:5000")
@with_appcontext
def links_issue(slug, campaign_id, category, unit, count, unit_kinds, out, pdf, base_url) -> None:
    """Issue links now (in this process) and write them to --out (and --pdf)."""
    from sqlalchemy import select as _select

    from pingyi.models import EvaluatorCategory, JobFile, Unit
    from pingyi.org.imports import existing_unit_keys, resolve_unit_ref
    from pingyi.voting import issuing

    tenant = _tenant(slug)
    set_actor(None, "cli")
    base = base_url_for_cli(current_app.config, base_url)
    with tenant_context(tenant.id):
        c = _campaign(slug, campaign_id)
        cats = db.session.execute(_select(EvaluatorCategory).where(EvaluatorCategory.campaign_id == c.id)).scalars()
        k = next((x for x in cats if x.name == category or str(x.id) == category), None)
        if k is None:
            _fail(f"该评议活动没有参评人员类别“{category}”")
        units = db.session.execute(_select(Unit)).scalars().all()
        keys = existing_unit_keys([(u.id, u.parent_id, u.name) for u in units])
        by_last: dict = {}
        for key in keys:
            by_last.setdefault(key[-1], []).append(key)
        root = db.session.get(Unit, int(unit)) if unit.isdigit() else None
        if root is None:
            unit_id, problem = resolve_unit_ref(unit, keys, by_last)
            if problem:
                _fail(problem)
            root = db.session.get(Unit, unit_id)
        try:  # the command line waits for its files: run here
            job = issuing.submit_issue(c, k, root, list(unit_kinds), count, base, run_here=True)
        except DomainError as exc:
            _fail(exc.message)
        if job.state != "done":
            _fail(f"发放失败：{job.error}")
        files = db.session.execute(_select(JobFile).where(JobFile.job_id == job.id).order_by(JobFile.id)).scalars().all()
        Path(out).write_bytes(next(f for f in files if f.mime == "text/csv").data)
        parts = [f for f in files if f.mime == "application/pdf"]
        pdfs = [] if not pdf else [Path(pdf)] if len(parts) == 1 else [
            Path(pdf).with_stem(f"{Path(pdf).stem}-{n}") for n in range(1, len(parts) + 1)]
        for path, f in zip(pdfs, parts, strict=False):  # a big batch's slips come in parts (issuing.pdf_parts)
            path.write_bytes(f.data)
        for f in files:  # the secrets now live in the caller's files only
            f.data = None
        db.session.commit()
    click.echo(f"已发放 {job.result['links']} 个测评码（{job.result['units']} 个单位），写入 {out}"
               + (f" 和 {'、'.join(map(str, pdfs))}（{job.result['pdf_pages']} 页）" if pdfs else ""))


@click.command("tally")
@click.option("--tenant", "slug", required=True)
@click.option("--campaign", "campaign_id", required=True, type=int)
@click.option("--wait", is_flag=True, help="run the full tally here and print the figures")
@with_appcontext
def tally_cmd(slug, campaign_id, wait) -> None:
    """Queue (or with --wait run) a full tally of a campaign."""
    from pingyi.results.tally import percent, subject_facts, submit

    tenant = _tenant(slug)
    set_actor(None, "cli")
    with tenant_context(tenant.id):
        c = _campaign(slug, campaign_id)
        job = submit(c.id, run_here=wait)
        if not wait:
            click.echo(f"已提交统计任务 #{job.id}（{job.state}）")
            return
        if job.state != "done":
            _fail(f"统计失败：{job.error}")
        from pingyi.models import FormItem
        from pingyi.results import live_view

        texts = dict(db.session.execute(select(FormItem.id, FormItem.text)).all())
        view = live_view.view_of(c)  # an open campaign: the live snapshot, or turnout only
        click.echo(f"{c.name}：第 {job.result['version']} 次统计，{job.result['ballots']} 张票"
                   + (f"，{job.result['answers']} 个回答" if view.mode == live_view.FULL else ""))
        if not view.figures:
            click.echo("  评议进行中，未开启实时结果：评议结束后显示结果。")
        _kinds, infos = subject_facts(c.id)
        for item_id, fig in sorted(live_view.figures(c.id, "item", infos, view).items()):
            click.echo(f"  {texts.get(item_id, item_id)}满意率 {percent(fig.satisfied_share)}（{fig.total} 个回答）")


@click.command("report")
@click.option("--tenant", "slug", required=True)
@click.option("--campaign", "campaign_id", type=int, help="required except for a roll-up of the subordinates")
@click.option("--kind", type=click.Choice(["tally", "opinions", "summary", "rollup"]), default="tally",
              show_default=True)
@click.option("--format", "fmt", type=click.Choice(["xlsx", "docx", "pdf"]), default="xlsx", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, writable=True, path_type=Path), required=True)
@with_appcontext
def report_cmd(slug, campaign_id, kind, fmt, out) -> None:
    """Make a report file from the stored tally (the same file as the pages' exports): 统计表
    (tally), 意见汇总表 (opinions), the summary report (summary, docx or pdf), a roll-up
    (rollup: of one campaign's unit tree, or without --campaign of the subordinate tenants'
    published campaigns)."""
    from pingyi.reports import registry as reports

    tenant = _tenant(slug)
    with tenant_context(tenant.id):
        c = _campaign(slug, campaign_id) if campaign_id is not None else None
        try:
            _name, _mime, data = reports.make(c, kind, fmt)
        except DomainError as exc:
            _fail(exc.message)
    partial = out.with_name(out.name + ".part")  # a cut-off run never leaves a file that looks whole
    partial.write_bytes(data)
    partial.replace(out)
    click.echo(f"已生成 {out}（{len(data) // 1024} KB）")


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="print the checks as JSON")
def doctor_cmd(as_json) -> None:
    """Check this host's production configuration (PINGYI_ENV, SECRET_KEY, DATABASE_URL and its
    migrations, REDIS_URL and its workers, the replica, pgbouncer, proxies, fonts) and say what to
    do about each problem; exit 1 when a required check fails (docs/deploy.md)."""
    from pingyi import create_app
    from pingyi.monitoring import doctor

    checks = doctor.diagnose(create_app)  # its own app: a setting that stops the start is a check too
    click.echo(json.dumps(doctor.as_data(checks), ensure_ascii=False, indent=2) if as_json else doctor.report(checks))
    sys.exit(1 if doctor.failed(checks) else 0)


@click.group("export")
def export_cli() -> None:
    """Exports of a sealed campaign that anyone can check (docs/verification.md)."""


@export_cli.command("ballots")
@click.option("--tenant", "slug", required=True)
@click.option("--campaign", "campaign_id", type=int, required=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="the .csv to write")
@with_appcontext
def export_ballots(slug: str, campaign_id: int, out: Path) -> None:
    """The anonymised ballots, one row per ballot, small groups coarsened to k (opinions only if published)."""
    from pingyi.verification import export

    with tenant_context(_tenant(slug).id):
        c = _campaign(slug, campaign_id)
        if not export.available(c):
            _fail("该评议活动尚未封存（结束评议后的计票完成时封存），或票数不足 k 张，不能导出")
        with out.open("w", encoding="utf-8", newline="") as fh:
            fh.writelines(export.lines(c, opinions=export.opinions_allowed(c)))
        click.echo(f"已导出到 {out}（数字指纹 {c.seal_digest}）")


@click.command("verify")
@click.option("--tenant", "slug", required=True)
@click.option("--campaign", "campaign_id", type=int, required=True)
@click.option("--export", "export_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="an export (pingyi export ballots) to check instead of the database's ballots")
@click.option("--table", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="a 统计表 .xlsx to check cell by cell against the export")
@with_appcontext
def verify_cmd(slug: str, campaign_id: int, export_path: Path | None, table: Path | None) -> None:
    """Recompute a sealed campaign's digest and figures; exit 0 when all match, else 1 naming what differs."""
    from pingyi.verification import check, export

    if table is not None and export_path is None:
        _fail("--table 要与 --export 一起使用：统计表按导出文件重新计算")
    with tenant_context(_tenant(slug).id):
        c = _campaign(slug, campaign_id)
        if export_path is None:
            report = check.database(c)
        else:
            try:
                with export_path.open(encoding="utf-8", newline="") as fh:
                    exp = export.read(fh)
            except (export.BadExport, UnicodeDecodeError) as exc:
                _fail(f"{export_path} 不是可以核对的导出文件：{exc}")
            report = check.exported(c, exp, table.read_bytes() if table else None)
    for line in report.checked:
        click.echo(f"一致  {line}")
    for line in report.problems:
        click.echo(f"不符  {line}")
    click.echo("核对通过" if report.ok else "核对未通过")
    sys.exit(0 if report.ok else 1)


main.add_command(doctor_cmd)  # found without loading the app, so a ConfigError reaches it


def register_cli(app) -> None:
    """The app's own commands, then those other packages plug in through the ``pingyi.commands``
    entry point (``pingyi worker``, ``pingyi bench``): the app never imports them."""
    for cmd in (tenant_cli, user_cli, units_cli, people_cli, campaigns_cli, seasons_cli, links_cli, tally_cmd,
                report_cmd, demo_cmd, rectification_cli, backup_cmd, restore_cmd, doctor_cmd, export_cli, verify_cmd):
        app.cli.add_command(cmd)
    for ep in entry_points(group="pingyi.commands"):
        app.cli.add_command(ep.load(), ep.name)


if __name__ == "__main__":
    main()
