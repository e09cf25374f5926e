"""``pingyi bench …``: plugged into the app's command line through the ``pingyi.commands``
entry point, so the app package never imports the benchmarks."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext


@click.group("bench")
def bench_cli() -> None:
    """Benchmarks; each prints one JSON line of figures."""


@bench_cli.command("links")
@click.option("--count", default=100_000, show_default=True, type=int)
@click.option("--per-unit", default=20, show_default=True, type=int)
@click.option("--keep", is_flag=True, help="keep the scratch tenant afterwards")
@with_appcontext
def bench_links(count, per_unit, keep) -> None:
    """Issue COUNT links with their QR slip PDF into a scratch tenant; print the figures."""
    from .links import run

    click.echo(json.dumps(run(count, per_unit, keep)))


@bench_cli.command("tally")
@click.option("--answers", type=int, help="size of the generated campaign (default: seed 002's scale, "
              "349 branches, 4720 members, 4378 ballots)")
@click.option("--db", "db_url", help="run against this (migrated) database instead of the app's")
@click.option("--repeat", default=2, show_default=True, type=int, help="best of this many runs")
@click.option("--keep", is_flag=True, help="keep the scratch tenant afterwards")
@with_appcontext
def bench_tally(answers, db_url, repeat, keep) -> None:
    """Full tally + roll-up of a generated campaign against a raw GROUP BY; print the figures."""
    from pingyi import create_app

    from .tally import run

    app = create_app({"DATABASE_URL": db_url}) if db_url else current_app._get_current_object()
    with app.app_context():
        click.echo(json.dumps(run(answers, keep, repeat)))


@bench_cli.command("ballots")
@click.option("--count", default=20_000, show_default=True, type=click.IntRange(1), help="links, each cast once")
@click.option("--connections", default=64, show_default=True, type=click.IntRange(1), help="wrk's connections")
@click.option("--wrk-threads", default=2, show_default=True, type=click.IntRange(1), help="wrk's threads")
@click.option("--workers", type=click.IntRange(1), help="PINGYI_WORKERS (default: deploy/gunicorn.conf.py's)")
@click.option("--threads", type=click.IntRange(1), help="PINGYI_THREADS (default: deploy/gunicorn.conf.py's)")
@click.option("--worker-class", help="PINGYI_WORKER_CLASS (default: deploy/gunicorn.conf.py's)")
@click.option("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres", show_default=True,
              help="server for the scratch database (a private one is started when it does not answer)")
@click.option("--seed", default=2024, show_default=True, type=int, help="seed of the ballots' random choices")
@click.option("--hosts", default=1, show_default=True, type=click.IntRange(1),
              help="gunicorn instances, each with --workers, behind nginx when more than one")
@click.option("--nginx", is_flag=True, help="nginx (deploy/nginx/pingyi.conf) in front of a single host too")
def bench_ballots(**options) -> None:
    """Cast COUNT ballots over HTTP against gunicorn, PostgreSQL, Redis and a worker started for
    the run, then GET /login as long as the baseline; print the figures. With --hosts N (or
    --nginx) wrk reaches N gunicorns through nginx. Exits 1 when an accepted ballot was not
    stored exactly once."""
    import sys

    from .ballots import BenchError, Options, failures, run

    try:
        result = run(Options(**options))
    except BenchError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(json.dumps(result))
    problems = failures(result)
    if problems:
        click.echo("error: " + "; ".join(problems), err=True)
        sys.exit(1)
