from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from repro.config import Settings
from repro.errors import TrackerError, UsageError
from repro.tracker import service
from repro.tracker.escalation import escalate, labels_for

from .conftest import T0, at


class _Hook(HTTPServer):
    received: list[dict[str, Any]]
    status: int


class _Handler(BaseHTTPRequestHandler):
    server: _Hook

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.server.received.append(
            {
                "path": self.path,
                "type": self.headers["Content-Type"],
                "body": json.loads(self.rfile.read(length)),
            }
        )
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep the test output clean


@pytest.fixture
def hook() -> Iterator[_Hook]:
    server = _Hook(("127.0.0.1", 0), _Handler)
    server.received, server.status = [], 200
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _incident(settings: Settings) -> str:
    view = service.report(
        settings,
        title="Clicking on user details gives an error",
        scope="ADMINS",
        criticality="FBLOCK",
        by="sam",
        now=T0,
    )
    return view.id


def test_escalation_per_policy(settings: Settings) -> None:
    incident_id = _incident(settings)
    before = escalate(settings, incident_id, by="lee", now=at(5))
    assert (before.urgency, before.notify, before.acknowledge_by) == (
        "P2",
        ["on-call-lead", "support-lead"],
        at(120),
    )
    assert before.overdue is False
    late = escalate(settings, incident_id, by="lee", now=at(121))
    assert late.overdue is True
    service.triage(settings, incident_id, team="FE", by="lee", now=at(130))
    after = escalate(settings, incident_id, by="lee", now=at(131))
    assert after.notify == ["on-call-lead", "support-lead", "frontend-lead"]
    assert after.overdue is False  # acknowledged by the triage
    view = service.get_incident(settings, incident_id)
    assert [e.message for e in view.events if e.kind == "escalated"][-1] == (
        "escalated to on-call-lead, support-lead, frontend-lead"
    )


def test_webhook_receives_the_escalation(settings: Settings, hook: _Hook) -> None:
    incident_id = _incident(settings)
    service.triage(settings, incident_id, team="DEVOPS", by="lee", now=at(3))
    url = f"http://127.0.0.1:{hook.server_port}/hooks/secret-token"
    escalate(settings, incident_id, webhook=url, by="lee", now=at(4))
    assert len(hook.received) == 1
    got = hook.received[0]
    assert got["path"] == "/hooks/secret-token" and got["type"] == "application/json"
    assert got["body"]["incident"]["notify"] == [
        "on-call-lead",
        "head-of-engineering",
        "support-lead",
        "devops-on-call",
    ]
    assert got["body"]["incident"]["urgency"] == "P1"
    assert got["body"]["incident"]["acknowledge_by"] == at(15).isoformat()
    assert got["body"]["text"] == (
        f"[P1] {incident_id} ADMINS-FBLOCK-DEVOPS: Clicking on user details gives an error - @on-call-lead,"
        " @head-of-engineering, @support-lead, @devops-on-call: acknowledge by 2026-03-02 09:15 UTC (hotfix)"
    )
    events = service.get_incident(settings, incident_id).events
    assert events[-1].message.startswith(f"escalated via http://127.0.0.1:{hook.server_port} to ")
    assert "secret-token" not in events[-1].message


def test_webhook_failure_is_an_error_and_not_recorded(settings: Settings, hook: _Hook) -> None:
    incident_id = _incident(settings)
    hook.status = 500
    with pytest.raises(
        TrackerError, match=rf"^webhook http://127.0.0.1:{hook.server_port} answered HTTP 500$"
    ):
        escalate(settings, incident_id, webhook=f"http://127.0.0.1:{hook.server_port}/x", now=at(1))
    assert [e.kind for e in service.get_incident(settings, incident_id).events] == ["reported"]
    with pytest.raises(UsageError, match=r"^webhook must be an http"):
        escalate(settings, incident_id, webhook="file:///etc/passwd")


def test_labels(settings: Settings) -> None:
    incident_id = _incident(settings)
    policy = service.policy_for(settings)
    assert labels_for(service.get_incident(settings, incident_id), policy) == [
        "ADMINS",
        "FBLOCK",
        "P2",
        "HOTFIX",
    ]
    view = service.triage(settings, incident_id, team="FE", by="lee")
    assert labels_for(view, policy) == ["ADMINS", "FBLOCK", "FE", "P2", "HOTFIX"]
    view = service.resolve(settings, incident_id, planned="PROJ-9", by="lee")
    assert labels_for(view, policy) == ["ADMINS", "FBLOCK", "FE", "P2", "PLANNED"]
