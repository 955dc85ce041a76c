"""Review: JSON columns through masking and loading (JSON null, keyless tables, kept paths, COPY text)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from masking.maskhelp import SALT, graph_from, rules_from

from repro.copy import copy_user
from repro.db import create_engine
from repro.load import Loader
from repro.load_order import plan_load
from repro.masking.engine import MaskingEngine
from repro.schema import reflect
from review.revhelp import create, fetch, run_sql, settings_for, write_rules


def _users_with_json(extra: list[sa.Column[Any]]) -> sa.MetaData:
    md = sa.MetaData()
    sa.Table(
        "users",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("email", sa.String(100)),
        *extra,
    )
    return md


def test_keep_inside_json_paths_leaves_that_path_and_masks_the_others(tmp_path: Path) -> None:
    md = _users_with_json([sa.Column("doc", sa.JSON)])
    graph = graph_from(md, tmp_path)
    rules = rules_from(
        "tables:\n"
        "  users:\n"
        "    columns:\n"
        "      email: redact\n"
        "      doc:\n"
        "        strategy: json\n"
        "        paths:\n"
        '          "$.email": {strategy: email}\n'
        '          "$.plan": {keep: {reason: "plan name"}}\n'
        '          "$.tier": keep\n'
    )
    engine = MaskingEngine(rules, graph, SALT)
    doc = {"email": "ann@corp.example", "plan": "gold", "tier": 3}
    (row,) = engine.mask_batch("users", ["id", "email", "doc"], [(1, "x", doc)]).rows
    assert row[2]["plan"] == "gold" and row[2]["tier"] == 3
    assert row[2]["email"] != "ann@corp.example" and row[2]["email"].endswith("@example.com")


def test_mask_check_self_test_does_not_report_a_kept_json_path_as_a_leak(
    tmp_path: Path, new_database: Any
) -> None:
    from repro.config import Settings
    from repro.masking.check import check_masking

    url = new_database("sqlite")
    create(url, _users_with_json([sa.Column("doc", sa.JSON)]))
    run_sql(
        url,
        """INSERT INTO users VALUES (1, 'a@b.example', '{"email": "ann@corp.example", "plan": "goldplan"}')""",
    )
    rules = write_rules(
        tmp_path,
        "tables:\n  users:\n    columns:\n      email: {strategy: email}\n"
        '      doc: {strategy: json, paths: {"$.email": {strategy: email}, "$.plan": keep}}\n',
    )
    report = check_masking(Settings(source_url=url), rules_dir=rules, sample=5)
    assert [f.message for f in report.findings] == []


def test_not_null_json_holding_json_null_is_copied_as_json_null(
    dialect: str, new_database: Any, tmp_path: Path, mask_salt: str
) -> None:
    source, target = new_database(dialect, "src"), new_database(dialect, "stg")
    create(
        source, _users_with_json([sa.Column("prefs", sa.JSON, nullable=False), sa.Column("extra", sa.JSON)])
    )
    run_sql(source, "INSERT INTO users VALUES (1, 'a@b.example', 'null', NULL)")
    rules = write_rules(
        tmp_path,
        "tables:\n  users:\n    columns:\n      email: {strategy: email}\n      prefs: keep\n      extra: keep\n",
    )
    result = copy_user(settings_for(source, target, tmp_path, rules), 1, create_schema=True)
    assert result.rows == {"users": 1}
    assert fetch(target, "SELECT count(*) FROM users WHERE prefs IS NULL") == [(0,)]
    assert fetch(target, "SELECT count(*) FROM users WHERE extra IS NULL") == [(1,)]


def test_keyless_table_with_a_json_column_is_copied_once_on_every_dialect(
    dialect: str, new_database: Any, tmp_path: Path, mask_salt: str
) -> None:
    source, target = new_database(dialect, "src"), new_database(dialect, "stg")
    md = _users_with_json([])
    sa.Table(
        "events",
        md,
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("kind", sa.String(20)),
        sa.Column("payload", sa.JSON),
    )
    create(source, md)
    run_sql(
        source,
        "INSERT INTO users VALUES (1, 'a@b.example')",
        """INSERT INTO events VALUES (1, 'login', '{"ip": "10.1.2.3", "n": [1, 2]}')""",
        "INSERT INTO events VALUES (1, 'logout', NULL)",
    )
    rules = write_rules(
        tmp_path,
        "tables:\n  users:\n    columns:\n      email: {strategy: email}\n"
        "  events:\n    columns:\n      kind: keep\n"
        '      payload: {strategy: json, paths: {"$.ip": {strategy: faker, provider: ipv4}}}\n',
    )
    settings = settings_for(source, target, tmp_path, rules)
    copy_user(settings, 1, create_schema=True, snapshot=False)
    copy_user(settings, 1, snapshot=False)  # a second copy finds both rows present and adds nothing
    assert fetch(target, "SELECT count(*) FROM events") == [(2,)]


def test_fast_path_writes_the_same_json_text_as_the_generic_path(new_database: Any) -> None:
    texts = []
    for fast in (True, False):
        url = new_database("postgresql", "fast" if fast else "generic")
        run_sql(url, "CREATE TABLE t (id int PRIMARY KEY, doc json NOT NULL, docb jsonb, note text)")
        engine = create_engine(url)
        graph = reflect(engine)
        masker = MaskingEngine(rules_from("tables: {t: {default: keep}}"), graph, SALT)
        rows = [
            (
                1,
                {"name": "Zoë", "list": [1, "tab\there", None], "nested": {"a": "back\\slash"}},
                {"é": 1},
                "x",
            ),
            (2, None, None, None),  # JSON null in a NOT NULL json column, SQL NULL elsewhere
        ]
        batch = masker.mask_batch("t", ["id", "doc", "docb", "note"], rows)
        with engine.begin() as conn:
            loader = Loader(conn, plan_load(graph, ["t"]), use_fast_path=fast)
            loader.write(batch)
            loader.finish()
        engine.dispose()
        texts.append(fetch(url, "SELECT id, doc::text, docb::text, note FROM t ORDER BY id"))
    assert texts[0] == texts[1]
    assert texts[0][1] == (2, "null", None, None)
