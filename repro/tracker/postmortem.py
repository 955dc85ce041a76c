"""The post-mortem document (Markdown), built from the incident, its timeline and action items."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from repro.config import Settings
from repro.errors import TransitionError
from repro.tracker.actions import ACTION_KINDS
from repro.tracker.codes import CRITICALITY_TEXT, SCOPE_TEXT
from repro.tracker.models import Incident, tracker_session
from repro.tracker.records import add_event, load_incident, move, utc, who
from repro.tracker.views import IncidentView, incident_view

NOTE_FIELDS = ("summary", "impact", "root_cause", "trigger", "detection", "lessons")
POSTMORTEM_FROM = ("resolved", "postmortem", "closed")
_PROMPTS = {
    "summary": ("what happened, in two or three sentences", "--summary"),
    "root_cause": ("the underlying cause, not the symptom", "--root-cause"),
    "trigger": ("what set it off (a deploy, a data change, a traffic peak, ...)", "--trigger"),
    "detection": ("how it was noticed, and how it could be noticed sooner", "--detection"),
    "lessons": ("what went well, what did not, where we were lucky", "--lessons"),
}


@dataclass(frozen=True)
class Postmortem:
    incident: IncidentView
    markdown: str
    todos: list[str]  # the sections still to be written


def human_duration(seconds: float | None) -> str:
    """`2d 3h`, `1h 30m`, `12m`, `45s`; `-` when the milestone was not reached."""
    if seconds is None:
        return "-"
    total = round(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m" if minutes else f"{secs}s"


def write_postmortem(
    settings: Settings,
    incident_id: str,
    *,
    notes: dict[str, str | None] | None = None,
    by: str | None = None,
    now: datetime | None = None,
) -> Postmortem:
    """Save the given notes, move a resolved incident to postmortem, and render the document."""
    actor, at = who(by), utc(now)
    with tracker_session(settings.tracker.url) as session:
        incident = load_incident(session, incident_id, lock=True)
        if incident.status not in POSTMORTEM_FROM:
            raise TransitionError(
                f"{incident.id} is {incident.status}: a post-mortem needs it resolved first"
                f" (post-mortems are written in: {', '.join(POSTMORTEM_FROM)})"
            )
        _save_notes(incident, notes or {}, by=actor, at=at)
        if incident.status == "resolved":
            move(incident, "postmortem", by=actor, at=at)
        session.commit()
        view = incident_view(incident)
    markdown, todos = render_postmortem(view)
    return Postmortem(view, markdown, todos)


def _save_notes(incident: Incident, notes: dict[str, str | None], *, by: str, at: datetime) -> None:
    changed = []
    for key in NOTE_FIELDS:
        value = notes.get(key)
        if value is not None and value.strip() and getattr(incident, f"pm_{key}") != value.strip():
            setattr(incident, f"pm_{key}", value.strip())
            changed.append(key.replace("_", " "))
    if changed:
        add_event(incident, "postmortem", f"post-mortem notes: {', '.join(changed)}", by=by, at=at)


def _section(view: IncidentView, key: str, todos: list[str]) -> str:
    value = view.postmortem_notes.get(key)
    if value:
        return value
    prompt, option = _PROMPTS[key]
    todos.append(key)
    return f'> **TODO:** {prompt}. (`repro incident postmortem {view.id} {option} "..."`)'


def render_postmortem(view: IncidentView) -> tuple[str, list[str]]:
    """The Markdown text and the list of sections still marked TODO."""
    todos: list[str] = []
    ms = view.milestones
    out = [f"# Post-mortem {view.id}: {view.tagline}", ""]
    out += [
        f"- **Urgency:** {view.urgency}" + (f" · **Team:** {view.team}" if view.team else ""),
        f"- **Status:** {view.status}",
        f"- **Reported by:** {view.reporter} at {_when(ms['reported'])}",
        "",
    ]
    out += ["## Summary", "", _section(view, "summary", todos), ""]
    users = view.affected_user_ids
    kind = f" ({view.affected_kind}s)" if view.affected_kind else ""
    out += [
        "## Impact",
        "",
        f"- **Scope:** {view.scope} — {SCOPE_TEXT[view.scope]}",
        f"- **Criticality:** {view.criticality} — {CRITICALITY_TEXT[view.criticality]}",
        f"- **Users affected:** {len(users)}{kind}"
        + (f": {', '.join(users)}" if users else " reported by id"),
    ]
    if view.postmortem_notes.get("impact"):
        out += ["", str(view.postmortem_notes["impact"])]
    out += ["", "## Timeline", "", "| When (UTC) | Who | What |", "|---|---|---|"]
    out += [f"| {_when(e.at)} | {e.by} | {e.message.replace('|', '/')} |" for e in view.events]
    out += ["", "## Root cause", "", _section(view, "root_cause", todos), ""]
    out += ["## Trigger", "", _section(view, "trigger", todos), ""]
    out += ["## Detection", "", _section(view, "detection", todos), ""]
    out += ["## Resolution", ""]
    if view.resolution_ref:
        label = "Hotfix branch" if view.resolution_kind == "hotfix" else "Planned work"
        out.append(
            f"- **{label}:** `{view.resolution_ref}`"
            + (f", resolved at {_when(ms['resolved'])}" if ms.get("resolved") else "")
        )
    else:
        todos.append("resolution")
        out.append(
            f"> **TODO:** no resolution recorded (`repro incident resolve {view.id} --hotfix BRANCH`)."
        )
    if view.snapshots:
        out.append(f"- **Reproduced with snapshot(s):** {', '.join(view.snapshots)}")
    out += [
        "",
        "## Time to triage, reproduce, resolve",
        "",
        "| Measure (since report) | Time |",
        "|---|---|",
        f"| Time to triage | {human_duration(view.seconds_to('triaged'))} |",
        f"| Time to reproduce | {human_duration(view.seconds_to('reproduced'))} |",
        f"| Time to resolve | {human_duration(view.seconds_to('resolved'))} |",
        "",
    ]
    out += ["## Action items", ""]
    for kind_name in ACTION_KINDS:
        items = [a for a in view.actions if a.kind == kind_name]
        out += [f"### {kind_name.capitalize()}", ""]
        if not items:
            out.append(f'- none yet (`repro incident action add {view.id} --kind {kind_name} "..."`)')
        for a in items:
            extra = ", ".join(
                p
                for p in (f"owner {a.owner}" if a.owner else "", f"due {a.due.isoformat()}" if a.due else "")
                if p
            )
            out.append(f"- [{'x' if a.done else ' '}] #{a.seq} {a.text}" + (f" ({extra})" if extra else ""))
        out.append("")
    out += ["## Lessons learned", "", _section(view, "lessons", todos), ""]
    return "\n".join(out), todos


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M")
