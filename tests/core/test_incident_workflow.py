"""An incident from report to closed post-mortem, with `repro copy-user --incident` in the middle (SQLite)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from dbtools import PROJECT_ROOT

from repro.cli.main import cli
from repro.demo import build_demo_database


@pytest.fixture
def config(tmp_path: Path) -> Path:
    source = tmp_path / "production.db"
    build_demo_database(f"sqlite:///{source}", seed=42, users=40)
    path = tmp_path / "repro.yaml"
    path.write_text(
        f"source: sqlite:///{source}\n"
        f"target: sqlite:///{tmp_path / 'staging.db'}\n"
        "subset:\n"
        "  virtual_foreign_keys: [{from: audit_log.actor_id, to: users.id}]\n"
        "  skip: [audit_log.reviewer_id]\n"
        f"masking: {{rules: {PROJECT_ROOT / 'masking_rules'}}}\n"
    )
    return path


def repro(config: Path, *args: str) -> Any:
    result = CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def as_json(config: Path, *args: str) -> Any:
    return json.loads(repro(config, *args, "--json").output)


def test_report_to_closed_postmortem(config: Path, tmp_path: Path, mask_salt: str) -> None:
    incident = as_json(
        config,
        "incident",
        "report",
        "--tagline",
        "s-user-fbehav: Order total shows the wrong currency",
        "--user",
        "7",
        "--user-kind",
        "customer",
        "--by",
        "support-ann",
    )
    inc = incident["id"]
    assert incident["status"] == "reported"
    triaged = as_json(config, "incident", "triage", inc, "--team", "BE", "--by", "lead-bob")
    assert triaged["tagline"].startswith("S-USER-FBEHAV-BE: Order total shows the wrong currency")

    copied = as_json(config, "copy-user", "7", "--incident", inc, "--create-schema")
    snapshot_id = copied["snapshot"]
    assert snapshot_id and copied["incident"] == inc

    shown = as_json(config, "incident", "show", inc)
    assert shown["status"] == "reproduced"
    assert snapshot_id in json.dumps(shown)
    listed = as_json(config, "snapshot", "list", "--incident", inc)
    assert [s["id"] for s in listed] == [snapshot_id]
    manifest = as_json(config, "snapshot", "show", snapshot_id)
    assert json.dumps(manifest).count(inc) >= 1

    repro(config, "incident", "resolve", inc, "--planned", "SHOP-123", "--by", "lead-bob")
    for kind, what in (("prevent", "type the currency"), ("reduce", "alert on totals"), ("contain", "flag")):
        repro(config, "incident", "action", "add", inc, "--kind", kind, "--owner", "bob", what)
    out = tmp_path / "pm.md"
    repro(config, "incident", "postmortem", inc, "--root-cause", "currency not stored", "-o", str(out))
    text = out.read_text()
    assert "currency not stored" in text and "type the currency" in text
    repro(config, "incident", "close", inc, "--by", "lead-bob")
    assert as_json(config, "incident", "show", inc)["status"] == "closed"

    stats = as_json(config, "incident", "stats")
    final = as_json(config, "incident", "show", inc)
    assert stats["by_status"] == {"closed": 1} and stats["by_scope"] == {"S-USER": 1}
    for step in ("triage", "reproduce", "resolve"):
        assert stats["timings"][step]["count"] == 1
        assert stats["timings"][step]["median_s"] == pytest.approx(final[f"time_to_{step}_s"], abs=1e-3)
    assert 0 < final["time_to_triage_s"] <= final["time_to_reproduce_s"] <= final["time_to_resolve_s"]
