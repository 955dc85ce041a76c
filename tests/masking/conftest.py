"""Fixtures for masking tests (helpers live in maskhelp.py)."""

from masking.maskhelp import demo_graph, make_graph

__all__ = ["demo_graph", "make_graph"]
