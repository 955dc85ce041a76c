"""Hotfix branches and where a fix still has to go, with real git through subprocess.

A hotfix for INC-7 lives on `hotfix/INC-7-<slug>`, branched from the main branch. Its commits carry an
`Incident: INC-7` trailer (the commit-msg hook adds it). `hotfix_status` tells for every target branch whether
the fix is there: merged (ancestry), cherry-picked (`-x` line, equal patch-id, or the trailer), or missing.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
import subprocess
import sys
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from repro.config import Settings
from repro.errors import HotfixError, UsageError

TRAILER_KEY = "Incident"
HOOK_MARKER = "# installed by `repro hotfix install-hook`"
_INCIDENT_RE = re.compile(r"(?:INC-?)?(\d+)", re.IGNORECASE)
_HOTFIX_BRANCH_RE = re.compile(r"hotfix/(INC-\d+)(?:-.*)?")
_PICKED_RE = re.compile(r"\(cherry picked from commit ([0-9a-f]{7,64})\)")


def normalize_incident_id(value: str) -> str:
    """`INC-7`, `inc-7` or `7` -> `INC-7`."""
    m = _INCIDENT_RE.fullmatch(value.strip())
    if not m:
        raise UsageError(f"not an incident id: {value!r} (expected INC-<number>)")
    return f"INC-{int(m.group(1))}"


def slugify(title: str, max_length: int = 40) -> str:
    """`Checkout fails: 500 on /pay` -> `checkout-fails-500-on-pay` (ASCII, cut at a word boundary)."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    if len(slug) > max_length:
        cut = slug[: max_length + 1]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else slug[:max_length]
    return slug.strip("-")


def hotfix_branch_name(incident_id: str, title: str) -> str:
    slug = slugify(title)
    return f"hotfix/{incident_id}-{slug}" if slug else f"hotfix/{incident_id}"


# -- git -----------------------------------------------------------------------------------------------------
def git(repo: Path, *args: str, input_bytes: bytes | None = None, check: bool = True) -> str:
    """Run git in `repo`; a failure becomes HotfixError with git's own first line of complaint."""
    proc = _run_git(repo, args, input_bytes)
    if check and proc.returncode != 0:
        stderr = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = stderr[-1] if stderr else f"exit code {proc.returncode}"
        raise HotfixError(f"git {' '.join(args[:2])} failed: {detail}")
    return proc.stdout.decode("utf-8", "replace")


def _run_git(
    repo: Path, args: tuple[str, ...], input_bytes: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"}
    try:
        return subprocess.run(
            ["git", "-C", str(repo), *args], input=input_bytes, capture_output=True, env=env
        )
    except FileNotFoundError:
        raise HotfixError("git is not installed (or not on PATH)") from None


def repo_root(path: Path) -> Path:
    proc = _run_git(path, ("rev-parse", "--show-toplevel"))
    if proc.returncode != 0:
        raise HotfixError(f"{path} is not inside a git repository")
    return Path(proc.stdout.decode().strip())


def local_branches(repo: Path) -> list[str]:
    return git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads").split()


def _branch_exists(repo: Path, branch: str) -> bool:
    return _run_git(repo, ("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}")).returncode == 0


def current_branch(repo: Path) -> str | None:
    proc = _run_git(repo, ("symbolic-ref", "--short", "-q", "HEAD"))
    return proc.stdout.decode().strip() or None if proc.returncode == 0 else None


# -- start ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HotfixStart:
    incident_id: str
    branch: str
    base_branch: str
    base_commit: str
    previous: str  # what was checked out before (a branch name, or a commit when detached)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def create_hotfix_branch(repo: Path, incident_id: str, title: str, main_branch: str) -> HotfixStart:
    """Create `hotfix/<INC>-<slug>` from `main_branch` and check it out; refuses a dirty working tree."""
    incident_id = normalize_incident_id(incident_id)
    root = repo_root(repo)
    dirty = git(root, "status", "--porcelain", "--untracked-files=no").strip()
    if dirty:
        raise HotfixError(f"{root} has uncommitted changes: commit or stash them before starting a hotfix")
    if not _branch_exists(root, main_branch):
        raise HotfixError(f"main branch {main_branch!r} does not exist in {root} (see hotfix.main_branch)")
    branch = hotfix_branch_name(incident_id, title)
    if _branch_exists(root, branch):
        raise HotfixError(f"branch {branch} already exists")
    previous = current_branch(root) or git(root, "rev-parse", "HEAD").strip()
    base_commit = git(root, "rev-parse", f"refs/heads/{main_branch}").strip()
    git(root, "checkout", "-q", "-b", branch, main_branch)
    return HotfixStart(incident_id, branch, main_branch, base_commit, previous)


def start_hotfix(settings: Settings, incident_id: str, repo: Path) -> HotfixStart:
    """Branch from the main branch for the incident, record the branch on it (undone if recording fails)."""
    from repro.tracker.service import get_incident, record_hotfix_branch  # the tracker loads only when needed

    incident_id = normalize_incident_id(incident_id)
    title = get_incident(settings, incident_id).title
    started = create_hotfix_branch(repo, incident_id, title, settings.hotfix.main_branch)
    try:
        record_hotfix_branch(settings, incident_id, started.branch, by=None)
    except BaseException:
        root = repo_root(repo)
        git(root, "checkout", "-q", started.previous)
        git(root, "branch", "-q", "-D", started.branch)
        raise
    return started


# -- commit-msg hook -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrailerResult:
    branch: str | None
    incident_id: str | None  # None: not on a hotfix branch
    added: bool


def add_incident_trailer(message_file: Path, repo: Path = Path(".")) -> TrailerResult:
    """On a hotfix branch, add `Incident: INC-n` to the commit message unless it is already there."""
    branch = current_branch(repo)
    m = _HOTFIX_BRANCH_RE.fullmatch(branch or "")
    if not m:
        return TrailerResult(branch, None, False)
    incident_id = m.group(1)
    try:
        message = message_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise HotfixError(f"{message_file}: cannot read the commit message: {exc.strerror}") from None
    if not any(line.strip() and not line.startswith("#") for line in message.splitlines()):
        return TrailerResult(branch, incident_id, False)  # empty message: let git abort the commit
    if incident_id in _trailer_values(repo, message):
        return TrailerResult(branch, incident_id, False)
    git(repo, "interpret-trailers", "--in-place", "--if-exists", "addIfDifferent",
        "--trailer", f"{TRAILER_KEY}: {incident_id}", str(message_file))  # fmt: skip
    return TrailerResult(branch, incident_id, True)


def _trailer_values(repo: Path, message: str) -> set[str]:
    parsed = git(repo, "interpret-trailers", "--parse", input_bytes=message.encode("utf-8"))
    values = set()
    for line in parsed.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == TRAILER_KEY.lower():
            values.add(value.strip().upper())
    return values


def install_commit_msg_hook(repo: Path, *, force: bool = False) -> Path:
    """Write the repository's commit-msg hook so hotfix commits get their trailer; keeps a foreign hook."""
    root = repo_root(repo)
    hooks = Path(git(root, "rev-parse", "--git-path", "hooks").strip())
    hook = (hooks if hooks.is_absolute() else root / hooks) / "commit-msg"
    if hook.exists() and HOOK_MARKER not in hook.read_text(encoding="utf-8", errors="replace") and not force:
        raise HotfixError(f"{hook} already exists and was not written by repro (use --force to replace it)")
    python = shlex.quote(sys.executable)
    code = shlex.quote("from repro.cli.main import main; main()")
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text(
        f'#!/bin/sh\n{HOOK_MARKER}\nexec {python} -c {code} hotfix commit-msg "$1"\n', encoding="utf-8"
    )
    hook.chmod(0o755)
    return hook


# -- status --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FixCommit:
    sha: str
    subject: str


@dataclass(frozen=True)
class CommitPresence:
    sha: str  # the fix commit
    state: str  # "merged", "cherry-picked" or "missing"
    via: str | None  # "ancestry", "cherry-pick -x", "patch-id", "squash", "trailer"
    target_commit: str | None  # the commit on the target branch that carries it (None when merged)


@dataclass(frozen=True)
class BranchStatus:
    branch: str
    state: str  # "merged", "cherry-picked", "partial" or "missing"
    commits: tuple[CommitPresence, ...]

    @property
    def has_fix(self) -> bool:
        return self.state in ("merged", "cherry-picked")


@dataclass(frozen=True)
class HotfixStatus:
    incident_id: str
    hotfix_branch: str
    main_branch: str
    fix_commits: tuple[FixCommit, ...]
    branches: tuple[BranchStatus, ...]

    @property
    def complete(self) -> bool:
        return all(b.has_fix for b in self.branches)

    @property
    def lacking(self) -> list[str]:
        return [b.branch for b in self.branches if not b.has_fix]

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident": self.incident_id,
            "hotfix_branch": self.hotfix_branch,
            "main_branch": self.main_branch,
            "complete": self.complete,
            "fix_commits": [asdict(c) for c in self.fix_commits],
            "branches": [{**asdict(b), "has_fix": b.has_fix} for b in self.branches],
        }


def find_hotfix_branch(repo: Path, incident_id: str) -> str:
    """The one local branch named `hotfix/<INC>` or `hotfix/<INC>-*`."""
    found = [
        b for b in local_branches(repo) if (m := _HOTFIX_BRANCH_RE.fullmatch(b)) and m.group(1) == incident_id
    ]
    if not found:
        raise HotfixError(f"no local branch hotfix/{incident_id}-* (name the hotfix branch with --branch)")
    if len(found) > 1:
        raise HotfixError(
            f"several hotfix branches for {incident_id}: {', '.join(found)} (choose one with --branch)"
        )
    return found[0]


def _log(repo: Path, *args: str) -> list[tuple[str, str, str]]:
    """(sha, Incident trailer values joined by ',', full message) of the commits `git log args` lists."""
    fmt = "%H%x1f%(trailers:key=Incident,valueonly,separator=%x2c)%x1f%B%x1e"
    out = git(repo, "log", "--no-merges", f"--format={fmt}", *args)
    records = []
    for record in out.split("\x1e"):
        fields = record.strip("\n").split("\x1f")
        if len(fields) == 3:
            records.append((fields[0], fields[1].strip().upper(), fields[2]))
    return records


def fix_commits(repo: Path, hotfix_branch: str, main_branch: str, incident_id: str) -> list[FixCommit]:
    """Commits on the hotfix branch that main lacks; once main has the fix, those since the branch began."""
    rng = [f"{main_branch}..{hotfix_branch}"]
    if not _log(repo, *rng):
        created = git(
            repo, "reflog", "show", "--format=%H", f"refs/heads/{hotfix_branch}", "--", check=False
        ).split()
        tip = git(repo, "rev-parse", hotfix_branch).strip()
        rng = [f"{created[-1]}..{hotfix_branch}"] if created and created[-1] != tip else []
    records = _log(repo, *rng) if rng else []
    if not records:  # no reflog either: the leading run of commits carrying the incident's trailer
        for sha, trailers, message in _log(repo, "--first-parent", "-n", "200", hotfix_branch):
            if incident_id not in trailers.split(","):
                break
            records.append((sha, trailers, message))
    if not records:
        raise HotfixError(
            f"{hotfix_branch} has no commits for {incident_id}: none that {main_branch} lacks, "
            f"and none with an '{TRAILER_KEY}: {incident_id}' trailer"
        )
    return [FixCommit(sha, message.split("\n", 1)[0]) for sha, _, message in reversed(records)]


def _patch_ids(repo: Path, *args: str) -> dict[str, str]:
    """commit -> patch-id of its change without context lines: a pick onto other surroundings matches."""
    diff = _git_bytes(repo, "log", "--no-merges", "-p", "-U0", "--no-color", "--format=commit %H", *args)
    if not diff.strip():
        return {}
    out = git(repo, "patch-id", "--stable", input_bytes=diff)
    return {commit: pid for pid, commit in (line.split() for line in out.splitlines() if line.strip())}


def _git_bytes(repo: Path, *args: str) -> bytes:
    proc = _run_git(repo, args)
    if proc.returncode != 0:
        raise HotfixError(
            f"git {' '.join(args[:2])} failed: {proc.stderr.decode('utf-8', 'replace').strip()}"
        )
    return proc.stdout


def target_branches(repo: Path, patterns: tuple[str, ...] | list[str], hotfix_branch: str) -> list[str]:
    """Local branches matching the glob patterns; by default every branch except hotfix branches."""
    local = local_branches(repo)
    if not patterns:
        return [b for b in local if b != hotfix_branch and not b.startswith("hotfix/")]
    chosen: list[str] = []
    for pattern in patterns:
        matched = [b for b in local if fnmatch.fnmatchcase(b, pattern) and b != hotfix_branch]
        if not matched:
            raise HotfixError(f"no local branch matches {pattern!r}")
        chosen += [b for b in matched if b not in chosen]
    return chosen


def hotfix_status(
    repo: Path,
    incident_id: str,
    *,
    main_branch: str,
    targets: tuple[str, ...] | list[str] = (),
    hotfix_branch: str | None = None,
) -> HotfixStatus:
    """Where the incident's fix is: per target branch merged, cherry-picked, partial or missing."""
    incident_id = normalize_incident_id(incident_id)
    root = repo_root(repo)
    branch = hotfix_branch or find_hotfix_branch(root, incident_id)
    if not _branch_exists(root, branch):
        raise HotfixError(f"hotfix branch {branch} does not exist")
    if not _branch_exists(root, main_branch):
        raise HotfixError(f"main branch {main_branch!r} does not exist (see hotfix.main_branch)")
    commits = fix_commits(root, branch, main_branch, incident_id)
    fix_pids = _patch_ids(root, "--no-walk=unsorted", *(c.sha for c in commits))
    squashed = _combined_patch_id(root, commits)
    if squashed is not None:
        fix_pids[SQUASH] = squashed
    results = []
    for target in target_branches(root, targets, branch):
        ancestry = {
            c.sha
            for c in commits
            if _run_git(root, ("merge-base", "--is-ancestor", c.sha, target)).returncode == 0
        }
        picks = _find_picks(
            root, branch, target, incident_id, [c for c in commits if c.sha not in ancestry], fix_pids
        )
        checks = tuple(
            CommitPresence(c.sha, "merged", "ancestry", None) if c.sha in ancestry else picks[c.sha]
            for c in commits
        )
        results.append(BranchStatus(target, _branch_state(checks), checks))
    return HotfixStatus(incident_id, branch, main_branch, tuple(commits), tuple(results))


SQUASH = "squash"  # key of the whole fix's patch-id among the fix commits' ones


def _combined_patch_id(repo: Path, commits: list[FixCommit]) -> str | None:
    """The patch-id of a multi-commit fix taken as one change (what a squash merge commits); None for a
    single commit or when the fix commits are not one unbroken line of history."""
    if len(commits) < 2:
        return None
    first, last = commits[0].sha, commits[-1].sha
    proc = _run_git(repo, ("rev-list", f"{first}^..{last}"))
    if proc.returncode != 0 or set(proc.stdout.decode().split()) != {c.sha for c in commits}:
        return None
    diff = _git_bytes(repo, "diff", "-U0", "--no-color", f"{first}^", last)
    out = git(repo, "patch-id", "--stable", input_bytes=diff).split()
    return out[0] if out else None


def _find_picks(
    repo: Path, branch: str, target: str, incident_id: str, pending: list[FixCommit], fix_pids: dict[str, str]
) -> dict[str, CommitPresence]:
    """Fix commits that are not ancestors of target: found by their -x line, their patch-id, else the trailer.

    A target commit whose patch-id is that of the whole fix (a squash merge) carries every fix commit. A target
    commit that matched one fix commit by -x or patch-id is not counted again through its trailer (a picked
    commit copies the trailer), nor is one with a fix commit's subject (a pick whose conflicts were resolved:
    it carries that commit only); any other commit with the trailer counts for every remaining one.
    """
    if not pending:
        return {}
    candidates = _log(repo, f"{branch}..{target}")
    target_pids = _patch_ids(repo, f"{branch}..{target}")
    found: dict[str, CommitPresence] = {}
    squash = fix_pids.get(SQUASH)
    whole = next((o for o, _, _ in candidates if squash is not None and target_pids.get(o) == squash), None)
    if whole is not None:
        return {c.sha: CommitPresence(c.sha, "cherry-picked", "squash", whole) for c in pending}
    for commit in pending:
        for other, _, message in candidates:
            if any(commit.sha.startswith(ref) for ref in _PICKED_RE.findall(message)):
                found[commit.sha] = CommitPresence(commit.sha, "cherry-picked", "cherry-pick -x", other)
                break
        else:
            pid = fix_pids.get(commit.sha)
            same = next((o for o, _, _ in candidates if pid is not None and target_pids.get(o) == pid), None)
            if same is not None:
                found[commit.sha] = CommitPresence(commit.sha, "cherry-picked", "patch-id", same)
    claimed = {p.target_commit for p in found.values()}
    with_trailer = [
        (o, message.split("\n", 1)[0])
        for o, trailers, message in candidates
        if incident_id in trailers.split(",") and o not in claimed
    ]
    fix_subjects = {c.subject for c in pending}
    for commit in pending:
        if commit.sha in found:
            continue
        pick = next(
            (o for o, subject in with_trailer if subject == commit.subject and o not in claimed), None
        )
        if pick is not None:
            found[commit.sha] = CommitPresence(commit.sha, "cherry-picked", "trailer", pick)
            claimed.add(pick)
    by_trailer = [o for o, subject in with_trailer if subject not in fix_subjects]
    for commit in pending:
        if commit.sha not in found:
            found[commit.sha] = (
                CommitPresence(commit.sha, "cherry-picked", "trailer", by_trailer[0])
                if by_trailer
                else CommitPresence(commit.sha, "missing", None, None)
            )
    return found


def _branch_state(checks: tuple[CommitPresence, ...]) -> str:
    states = {c.state for c in checks}
    if states == {"merged"}:
        return "merged"
    if "missing" not in states:
        return "cherry-picked"
    return "missing" if states == {"missing"} else "partial"
