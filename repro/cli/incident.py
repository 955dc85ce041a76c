"""`repro incident ...`: report, classify, escalate, reproduce, resolve and learn from incidents."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from repro.cli.options import AppContext, output_options, pass_app, print_json, print_table
from repro.errors import UsageError
from repro.tracker import service
from repro.tracker.codes import parse_tagline
from repro.tracker.escalation import escalate as escalate_incident
from repro.tracker.escalation import labels_for, webhook_host
from repro.tracker.postmortem import human_duration
from repro.tracker.views import IncidentView

F = TypeVar("F", bound=Callable[..., Any])


def by_option(func: F) -> F:
    return click.option("--by", metavar="NAME", help="Who acts (default $REPRO_USER, else your user name).")(
        func
    )


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M")


def _summary(view: IncidentView) -> None:
    click.echo(f"{view.id}  {view.tagline}")
    click.echo(
        f"  status {view.status} · urgency {view.urgency} · reported {_when(view.milestones['reported'])}"
        f" by {view.reporter}"
    )


def _emit(as_json: bool, view: IncidentView) -> None:
    if as_json:
        print_json(view.to_dict())
    else:
        _summary(view)


@click.group()
def incident() -> None:
    """Track production incidents from report to closed post-mortem.

    \b
    Example:
      repro incident report --tagline "ADMINS-FBLOCK: Clicking on user details gives an error" --user 42
    """


@incident.command()
@click.option("--tagline", help="SCOPE-CRITICALITY[-TEAM]: title, instead of --scope/--criticality/--title.")
@click.option("--title", help="What goes wrong, in one line.")
@click.option("--scope", help="ALL, ALL-USERS, ALL-ADMINS, USERS, ADMINS, S-USER or S-ADMIN.")
@click.option("--criticality", help="ALLBLOCK, FBLOCK or FBEHAV.")
@click.option("--team", help="FEBE, FE, BE or DEVOPS, if already known.")
@click.option("--description", "-d", default="", help="Steps, expected and actual behaviour.")
@click.option("--user", "users", multiple=True, metavar="ID", help="Affected user id (repeatable).")
@click.option(
    "--user-kind", type=click.Choice(service.USER_KINDS), help="Whether those users are customers or admins."
)
@click.option(
    "--attach", "attach", multiple=True, type=click.Path(path_type=Path), help="File to attach (repeatable)."
)
@by_option
@output_options
@pass_app
def report(
    app: AppContext,
    tagline: str | None,
    title: str | None,
    scope: str | None,
    criticality: str | None,
    team: str | None,
    description: str,
    users: tuple[str, ...],
    user_kind: str | None,
    attach: tuple[Path, ...],
    by: str | None,
    as_json: bool,
) -> None:
    """Report a new incident; HAR attachments are sanitized before they are stored.

    \b
    Example:
      repro incident report --tagline "ADMINS-FBLOCK: User details give an error" --user 42 --attach s.har
    """
    if tagline:
        if title or scope or criticality:
            raise UsageError("give either --tagline or --title/--scope/--criticality, not both")
        parsed = parse_tagline(tagline)
        title, scope, criticality, team = parsed.title, parsed.scope, parsed.criticality, team or parsed.team
    if not (title and scope and criticality):
        raise UsageError("give --tagline, or all of --title, --scope and --criticality")
    view = service.report(
        app.settings(),
        title=title,
        scope=scope,
        criticality=criticality,
        team=team,
        description=description,
        user_ids=users,
        user_kind=user_kind,
        attachments=attach,
        by=by,
    )
    if as_json:
        print_json(view.to_dict())
        return
    click.echo(f"Reported {view.id}: {view.tagline} ({view.urgency})")
    for a in view.attachments:
        click.echo(f"  attached {a.kind} {a.filename} -> {a.key}")


@incident.command()
@click.argument("incident_id", metavar="INC-N")
@click.option("--team", required=True, help="FEBE, FE, BE or DEVOPS.")
@click.option("--scope", help="Correct the scope.")
@click.option("--criticality", help="Correct the criticality.")
@click.option("--urgency", help="Override the policy's urgency (P1..P4).")
@by_option
@output_options
@pass_app
def triage(
    app: AppContext,
    incident_id: str,
    team: str,
    scope: str | None,
    criticality: str | None,
    urgency: str | None,
    by: str | None,
    as_json: bool,
) -> None:
    """Add the team needed; prints the full tagline and the urgency from the policy.

    \b
    Example:
      repro incident triage INC-7 --team FE
    """
    view = service.triage(
        app.settings(), incident_id, team=team, scope=scope, criticality=criticality, urgency=urgency, by=by
    )
    if as_json:
        print_json(view.to_dict())
    else:
        click.echo(f"{view.id} {view.tagline}")
        click.echo(f"urgency {view.urgency} · status {view.status}")


@incident.command()
@click.argument("incident_id", metavar="INC-N")
@output_options
@pass_app
def show(app: AppContext, incident_id: str, as_json: bool) -> None:
    """Everything about one incident: classification, milestones, attachments, snapshots, timeline.

    \b
    Example:
      repro incident show INC-7
    """
    view = service.get_incident(app.settings(), incident_id)
    if as_json:
        print_json(view.to_dict())
        return
    _summary(view)
    if view.description:
        click.echo(f"  {view.description}")
    if view.affected_user_ids:
        click.echo(f"  affected {view.affected_kind or 'user'}s: {', '.join(view.affected_user_ids)}")
    if view.resolution_ref:
        click.echo(f"  resolution: {view.resolution_kind} {view.resolution_ref}")
    if view.duplicate_of:
        click.echo(f"  duplicate of {view.duplicate_of}")
    click.echo(
        "  times since report: "
        + ", ".join(
            f"{m} {human_duration(view.seconds_to(s))}"
            for m, s in (("triage", "triaged"), ("reproduce", "reproduced"), ("resolve", "resolved"))
        )
    )
    if view.snapshots:
        click.echo(f"  snapshots: {', '.join(view.snapshots)}")
    click.echo("\nAttachments:" if view.attachments else "\nAttachments: none")
    if view.attachments:
        print_table(
            ["kind", "file", "size", "sha256", "key"],
            [[a.kind, a.filename, a.size, a.sha256[:12], a.key] for a in view.attachments],
        )
    if view.actions:
        click.echo("\nAction items:")
        print_table(
            ["#", "kind", "done", "owner", "due", "text"],
            [[a.seq, a.kind, "yes" if a.done else "no", a.owner, a.due, a.text] for a in view.actions],
        )
    click.echo("\nTimeline:")
    print_table(["when (UTC)", "who", "what"], [[_when(e.at), e.by, e.message] for e in view.events])


@incident.command("list")
@click.option("--status", help="Only this status (reported, triaged, ..., closed).")
@click.option("--urgency", help="Only this urgency (P1..P4).")
@click.option("--scope", help="Only this scope.")
@click.option("--team", help="Only this team.")
@output_options
@pass_app
def list_(
    app: AppContext,
    status: str | None,
    urgency: str | None,
    scope: str | None,
    team: str | None,
    as_json: bool,
) -> None:
    """List incidents, newest first.

    \b
    Example:
      repro incident list --status triaged --urgency P1
    """
    views = service.list_incidents(app.settings(), status=status, urgency=urgency, scope=scope, team=team)
    if as_json:
        print_json([v.to_dict() for v in views])
        return
    print_table(
        ["id", "urgency", "status", "reported", "tagline"],
        [[v.id, v.urgency, v.status, _when(v.milestones["reported"]), v.tagline] for v in views],
    )


@incident.command()
@click.argument("incident_id", metavar="INC-N")
@click.option(
    "--webhook",
    metavar="URL",
    envvar="REPRO_WEBHOOK_URL",
    help="Chat webhook to post the escalation to as JSON (env REPRO_WEBHOOK_URL).",
)
@by_option
@output_options
@pass_app
def escalate(app: AppContext, incident_id: str, webhook: str | None, by: str | None, as_json: bool) -> None:
    """Who to notify and by when, from the policy; optionally post it to a chat webhook.

    \b
    Example:
      repro incident escalate INC-7 --webhook https://chat.example.com/hooks/abc
    """
    result = escalate_incident(app.settings(), incident_id, webhook=webhook, by=by)
    if as_json:
        print_json(result.to_dict())
        return
    click.echo(f"{result.incident_id} [{result.urgency}] {result.tagline}")
    click.echo(f"notify: {', '.join(result.notify) or 'nobody'}")
    overdue = " (OVERDUE)" if result.overdue else ""
    click.echo(f"acknowledge by: {_when(result.acknowledge_by)} UTC{overdue}")
    click.echo(f"resolution path: {result.resolution_path}")
    if webhook:
        click.echo(f"posted to {webhook_host(webhook)}")


@incident.command()
@click.argument("incident_id", metavar="INC-N")
@output_options
@pass_app
def labels(app: AppContext, incident_id: str, as_json: bool) -> None:
    """Ticket labels from the classification, urgency and resolution path.

    \b
    Example:
      repro incident labels INC-7        # ADMINS FBLOCK FE P2 HOTFIX
    """
    settings = app.settings()
    result = labels_for(service.get_incident(settings, incident_id), service.policy_for(settings))
    if as_json:
        print_json(result)
    else:
        click.echo(" ".join(result))


@incident.command()
@click.argument("incident_id", metavar="INC-N")
@click.option("--hotfix", metavar="BRANCH", help="Resolved by this hotfix branch (from main).")
@click.option("--planned", metavar="KEY", help="Resolved as planned work: the epic or task key.")
@by_option
@output_options
@pass_app
def resolve(
    app: AppContext, incident_id: str, hotfix: str | None, planned: str | None, by: str | None, as_json: bool
) -> None:
    """Mark an incident resolved by a hotfix branch or planned work.

    \b
    Example:
      repro incident resolve INC-7 --hotfix hotfix/INC-7-user-details
    """
    _emit(as_json, service.resolve(app.settings(), incident_id, hotfix=hotfix, planned=planned, by=by))


@incident.command()
@click.argument("incident_id", metavar="INC-N")
@click.argument("status")
@click.option("--note", help="Why, recorded in the timeline.")
@by_option
@output_options
@pass_app
def transition(
    app: AppContext, incident_id: str, status: str, note: str | None, by: str | None, as_json: bool
) -> None:
    """Move to reproducing, reproduced, fixing, postmortem or closed; refusals list the allowed moves.

    \b
    Example:
      repro incident transition INC-7 reproducing
    """
    _emit(as_json, service.transition(app.settings(), incident_id, status, note=note, by=by))


@incident.command("start-repro")
@click.argument("incident_id", metavar="INC-N")
@by_option
@output_options
@pass_app
def start_repro(app: AppContext, incident_id: str, by: str | None, as_json: bool) -> None:
    """Record that reproduction has started (triaged -> reproducing).

    \b
    Example:
      repro incident start-repro INC-7
    """
    _emit(as_json, service.transition(app.settings(), incident_id, "reproducing", by=by))


@incident.command()
@click.argument("incident_id", metavar="INC-N")
@click.option("--reason", default="", help="Why it is declined.")
@by_option
@output_options
@pass_app
def decline(app: AppContext, incident_id: str, reason: str, by: str | None, as_json: bool) -> None:
    """Decline an incident (not a bug, cannot act, ...).

    \b
    Example:
      repro incident decline INC-8 --reason "works as designed"
    """
    _emit(as_json, service.decline(app.settings(), incident_id, reason=reason, by=by))


@incident.command()
@click.argument("incident_id", metavar="INC-N")
@click.option("--of", "of", required=True, metavar="INC-M", help="The incident it duplicates.")
@by_option
@output_options
@pass_app
def duplicate(app: AppContext, incident_id: str, of: str, by: str | None, as_json: bool) -> None:
    """Mark an incident as a duplicate of another.

    \b
    Example:
      repro incident duplicate INC-9 --of INC-7
    """
    _emit(as_json, service.mark_duplicate(app.settings(), incident_id, of=of, by=by))


@incident.command()
@click.argument("incident_id", metavar="INC-N")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@by_option
@output_options
@pass_app
def attach(app: AppContext, incident_id: str, files: tuple[Path, ...], by: str | None, as_json: bool) -> None:
    """Attach screenshots, videos, HAR files (sanitized first) or recordings.

    \b
    Example:
      repro incident attach INC-7 screenshot.png session.har
    """
    settings = app.settings()
    views = [service.add_attachment(settings, incident_id, f, by=by) for f in files]
    if as_json:
        print_json([v.to_dict() for v in views])
        return
    for v in views:
        click.echo(f"attached {v.kind} {v.filename} ({v.size} bytes) -> {v.key}")


# The commands for after the fix (close, postmortem, action, stats) live in incident_review.py;
# importing it registers them on the `incident` group above.
from repro.cli import incident_review  # noqa: E402, F401
