"""Tracker statistics: counts by classification and status, and how fast incidents are handled.

Durations are measured from the timeline: from the `reported` event to the first event that moved the incident
to triaged, reproduced or resolved.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from repro.config import Settings
from repro.tracker.models import Incident, tracker_session
from repro.tracker.records import utc

MEASURES = {"triage": "triaged", "reproduce": "reproduced", "resolve": "resolved"}


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between the closest ranks (the median for q=0.5); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass(frozen=True)
class Timing:
    count: int
    median_s: float | None
    p90_s: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "median_s": self.median_s, "p90_s": self.p90_s}


@dataclass(frozen=True)
class TrackerStats:
    total: int
    by_urgency: dict[str, int] = field(default_factory=dict)
    by_scope: dict[str, int] = field(default_factory=dict)
    by_team: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    timings: dict[str, Timing] = field(default_factory=dict)  # triage, reproduce, resolve

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "by_urgency": self.by_urgency,
            "by_scope": self.by_scope,
            "by_team": self.by_team,
            "by_status": self.by_status,
            "timings": {k: v.to_dict() for k, v in self.timings.items()},
        }


def _durations(incident: Incident) -> dict[str, float]:
    reported = next((e.at for e in incident.events if e.to_status == "reported"), incident.reported_at)
    result: dict[str, float] = {}
    for measure, status in MEASURES.items():
        reached = next((e.at for e in incident.events if e.to_status == status), None)
        if reached is not None:
            result[measure] = (reached - reported).total_seconds()
    return result


def compute_stats(settings: Settings, *, since: datetime | None = None) -> TrackerStats:
    """Counts and timing figures over all incidents (or those reported since a time)."""
    query = sa.select(Incident).options(selectinload(Incident.events)).order_by(Incident.number)
    if since is not None:
        query = query.where(Incident.reported_at >= utc(since))
    with tracker_session(settings.tracker.url) as session:
        incidents = list(session.execute(query).scalars())
        samples: dict[str, list[float]] = {m: [] for m in MEASURES}
        for incident in incidents:
            for measure, seconds in _durations(incident).items():
                samples[measure].append(seconds)

    def count(attr: str) -> dict[str, int]:
        counter = Counter(getattr(i, attr) or "-" for i in incidents)
        return dict(sorted(counter.items()))

    return TrackerStats(
        total=len(incidents),
        by_urgency=count("urgency"),
        by_scope=count("scope"),
        by_team=count("team"),
        by_status=count("status"),
        timings={m: Timing(len(v), percentile(v, 0.5), percentile(v, 0.9)) for m, v in samples.items()},
    )
