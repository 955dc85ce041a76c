"""SQL generation of the benchmark database and of the hand-written pipeline (checked as text)."""

from __future__ import annotations

import pytest
from bench_data import LARGE, LARGE_X100, QUICK, QUICK_X10, Shape, load_statements, pick, rnd
from bench_pipeline import LOAD_ORDER, Keys, int_array, subset_queries

from repro.demo import demo_metadata


def test_shapes_keep_the_same_heavy_user_at_both_sizes() -> None:
    assert LARGE.users == 100 * LARGE_X100.users
    assert LARGE.heavy_orders == LARGE_X100.heavy_orders == 20_000
    assert QUICK.heavy_orders == QUICK_X10.heavy_orders
    for shape in (LARGE, LARGE_X100, QUICK, QUICK_X10):
        assert shape.heavy_user % 10 != 1  # ids ending in 1 are admins
        assert shape.light_user == shape.heavy_user + 2


def test_shape_refuses_too_few_orders_for_the_heavy_user() -> None:
    with pytest.raises(ValueError, match="too few users"):
        Shape("x", 1000, heavy_orders=20_000)
    with pytest.raises(ValueError, match="multiple of light_orders"):
        Shape("x", 1000, heavy_orders=1001)


def test_random_helpers_are_plain_deterministic_sql() -> None:
    assert rnd("u", 3, 100) == "((hashint8extended((u)::bigint, 3) & 9223372036854775807) % (100))"
    assert pick(["a", "o'b"], "u", 1).startswith("(ARRAY['a','o''b'])[")


def test_load_statements_fill_every_demo_table_with_set_based_sql() -> None:
    statements = load_statements(LARGE)
    inserted = {sql.split()[2] for _label, sql in statements if sql.startswith("INSERT INTO")}
    assert inserted == set(demo_metadata().tables)
    for _label, sql in statements:
        assert "generate_series" in sql or "FROM orders" in sql or sql.startswith("UPDATE")
    orders = dict(statements)["orders"]
    assert f"THEN {LARGE.heavy_user} WHEN" in orders and f"{LARGE.total_orders}" in orders


def test_pipeline_queries_select_every_column_by_key_arrays() -> None:
    keys = Keys(42, users={42, 7}, organizations={3}, addresses={5, 6}, orders={10, 11}, tickets=set())
    queries = subset_queries(keys)
    assert list(queries) == list(LOAD_ORDER)
    assert set(LOAD_ORDER) == set(demo_metadata().tables)
    assert queries["users"].endswith("FROM users WHERE id = ANY('{7,42}'::int[])")
    assert queries["order_items"] == (
        "SELECT id, order_id, product_id, quantity, unit_price FROM order_items WHERE order_id = ANY('{10,11}'::int[])"
    )
    assert queries["support_tickets"].endswith("id = ANY('{}'::int[])")
    assert queries["audit_log"].endswith("WHERE actor_id = 42")
    assert int_array([3, 1]) == "'{1,3}'::int[]"
