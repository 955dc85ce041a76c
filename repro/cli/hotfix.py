"""`repro hotfix start|commit-msg|install-hook|status`."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy.engine import make_url

from repro.cli.options import AppContext, output_options, pass_app, print_json, print_table
from repro.config import Settings
from repro.errors import ReproError
from repro.hotfix import (
    HotfixStatus,
    add_incident_trailer,
    hotfix_status,
    install_commit_msg_hook,
    normalize_incident_id,
    start_hotfix,
)

repo_option = click.option(
    "--repo", "repo", default=".", show_default=True, metavar="PATH",
    type=click.Path(file_okay=False, path_type=Path), help="The git repository.",
)  # fmt: skip


@click.group()
def hotfix() -> None:
    """Hotfix branches for incidents, and which branches still lack the fix.

    \b
    Example:
      repro hotfix status INC-7 --branches 'release/*'
    """


@hotfix.command("start")
@click.argument("incident_id", metavar="INC-n")
@repo_option
@output_options
@pass_app
def start(app: AppContext, incident_id: str, repo: Path, as_json: bool) -> None:
    """Create and check out hotfix/INC-n-<slug> from the main branch; record it on the incident.

    Refuses a working tree with uncommitted changes. The slug comes from the incident's title.

    \b
    Example:
      repro hotfix start INC-7
    """
    started = start_hotfix(app.settings(), incident_id, repo)
    if as_json:
        print_json(started.to_dict())
        return
    click.echo(
        f"Created {started.branch} from {started.base_branch} ({started.base_commit[:10]}) and checked it out; "
        f"recorded on {started.incident_id}."
    )
    click.echo("Tip: `repro hotfix install-hook` adds the Incident trailer to its commits.")


@hotfix.command("commit-msg")
@click.argument("message_file", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
def commit_msg(message_file: Path) -> None:
    """Git commit-msg hook: add `Incident: INC-n` to commits made on a hotfix branch.

    Does nothing on other branches or when the trailer is already there.

    \b
    Example:
      repro hotfix commit-msg .git/COMMIT_EDITMSG
    """
    result = add_incident_trailer(message_file)
    if result.added:
        click.echo(f"repro: added trailer 'Incident: {result.incident_id}'", err=True)


@hotfix.command("install-hook")
@repo_option
@click.option("--force", is_flag=True, help="Replace a commit-msg hook that repro did not write.")
def install_hook(repo: Path, force: bool) -> None:
    """Install `repro hotfix commit-msg` as the repository's commit-msg hook.

    \b
    Example:
      repro hotfix install-hook --repo ~/src/shop
    """
    path = install_commit_msg_hook(repo, force=force)
    click.echo(f"Installed {path}")


def _tracker_branch(settings: Settings, incident_id: str) -> str | None:
    """The hotfix branch recorded on the incident, when the tracker is there and knows it."""
    from repro.tracker.service import get_incident

    url = make_url(settings.tracker.url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).expanduser().exists():
        return None  # no tracker database here: do not create one just to look
    try:
        return get_incident(settings, incident_id).hotfix_branch
    except ReproError:
        return None  # no such incident in the tracker (or no tracker database): find the branch by name


@hotfix.command("status")
@click.argument("incident_id", metavar="INC-n")
@click.argument("more_branches", nargs=-1, metavar="[PATTERN]...")
@click.option(
    "--branches",
    "branches",
    multiple=True,
    metavar="PATTERN",
    help="Target branches (glob over local branches, repeatable; more may follow as arguments). "
    "Default: hotfix.branches, else every local branch except hotfix/*.",
)
@click.option(
    "--branch",
    "hotfix_branch",
    metavar="NAME",
    help="The hotfix branch (default: the one recorded on the incident, else hotfix/INC-n-*).",
)
@repo_option
@output_options
@pass_app
@click.pass_context
def status(
    ctx: click.Context,
    app: AppContext,
    incident_id: str,
    more_branches: tuple[str, ...],
    branches: tuple[str, ...],
    hotfix_branch: str | None,
    repo: Path,
    as_json: bool,
) -> None:
    """Which branches have the incident's fix: merged, cherry-picked or missing. Exit 1 if any lacks it.

    A fix counts as cherry-picked when a commit carries its `(cherry picked from commit ...)` line, has the
    same change (patch-id without context lines), or has the `Incident: INC-n` trailer.

    \b
    Example:
      repro hotfix status INC-7 --branches 'release/*' develop
    """
    settings = app.settings()
    incident_id = normalize_incident_id(incident_id)
    patterns = tuple(p for value in (*branches, *more_branches) for p in value.split(",") if p.strip())
    result = hotfix_status(
        repo,
        incident_id,
        main_branch=settings.hotfix.main_branch,
        targets=patterns or settings.hotfix.branches,
        hotfix_branch=hotfix_branch or _tracker_branch(settings, incident_id),
    )
    if as_json:
        print_json(result.to_dict())
    else:
        _print_status(result)
    if not result.complete:
        ctx.exit(1)


def _print_status(result: HotfixStatus) -> None:
    commits = ", ".join(f"{c.sha[:10]} {c.subject}" for c in result.fix_commits)
    click.echo(
        f"{result.incident_id}: {result.hotfix_branch}, {len(result.fix_commits)} commit(s): {commits}"
    )
    rows = []
    for branch in result.branches:
        via = sorted({c.via for c in branch.commits if c.via})
        found = sorted({c.target_commit[:10] for c in branch.commits if c.target_commit})
        rows.append((branch.branch, branch.state, ", ".join(via), ", ".join(found)))
    print_table(["branch", "state", "via", "commits"], rows)
    if result.complete:
        click.echo("Every branch has the fix.")
    else:
        click.echo(f"Still lacking the fix: {', '.join(result.lacking)}")
