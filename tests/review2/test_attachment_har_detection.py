"""A HAR reaches incident storage only sanitized, whatever its file name or first bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from repro.cli.main import cli
from repro.config import Settings, SnapshotSettings, TrackerSettings
from repro.errors import TrackerError
from repro.snapshots.store import open_store
from repro.tracker import service

COOKIE = "Sess1on-cookie-9x8y7z"


def har_bytes() -> bytes:
    request = {"method": "GET", "url": "https://app.example.com/api/me", "httpVersion": "HTTP/1.1",
               "headers": [{"name": "Cookie", "value": f"sid={COOKIE}"}], "queryString": [], "cookies": [],
               "headersSize": -1, "bodySize": 0}  # fmt: skip
    response = {"status": 500, "statusText": "", "httpVersion": "HTTP/1.1", "headers": [], "cookies": [],
                "content": {"size": 0, "mimeType": "text/plain"}, "redirectURL": "", "headersSize": -1,
                "bodySize": 0}  # fmt: skip
    entry = {"startedDateTime": "2026-03-02T09:00:00Z", "time": 1, "request": request, "response": response,
             "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}}  # fmt: skip
    return json.dumps(
        {"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": [entry]}}
    ).encode()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        base_dir=tmp_path,
        tracker=TrackerSettings(url=f"sqlite:///{tmp_path / 'repro.db'}"),
        snapshots=SnapshotSettings(store=str(tmp_path / "store")),
    )


def stored_bytes(settings: Settings) -> list[bytes]:
    store = open_store(settings.snapshots)
    return [store.get_bytes(k) for k in store.list_keys("attachments/")]


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("session.png", har_bytes()),  # a HAR under a media name
        ("session.mp4", har_bytes()),
        ("session.json", b"\xef\xbb\xbf" + har_bytes()),  # a BOM in front (Windows editors)
        ("session.txt", b" " * 200 + har_bytes()),  # more leading blanks than the old 64-byte look
    ],
)
def test_har_under_any_name_is_sanitized(settings: Settings, tmp_path: Path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    incident = service.report(settings, title="Profile fails", scope="S-USER", criticality="FBLOCK")
    view = service.add_attachment(settings, incident.id, path)
    assert view.kind == "har"
    [stored] = stored_bytes(settings)
    assert COOKIE.encode() not in stored
    json.loads(stored)


def test_truncated_har_is_refused_not_stored_raw(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "session.json"
    path.write_bytes(har_bytes()[:-40])  # the browser died while saving
    incident = service.report(settings, title="Profile fails", scope="S-USER", criticality="FBLOCK")
    with pytest.raises(TrackerError) as err:
        service.add_attachment(settings, incident.id, path)
    assert str(err.value).startswith(
        "attachment session.json: HAR sanitizing failed, not stored: not a HAR file"
    )
    assert stored_bytes(settings) == []


def test_cli_attach_har_named_png(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "repro.yaml").write_text(
        f"tracker:\n  url: {settings.tracker.url}\nsnapshots:\n  store: {settings.snapshots.store}\n",
        encoding="utf-8",
    )
    (tmp_path / "screen.png").write_bytes(har_bytes())
    runner = CliRunner()
    report = runner.invoke(cli, ["incident", "report", "--tagline", "S-USER-FBLOCK: Profile fails", "--json"])
    assert report.exit_code == 0, report.output
    result = runner.invoke(cli, ["incident", "attach", "INC-1", "screen.png"])
    assert result.exit_code == 0, result.output
    [stored] = stored_bytes(settings)
    assert COOKIE.encode() not in stored


def test_cli_attach_truncated_har_is_refused(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPRO_TRACKER_URL", settings.tracker.url)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "repro.yaml").write_text(
        f"snapshots:\n  store: {settings.snapshots.store}\n", encoding="utf-8"
    )
    (tmp_path / "cut.json").write_bytes(har_bytes()[:-40])
    service.report(settings, title="Profile fails", scope="S-USER", criticality="FBLOCK")
    result = CliRunner().invoke(cli, ["incident", "attach", "INC-1", "cut.json"])
    assert result.exit_code == 1
    assert result.output.startswith(
        "Error: attachment cut.json: HAR sanitizing failed, not stored: not a HAR file: invalid JSON at line 1"
    )
    assert COOKIE not in result.output
    assert stored_bytes(settings) == []
