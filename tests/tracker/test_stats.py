from __future__ import annotations

from datetime import timedelta

import pytest

from repro.config import Settings
from repro.tracker import service
from repro.tracker.stats import compute_stats, percentile

from .conftest import at


def _seed(settings: Settings) -> None:
    """Five incidents, each reported at its own time, with milestones minutes after the report."""
    plan = [
        # scope, criticality, team, triage, reproduce, resolve (minutes after the report), declined
        ("ADMINS", "FBLOCK", "FE", 10, 40, 120),
        ("USERS", "ALLBLOCK", "BE", 20, 60, 240),
        ("ADMINS", "FBEHAV", "FE", 30, 100, None),
        ("S-USER", "FBEHAV", "DEVOPS", 60, None, None),
        ("ALL", "ALLBLOCK", None, None, None, None),
    ]
    for n, (scope, crit, team, triage, repro, resolve) in enumerate(plan):
        base = 1000 * n
        view = service.report(
            settings, title=f"incident {n}", scope=scope, criticality=crit, by="sam", now=at(base)
        )
        if team is None:
            service.decline(settings, view.id, reason="not reproducible", by="lee", now=at(base + 5))
            continue
        service.triage(settings, view.id, team=team, by="lee", now=at(base + triage))
        if repro is not None:
            service.record_reproduction(
                settings,
                view.id,
                snapshot_id=None,
                root="users.id=1",
                rows=5,
                elapsed_s=2.0,
                by="lee",
                now=at(base + repro),
            )
        if resolve is not None:
            service.resolve(settings, view.id, hotfix=f"hotfix/{n}", by="lee", now=at(base + resolve))


def test_stats_on_a_seeded_history(backend_settings: Settings) -> None:
    _seed(backend_settings)
    stats = compute_stats(backend_settings)
    assert stats.total == 5
    assert stats.by_urgency == {"P1": 2, "P2": 1, "P3": 2}
    assert stats.by_scope == {"ADMINS": 2, "ALL": 1, "S-USER": 1, "USERS": 1}
    assert stats.by_team == {"-": 1, "BE": 1, "DEVOPS": 1, "FE": 2}
    assert stats.by_status == {"declined": 1, "reproduced": 1, "resolved": 2, "triaged": 1}
    minutes = {k: (t.count, t.median_s, t.p90_s) for k, t in stats.timings.items()}
    # triage 10, 20, 30, 60 min; reproduce 40, 60, 100; resolve 120, 240 (p90 interpolates between ranks)
    assert minutes["triage"] == (4, 25 * 60, 51 * 60)
    assert minutes["reproduce"] == (3, 60 * 60, 92 * 60)
    assert minutes["resolve"] == (2, 180 * 60, 228 * 60)


def test_stats_match_each_incident_timeline(settings: Settings) -> None:
    _seed(settings)
    views = [service.get_incident(settings, v.id) for v in service.list_incidents(settings)]
    for measure, status in (("triage", "triaged"), ("reproduce", "reproduced"), ("resolve", "resolved")):
        from_timeline = []
        for view in views:
            reported = next(e.at for e in view.events if e.to_status == "reported")
            reached = [e.at for e in view.events if e.to_status == status]
            if reached:
                from_timeline.append((reached[0] - reported).total_seconds())
                assert view.seconds_to(status) == from_timeline[-1]
        timing = compute_stats(settings).timings[measure]
        assert timing.median_s == percentile(from_timeline, 0.5)
        assert timing.count == len(from_timeline)


def test_stats_since(settings: Settings) -> None:
    _seed(settings)
    assert compute_stats(settings, since=at(2500)).total == 2
    assert compute_stats(settings, since=at(10_000)).timings["triage"].median_s is None


def test_percentile() -> None:
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.5
    assert percentile([float(x) for x in range(1, 11)], 0.9) == pytest.approx(9.1)
    assert timedelta(seconds=percentile([60.0, 120.0], 0.5) or 0) == timedelta(minutes=1.5)
