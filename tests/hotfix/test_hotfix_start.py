"""Starting a hotfix: branch naming, the dirty-tree refusal, and the calls into the tracker."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from hotfix_repo import GitRepo

from repro.cli.main import cli
from repro.config import Settings, TrackerSettings
from repro.errors import HotfixError, TransitionError, UsageError
from repro.hotfix import (
    create_hotfix_branch,
    hotfix_branch_name,
    normalize_incident_id,
    slugify,
    start_hotfix,
)
from repro.tracker import service


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Checkout fails: 500 on /pay", "checkout-fails-500-on-pay"),
        ("  Crème brûlée   missing!! ", "creme-brulee-missing"),
        ("!!!", ""),
        ("a" * 50, "a" * 40),
        (
            "Orders page times out when the user has more than forty orders",
            "orders-page-times-out-when-the-user-has",
        ),
    ],
)
def test_slugify(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_branch_name_and_incident_ids() -> None:
    assert hotfix_branch_name("INC-7", "Checkout fails") == "hotfix/INC-7-checkout-fails"
    assert hotfix_branch_name("INC-7", "???") == "hotfix/INC-7"
    assert [normalize_incident_id(v) for v in ("INC-7", "inc-07", "7", " INC7 ")] == ["INC-7"] * 4
    with pytest.raises(UsageError, match=r"^not an incident id: 'BUG-3' \(expected INC-<number>\)$"):
        normalize_incident_id("BUG-3")


def test_create_branch_from_main_and_check_it_out(repo: GitRepo) -> None:
    main_tip = repo.head()
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("Feature work", lines=["feature"])
    (repo.path / "notes.txt").write_text("untracked files do not make the tree dirty\n", encoding="utf-8")
    started = create_hotfix_branch(repo.path, "inc-7", "Checkout fails", "main")
    assert started.branch == "hotfix/INC-7-checkout-fails"
    assert started.base_commit == main_tip and started.previous == "feature"
    assert repo.git("symbolic-ref", "--short", "HEAD") == "hotfix/INC-7-checkout-fails"
    assert repo.head() == main_tip
    with pytest.raises(HotfixError, match=r"^branch hotfix/INC-7-checkout-fails already exists$"):
        create_hotfix_branch(repo.path, "INC-7", "Checkout fails", "main")


def test_refuses_dirty_tree_and_missing_main(repo: GitRepo) -> None:
    (repo.path / "app.cfg").write_text("changed\n", encoding="utf-8")
    with pytest.raises(HotfixError) as info:
        create_hotfix_branch(repo.path, "INC-7", "x", "main")
    assert str(info.value) == (
        f"{repo.path} has uncommitted changes: commit or stash them before starting a hotfix"
    )
    repo.git("checkout", "--", "app.cfg")
    with pytest.raises(
        HotfixError, match=r"^main branch 'trunk' does not exist in .* \(see hotfix.main_branch\)$"
    ):
        create_hotfix_branch(repo.path, "INC-7", "x", "trunk")


def test_not_a_repository(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(HotfixError, match=r"is not inside a git repository$"):
        create_hotfix_branch(plain, "INC-7", "x", "main")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(tracker=TrackerSettings(url=f"sqlite:///{tmp_path / 'tracker.db'}"))


def _incident(settings: Settings, title: str, *, triaged: bool = True) -> str:
    incident_id = service.report(settings, title=title, scope="S-USER", criticality="FBLOCK", by="sam").id
    if triaged:
        service.triage(settings, incident_id, team="FE", by="lee")
    return incident_id


def test_start_records_branch_on_incident(repo: GitRepo, settings: Settings) -> None:
    incident_id = _incident(settings, "Payment page: 502 after deploy")
    started = start_hotfix(settings, incident_id, repo.path)
    assert started.branch == f"hotfix/{incident_id}-payment-page-502-after-deploy"
    view = service.get_incident(settings, incident_id)
    assert view.hotfix_branch == started.branch
    assert view.status == "fixing"


def test_start_undoes_the_branch_when_recording_fails(repo: GitRepo, settings: Settings) -> None:
    incident_id = _incident(settings, "Not triaged yet", triaged=False)  # reported -> fixing is not allowed
    with pytest.raises(TransitionError):
        start_hotfix(settings, incident_id, repo.path)
    assert repo.git("symbolic-ref", "--short", "HEAD") == "main"
    assert repo.git("branch", "--list", "hotfix/*") == ""
    assert service.get_incident(settings, incident_id).hotfix_branch is None


def test_start_cli(repo: GitRepo, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    incident_id = _incident(settings, "Payment page: 502 after deploy")
    monkeypatch.setenv("REPRO_TRACKER_URL", settings.tracker.url)
    result = CliRunner().invoke(cli, ["hotfix", "start", incident_id, "--repo", str(repo.path)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Created hotfix/{incident_id}-payment-page-502-after-deploy from main (")
    (repo.path / "app.cfg").write_text("dirty\n", encoding="utf-8")
    again = CliRunner().invoke(cli, ["hotfix", "start", incident_id, "--repo", str(repo.path)])
    assert again.exit_code == 1
    assert again.output.strip() == (
        f"Error: {repo.path} has uncommitted changes: commit or stash them before starting a hotfix"
    )
    unknown = CliRunner().invoke(cli, ["hotfix", "start", "INC-999", "--repo", str(repo.path)])
    assert unknown.exit_code == 1 and unknown.output.startswith("Error: ")
