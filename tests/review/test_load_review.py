"""Review: the loader never touches a staging row outside the copy, on every dialect."""

from __future__ import annotations

from typing import Any

import pytest
from masking.maskhelp import SALT, rules_from

from repro.db import create_engine
from repro.errors import DatabaseError
from repro.load import Loader, target_transaction
from repro.load_order import plan_load
from repro.masking.engine import MaskingEngine
from repro.schema import reflect
from review.revhelp import fetch, run_sql


def test_a_kept_unique_value_held_by_another_staging_row_fails_instead_of_overwriting_it(
    dialect: str, new_database: Any
) -> None:
    url = new_database(dialect, "stg")
    run_sql(
        url,
        "CREATE TABLE tags (id INTEGER PRIMARY KEY, code VARCHAR(20) UNIQUE, label VARCHAR(20))",
        "INSERT INTO tags VALUES (99, 'X', 'staging own')",
        "INSERT INTO tags VALUES (5, 'Y', 'old copy')",
    )
    engine = create_engine(url)
    graph = reflect(engine)
    masker = MaskingEngine(rules_from("tables: {tags: {default: keep}}"), graph, SALT)
    # a re-copy of row 5 updates it in place; a new row 6 wants the code that staging row 99 holds
    batch = masker.mask_batch("tags", ["id", "code", "label"], [(5, "Z", "copied"), (6, "X", "copied")])
    with (
        pytest.raises(DatabaseError, match=r"^writing tags to staging failed: "),
        target_transaction(engine) as conn,
    ):
        loader = Loader(conn, plan_load(graph, ["tags"]))
        loader.write(batch)
        loader.finish()
    engine.dispose()
    assert sorted(fetch(url, "SELECT id, code, label FROM tags")) == [
        (5, "Y", "old copy"),
        (99, "X", "staging own"),
    ]


def test_a_row_keeping_its_own_unique_value_is_updated_in_place(dialect: str, new_database: Any) -> None:
    url = new_database(dialect, "stg")
    run_sql(
        url,
        "CREATE TABLE tags (id INTEGER PRIMARY KEY, code VARCHAR(20) UNIQUE, label VARCHAR(20))",
        "INSERT INTO tags VALUES (5, 'Y', 'old copy')",
    )
    engine = create_engine(url)
    graph = reflect(engine)
    masker = MaskingEngine(rules_from("tables: {tags: {default: keep}}"), graph, SALT)
    batch = masker.mask_batch("tags", ["id", "code", "label"], [(5, "Y", "copied"), (6, "W", "new")])
    with target_transaction(engine) as conn:
        loader = Loader(conn, plan_load(graph, ["tags"]))
        loader.write(batch)
        loader.finish()
    engine.dispose()
    assert sorted(fetch(url, "SELECT id, code, label FROM tags")) == [(5, "Y", "copied"), (6, "W", "new")]
