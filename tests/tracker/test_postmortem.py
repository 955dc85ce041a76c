from __future__ import annotations

from datetime import date

import pytest

from repro.config import Settings
from repro.errors import NotFoundError, TransitionError, UsageError
from repro.tracker import actions, service
from repro.tracker.postmortem import human_duration, write_postmortem

from .conftest import at


def _resolved(settings: Settings) -> str:
    view = service.report(
        settings,
        title="Clicking on user details gives an error",
        scope="ADMINS",
        criticality="FBLOCK",
        user_ids=["42", "77"],
        user_kind="admin",
        by="sam",
        now=at(0),
    )
    service.triage(settings, view.id, team="FE", by="lee", now=at(12))
    service.record_reproduction(
        settings,
        view.id,
        snapshot_id="snap-9",
        root="users.id=42",
        rows=80,
        elapsed_s=4,
        by="lee",
        now=at(50),
    )
    service.record_hotfix_branch(settings, view.id, "hotfix/INC-1-details", by="dev", now=at(70))
    service.resolve(settings, view.id, by="dev", now=at(185))
    return view.id


def test_postmortem_document(settings: Settings) -> None:
    incident_id = _resolved(settings)
    actions.add_action(
        settings,
        incident_id,
        kind="prevent",
        text="Validate org id on save",
        owner="ana",
        due=date(2026, 4, 1),
        by="lee",
        now=at(200),
    )
    actions.add_action(
        settings, incident_id, kind="contain", text="Alert on 5xx in user details", by="lee", now=at(201)
    )
    actions.complete_action(settings, incident_id, 2, by="ana", now=at(300))
    result = write_postmortem(
        settings,
        incident_id,
        notes={
            "root_cause": "Admins without organisation",
            "summary": "User details failed for some admins.",
        },
        by="lee",
        now=at(400),
    )
    md = result.markdown
    assert result.incident.status == "postmortem"
    assert md.startswith(
        f"# Post-mortem {incident_id}: ADMINS-FBLOCK-FE: Clicking on user details gives an error\n"
    )
    sections = [line for line in md.splitlines() if line.startswith("## ")]
    assert sections == [
        "## Summary",
        "## Impact",
        "## Timeline",
        "## Root cause",
        "## Trigger",
        "## Detection",
        "## Resolution",
        "## Time to triage, reproduce, resolve",
        "## Action items",
        "## Lessons learned",
    ]
    assert "User details failed for some admins." in md
    assert "- **Scope:** ADMINS — some admins" in md
    assert "- **Users affected:** 2 (admins): 42, 77" in md
    assert (
        "| 2026-03-02 09:50 | lee | status reproducing -> reproduced: root users.id=42, 80 rows in 4.0s, snapshot snap-9 |"
        in md
    )
    assert "## Root cause\n\nAdmins without organisation\n" in md
    assert "- **Hotfix branch:** `hotfix/INC-1-details`, resolved at 2026-03-02 12:05" in md
    assert "- **Reproduced with snapshot(s):** snap-9" in md
    assert "| Time to triage | 12m |\n| Time to reproduce | 50m |\n| Time to resolve | 3h 5m |" in md
    assert "### Prevent\n\n- [ ] #1 Validate org id on save (owner ana, due 2026-04-01)\n" in md
    assert "### Reduce\n\n- none yet" in md
    assert "### Contain\n\n- [x] #2 Alert on 5xx in user details\n" in md
    assert result.todos == ["trigger", "detection", "lessons"]
    assert (
        f"> **TODO:** what set it off (a deploy, a data change, a traffic peak, ...). (`repro incident postmortem {incident_id} --trigger"
        in md
    )


def test_notes_are_kept_and_completed(settings: Settings) -> None:
    incident_id = _resolved(settings)
    write_postmortem(settings, incident_id, notes={"trigger": "Deploy 4.2"}, by="lee", now=at(400))
    again = write_postmortem(
        settings,
        incident_id,
        notes={"detection": "Support ticket", "lessons": "Alert sooner", "summary": "s", "root_cause": "r"},
        by="lee",
        now=at(500),
    )
    assert "## Trigger\n\nDeploy 4.2\n" in again.markdown
    assert again.todos == []
    assert "TODO" not in again.markdown
    service.close(settings, incident_id, by="lee", now=at(600))
    assert service.get_incident(settings, incident_id).milestones["closed"] == at(600)
    assert write_postmortem(settings, incident_id).incident.status == "closed"


def test_postmortem_needs_a_resolved_incident(settings: Settings) -> None:
    view = service.report(settings, title="t", scope="USERS", criticality="FBEHAV", by="sam")
    with pytest.raises(TransitionError, match=r"^INC-1 is reported: a post-mortem needs it resolved first"):
        write_postmortem(settings, view.id)


def test_action_items(settings: Settings) -> None:
    incident_id = _resolved(settings)
    with pytest.raises(UsageError, match=r"^unknown action kind 'fix' \(valid: prevent, reduce, contain\)$"):
        actions.add_action(settings, incident_id, kind="fix", text="x")
    with pytest.raises(NotFoundError, match=r"^INC-1 has no action #3$"):
        actions.complete_action(settings, incident_id, 3)
    actions.add_action(settings, incident_id, kind="Reduce", text="Feature flag", by="lee")
    assert [(a.seq, a.kind, a.done) for a in actions.list_actions(settings, incident_id)] == [
        (1, "reduce", False)
    ]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "-"),
        (45, "45s"),
        (720, "12m"),
        (3600, "1h"),
        (11100, "3h 5m"),
        (90000, "1d 1h"),
        (172800, "2d"),
    ],
)
def test_human_duration(seconds: float | None, text: str) -> None:
    assert human_duration(seconds) == text
