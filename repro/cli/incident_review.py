"""`repro incident close|postmortem|action|stats`: learn from an incident once it is resolved.

Registered on the `incident` group of repro.cli.incident, which imports this module at its end.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from repro.cli.incident import _emit, by_option, incident
from repro.cli.options import AppContext, output_options, pass_app, print_json, print_table
from repro.tracker import actions as action_items
from repro.tracker import service
from repro.tracker.postmortem import human_duration, write_postmortem
from repro.tracker.stats import compute_stats


@incident.command()
@click.argument("incident_id", metavar="INC-N")
@by_option
@output_options
@pass_app
def close(app: AppContext, incident_id: str, by: str | None, as_json: bool) -> None:
    """Close an incident once its post-mortem is done.

    \b
    Example:
      repro incident close INC-7
    """
    _emit(as_json, service.close(app.settings(), incident_id, by=by))


@incident.command()
@click.argument("incident_id", metavar="INC-N")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="Write the Markdown here (default stdout)."
)
@click.option("--summary", help="What happened, briefly.")
@click.option("--impact", help="Impact beyond the scope and users recorded.")
@click.option("--root-cause", help="The underlying cause.")
@click.option("--trigger", help="What set it off.")
@click.option("--detection", help="How it was noticed.")
@click.option("--lessons", help="Lessons learned.")
@by_option
@output_options
@pass_app
def postmortem(
    app: AppContext,
    incident_id: str,
    output: Path | None,
    summary: str | None,
    impact: str | None,
    root_cause: str | None,
    trigger: str | None,
    detection: str | None,
    lessons: str | None,
    by: str | None,
    as_json: bool,
) -> None:
    """Write the post-mortem (Markdown); missing sections are marked TODO. Notes given are kept.

    \b
    Example:
      repro incident postmortem INC-7 --root-cause "null org id" -o INC-7-postmortem.md
    """
    result = write_postmortem(
        app.settings(),
        incident_id,
        notes={
            "summary": summary,
            "impact": impact,
            "root_cause": root_cause,
            "trigger": trigger,
            "detection": detection,
            "lessons": lessons,
        },
        by=by,
    )
    if output is not None:
        output.write_text(result.markdown, encoding="utf-8")
    if as_json:
        print_json(
            {
                "incident": result.incident.id,
                "status": result.incident.status,
                "todos": result.todos,
                "output": str(output) if output else None,
                "markdown": result.markdown,
            }
        )
    elif output is None:
        click.echo(result.markdown)
    else:
        todo = (
            f" ({len(result.todos)} section(s) still TODO: {', '.join(result.todos)})" if result.todos else ""
        )
        click.echo(f"wrote {output}{todo}")


@incident.group()
def action() -> None:
    """Post-mortem action items: prevent, reduce or contain the error next time.

    \b
    Example:
      repro incident action add INC-7 --kind prevent --owner ana --due 2026-01-31 "Validate org id"
    """


@action.command("add")
@click.argument("incident_id", metavar="INC-N")
@click.argument("text")
@click.option("--kind", required=True, type=click.Choice(action_items.ACTION_KINDS, case_sensitive=False))
@click.option("--owner", help="Who does it.")
@click.option("--due", type=click.DateTime(formats=["%Y-%m-%d"]), help="Due date, YYYY-MM-DD.")
@by_option
@output_options
@pass_app
def action_add(
    app: AppContext,
    incident_id: str,
    text: str,
    kind: str,
    owner: str | None,
    due: datetime | None,
    by: str | None,
    as_json: bool,
) -> None:
    """Add an action item.

    \b
    Example:
      repro incident action add INC-7 --kind contain "Alert on 5xx in user details"
    """
    item = action_items.add_action(
        app.settings(), incident_id, kind=kind, text=text, owner=owner, due=due.date() if due else None, by=by
    )
    if as_json:
        print_json(item.to_dict())
    else:
        click.echo(f"{item.incident_id} action #{item.seq} ({item.kind}): {item.text}")


@action.command("done")
@click.argument("incident_id", metavar="INC-N")
@click.argument("seq", type=int)
@by_option
@output_options
@pass_app
def action_done(app: AppContext, incident_id: str, seq: int, by: str | None, as_json: bool) -> None:
    """Mark an action item done.

    \b
    Example:
      repro incident action done INC-7 1
    """
    item = action_items.complete_action(app.settings(), incident_id, seq, by=by)
    if as_json:
        print_json(item.to_dict())
    else:
        click.echo(f"{item.incident_id} action #{item.seq} done")


@action.command("list")
@click.argument("incident_id", metavar="INC-N")
@output_options
@pass_app
def action_list(app: AppContext, incident_id: str, as_json: bool) -> None:
    """List an incident's action items.

    \b
    Example:
      repro incident action list INC-7
    """
    items = action_items.list_actions(app.settings(), incident_id)
    if as_json:
        print_json([i.to_dict() for i in items])
        return
    print_table(
        ["#", "kind", "done", "owner", "due", "text"],
        [[i.seq, i.kind, "yes" if i.done else "no", i.owner, i.due, i.text] for i in items],
    )


@incident.command()
@click.option(
    "--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="Only incidents reported since (UTC)."
)
@output_options
@pass_app
def stats(app: AppContext, since: datetime | None, as_json: bool) -> None:
    """Counts by urgency, scope, team and status; median and p90 time to triage, reproduce, resolve.

    \b
    Example:
      repro incident stats --since 2026-01-01
    """
    result = compute_stats(app.settings(), since=since)
    if as_json:
        print_json(result.to_dict())
        return
    click.echo(f"{result.total} incident(s)")
    for title, counts in (
        ("urgency", result.by_urgency),
        ("scope", result.by_scope),
        ("team", result.by_team),
        ("status", result.by_status),
    ):
        click.echo(f"by {title}: " + (", ".join(f"{k} {v}" for k, v in counts.items()) or "-"))
    click.echo("")
    print_table(
        ["time since report to", "incidents", "median", "p90"],
        [
            [m, t.count, human_duration(t.median_s), human_duration(t.p90_s)]
            for m, t in result.timings.items()
        ],
    )
