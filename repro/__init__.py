"""repro: reproduce production incidents on staging with one user's masked data."""

from __future__ import annotations

__version__ = "0.1.0"
