"""`repro mask-check`."""

from __future__ import annotations

import click


@click.command("mask-check")
def mask_check() -> None:
    """(under construction)"""
