"""Post-mortem action items: measures that prevent, reduce or contain the error next time."""

from __future__ import annotations

from datetime import date, datetime

from repro.config import Settings
from repro.errors import NotFoundError, TrackerError, UsageError
from repro.tracker.models import ActionItem, tracker_session
from repro.tracker.records import add_event, load_incident, utc, who
from repro.tracker.views import ActionView, action_view

ACTION_KINDS = ("prevent", "reduce", "contain")


def add_action(
    settings: Settings,
    incident_id: str,
    *,
    kind: str,
    text: str,
    owner: str | None = None,
    due: date | None = None,
    by: str | None = None,
    now: datetime | None = None,
) -> ActionView:
    kind = kind.strip().lower()
    if kind not in ACTION_KINDS:
        raise UsageError(f"unknown action kind {kind!r} (valid: {', '.join(ACTION_KINDS)})")
    if not text.strip():
        raise UsageError("an action item needs a description")
    actor, at = who(by), utc(now)
    with tracker_session(settings.tracker.url) as session:
        incident = load_incident(session, incident_id, lock=True)
        if incident.status in ("declined", "duplicate"):
            raise TrackerError(f"{incident.id} is {incident.status}: it takes no action items")
        seq = max((a.seq for a in incident.actions), default=0) + 1
        item = ActionItem(
            seq=seq, kind=kind, text=text.strip(), owner=owner, due=due, done=False, created_at=at
        )
        incident.actions.append(item)
        due_text = f", due {due.isoformat()}" if due else ""
        add_event(
            incident,
            "action",
            f"action #{seq} ({kind}) added: {text.strip()}{f' [owner {owner}]' if owner else ''}{due_text}",
            by=actor,
            at=at,
        )
        session.commit()
        return action_view(incident, item)


def complete_action(
    settings: Settings, incident_id: str, seq: int, *, by: str | None = None, now: datetime | None = None
) -> ActionView:
    actor, at = who(by), utc(now)
    with tracker_session(settings.tracker.url) as session:
        incident = load_incident(session, incident_id, lock=True)
        item = next((a for a in incident.actions if a.seq == seq), None)
        if item is None:
            raise NotFoundError(f"{incident.id} has no action #{seq}")
        if not item.done:
            item.done, item.done_at = True, at
            add_event(
                incident,
                "action",
                f"action #{seq} ({item.kind}) done",
                by=actor,
                at=at,
                changes={f"action {seq}": ["open", "done"]},
            )
            session.commit()
        return action_view(incident, item)


def list_actions(settings: Settings, incident_id: str) -> list[ActionView]:
    with tracker_session(settings.tracker.url) as session:
        incident = load_incident(session, incident_id)
        return [action_view(incident, a) for a in incident.actions]
