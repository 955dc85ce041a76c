"""`repro har ...` commands."""

from __future__ import annotations

import click


@click.group()
def har() -> None:
    """(under construction)"""
