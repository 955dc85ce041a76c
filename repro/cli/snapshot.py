"""`repro snapshot ...` commands."""

from __future__ import annotations

import click


@click.group()
def snapshot() -> None:
    """(under construction)"""
