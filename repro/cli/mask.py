"""`repro mask-check`."""

from __future__ import annotations

from pathlib import Path

import click

from repro.cli.options import AppContext, output_options, pass_app
from repro.masking.check import check_masking
from repro.masking.report import FORMATS, render


@click.command("mask-check")
@click.option(
    "--db",
    "db_url",
    metavar="URL",
    help="Database to check, only ever read (default: `source:` in repro.yaml; env REPRO_SOURCE_URL).",
)
@click.option(
    "--rules",
    "rules_dir",
    type=click.Path(path_type=Path, file_okay=False),
    metavar="DIR",
    help="Masking rules directory (default: `masking.rules` in repro.yaml, else ./masking_rules).",
)
@click.option(
    "--sample",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    metavar="N",
    help="Also read N rows per table: flag personal-looking kept values and self-test the masking.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="Output: text for people, json, junit XML for CI test reports, github annotations.",
)
@output_options
@pass_app
def mask_check(
    app: AppContext, db_url: str | None, rules_dir: Path | None, sample: int, fmt: str, as_json: bool
) -> None:
    """Check that every column has a masking decision and that the rules fit the schema.

    Reports columns without a rule, rules for tables or columns that no longer exist, columns kept in clear
    whose name suggests personal data, and (with --sample) kept values that look personal and masked values
    that still contain their original. Exit status: 0 clean, 1 findings, 2 usage or configuration error.

    \b
    Example:
      repro --config demo/repro.yaml mask-check --sample 50 --format github
    """
    report = check_masking(app.settings(), db_url=db_url, rules_dir=rules_dir, sample=sample)
    click.echo(render(report, "json" if as_json else fmt))
    if not report.ok:
        raise click.exceptions.Exit(1)
