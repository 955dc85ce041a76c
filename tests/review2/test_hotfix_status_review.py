"""`hotfix status` for a multi-commit fix: squash-merged (present) and only partly cherry-picked (not)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hotfix.hotfix_repo import BASE_LINES, GitRepo

from repro.hotfix import hotfix_status

HOTFIX = "hotfix/INC-7-payment-timeout"
MARKERS = ("<<<<<<<", "=======", ">>>>>>>")


@pytest.fixture
def repo(tmp_path: Path, isolated_git: None) -> GitRepo:
    """main with app.cfg, release/1.0 and release/2.0 branched from it, and a two-commit INC-7 fix."""
    r = GitRepo(tmp_path / "repo")
    r.commit("Initial commit", lines=BASE_LINES)
    r.git("branch", "release/1.0")
    r.git("branch", "release/2.0")
    r.checkout("-b", HOTFIX, "main")
    r.commit(
        "Raise payment timeout\n\nIncident: INC-7",
        lines=r.edit_line("app.cfg", "timeout = 10", "timeout = 30"),
    )
    r.commit(
        "Retry the payment once\n\nIncident: INC-7", lines=r.edit_line("app.cfg", "line 9", "retries = 1")
    )
    return r


def test_squash_merge_of_a_multi_commit_fix_counts_as_present(repo: GitRepo) -> None:
    repo.checkout("main")
    repo.git("merge", "--squash", HOTFIX)
    repo.git("commit", "-q", "-m", "Payment timeout hotfix (#12)")  # no trailer, no -x line
    repo.checkout("release/2.0")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge main", "main")  # the squash reaches 2.0 through main
    status = hotfix_status(repo.path, "INC-7", main_branch="main", targets=["main", "release/2.0"])
    assert [(b.branch, b.state) for b in status.branches] == [
        ("main", "cherry-picked"),
        ("release/2.0", "cherry-picked"),
    ]
    assert {c.via for b in status.branches for c in b.commits} == {"squash"}
    assert status.complete


def test_conflicted_pick_of_one_commit_does_not_count_for_the_other(repo: GitRepo) -> None:
    first = repo.git("rev-parse", f"{HOTFIX}~1")
    repo.checkout("release/1.0")
    repo.commit("Tune timeout for 1.0", lines=repo.edit_line("app.cfg", "timeout = 10", "timeout = 15"))
    repo.git("cherry-pick", first, check=False)  # no -x; conflicts; the trailer comes along
    repo.write(
        "app.cfg", [ln for ln in repo.read("app.cfg") if not ln.startswith(MARKERS) and ln != "timeout = 15"]
    )
    repo.git("add", "app.cfg")
    repo.git("cherry-pick", "--continue")
    status = hotfix_status(repo.path, "INC-7", main_branch="main", targets=["release/1.0"])
    [branch] = status.branches
    assert [(c.state, c.via) for c in branch.commits] == [("cherry-picked", "trailer"), ("missing", None)]
    assert branch.state == "partial"
    assert status.lacking == ["release/1.0"]


def test_hand_made_commit_with_the_trailer_still_counts_for_the_whole_fix(repo: GitRepo) -> None:
    repo.checkout("release/1.0")
    lines = repo.edit_line("app.cfg", "timeout = 10", "timeout = 30")
    lines = [{"line 9": "retries = 1", "line 1": "# 1.0 backport"}.get(ln, ln) for ln in lines]
    repo.commit("Backport INC-7 by hand\n\nIncident: INC-7", lines=lines)  # another diff than the fix's
    status = hotfix_status(repo.path, "INC-7", main_branch="main", targets=["release/1.0"])
    assert [(c.state, c.via) for c in status.branches[0].commits] == [("cherry-picked", "trailer")] * 2
