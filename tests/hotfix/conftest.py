"""Hotfix tests run real git with no user or system configuration and no GIT_* variables from outside."""

from __future__ import annotations

from pathlib import Path

import pytest
from hotfix_repo import BASE_LINES, GitRepo


@pytest.fixture(autouse=True)
def _git_without_outside_config(isolated_git: None) -> None:
    """Every hotfix test runs git isolated (fixture in tests/conftest.py)."""


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    """A repository whose main branch has one commit with app.cfg (`timeout = 10` on line 5)."""
    r = GitRepo(tmp_path / "repo")
    r.commit("Initial commit", lines=BASE_LINES)
    return r
