"""The demo "production" database of a multi-tenant SaaS app (docs/demo-schema.md), buildable at any URL.

schema.py defines the tables, generate.py and activity.py generate the seeded rows, build.py writes them to a
database, show.py reads one user back for `repro demo show`.
"""

from __future__ import annotations

from repro.demo.build import DemoResult, build_demo_database
from repro.demo.generate import generate_demo_rows
from repro.demo.schema import DEFAULT_DEMO_URL, MIN_USERS, SHOWCASE_USER, Row, Rows, demo_metadata
from repro.demo.show import DemoComparison, RelatedCount, describe_user

__all__ = [
    "DEFAULT_DEMO_URL",
    "MIN_USERS",
    "SHOWCASE_USER",
    "DemoComparison",
    "DemoResult",
    "RelatedCount",
    "Row",
    "Rows",
    "build_demo_database",
    "demo_metadata",
    "describe_user",
    "generate_demo_rows",
]
