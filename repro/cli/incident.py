"""`repro incident ...` commands."""

from __future__ import annotations

import click


@click.group()
def incident() -> None:
    """(under construction)"""
