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
