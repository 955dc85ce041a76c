"""Database helpers for tests: load Chinook, compute the expected closure naively, dump and compare databases.

Importable from any test module as `dbtools` (pyproject sets pytest's pythonpath to tests/).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from repro.config import Settings, SnapshotSettings, SubsetSettings, TrackerSettings, VirtualForeignKey

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = PROJECT_ROOT.parent / "shared"
CHINOOK_DIR = SHARED_DIR / "datasets" / "chinook"


def demo_settings(source: str, target: str, tmp_path: Path) -> Settings:
    """Settings for copying from a demo database: its virtual FK and skip, the shipped rules, tmp stores."""
    return Settings(
        source_url=source,
        target_url=target,
        rules_dir=PROJECT_ROOT / "masking_rules",
        subset=SubsetSettings(
            virtual_foreign_keys=(VirtualForeignKey("audit_log", ("actor_id",), "users", ("id",)),),
            skip=("audit_log.reviewer_id",),
        ),
        snapshots=SnapshotSettings(store=str(tmp_path / "snapshots")),
        tracker=TrackerSettings(url=f"sqlite:///{tmp_path / 'tracker.db'}"),
    )


def chinook_rules(dialect: str) -> Path:
    """Masking rules for Chinook: its Postgres script spells names in snake_case, the others in PascalCase."""
    name = "chinook_rules_pg" if dialect == "postgresql" else "chinook_rules"
    return PROJECT_ROOT / "tests" / "data" / name


def load_chinook(url: str, dialect: str) -> None:
    """Load the published Chinook script for a dialect into the (empty) database at url."""
    name = {
        "sqlite": "Chinook_Sqlite.sql",
        "postgresql": "Chinook_PostgreSql.sql",
        "mysql": "Chinook_MySql.sql",
    }
    text = (CHINOOK_DIR / name[dialect]).read_text(encoding="utf-8-sig")
    if dialect == "sqlite":
        import sqlite3

        conn = sqlite3.connect(sa.make_url(url).database or "")
        conn.executescript(text)
        conn.close()
        return
    # The server scripts create and switch to their own database first: keep what follows the switch.
    marker = "\\c chinook;" if dialect == "postgresql" else "USE `Chinook`;"
    body = text.split(marker, 1)[1]
    engine = sa.create_engine(url)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if dialect == "postgresql":
            cur.execute(body)
        else:
            import re

            body = re.sub(r"/\*.*?\*/", "", body, flags=re.DOTALL)
            for statement in body.split(";\n"):
                if statement.strip():
                    cur.execute(statement)
        raw.commit()
    finally:
        raw.close()
        engine.dispose()


def expected_closure(
    url: str,
    root_table: str,
    root_key: str,
    root_value: object,
    virtual_fks: list[tuple[str, tuple[str, ...], str, tuple[str, ...]]] = (),  # type: ignore[assignment]
    skip: set[tuple[str, tuple[str, ...]]] = frozenset(),  # type: ignore[assignment]
) -> dict[str, set[tuple[object, ...]]]:
    """The rows a copy must take, computed naively over every row of the database (independent of repro).

    Child direction: rows of C whose FK matches a row of P reached downward (never into the root table).
    Parent direction: rows of P referenced by any collected row of C. Iterated to a fixpoint.
    Returns primary-key tuples per table (the whole row for tables without a primary key).
    """
    engine = sa.create_engine(url)
    insp = sa.inspect(engine)
    tables = insp.get_table_names()
    pks = {t: tuple(insp.get_pk_constraint(t)["constrained_columns"]) for t in tables}
    fks = [
        (t, tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]))
        for t in tables
        for fk in insp.get_foreign_keys(t)
    ]
    fks += list(virtual_fks)
    fks = [fk for fk in fks if (fk[0], fk[1]) not in skip]
    rows: dict[str, list[dict[str, object]]] = {}
    with engine.connect() as conn:
        for t in tables:
            rows[t] = [
                dict(r._mapping)
                for r in conn.execute(sa.text(f"SELECT * FROM {engine.dialect.identifier_preparer.quote(t)}"))
            ]
    engine.dispose()

    def ident(t: str, row: dict[str, object]) -> tuple[object, ...]:
        return tuple(row[c] for c in pks[t]) if pks[t] else tuple(row.values())

    collected: dict[str, dict[tuple[object, ...], dict[str, object]]] = {t: {} for t in tables}
    down: dict[str, set[tuple[object, ...]]] = {t: set() for t in tables}
    for row in rows[root_table]:
        if row[root_key] == root_value:
            collected[root_table][ident(root_table, row)] = row
            down[root_table].add(ident(root_table, row))
    changed = True
    while changed:
        changed = False
        for child, cols, parent, refcols in fks:
            if child != root_table:
                down_vals = {tuple(collected[parent][k][c] for c in refcols) for k in down[parent]}
                for row in rows[child]:
                    vals = tuple(row[c] for c in cols)
                    if None not in vals and vals in down_vals:
                        k = ident(child, row)
                        if k not in down[child]:
                            collected[child][k] = row
                            down[child].add(k)
                            changed = True
            wanted = {tuple(r[c] for c in cols) for r in collected[child].values()}
            for row in rows[parent]:
                vals = tuple(row[c] for c in refcols)
                if None not in vals and vals in wanted:
                    k = ident(parent, row)
                    if k not in collected[parent]:
                        collected[parent][k] = row
                        changed = True
    return {t: set(v) for t, v in collected.items() if v}


def table_keys(url: str) -> dict[str, set[tuple[object, ...]]]:
    """Primary-key tuples present in every non-empty table of a database."""
    engine = sa.create_engine(url)
    insp = sa.inspect(engine)
    result: dict[str, set[tuple[object, ...]]] = {}
    with engine.connect() as conn:
        for t in insp.get_table_names():
            pk = insp.get_pk_constraint(t)["constrained_columns"]
            q = engine.dialect.identifier_preparer.quote
            cols = ", ".join(q(c) for c in pk) if pk else "*"
            keys = {tuple(r) for r in conn.exec_driver_sql(f"SELECT {cols} FROM {q(t)}")}
            if keys:
                result[t] = keys
    engine.dispose()
    return result


def dump_database(url: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, sorted: compare two states of a database exactly."""
    engine = sa.create_engine(url)
    insp = sa.inspect(engine)
    result: dict[str, list[tuple[object, ...]]] = {}
    with engine.connect() as conn:
        for t in sorted(insp.get_table_names()):
            q = engine.dialect.identifier_preparer.quote
            rows = [tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM {q(t)}"))]
            result[t] = sorted(rows, key=repr)
    engine.dispose()
    return result


def _distinctive_strings(value: object) -> list[str]:
    """Original values worth searching for anywhere: distinctive strings, JSON leaves included.

    Short common words (a first name, a city) can legitimately be drawn by a fake generator too; values with a
    digit or an @, or long ones, cannot appear on staging by chance.
    """
    import datetime as dt
    import json

    if value is None or isinstance(value, bool | int | float | dt.date):
        return []
    if isinstance(value, dict | list):
        out: list[str] = []
        for v in value.values() if isinstance(value, dict) else value:
            out += _distinctive_strings(v)
        return out
    text = str(value)
    if text.startswith(("{", "[")):
        try:
            return _distinctive_strings(json.loads(text))
        except ValueError:
            pass
    distinctive = any(c.isdigit() for c in text) or "@" in text or len(text) >= 12
    return [text] if distinctive and len(text) >= 6 else []


def _json_leaves(value: object, path: str) -> list[object]:
    """Values at a simple JSON path (`$.a.b`, `$.items[*].note`) of a decoded JSON document."""
    import json
    import re

    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    current = [value]
    for part in re.findall(r"\.([^.\[]+)|\[(\*|\d+)\]", path):
        key, index = part
        nxt: list[object] = []
        for node in current:
            if key and isinstance(node, dict) and key in node:
                nxt.append(node[key])
            elif index == "*" and isinstance(node, list):
                nxt.extend(node)
            elif index.isdigit() and isinstance(node, list) and int(index) < len(node):
                nxt.append(node[int(index)])
        current = nxt
    return current


def leaked_values(source_url: str, target_url: str, rules_dir: Path) -> list[str]:
    """Original values of masked columns (of the copied rows) that appear anywhere in the target database.

    For a json rule only the values at its masked paths count; kept parts of a document may appear.
    """
    import json

    from repro.masking.rules import load_rules

    rules = load_rules(rules_dir)
    copied = table_keys(target_url)
    staging_text = json.dumps(dump_database(target_url), default=str, ensure_ascii=False)
    engine = sa.create_engine(source_url)
    insp = sa.inspect(engine)
    q = engine.dialect.identifier_preparer.quote
    leaks: list[str] = []
    with engine.connect() as conn:
        for table in copied:
            pk = insp.get_pk_constraint(table)["constrained_columns"]
            for row in conn.execute(sa.text(f"SELECT * FROM {q(table)}")).mappings():
                if tuple(row[c] for c in pk) not in copied[table]:
                    continue
                for column, value in row.items():
                    rule = rules.column_rule(table, column)
                    if rule is None or rule.is_keep:
                        continue
                    if rule.paths:
                        originals = [
                            leaf
                            for path, sub in rule.paths
                            if not sub.is_keep
                            for leaf in _json_leaves(value, path)
                        ]
                    else:
                        originals = [value]
                    for original in originals:
                        leaks += [
                            f"{table}.{column}: {s}"
                            for s in _distinctive_strings(original)
                            if s in staging_text
                        ]
    engine.dispose()
    return leaks
