"""Shared CLI plumbing: the application context, shared option decorators, output helpers."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

from repro.config import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class AppContext:
    """What the top-level `repro` options decided; settings are loaded on first use."""

    config_path: str | None = None
    traceback: bool = False
    _settings: Settings | None = field(default=None, repr=False)

    def settings(self, **overrides: Any) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path)
        return self._settings.with_overrides(**overrides)


pass_app = click.make_pass_decorator(AppContext, ensure=True)


def output_options(func: F) -> F:
    """`--json`: machine-readable output on stdout instead of the table for people."""
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")(
        func
    )


_SOURCE_HELP = "Production database URL, only ever read (overrides `source:`; env REPRO_SOURCE_URL)."
_TARGET_HELP = "Staging database URL (overrides `target:` in repro.yaml; env REPRO_TARGET_URL)."


def source_option(func: F) -> F:
    """`--source URL` (env REPRO_SOURCE_URL)."""
    return click.option(
        "--source", "source_url", envvar="REPRO_SOURCE_URL", metavar="URL", help=_SOURCE_HELP
    )(func)


def target_option(func: F) -> F:
    """`--target URL` (env REPRO_TARGET_URL)."""
    return click.option(
        "--target", "target_url", envvar="REPRO_TARGET_URL", metavar="URL", help=_TARGET_HELP
    )(func)


def source_target_options(func: F) -> F:
    """`--source/--target` database URLs (env REPRO_SOURCE_URL / REPRO_TARGET_URL)."""
    return source_option(target_option(func))


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, err: bool = False) -> None:
    """A plain aligned text table (numbers right-aligned)."""
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [
        all(isinstance(row[i], int | float) for row in rows) and bool(rows) for i in range(len(headers))
    ]

    def fmt(row: list[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(row, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    out = sys.stderr if err else sys.stdout
    click.echo(fmt(cells[0]), file=out)
    click.echo("  ".join("-" * w for w in widths), file=out)
    for row in cells[1:]:
        click.echo(fmt(row), file=out)
