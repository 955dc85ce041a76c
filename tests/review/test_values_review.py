"""Review: values at the edges of their type through masking and both Postgres load paths."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from masking.maskhelp import SALT, graph_from, rules_from

from repro.db import create_engine
from repro.errors import DatabaseError
from repro.load import Loader
from repro.load_order import plan_load
from repro.masking.engine import MaskingEngine
from repro.schema import reflect
from review.revhelp import fetch, run_sql


def test_date_shift_moves_sentinel_dates_at_the_ends_of_the_calendar(tmp_path: Path) -> None:
    md = sa.MetaData()
    sa.Table(
        "users",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("valid_until", sa.Date),
        sa.Column("seen_at", sa.DateTime),
    )
    graph = graph_from(md, tmp_path)
    rules = rules_from(
        "tables:\n  users:\n    columns:\n"
        "      valid_until: {strategy: date_shift, min_days: 3, max_days: 9}\n"
        "      seen_at: {strategy: date_shift, min_days: 3, max_days: 9}\n"
    )
    rows = [
        (1, dt.date.max, dt.datetime.min),
        (2, dt.date.min, dt.datetime.max),
        (3, dt.date(2020, 5, 1), None),
    ]
    for root in (1, None):  # one shift for the copied user (copy-user), a shift per value (mask-check)
        engine = MaskingEngine(rules, graph, SALT, root_key=root)
        masked = engine.mask_batch("users", ["id", "valid_until", "seen_at"], rows).rows
        for before, after in zip(rows, masked, strict=True):
            for old, new in zip(before[1:], after[1:], strict=True):
                if old is not None:
                    assert 3 <= abs((new - old).days) <= 9 or 3 <= abs((old - new).days) <= 9


def test_fast_path_refuses_a_text_in_a_boolean_column_like_the_generic_path(new_database: Any) -> None:
    """`fixed: 'no'` on a boolean column: COPY used to write TRUE where INSERT refuses the value."""
    errors = []
    for fast in (True, False):
        url = new_database("postgresql", "fast" if fast else "generic")
        run_sql(url, "CREATE TABLE t (id int PRIMARY KEY, active boolean, opted_in boolean)")
        engine = create_engine(url)
        graph = reflect(engine)
        rules = rules_from(
            "tables:\n  t:\n    columns:\n      active: {strategy: fixed, value: 'no'}\n"
            "      opted_in: {strategy: fixed, value: false}\n"
        )
        batch = MaskingEngine(rules, graph, SALT).mask_batch(
            "t", ["id", "active", "opted_in"], [(1, True, True)]
        )
        with pytest.raises(DatabaseError) as caught, engine.begin() as conn:
            Loader(conn, plan_load(graph, ["t"]), use_fast_path=fast).write(batch)
        engine.dispose()
        errors.append(str(caught.value))
        assert fetch(url, "SELECT count(*) FROM t") == [(0,)]
    assert errors[0] == errors[1] == "writing t to staging failed: Not a boolean value: 'no'"
