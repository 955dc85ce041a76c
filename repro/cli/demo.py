"""`repro demo init` and `repro demo show`: the demo production database and a before/after view of a user."""

from __future__ import annotations

from typing import Any

import click

from repro.cli.options import (
    AppContext,
    output_options,
    pass_app,
    print_json,
    print_table,
    source_target_options,
)
from repro.demo import DEFAULT_DEMO_URL, MIN_USERS, DemoComparison, build_demo_database, describe_user

_CELL = 38  # widest value shown in the side-by-side table


@click.group()
def demo() -> None:
    """The demo "production" database of a multi-tenant SaaS app, to try repro on.

    \b
    Example:
      repro demo init && repro --config demo/repro.yaml copy-user 7 --create-schema
    """


@demo.command("init")
@click.argument("url", required=False, default=DEFAULT_DEMO_URL, metavar="[URL]")
@click.option(
    "--seed", type=int, default=42, show_default=True, help="Seed: the same seed builds the same rows."
)
@click.option(
    "--users",
    type=click.IntRange(min=MIN_USERS),
    default=200,
    show_default=True,
    help=f"Number of users (at least {MIN_USERS}); the other tables grow with it.",
)
@click.option(
    "--force", is_flag=True, help="Drop and recreate the demo tables in a database that is not empty."
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing on success.")
@output_options
def init(url: str, seed: int, users: int, force: bool, quiet: bool, as_json: bool) -> None:
    """Build the demo production database at URL (default sqlite:///demo/production.db).

    Eleven tables with a self-reference, a mutual cycle, a composite key, a JSON column with personal data and
    a shared catalogue. A database that already has tables is refused unless --force, which drops and
    recreates the demo tables (other tables are left alone).

    \b
    Example:
      repro demo init postgresql://postgres@127.0.0.1/demo --users 1000 --seed 7 --force
    """
    result = build_demo_database(url, seed=seed, users=users, force=force)
    if quiet:
        return
    if as_json:
        print_json(result.to_dict())
        return
    click.echo(
        f"Built the demo database at {result.url} (seed {seed}, {users} users) in {result.elapsed_s:.1f}s"
    )
    print_table(["table", "rows"], [[name, count] for name, count in result.counts.items()])
    click.echo(f"total: {result.total_rows} rows")


@demo.command("show")
@click.argument("user_id", type=int)
@source_target_options
@output_options
@pass_app
def show(
    app: AppContext, user_id: int, source_url: str | None, target_url: str | None, as_json: bool
) -> None:
    """Show a user's row in production next to the masked copy on staging, and their related rows.

    \b
    Example:
      repro --config demo/repro.yaml demo show 7
    """
    settings = app.settings(source_url=source_url, target_url=target_url)
    comparison = describe_user(settings.require_source(), settings.require_target(), user_id)
    if as_json:
        print_json(comparison.to_dict())
        return
    _print_comparison(comparison)


def _cell(value: Any) -> str:
    text = "NULL" if value is None else str(value)
    return text if len(text) <= _CELL else text[: _CELL - 3] + "..."


def _print_comparison(c: DemoComparison) -> None:
    click.echo(f"User {c.user_id}: production ({c.source}) vs staging ({c.target})")
    if c.staging is None:
        click.echo(f"User {c.user_id} is not on staging yet: run `repro copy-user {c.user_id}` first.")
    changed = set(c.changed_columns())
    rows = []
    for column in c.columns:
        staged = "-" if c.staging is None or column not in c.staging else _cell(c.staging[column])
        rows.append([column, _cell(c.production.get(column)), staged, "masked" if column in changed else ""])
    print_table(["column", "production", "staging", ""], rows)
    click.echo("")
    print_table(
        ["related rows", "production", "staging"],
        [[r.table, r.production, "-" if r.staging is None else r.staging] for r in c.counts],
    )
    if c.staging is not None:
        click.echo(f"{len(changed)} of {len(c.columns)} columns differ on staging")
