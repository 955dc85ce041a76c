"""`repro demo ...` commands."""

from __future__ import annotations

import click


@click.group()
def demo() -> None:
    """(under construction)"""
