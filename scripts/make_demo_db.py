#!/usr/bin/env python3
"""Build the demo "production" database (same as `repro demo init`): python scripts/make_demo_db.py [URL]."""

from __future__ import annotations

import argparse
import sys

from repro.demo import DEFAULT_DEMO_URL, MIN_USERS, build_demo_database
from repro.errors import ReproError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "url", nargs="?", default=DEFAULT_DEMO_URL, help=f"SQLAlchemy URL (default {DEFAULT_DEMO_URL})"
    )
    parser.add_argument(
        "--seed", type=int, default=42, help="the same seed builds the same rows (default 42)"
    )
    parser.add_argument(
        "--users", type=int, default=200, help=f"number of users, at least {MIN_USERS} (default 200)"
    )
    parser.add_argument("--force", action="store_true", help="drop and recreate the demo tables if present")
    args = parser.parse_args(argv)
    try:
        result = build_demo_database(args.url, seed=args.seed, users=args.users, force=args.force)
    except ReproError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"Built the demo database at {result.url}: {result.total_rows} rows in {result.elapsed_s:.1f}s")
    for table, count in result.counts.items():
        print(f"  {table:<20} {count:>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
