"""`repro incident ...` through the CLI: a whole incident from report to closed, and the exact error lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from repro.cli.incident import incident
from repro.cli.main import cli

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def ok(*args: str, env: dict[str, str] | None = None) -> Any:
    result = run(*args, env=env)
    assert result.exit_code == 0, result.output
    return result


def as_json(*args: str, env: dict[str, str] | None = None) -> Any:
    return json.loads(ok(*args, "--json", env=env).output)


def error_line(result: Any) -> str:
    lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_report_to_closed(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPRO_USER", "sam")
    shot = isolated_env / "shot.png"
    shot.write_bytes(b"\x89PNG fake image")
    result = ok(
        "incident",
        "report",
        "--tagline",
        "admins-fblock: Clicking on user details gives an error",
        "--user",
        "42",
        "--user-kind",
        "admin",
        "--attach",
        str(shot),
    )
    assert (
        result.output.splitlines()[0]
        == "Reported INC-1: ADMINS-FBLOCK: Clicking on user details gives an error (P2)"
    )
    assert (isolated_env / ".repro" / "repro.db").is_file()  # the default tracker, created on first use
    result = ok("incident", "triage", "INC-1", "--team", "fe", "--by", "lee")
    assert (
        result.output
        == "INC-1 ADMINS-FBLOCK-FE: Clicking on user details gives an error\nurgency P2 · status triaged\n"
    )
    assert ok("incident", "labels", "INC-1").output == "ADMINS FBLOCK FE P2 HOTFIX\n"
    esc = as_json("incident", "escalate", "INC-1")
    assert esc["notify"] == ["on-call-lead", "support-lead", "frontend-lead"]
    assert as_json("incident", "start-repro", "INC-1")["status"] == "reproducing"
    assert (
        as_json("incident", "transition", "INC-1", "reproduced", "--note", "by hand")["status"]
        == "reproduced"
    )
    assert as_json("incident", "resolve", "INC-1", "--hotfix", "hotfix/INC-1-details")["status"] == "resolved"
    item = as_json(
        "incident",
        "action",
        "add",
        "INC-1",
        "Validate org id",
        "--kind",
        "prevent",
        "--owner",
        "ana",
        "--due",
        "2026-04-01",
    )
    assert (item["seq"], item["due"]) == (1, "2026-04-01")
    assert as_json("incident", "action", "done", "INC-1", "1")["done"] is True
    out = isolated_env / "pm.md"
    result = ok("incident", "postmortem", "INC-1", "--root-cause", "No organisation", "-o", str(out))
    assert result.output == f"wrote {out} (4 section(s) still TODO: summary, trigger, detection, lessons)\n"
    assert "## Root cause\n\nNo organisation\n" in out.read_text()
    assert "- [x] #1 Validate org id (owner ana, due 2026-04-01)" in out.read_text()
    assert as_json("incident", "close", "INC-1")["status"] == "closed"
    shown = as_json("incident", "show", "INC-1")
    assert shown["tagline"] == "ADMINS-FBLOCK-FE: Clicking on user details gives an error"
    assert shown["hotfix_branch"] == "hotfix/INC-1-details"
    assert [a["filename"] for a in shown["attachments"]] == ["shot.png"]
    assert {e["by"] for e in shown["events"]} == {"sam", "lee"}
    text = ok("incident", "show", "INC-1").output
    assert "image  shot.png" in text and "status postmortem -> closed" in text
    stats = as_json("incident", "stats")
    assert stats["by_status"] == {"closed": 1}
    assert stats["timings"]["resolve"]["median_s"] == shown["time_to_resolve_s"]


def test_list_filters(isolated_env: Path) -> None:
    ok("incident", "report", "--title", "Login down", "--scope", "all", "--criticality", "allblock")
    ok("incident", "report", "--tagline", "S-USER-FBEHAV-BE: Wrong total")
    ok("incident", "report", "--tagline", "S-ADMIN-FBEHAV: Typo")
    assert [v["id"] for v in as_json("incident", "list")] == ["INC-3", "INC-2", "INC-1"]
    assert [v["id"] for v in as_json("incident", "list", "--urgency", "p4")] == ["INC-3", "INC-2"]
    assert [v["id"] for v in as_json("incident", "list", "--team", "BE")] == ["INC-2"]
    assert [v["id"] for v in as_json("incident", "list", "--scope", "all", "--status", "reported")] == [
        "INC-1"
    ]
    assert "INC-2  P4       reported" in ok("incident", "list").output


def test_tracker_url_from_environment(isolated_env: Path) -> None:
    db = isolated_env / "shared" / "tracker.db"
    env = {"REPRO_TRACKER_URL": f"sqlite:///{db}"}
    ok("incident", "report", "--tagline", "USERS-FBLOCK: x", env=env)
    assert db.is_file() and not (isolated_env / ".repro").exists()
    assert as_json("incident", "show", "INC-1", env=env)["title"] == "x"


@pytest.mark.parametrize(
    ("args", "code", "line"),
    [
        (
            ["report", "--tagline", "ADMINS-FBLOCK-QA: x"],
            2,
            "Error: unknown team 'QA' in tagline (valid: FEBE, FE, BE, DEVOPS)",
        ),
        (
            ["report", "--tagline", "EVERYONE-FBLOCK: x"],
            2,
            "Error: unknown scope 'EVERYONE' in tagline (valid: ALL, ALL-USERS, ALL-ADMINS, USERS, ADMINS, S-USER, S-ADMIN)",
        ),
        (
            ["report", "--title", "x", "--scope", "USERS"],
            2,
            "Error: give --tagline, or all of --title, --scope and --criticality",
        ),
        (
            ["report", "--title", "x", "--scope", "users", "--criticality", "slow"],
            2,
            "Error: unknown criticality 'slow' (valid: ALLBLOCK, FBLOCK, FBEHAV)",
        ),
        (["show", "INC-9"], 1, "Error: no incident INC-9"),
        (
            ["show", "ticket-9"],
            2,
            "Error: invalid incident id 'ticket-9' (expected INC-<number>, e.g. INC-7)",
        ),
        (
            ["close", "INC-1"],
            1,
            "Error: INC-1 is reported: cannot move to closed (allowed: triaged, declined, duplicate)",
        ),
        (
            ["transition", "INC-1", "resolved"],
            2,
            "Error: use `repro incident resolve` to move an incident to resolved",
        ),
        (
            ["resolve", "INC-1", "--hotfix", "a", "--planned", "B-1"],
            2,
            "Error: give either a hotfix branch or a planned ticket key, not both",
        ),
        (
            ["postmortem", "INC-1"],
            1,
            "Error: INC-1 is reported: a post-mortem needs it resolved first (post-mortems are written in: resolved,"
            " postmortem, closed)",
        ),
        (["attach", "INC-1", "nothing.png"], 2, "Error: attachment nothing.png: no such file"),
        (["escalate", "INC-1", "--webhook", "http://127.0.0.1:9/hook"], 1, None),
    ],
)
def test_errors(isolated_env: Path, args: list[str], code: int, line: str | None) -> None:
    ok("incident", "report", "--tagline", "USERS-FBLOCK: Export fails")
    result = run("incident", *args)
    assert result.exit_code == code, result.output
    if line is None:
        assert error_line(result).startswith("Error: webhook http://127.0.0.1:9 unreachable: ")
    else:
        assert error_line(result) == line


def test_bad_policy_file_is_a_config_error(isolated_env: Path) -> None:
    policy = isolated_env / "policy.yaml"
    policy.write_text("urgency_matrix: {}\nlevels: {}\nescalation: 1\n")
    (isolated_env / "repro.yaml").write_text(f"tracker:\n  policy: {policy}\n")
    result = run("incident", "report", "--tagline", "USERS-FBLOCK: x")
    assert result.exit_code == 2
    assert error_line(result) == (
        f"Error: {policy}:3: unknown key 'escalation' in incident policy (allowed: levels, team_adjustments, urgency_matrix)"
    )


def _walk(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    out: list[tuple[str, click.Command]] = []
    for name, cmd in group.commands.items():
        out.append((f"{prefix}{name}", cmd))
        if isinstance(cmd, click.Group):
            out += _walk(cmd, f"{prefix}{name} ")
    return out


def test_every_incident_command_has_help_with_an_example() -> None:
    commands = _walk(incident)
    names = {n for n, _ in commands}
    assert {
        "report",
        "triage",
        "show",
        "list",
        "escalate",
        "labels",
        "resolve",
        "action add",
        "action done",
        "action list",
        "postmortem",
        "close",
        "stats",
        "attach",
        "transition",
        "start-repro",
        "decline",
        "duplicate",
    } <= names
    for name, cmd in commands:
        result = run("incident", *name.split(), "--help")
        assert result.exit_code == 0
        assert "Example:" in result.output and "repro incident" in result.output, name
        if not isinstance(cmd, click.Group):
            assert "--json" in result.output, name


def test_copy_user_moves_the_incident_to_reproduced(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The copy-user link: the snapshot is linked and the time to reproduce recorded."""
    from repro.demo import build_demo_database

    monkeypatch.setenv("REPRO_MASK_SALT", "test-salt-0123456789")
    source = isolated_env / "production.db"
    build_demo_database(f"sqlite:///{source}", seed=42, users=20)
    (isolated_env / "repro.yaml").write_text(
        f"source: sqlite:///{source}\n"
        f"target: sqlite:///{isolated_env / 'staging.db'}\n"
        "subset:\n"
        "  virtual_foreign_keys: [{from: audit_log.actor_id, to: users.id}]\n"
        "  skip: [audit_log.reviewer_id]\n"
        f"masking: {{rules: {PROJECT_ROOT / 'masking_rules'}}}\n"
    )
    ok("incident", "report", "--tagline", "S-USER-FBLOCK: Checkout fails", "--user", "7")
    result = run("copy-user", "7", "--incident", "INC-1", "--create-schema")
    assert result.exit_code == 1
    assert error_line(result) == (
        "Error: INC-1 is reported: cannot record a reproduction (needs triaged, reproducing or reproduced;"
        " allowed next: triaged, declined, duplicate)"
    )
    ok("incident", "triage", "INC-1", "--team", "BE")
    copied = as_json("copy-user", "7", "--incident", "INC-1", "--create-schema")
    shown = as_json("incident", "show", "INC-1")
    assert shown["status"] == "reproduced"
    assert copied["snapshot"] and shown["snapshots"] == [copied["snapshot"]]
    assert shown["reproduce_seconds"] == shown["time_to_reproduce_s"] > 0
    assert [(e["from_status"], e["to_status"]) for e in shown["events"] if e["kind"] == "status"][-2:] == [
        ("triaged", "reproducing"),
        ("reproducing", "reproduced"),
    ]


def test_decline_duplicate_and_attach(isolated_env: Path) -> None:
    ok("incident", "report", "--tagline", "USERS-FBEHAV: Slow search")
    ok("incident", "report", "--tagline", "USERS-FBEHAV: Search is slow")
    assert as_json("incident", "duplicate", "INC-2", "--of", "INC-1")["duplicate_of"] == "INC-1"
    declined = as_json("incident", "decline", "INC-1", "--reason", "works as designed", "--by", "lee")
    assert declined["status"] == "declined"
    assert declined["events"][-1]["message"] == "status reported -> declined: works as designed"
    notes = isolated_env / "notes.txt"
    notes.write_text("steps to reproduce")
    har = isolated_env / "s.har"
    har.write_text('{"log": {"version": "1.2", "entries": []}}')
    attached = as_json("incident", "attach", "INC-2", str(notes), str(har))
    assert [(a["kind"], a["filename"]) for a in attached] == [("other", "notes.txt"), ("har", "s.har")]
    assert "attached har s.har" in ok("incident", "show", "INC-2").output
