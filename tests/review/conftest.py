"""Fixtures for the review tests (the masking tests' schema helpers)."""

from masking.maskhelp import make_graph

__all__ = ["make_graph"]
