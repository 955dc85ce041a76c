"""A real temporary git repository for hotfix tests, driven through the git command line."""

from __future__ import annotations

import subprocess
from pathlib import Path

BASE_LINES = [f"line {i}" for i in range(1, 11)]
BASE_LINES[4] = "timeout = 10"


class GitRepo:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.name", "Test Engineer")
        self.git("config", "user.email", "engineer@example.com")
        self.git("config", "commit.gpgsign", "false")

    def git(self, *args: str, check: bool = True) -> str:
        proc = subprocess.run(["git", *args], cwd=self.path, capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
        return proc.stdout.strip()

    def write(self, name: str, lines: list[str]) -> None:
        (self.path / name).write_text("\n".join(lines) + "\n", encoding="utf-8")

    def read(self, name: str) -> list[str]:
        return (self.path / name).read_text(encoding="utf-8").splitlines()

    def commit(self, message: str, name: str = "app.cfg", lines: list[str] | None = None) -> str:
        if lines is not None:
            self.write(name, lines)
        self.git("add", name)
        self.git("commit", "-q", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def checkout(self, *args: str) -> None:
        self.git("checkout", "-q", *args)

    def edit_line(self, name: str, old: str, new: str) -> list[str]:
        lines = self.read(name)
        return [new if line == old else line for line in lines]

    def patch_id(self, commit: str) -> str:
        diff = subprocess.run(["git", "show", commit], cwd=self.path, capture_output=True, check=True).stdout
        out = subprocess.run(["git", "patch-id", "--stable"], cwd=self.path, input=diff, capture_output=True)
        return out.stdout.decode().split()[0]
