"""`hotfix status` on a real repository where the fix reached release branches in every possible way."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hotfix_repo import GitRepo

from repro.cli.main import cli
from repro.config import Settings, TrackerSettings
from repro.errors import HotfixError
from repro.hotfix import hotfix_status
from repro.tracker import service

HOTFIX = "hotfix/INC-7-payment-timeout"


@pytest.fixture
def scenario(repo: GitRepo) -> GitRepo:
    """main + release/1.0 .. release/1.5 + develop, and the INC-7 fix reaching the releases differently."""
    for name in (
        "release/1.0",
        "release/1.1",
        "release/1.2",
        "release/1.3",
        "release/1.4",
        "release/1.5",
        "develop",
    ):
        repo.git("branch", name)
    # release/1.2 changed the very line the fix changes (its pick conflicts);
    # release/1.5 changed a line near it (a clean pick, but different context lines)
    repo.checkout("release/1.2")
    repo.commit("Tune timeout for 1.2", lines=repo.edit_line("app.cfg", "timeout = 10", "timeout = 15"))
    repo.checkout("release/1.5")
    repo.commit("Rename line 3", lines=repo.edit_line("app.cfg", "line 3", "line three"))

    repo.checkout("-b", HOTFIX, "main")
    repo.commit(
        "Raise payment timeout\n\nIncident: INC-7",
        lines=repo.edit_line("app.cfg", "timeout = 10", "timeout = 30"),
    )
    fix = repo.head()

    repo.checkout("release/1.0")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge hotfix", HOTFIX)
    repo.checkout("release/1.1")
    repo.git("cherry-pick", "-x", fix)
    repo.checkout("release/1.2")
    repo.git("cherry-pick", "-x", fix, check=False)
    assert "<<<<<<< HEAD" in repo.read("app.cfg")  # the pick conflicts; resolve it by taking the fix
    markers = ("<<<<<<<", "=======", ">>>>>>>")
    repo.write(
        "app.cfg", [ln for ln in repo.read("app.cfg") if not ln.startswith(markers) and ln != "timeout = 15"]
    )
    repo.git("add", "app.cfg")
    repo.git("cherry-pick", "--continue")
    repo.checkout("release/1.3")
    repo.commit(
        "Apply the INC-7 timeout by hand\n\nIncident: INC-7",
        name="payment.cfg",
        lines=["payment_timeout = 30"],
    )
    repo.checkout("release/1.5")
    repo.git("cherry-pick", fix)
    repo.checkout("main")
    return repo


def states(result: Result) -> dict[str, tuple[str, str | None]]:
    data = json.loads(result.stdout)
    return {b["branch"]: (b["state"], b["commits"][0]["via"]) for b in data["branches"]}


def run(repo: GitRepo, *args: str) -> Result:
    return CliRunner().invoke(cli, ["hotfix", "status", "INC-7", "--repo", str(repo.path), *args])


def test_every_way_the_fix_can_arrive(scenario: GitRepo) -> None:
    fix = scenario.git("rev-parse", HOTFIX)
    conflicted = scenario.git("rev-parse", "release/1.2")
    assert scenario.patch_id(conflicted) != scenario.patch_id(fix)  # only the -x line tells
    assert f"(cherry picked from commit {fix})" in scenario.git("log", "-1", "--format=%B", conflicted)

    result = run(scenario, "--branches", "release/*", "--json")
    assert result.exit_code == 1, result.output
    assert states(result) == {
        "release/1.0": ("merged", "ancestry"),
        "release/1.1": ("cherry-picked", "cherry-pick -x"),
        "release/1.2": ("cherry-picked", "cherry-pick -x"),
        "release/1.3": ("cherry-picked", "trailer"),
        "release/1.4": ("missing", None),
        "release/1.5": ("cherry-picked", "patch-id"),
    }
    data = json.loads(result.stdout)
    assert data["complete"] is False
    assert data["hotfix_branch"] == HOTFIX
    assert [c["sha"] for c in data["fix_commits"]] == [fix]
    assert data["branches"][2]["commits"][0]["target_commit"] == conflicted


def test_exit_zero_when_every_target_has_it(scenario: GitRepo) -> None:
    result = run(scenario, "--branches", "release/1.[0-3]", "release/1.5")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "Every branch has the fix."
    assert "release/1.4" not in result.output


def test_default_targets_and_table(scenario: GitRepo) -> None:
    result = run(scenario)
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == "Still lacking the fix: develop, main, release/1.4"
    assert HOTFIX not in result.output.split("\n", 1)[1]  # the hotfix branch itself is no target


def test_after_main_merged_the_hotfix(scenario: GitRepo) -> None:
    scenario.git("merge", "-q", "--ff-only", HOTFIX)
    fix = scenario.git("rev-parse", HOTFIX)
    status = hotfix_status(scenario.path, "INC-7", main_branch="main", targets=["main", "develop"])
    assert [c.sha for c in status.fix_commits] == [fix]  # main..hotfix is empty: found from the reflog
    assert [(b.branch, b.state) for b in status.branches] == [("main", "merged"), ("develop", "missing")]
    scenario.git("reflog", "expire", "--expire=now", "--all")
    again = hotfix_status(scenario.path, "INC-7", main_branch="main", targets=["main"])
    assert [c.sha for c in again.fix_commits] == [fix]  # no reflog: found by the Incident trailer
    assert again.complete


def test_partial_when_one_of_two_commits_is_missing(scenario: GitRepo) -> None:
    scenario.checkout(HOTFIX)
    second = scenario.commit("Log slow payments", name="log.cfg", lines=["log_slow = true"])
    scenario.checkout("main")
    status = hotfix_status(scenario.path, "INC-7", main_branch="main", targets=["release/1.1", "release/1.0"])
    assert [(b.branch, b.state) for b in status.branches] == [
        ("release/1.1", "partial"),
        ("release/1.0", "partial"),
    ]
    assert status.branches[0].commits[1].sha == second and status.branches[0].commits[1].state == "missing"


def test_hotfix_branch_lookup_errors(scenario: GitRepo) -> None:
    scenario.git("branch", "hotfix/INC-7-second-try", HOTFIX)
    result = run(scenario)
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: several hotfix branches for INC-7: hotfix/INC-7-payment-timeout, hotfix/INC-7-second-try"
        " (choose one with --branch)"
    )
    explicit = run(scenario, "--branch", HOTFIX, "--branches", "release/1.0")
    assert explicit.exit_code == 0, explicit.output
    missing = CliRunner().invoke(cli, ["hotfix", "status", "INC-8", "--repo", str(scenario.path)])
    assert missing.exit_code == 1
    assert (
        missing.output.strip()
        == "Error: no local branch hotfix/INC-8-* (name the hotfix branch with --branch)"
    )
    nomatch = run(scenario, "--branch", HOTFIX, "--branches", "support/*")
    assert nomatch.output.strip() == "Error: no local branch matches 'support/*'"
    with pytest.raises(HotfixError, match=r"^hotfix branch hotfix/INC-7-nope does not exist$"):
        hotfix_status(scenario.path, "INC-7", main_branch="main", hotfix_branch="hotfix/INC-7-nope")


def test_hotfix_commands_have_help_with_example() -> None:
    for command in ("start", "commit-msg", "install-hook", "status"):
        result = CliRunner().invoke(cli, ["hotfix", command, "--help"])
        assert result.exit_code == 0
        assert "Example:" in result.output and f"repro hotfix {command}" in result.output


def test_branch_recorded_on_the_incident_is_used(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(tracker=TrackerSettings(url=f"sqlite:///{tmp_path / 'tracker.db'}"))
    incident_id = service.report(settings, title="Pay", scope="S-USER", criticality="FBLOCK", by="sam").id
    service.triage(settings, incident_id, team="FE", by="lee")
    repo.checkout("-b", "fix/pay")
    repo.commit("Fix pay", lines=["fixed"])
    repo.checkout("main")
    service.record_hotfix_branch(settings, incident_id, "fix/pay")
    monkeypatch.setenv("REPRO_TRACKER_URL", settings.tracker.url)
    result = CliRunner().invoke(cli, ["hotfix", "status", incident_id, "--repo", str(repo.path), "--json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["hotfix_branch"] == "fix/pay"
    assert [(b["branch"], b["state"]) for b in data["branches"]] == [("main", "missing")]


def test_status_without_tracker_database_creates_none(scenario: GitRepo) -> None:
    result = run(scenario, "--branches", "release/1.0")
    assert result.exit_code == 0, result.output
    assert not Path(".repro").exists()  # the working directory: no tracker database was made to look up INC-7


def test_configured_targets_and_main_branch(scenario: GitRepo) -> None:
    Path("repro.yaml").write_text(
        "hotfix:\n  main_branch: develop\n  branches: ['release/1.[01]']\n", encoding="utf-8"
    )
    result = run(scenario, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["main_branch"] == "develop"
    assert [b["branch"] for b in data["branches"]] == ["release/1.0", "release/1.1"]
