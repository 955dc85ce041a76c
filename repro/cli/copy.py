"""`repro copy-user` and `repro plan`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from repro.cli.options import (
    AppContext,
    output_options,
    pass_app,
    print_json,
    print_table,
    source_target_options,
)
from repro.config import Settings, parse_root_option

if TYPE_CHECKING:  # the pipeline is imported when a command runs: `repro --help` stays fast
    from repro.plan_report import CopyResult, PlanReport


def _settings(app: AppContext, source_url: str | None, target_url: str | None, root: str | None) -> Settings:
    overrides: dict[str, Any] = {"source_url": source_url, "target_url": target_url}
    if root:
        overrides["root_table"], overrides["root_key"] = parse_root_option(root)
    return app.settings(**overrides)


def root_option(func: Any) -> Any:
    return click.option(
        "--root",
        metavar="TABLE.COLUMN",
        help="Table and column that identify the user (default from repro.yaml: users.id).",
    )(func)


class _Progress:
    """One updating line on stderr while a long copy runs (only on a terminal)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.last = ""

    def __call__(self, table: str, rows: int) -> None:
        if not self.enabled:
            return
        text = f"  copying {table}: {rows} rows" if rows >= 0 else f"  planning: {table}"
        click.echo("\r" + text.ljust(len(self.last)), nl=False, err=True)
        self.last = text

    def done(self) -> None:
        if self.enabled and self.last:
            click.echo("\r" + " " * len(self.last) + "\r", nl=False, err=True)


def _print_plan(report: PlanReport) -> None:
    click.echo(
        f"Plan for {report.root_table}.{report.root_key} = {report.root_value} (source {report.source})"
    )
    print_table(["table", "rows", "reached as"], [[t.table, t.rows, t.reached] for t in report.tables])
    click.echo(f"total: {report.total_rows} rows in {len(report.tables)} tables")
    click.echo("edges followed:")
    for edge in report.edges:
        click.echo(
            f"  {edge['edge']}  [{edge['direction']}{', forced' if edge['forced'] else ''}]"
            f"  {edge['rows']} rows"
        )
    for label in report.skipped:
        click.echo(f"  {label}  [skipped by subset.skip]")
    if report.deferred:
        click.echo("cycles broken at: " + ", ".join(report.deferred))


@click.command("plan")
@click.argument("user_id")
@source_target_options
@root_option
@output_options
@pass_app
def plan(
    app: AppContext,
    user_id: str,
    source_url: str | None,
    target_url: str | None,
    root: str | None,
    as_json: bool,
) -> None:
    """Show which rows a copy of USER_ID would take, per table, and the edges followed. Writes nothing.

    \b
    Example:
      repro plan 42 --source postgresql://ro@prod.internal/app
    """
    from repro.copy import build_plan

    progress = _Progress(not as_json)
    report = build_plan(_settings(app, source_url, target_url, root), user_id, progress=progress)
    progress.done()
    if as_json:
        print_json(report.to_dict())
    else:
        _print_plan(report)


@click.command("copy-user")
@click.argument("user_id")
@source_target_options
@root_option
@click.option(
    "--incident",
    metavar="INC-N",
    help="Link the copy to an incident: it moves to `reproduced` and records the snapshot.",
)
@click.option(
    "--dry-run", is_flag=True, help="Print the plan and row counts; read nothing more, write nothing."
)
@click.option(
    "--create-schema",
    is_flag=True,
    help="Create tables missing in the target from the source schema (fresh staging databases).",
)
@click.option("--no-snapshot", is_flag=True, help="Do not save a reproduction snapshot of this copy.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
@output_options
@pass_app
def copy_user(
    app: AppContext,
    user_id: str,
    source_url: str | None,
    target_url: str | None,
    root: str | None,
    incident: str | None,
    dry_run: bool,
    create_schema: bool,
    no_snapshot: bool,
    quiet: bool,
    as_json: bool,
) -> None:
    """Copy USER_ID's data from production to staging, masked by the rules in masking_rules/.

    Takes the user's row, every row that depends on it and every parent row those need, reads the source in one
    read-only transaction, masks every value, saves a snapshot and writes staging in one transaction.
    REPRO_MASK_SALT must be set.

    \b
    Examples:
      repro copy-user 42
      repro copy-user 42 --incident INC-7 --target postgresql://stg@staging.internal/app
      repro copy-user 42 --dry-run --json
      repro copy-user 1234 --root accounts.uuid --create-schema
    """
    from repro.copy import copy_user as run_copy

    settings = _settings(app, source_url, target_url, root)
    progress = _Progress(not quiet and not as_json)
    try:
        result = run_copy(
            settings,
            user_id,
            incident=incident,
            dry_run=dry_run,
            create_schema=create_schema,
            snapshot=not no_snapshot,
            progress=progress,
        )
    finally:
        progress.done()
    if as_json:
        print_json(result.to_dict())
    else:
        _print_result(result)


def _print_result(result: CopyResult) -> None:
    plan = result.plan
    if result.dry_run:
        click.echo("Dry run: nothing was written.")
        _print_plan(plan)
        return
    click.echo(
        f"Copied {plan.root_table}.{plan.root_key} = {plan.root_value}: {plan.source} -> {result.target}"
    )
    if result.created_tables:
        click.echo(f"created tables: {', '.join(result.created_tables)}")
    print_table(["table", "rows"], [[t, n] for t, n in result.rows.items()])
    click.echo(f"total: {sum(result.rows.values())} rows in {result.elapsed_s:.2f}s")
    if result.snapshot_id:
        click.echo(f"snapshot: {result.snapshot_id}")
    if result.incident:
        click.echo(f"incident {result.incident}: reproduced")
