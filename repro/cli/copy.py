"""`repro copy-user` and `repro plan`."""

from __future__ import annotations

import click


@click.command("copy-user")
def copy_user() -> None:
    """(under construction)"""


@click.command("plan")
def plan() -> None:
    """(under construction)"""
