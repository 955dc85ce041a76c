"""Helpers for masking tests: rule sets from YAML text, schemas reflected from real SQLite files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from repro.config import VirtualForeignKey
from repro.demo import demo_metadata
from repro.masking.rules import RuleSet, parse_rules
from repro.schema import SchemaGraph, reflect
from repro.yamlconf import load_yaml_text

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEMO_RULES = PROJECT_ROOT / "masking_rules"
CHINOOK_RULES = PROJECT_ROOT / "tests" / "data" / "chinook_rules"
SALT = "unit-test-salt-0123"
ACTOR_VFK = VirtualForeignKey("audit_log", ("actor_id",), "users", ("id",))


def rules_from(text: str, source: str = "rules.yaml") -> RuleSet:
    """A RuleSet from YAML text (errors name `source`)."""
    return RuleSet(parse_rules(load_yaml_text(text, source), source), (source,))


def graph_from(
    metadata: sa.MetaData, tmp_path: Path, virtual: tuple[VirtualForeignKey, ...] = ()
) -> SchemaGraph:
    """Create the tables in a fresh SQLite file and reflect them (the way the copy sees a schema)."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'schema.db'}")
    metadata.create_all(engine)
    with engine.connect() as conn:
        graph = reflect(conn, None, virtual)
    engine.dispose()
    return graph


@pytest.fixture
def demo_graph(tmp_path: Path) -> SchemaGraph:
    return graph_from(demo_metadata(), tmp_path, (ACTOR_VFK,))


@pytest.fixture
def make_graph(tmp_path: Path) -> Callable[[str], SchemaGraph]:
    """`make_graph(ddl)` -> the reflected graph of tables created by a semicolon-separated SQLite script."""
    counter = iter(range(1000))

    def make(ddl: str) -> SchemaGraph:
        path = tmp_path / f"g{next(counter)}.db"
        engine = sa.create_engine(f"sqlite:///{path}")
        with engine.begin() as conn:
            for stmt in ddl.split(";"):
                if stmt.strip():
                    conn.exec_driver_sql(stmt)
        with engine.connect() as conn:
            graph = reflect(conn)
        engine.dispose()
        return graph

    return make
