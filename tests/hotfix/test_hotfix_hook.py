"""The commit-msg hook: an `Incident: INC-n` trailer on hotfix branches, nothing elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from hotfix_repo import GitRepo

from repro.cli.main import cli
from repro.errors import HotfixError
from repro.hotfix import add_incident_trailer, install_commit_msg_hook


def test_trailer_added_once_on_hotfix_branch(repo: GitRepo, tmp_path: Path) -> None:
    repo.checkout("-b", "hotfix/INC-7-timeout")
    msg = tmp_path / "MSG"
    msg.write_text("Raise the payment timeout\n\nThe gateway is slow on Mondays.\n", encoding="utf-8")
    result = add_incident_trailer(msg, repo.path)
    assert (result.incident_id, result.added) == ("INC-7", True)
    assert msg.read_text(encoding="utf-8").endswith("Mondays.\n\nIncident: INC-7\n")
    again = add_incident_trailer(msg, repo.path)
    assert again.added is False
    assert msg.read_text(encoding="utf-8").count("Incident: INC-7") == 1


def test_existing_trailer_in_other_case_is_kept(repo: GitRepo, tmp_path: Path) -> None:
    repo.checkout("-b", "hotfix/INC-7")
    msg = tmp_path / "MSG"
    text = "Fix\n\nincident: inc-7\nReviewed-by: Someone <s@example.com>\n"
    msg.write_text(text, encoding="utf-8")
    assert add_incident_trailer(msg, repo.path).added is False
    assert msg.read_text(encoding="utf-8") == text


def test_nothing_outside_hotfix_branches_or_for_empty_messages(repo: GitRepo, tmp_path: Path) -> None:
    msg = tmp_path / "MSG"
    msg.write_text("Ordinary work\n", encoding="utf-8")
    result = add_incident_trailer(msg, repo.path)
    assert (result.branch, result.incident_id, result.added) == ("main", None, False)
    assert msg.read_text(encoding="utf-8") == "Ordinary work\n"
    repo.checkout("-b", "hotfix/INC-7-x")
    msg.write_text("\n# Please enter the commit message\n", encoding="utf-8")
    assert add_incident_trailer(msg, repo.path).added is False


def test_installed_hook_adds_trailer_to_real_commits(repo: GitRepo) -> None:
    result = CliRunner().invoke(cli, ["hotfix", "install-hook", "--repo", str(repo.path)])
    assert result.exit_code == 0, result.output
    hook = repo.path / ".git" / "hooks" / "commit-msg"
    assert result.output.strip() == f"Installed {hook}"
    repo.checkout("-b", "hotfix/INC-12-slow-search")
    repo.commit("Speed up search", lines=["fast"])
    assert repo.git("log", "-1", "--format=%(trailers:key=Incident,valueonly)") == "INC-12"
    repo.checkout("main")
    repo.commit("Unrelated", name="other.txt", lines=["x"])
    assert repo.git("log", "-1", "--format=%B") == "Unrelated"


def test_foreign_hook_is_not_replaced_without_force(repo: GitRepo) -> None:
    hook = repo.path / ".git" / "hooks" / "commit-msg"
    hook.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    with pytest.raises(HotfixError, match=r"already exists and was not written by repro \(use --force"):
        install_commit_msg_hook(repo.path)
    assert install_commit_msg_hook(repo.path, force=True) == hook
    assert "repro hotfix install-hook" in hook.read_text(encoding="utf-8")
    assert install_commit_msg_hook(repo.path) == hook  # ours: re-installing is fine


def test_commit_msg_command(repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo.checkout("-b", "hotfix/INC-3-a")
    msg = tmp_path / "MSG"
    msg.write_text("Fix it\n", encoding="utf-8")
    monkeypatch.chdir(repo.path)
    result = CliRunner().invoke(cli, ["hotfix", "commit-msg", str(msg)])
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == "repro: added trailer 'Incident: INC-3'"
    assert msg.read_text(encoding="utf-8") == "Fix it\n\nIncident: INC-3\n"
