"""Escalation per policy (who to notify, acknowledge by when), ticket labels, and the chat webhook."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from repro.config import Settings
from repro.errors import TrackerError, UsageError
from repro.tracker.models import tracker_session
from repro.tracker.policy import Policy
from repro.tracker.records import add_event, load_incident, utc, who
from repro.tracker.service import policy_for
from repro.tracker.views import IncidentView, incident_view


@dataclass(frozen=True)
class Escalation:
    incident_id: str
    tagline: str
    urgency: str
    status: str
    team: str | None
    notify: list[str]
    acknowledge_by: datetime
    overdue: bool
    resolution_path: str
    labels: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident": self.incident_id,
            "tagline": self.tagline,
            "urgency": self.urgency,
            "status": self.status,
            "team": self.team,
            "notify": self.notify,
            "acknowledge_by": self.acknowledge_by.isoformat(),
            "overdue": self.overdue,
            "resolution_path": self.resolution_path,
            "labels": self.labels,
        }

    def message(self) -> str:
        """One chat line: what, how urgent, who, by when."""
        names = ", ".join(f"@{n}" for n in self.notify) or "nobody"
        return (
            f"[{self.urgency}] {self.incident_id} {self.tagline} - {names}: acknowledge by"
            f" {self.acknowledge_by:%Y-%m-%d %H:%M} UTC ({self.resolution_path})"
        )


def labels_for(view: IncidentView, policy: Policy) -> list[str]:
    """Ticket labels, e.g. ADMINS FBLOCK FE P2 HOTFIX (the actual resolution once known, else the default)."""
    path = view.resolution_kind or policy.level(view.urgency).resolution
    return [view.scope, view.criticality, *([view.team] if view.team else []), view.urgency, path.upper()]


def escalation_for(view: IncidentView, policy: Policy, now: datetime) -> Escalation:
    level = policy.level(view.urgency)
    reported = view.milestones["reported"]
    assert reported is not None  # every incident has a report time
    deadline = reported + level.acknowledge_within
    acknowledged = view.milestones.get("triaged") is not None
    return Escalation(
        incident_id=view.id,
        tagline=view.tagline,
        urgency=view.urgency,
        status=view.status,
        team=view.team,
        notify=level.recipients(view.team),
        acknowledge_by=deadline,
        overdue=not acknowledged and utc(now) > deadline,
        resolution_path=view.resolution_kind or level.resolution,
        labels=labels_for(view, policy),
    )


def escalate(
    settings: Settings,
    incident_id: str,
    *,
    webhook: str | None = None,
    by: str | None = None,
    now: datetime | None = None,
) -> Escalation:
    """Work out who to notify and by when; with a webhook, post it there. Either way a timeline event."""
    actor, at = who(by), utc(now)
    policy = policy_for(settings)
    with tracker_session(settings.tracker.url) as session:
        incident = load_incident(session, incident_id, lock=True)
        result = escalation_for(incident_view(incident), policy, at)
        if webhook:
            post_webhook(webhook, result)
        where = f" via {webhook_host(webhook)}" if webhook else ""
        add_event(
            incident,
            "escalated",
            f"escalated{where} to {', '.join(result.notify) or 'nobody'}",
            by=actor,
            at=at,
        )
        session.commit()
        return result


def webhook_host(url: str) -> str:
    """Only scheme and host: chat webhook URLs carry their secret in the path."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def post_webhook(url: str, escalation: Escalation, timeout: float = 10.0) -> None:
    """POST `{"text": ..., "incident": {...}}` as JSON; the `text` field suits Slack/Mattermost webhooks."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise UsageError(f"webhook must be an http(s) URL, got {webhook_host(url)}")
    body = json.dumps({"text": escalation.message(), "incident": escalation.to_dict()}).encode("utf-8")
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", "User-Agent": "repro"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise TrackerError(f"webhook {webhook_host(url)} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TrackerError(f"webhook {webhook_host(url)} unreachable: {reason}") from None
