"""The integration points copy-user, snapshots and hotfix call, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from repro.config import Settings
from repro.errors import NotFoundError, TransitionError, UsageError
from repro.tracker import service

from .conftest import at


def _triaged(settings: Settings) -> str:
    view = service.report(
        settings,
        title="User details error",
        scope="ADMINS",
        criticality="FBLOCK",
        user_ids=["42"],
        user_kind="admin",
        by="sam",
        now=at(0),
    )
    service.triage(settings, view.id, team="FE", by="lee", now=at(12))
    return view.id


def test_full_reproduction_record(backend_settings: Settings) -> None:
    settings = backend_settings
    incident_id = _triaged(settings)
    service.check_can_reproduce(settings, incident_id)
    service.record_reproduction(
        settings,
        incident_id,
        snapshot_id="snap-001",
        root="users.id=42",
        rows=1234,
        elapsed_s=3.5,
        by="lee",
        now=at(47),
    )
    view = service.get_incident(settings, incident_id)
    assert view.status == "reproduced"
    assert view.snapshots == ["snap-001"]
    assert service.incident_snapshots(settings, incident_id) == ["snap-001"]
    assert view.milestones["reproducing"] == view.milestones["reproduced"] == at(47)
    assert view.reproduce_seconds == 47 * 60
    assert view.to_dict()["time_to_reproduce_s"] == 47 * 60
    moves = [(e.from_status, e.to_status) for e in view.events if e.kind == "status"]
    assert moves == [("reported", "triaged"), ("triaged", "reproducing"), ("reproducing", "reproduced")]
    assert "root users.id=42, 1234 rows in 3.5s, snapshot snap-001" in view.events[-2].message
    assert view.events[-1].message == "linked snapshot snap-001"


def test_second_reproduction_keeps_the_first_time(backend_settings: Settings) -> None:
    settings = backend_settings
    incident_id = _triaged(settings)
    service.record_reproduction(
        settings,
        incident_id,
        snapshot_id="s1",
        root="users.id=42",
        rows=10,
        elapsed_s=1.0,
        by="lee",
        now=at(30),
    )
    service.check_can_reproduce(settings, incident_id)  # reproduced again is allowed
    service.record_reproduction(
        settings,
        incident_id,
        snapshot_id="s2",
        root="users.id=42",
        rows=12,
        elapsed_s=1.2,
        by="kim",
        now=at(90),
    )
    view = service.get_incident(settings, incident_id)
    assert view.milestones["reproduced"] == at(30)
    assert view.reproduce_seconds == 30 * 60
    assert view.snapshots == ["s1", "s2"]
    assert [e.kind for e in view.events[-2:]] == ["reproduced-again", "snapshot"]
    assert view.events[-2].by == "kim"


def test_reproduction_without_snapshot_from_reproducing(settings: Settings) -> None:
    incident_id = _triaged(settings)
    service.transition(settings, incident_id, "reproducing", by="lee", now=at(20))
    service.record_reproduction(
        settings,
        incident_id,
        snapshot_id=None,
        root="users.id=42",
        rows=3,
        elapsed_s=0.2,
        by="lee",
        now=at(25),
    )
    view = service.get_incident(settings, incident_id)
    assert (view.status, view.snapshots, view.milestones["reproducing"]) == ("reproduced", [], at(20))


@pytest.mark.parametrize("status", ["reported", "fixing", "resolved", "declined"])
def test_cannot_reproduce_from(settings: Settings, status: str) -> None:
    incident_id = service.report(settings, title="t", scope="USERS", criticality="FBEHAV", by="sam").id
    if status == "declined":
        service.decline(settings, incident_id, reason="no")
    elif status != "reported":
        service.triage(settings, incident_id, team="BE")
        service.record_hotfix_branch(settings, incident_id, "hotfix/t")
        if status == "resolved":
            service.resolve(settings, incident_id)
    with pytest.raises(TransitionError, match=f"^{incident_id} is {status}: cannot record a reproduction"):
        service.check_can_reproduce(settings, incident_id)
    with pytest.raises(TransitionError, match=f"^{incident_id} is {status}: cannot record a reproduction"):
        service.record_reproduction(settings, incident_id, snapshot_id="s", root="r", rows=1, elapsed_s=1)
    view = service.get_incident(settings, incident_id)
    assert view.status == status and view.snapshots == []


def test_unknown_and_invalid_ids(settings: Settings) -> None:
    with pytest.raises(NotFoundError, match=r"^no incident INC-404$"):
        service.check_can_reproduce(settings, "INC-404")
    with pytest.raises(NotFoundError, match=r"^no incident INC-404$"):
        service.get_incident(settings, "inc-404")
    with pytest.raises(
        UsageError, match=r"^invalid incident id 'BUG-1' \(expected INC-<number>, e.g. INC-7\)$"
    ):
        service.check_can_reproduce(settings, "BUG-1")


def test_link_snapshot_is_idempotent(backend_settings: Settings) -> None:
    settings = backend_settings
    incident_id = _triaged(settings)
    service.link_snapshot(settings, incident_id, "snap-a")
    service.link_snapshot(settings, incident_id, "snap-a")
    service.link_snapshot(settings, incident_id, "snap-b")
    assert service.incident_snapshots(settings, incident_id) == ["snap-a", "snap-b"]
    view = service.get_incident(settings, incident_id)
    assert [e.message for e in view.events if e.kind == "snapshot"] == [
        "linked snapshot snap-a",
        "linked snapshot snap-b",
    ]


def test_record_hotfix_branch(backend_settings: Settings) -> None:
    settings = backend_settings
    incident_id = _triaged(settings)
    service.record_hotfix_branch(settings, incident_id, "hotfix/INC-1-details", by="lee", now=at(60))
    view = service.get_incident(settings, incident_id)
    assert (view.status, view.resolution_kind, view.resolution_ref) == (
        "fixing",
        "hotfix",
        "hotfix/INC-1-details",
    )
    assert view.milestones["fixing"] == at(60)
    service.record_hotfix_branch(settings, incident_id, "hotfix/INC-1-v2", by="lee", now=at(61))
    assert service.get_incident(settings, incident_id).resolution_ref == "hotfix/INC-1-v2"
    view = service.resolve(settings, incident_id, by="lee", now=at(120))
    assert (view.status, view.resolution_ref, view.to_dict()["time_to_resolve_s"]) == (
        "resolved",
        "hotfix/INC-1-v2",
        7200,
    )
    with pytest.raises(TransitionError, match="is resolved: cannot move to fixing"):
        service.record_hotfix_branch(settings, incident_id, "hotfix/late")
