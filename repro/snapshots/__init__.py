"""Reproduction snapshots: the masked subset of a copy, saved as checksummed plain files."""

from __future__ import annotations
