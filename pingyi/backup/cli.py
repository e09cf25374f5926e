"""``pingyi backup`` and ``pingyi restore`` (``make backup`` / ``make restore`` wrap them)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from . import BackupError, backup, restore


def _fail(exc: BackupError) -> None:
    click.echo(f"错误：{exc}", err=True)
    sys.exit(1)


@click.command("backup")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="the backup file to write (PostgreSQL: pg_dump's custom format; SQLite: a database file)")
@click.option("--db", "url", default=None, help="the database to back up (default: DATABASE_URL)")
@click.option("--with-job-files", is_flag=True,
              help="keep the files jobs made too (undownloaded link lists hold live ballot links)")
@with_appcontext
def backup_cmd(out: Path, url: str | None, with_job_files: bool) -> None:
    """Back up the whole database to one file, without the files jobs made (docs/deploy.md)."""
    try:
        size = backup(url or current_app.config["SQLALCHEMY_DATABASE_URI"], out, job_files=with_job_files)
    except BackupError as exc:
        _fail(exc)
    click.echo(f"已备份到 {out}（{size / 1024 / 1024:.1f} MB）")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--into", "url", required=True,
              help="the database to restore into: an empty PostgreSQL database or a new SQLite file")
@click.option("--force", is_flag=True, help="restore into a database that already has tables")
def restore_cmd(file: Path, url: str, force: bool) -> None:
    """Restore a backup made by `pingyi backup` into an empty database."""
    try:
        restore(file, url, force=force)
    except BackupError as exc:
        _fail(exc)
    click.echo("已恢复。若备份来自较早的版本，请对该数据库运行 pingyi db upgrade；SECRET_KEY 须与备份时相同"
               "（密封票箱中尚未计入的选票要用它打开）。")
