"""Hotfix tests run real git with no user or system configuration and no GIT_* variables from outside."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hotfix_repo import BASE_LINES, GitRepo


@pytest.fixture(autouse=True)
def isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("GIT_"):
            monkeypatch.delenv(key)
    empty = tmp_path / "empty-gitconfig"
    empty.write_text("", encoding="utf-8")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_EDITOR", "true")


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    """A repository whose main branch has one commit with app.cfg (`timeout = 10` on line 5)."""
    r = GitRepo(tmp_path / "repo")
    r.commit("Initial commit", lines=BASE_LINES)
    return r
