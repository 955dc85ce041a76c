"""Attachments: HAR files are always sanitized (never stored raw), media are size-checked, bytes go to the store."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest

from repro.config import AttachmentSettings, Settings
from repro.errors import TrackerError, UsageError
from repro.snapshots.store import open_store
from repro.tracker import service

SECRET = "bearer-secret-abc-123"
COOKIE = "cookie-secret-xyz-789"


def _har() -> dict[str, object]:
    request = {
        "method": "GET",
        "url": "https://app.example.com/api/users/42",
        "httpVersion": "HTTP/1.1",
        "headers": [
            {"name": "Authorization", "value": f"Bearer {SECRET}"},
            {"name": "Cookie", "value": f"sid={COOKIE}"},
        ],
        "queryString": [],
        "cookies": [{"name": "sid", "value": COOKIE}],
        "headersSize": -1,
        "bodySize": 0,
    }
    response = {
        "status": 500,
        "statusText": "Internal Server Error",
        "httpVersion": "HTTP/1.1",
        "headers": [],
        "cookies": [],
        "content": {"size": 2, "mimeType": "application/json", "text": "{}"},
        "redirectURL": "",
        "headersSize": -1,
        "bodySize": 2,
    }
    entry = {
        "startedDateTime": "2026-03-02T09:00:00Z",
        "time": 12,
        "request": request,
        "response": response,
        "cache": {},
        "timings": {"send": 1, "wait": 10, "receive": 1},
    }
    return {"log": {"version": "1.2", "creator": {"name": "browser", "version": "1"}, "entries": [entry]}}


def _all_stored_bytes(settings: Settings) -> bytes:
    root = Path(settings.snapshots.store)
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()) if root.exists() else b""


def _incident(settings: Settings) -> str:
    return service.report(settings, title="t", scope="S-USER", criticality="FBLOCK", by="sam").id


@pytest.mark.parametrize("name", ["session.har", "export.json"])
def test_har_is_sanitized_before_storing(settings: Settings, tmp_path: Path, name: str) -> None:
    incident_id = _incident(settings)
    path = tmp_path / name
    raw = json.dumps(_har()).encode()
    path.write_bytes(raw)
    view = service.add_attachment(settings, incident_id, path, by="sam")
    stored = open_store(settings.snapshots).get_bytes(view.key)
    assert view.kind == "har"
    assert SECRET.encode() not in stored and COOKIE.encode() not in stored
    assert SECRET.encode() not in _all_stored_bytes(settings)
    assert json.loads(stored)["log"]["entries"][0]["request"]["url"].startswith("https://app.example.com/")
    assert (view.sha256, view.size) == (hashlib.sha256(stored).hexdigest(), len(stored))
    assert view.key == f"attachments/{incident_id}/{view.sha256[:12]}-{name}"
    assert service.get_incident(settings, incident_id).attachments == [view]


def test_malformed_har_fails_closed(settings: Settings, tmp_path: Path) -> None:
    incident_id = _incident(settings)
    path = tmp_path / "broken.har"
    path.write_text('{"log": {"entries": "nope"}, "token": "' + SECRET + '"}')
    with pytest.raises(TrackerError, match=r"^attachment broken.har: HAR sanitizing failed, not stored: "):
        service.add_attachment(settings, incident_id, path)
    assert SECRET.encode() not in _all_stored_bytes(settings)
    assert service.get_incident(settings, incident_id).attachments == []


def test_media_stored_as_is_and_limited(settings: Settings, tmp_path: Path) -> None:
    incident_id = _incident(settings)
    video = tmp_path / "repro.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    view = service.add_attachment(settings, incident_id, video, by="sam")
    assert view.kind == "video"
    assert open_store(settings.snapshots).get_bytes(view.key) == video.read_bytes()
    assert service.add_attachment(settings, incident_id, video) == view  # the same file again: no change
    assert len(service.get_incident(settings, incident_id).events) == 2

    tight = replace(
        settings, attachments=AttachmentSettings(max_image_mb=0.001, max_video_mb=1, max_other_mb=1)
    )
    image = tmp_path / "screen.PNG"
    image.write_bytes(b"\x89PNG" + b"x" * 2000)
    with pytest.raises(TrackerError) as info:
        service.add_attachment(tight, incident_id, image)
    assert str(info.value) == (
        "attachment screen.PNG: 2 KB is over the image limit of 0.001 MB (attachments.max_image_mb)"
    )
    assert [a.kind for a in service.get_incident(settings, incident_id).attachments] == ["video"]


def test_report_with_a_bad_attachment_saves_nothing(settings: Settings, tmp_path: Path) -> None:
    good = tmp_path / "notes.txt"
    good.write_text("steps")
    with pytest.raises(UsageError, match=r"^attachment .*missing.png: no such file$"):
        service.report(
            settings,
            title="t",
            scope="USERS",
            criticality="FBLOCK",
            attachments=[good, tmp_path / "missing.png"],
        )
    assert service.list_incidents(settings) == []
    view = service.report(
        settings, title="t", scope="USERS", criticality="FBLOCK", attachments=[good], by="sam"
    )
    assert view.id == "INC-1"
    assert [(a.kind, a.filename) for a in view.attachments] == [("other", "notes.txt")]
