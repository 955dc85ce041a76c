"""`repro hotfix ...` commands."""

from __future__ import annotations

import click


@click.group()
def hotfix() -> None:
    """(under construction)"""
