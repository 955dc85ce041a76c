"""sanitize_har on the corpus: no secret survives anywhere, the output is the same HAR shape, tags match."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from har_corpus import JWT, NOT_JSON_TEXT, PNG_B64, SECRETS, b64url, build_corpus

from repro.config import HarSettings, Settings
from repro.errors import HarError, RuleError
from repro.har import is_har, sanitize_har, sanitize_har_bytes
from repro.har.document import check_har
from repro.har.redact import TAG_RE

SETTINGS = Settings(har=HarSettings(redact_headers=("X-INTERNAL-Ref",), redact_keys=("loyaltyNumber",)))


def every_text(data: bytes) -> str:
    """The output text plus every base64 body decoded: a secret must be in neither."""
    text = data.decode("utf-8")
    decoded = []
    for entry in json.loads(text)["log"]["entries"]:
        content = entry["response"].get("content", {})
        if content.get("encoding") == "base64":
            decoded.append(base64.b64decode(content["text"]).decode("utf-8", "replace"))
    return "\n".join([text, *decoded])


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__


def test_no_secret_survives_anywhere_and_output_is_har() -> None:
    data, report = sanitize_har_bytes(json.dumps(build_corpus()).encode(), SETTINGS)
    text = every_text(data)
    left = [s for s in SECRETS if s in text or quote(s, safe="") in text or quote_plus(s) in text]
    assert left == []
    out = json.loads(data)
    check_har(out)
    assert shape(out) == shape(build_corpus())
    assert report.entries == 8


def test_report_counts_by_kind() -> None:
    _, report = sanitize_har(build_corpus(), SETTINGS)
    counts = report.counts
    assert counts["jwt"] == 2
    assert counts["url_userinfo"] == 1
    assert counts["header"] == 5  # Authorization, X-Api-Key, CSRF, Proxy-Authorization, x-internal-ref
    assert counts["cookie"] == 8  # 2 in Cookie, 2 in Set-Cookie, 4 in the cookies arrays
    assert counts["personal"] >= 5
    assert report.total == sum(counts.values())
    assert report.personal_source.startswith("built-in list")


def test_jwt_keeps_header_and_claim_names_drops_signature() -> None:
    out, _ = sanitize_har(build_corpus(), SETTINGS)
    body = json.loads(out["log"]["entries"][0]["response"]["content"]["text"])
    header, payload, signature = body["session"].split(".")
    assert header == JWT.split(".")[0]
    assert signature == ""
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert sorted(claims) == ["email", "role", "sub"]
    assert all(TAG_RE.fullmatch(v) for v in claims.values())


def test_tags_match_across_fields_and_nested_json() -> None:
    out, _ = sanitize_har(build_corpus(), SETTINGS)
    request = out["log"]["entries"][0]["request"]
    cookie_header = next(h["value"] for h in request["headers"] if h["name"] == "cOoKiE")
    assert cookie_header == "sess.id[0]={}; (weird)+name*={}".format(
        *(c["value"] for c in request["cookies"])
    )
    token = next(q["value"] for q in request["queryString"] if q["name"] == "access_token")
    assert f"access_token={token}&page=2" in request["url"]
    assert next(q["value"] for q in request["queryString"] if q["name"] == "page") == "2"
    body = json.loads(out["log"]["entries"][0]["response"]["content"]["text"])
    assert body["items"][0][0]["sku"] == "A-1" and TAG_RE.fullmatch(body["items"][0][0]["password"])
    assert body["user"]["id"] == 42 and body["user"]["cards"][0]["label"] == "work card"
    set_cookie = out["log"]["entries"][0]["response"]["headers"][0]["value"]
    assert set_cookie.endswith("; Secure") and "; Path=/; HttpOnly\nremember=redacted:" in set_cookie


def test_other_text_and_binary_bodies_are_left_alone() -> None:
    out, _ = sanitize_har(build_corpus(), SETTINGS)
    entries = out["log"]["entries"]
    assert entries[2]["response"]["content"]["text"] == NOT_JSON_TEXT
    assert entries[4]["response"]["content"]["text"] == PNG_B64
    assert entries[7]["response"]["content"]["text"] == "<html>dashboard</html>"
    assert entries[7]["request"]["url"] == "https://app.example.com/dashboard?tab=orders"


def test_input_is_not_modified() -> None:
    har = build_corpus()
    before = copy.deepcopy(har)
    sanitize_har(har, SETTINGS)
    assert har == before


def test_salt_makes_tags_stable_across_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    data = json.dumps(build_corpus()).encode()
    first, report1 = sanitize_har_bytes(data, SETTINGS)
    second, _ = sanitize_har_bytes(data, SETTINGS)
    assert report1.key_source == "random per-file key"
    assert first != second
    monkeypatch.setenv("REPRO_MASK_SALT", "test-salt")
    third, report3 = sanitize_har_bytes(data, SETTINGS)
    fourth, _ = sanitize_har_bytes(data, SETTINGS)
    assert report3.key_source == "REPRO_MASK_SALT"
    assert third == fourth


def test_sanitizing_twice_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPRO_MASK_SALT", "test-salt")
    once, _ = sanitize_har_bytes(json.dumps(build_corpus()).encode(), SETTINGS)
    twice, report = sanitize_har_bytes(once, SETTINGS)
    assert json.loads(twice) == json.loads(once)
    assert report.total == 0


def test_jwt_in_unexpected_places_and_undecodable_payload() -> None:
    opaque = b64url({"alg": "RS256"}) + ".eyJub3QtanNvbg." + "sig-opaque-1"
    har = build_corpus()
    har["log"]["entries"][7]["response"]["content"]["text"] = f"<html><script>var t='{JWT}'</script></html>"
    har["log"]["entries"][7]["_initiator"] = {"note": f"token {opaque}"}
    out, _ = sanitize_har(har, SETTINGS)
    text = json.dumps(out)
    assert JWT.split(".")[2] not in text and "sig-opaque-1" not in text
    assert out["log"]["entries"][7]["response"]["content"]["text"].startswith("<html><script>var t='eyJ")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "not a HAR file: invalid JSON at line 1 column 2"),
        (b"[1, 2]", "not a HAR file: the top level is not a JSON object"),
        (b'{"log": {"version": "1.2"}}', "not a HAR file: 'log.entries' is missing or not a list"),
        (b'{"log": {"entries": [{"request": {"headers": {}}}]}}',
         "malformed HAR: 'log.entries[0].request.headers' is not a list"),
        (b'{"log": {"entries": [3]}}', "malformed HAR: 'log.entries[0]' is not an object"),
        (b"\xff\xfe{}", "not a HAR file: not UTF-8 text (byte 0)"),
    ],
)  # fmt: skip
def test_malformed_har_raises_one_line_error(data: bytes, message: str) -> None:
    with pytest.raises(HarError) as info:
        sanitize_har_bytes(data, SETTINGS)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_is_har() -> None:
    har_json = json.dumps({"log": {"entries": []}}).encode()
    assert is_har(b"anything", "Session.HAR")
    assert is_har(har_json, "upload.json")
    assert not is_har(b'{"log": {"pages": []}}', "upload.json")
    assert not is_har(base64.b64decode(PNG_B64), "screenshot.png")
    assert not is_har(b"{broken", "notes.txt")


RULES = """\
tables:
  users:
    columns:
      id: keep
      nickname: {strategy: faker, provider: first_name}
      email: {strategy: email}
      profile:
        strategy: json
        paths:
          "$.contact.home_phone": redact
  products:
    columns:
      name: keep
"""


def test_personal_keys_come_from_masking_rules(tmp_path: Path) -> None:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "shop.yaml").write_text(RULES, encoding="utf-8")
    har = build_corpus()
    body = {
        "id": 7,
        "nickname": "Ali-nick",
        "name": "Widget",
        "eMail": "x@example.com",
        "profile": {"contact": {"home_phone": "555-0199"}, "theme": "dark"},
    }
    har["log"]["entries"][7]["response"]["content"] = {
        "mimeType": "application/json",
        "text": json.dumps(body),
    }
    out, report = sanitize_har(har, Settings(rules_dir=rules_dir))
    masked = json.loads(out["log"]["entries"][7]["response"]["content"]["text"])
    assert report.personal_source == f"masking rules in {rules_dir}"
    assert masked["id"] == 7 and masked["name"] == "Widget" and masked["profile"]["theme"] == "dark"
    assert TAG_RE.fullmatch(masked["nickname"]) and TAG_RE.fullmatch(masked["eMail"])
    assert TAG_RE.fullmatch(masked["profile"]["contact"]["home_phone"])


def test_invalid_masking_rules_stop_the_sanitizer(tmp_path: Path) -> None:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "bad.yaml").write_text("tables:\n  users:\n    columns:\n      email: {strategy: nope}\n")
    with pytest.raises(RuleError):
        sanitize_har(build_corpus(), Settings(rules_dir=rules_dir))


def test_truncated_and_line_delimited_json_still_redacted_by_key() -> None:
    har = build_corpus()
    entries = har["log"]["entries"]
    entries[7]["response"]["content"] = {
        "mimeType": "application/json",
        "text": '{"user": {"id": 5, "email": "cut@example.com", "password": "cut-pw-1", "tok',
    }
    entries[6]["request"]["postData"] = {
        "mimeType": "application/x-ndjson",
        "text": '{"event": "login", "token": "nd-token-2"}\n{"event": "pay", "card": 4000000000000002, "note": "ok"}\n'
        '{"event": "x", "secret": "cut-secr',
    }
    out, _ = sanitize_har(har, SETTINGS)
    text = json.dumps(out)
    for value in ("cut@example.com", "cut-pw-1", "nd-token-2", "4000000000000002", "cut-secr"):
        assert value not in text
    assert '"id": 5' in out["log"]["entries"][7]["response"]["content"]["text"]
    assert '"note": "ok"' in out["log"]["entries"][6]["request"]["postData"]["text"]
