"""Secrets that used to survive `repro har sanitize`: each case puts one secret in one odd place."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any
from urllib.parse import quote, unquote

import pytest
from click.testing import CliRunner

from repro.cli.main import cli
from repro.config import Settings
from repro.har import sanitize_har_bytes
from repro.har.document import check_har

BOUNDARY = "----WebKitFormBoundaryQ7dWkXvBz3LmP9aA"  # Chrome's boundaries are mixed case


def entry(request: dict[str, Any] | None = None, response: dict[str, Any] | None = None) -> dict[str, Any]:
    req = {"method": "POST", "url": "https://app.example.com/api", "httpVersion": "HTTP/1.1", "headers": [],
           "queryString": [], "cookies": [], "headersSize": -1, "bodySize": -1, **(request or {})}  # fmt: skip
    resp = {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "headers": [], "cookies": [],
            "content": {"size": 0, "mimeType": "text/plain"}, "redirectURL": "", "headersSize": -1,
            "bodySize": -1, **(response or {})}  # fmt: skip
    return {"startedDateTime": "2026-03-02T09:00:00Z", "time": 5, "request": req, "response": resp,
            "cache": {}, "timings": {"send": 0, "wait": 5, "receive": 0}}  # fmt: skip


def har(*entries: dict[str, Any]) -> bytes:
    doc = {"log": {"version": "1.2", "creator": {"name": "test", "version": "1"}, "entries": list(entries)}}
    return json.dumps(doc).encode("utf-8")


def multipart(fields: list[tuple[str, str]], newline: str = "\r\n") -> str:
    parts = [
        f'--{BOUNDARY}{newline}Content-Disposition: form-data; name="{name}"{newline}{newline}{value}{newline}'
        for name, value in fields
    ]
    return "".join(parts) + f"--{BOUNDARY}--{newline}"


def sanitized_text(data: bytes) -> str:
    """The sanitized HAR plus every base64 body in it decoded (Latin-1 keeps any byte readable)."""
    out, _report = sanitize_har_bytes(data, Settings())
    doc = json.loads(out)
    check_har(doc)
    decoded = [
        base64.b64decode(e["response"]["content"]["text"]).decode("latin-1")
        for e in doc["log"]["entries"]
        if e["response"].get("content", {}).get("encoding") == "base64"
    ]
    return "\n".join([out.decode("utf-8"), *decoded])


def readable(text: str) -> str:
    """The text, percent-decoded, plus every base64-looking run in it decoded."""
    decoded = []
    for run in re.findall(r"[A-Za-z0-9+/]{16,}={0,2}", text):
        try:
            decoded.append(base64.b64decode(run + "=" * (-len(run) % 4)).decode("latin-1"))
        except binascii.Error:
            continue
    return "\n".join([text, unquote(text), *decoded])


CASES: dict[str, tuple[str, bytes]] = {
    # a mixed-case boundary was lower-cased before splitting: only the first field was ever looked at
    "multipart_chrome_boundary": (
        "Hunter2-multipart-777",
        har(
            entry(
                {
                    "postData": {
                        "mimeType": f"multipart/form-data; boundary={BOUNDARY}",
                        "text": multipart([("user", "alice"), ("password", "Hunter2-multipart-777")]),
                    }
                }
            )
        ),
    ),
    "multipart_without_mime_type": (
        "Hunter2-nomime-778",
        har(
            entry(
                {
                    "postData": {
                        "mimeType": "",
                        "text": multipart([("user", "a"), ("password", "Hunter2-nomime-778")], "\n"),
                    }
                }
            )
        ),
    ),
    "json_inside_a_form_field": (
        "Form-json-secret-779",
        har(
            entry(
                {
                    "postData": {
                        "mimeType": "application/x-www-form-urlencoded",
                        "text": "data=" + quote(json.dumps({"password": "Form-json-secret-779"})),
                    }
                }
            )
        ),
    ),
    "json_inside_a_query_parameter": (
        "Query-json-secret-780",
        har(
            entry(
                {
                    "method": "GET",
                    "url": "https://app.example.com/s?filter="
                    + quote(json.dumps({"token": "Query-json-secret-780"})),
                }
            )
        ),
    ),
    "form_inside_a_json_string": (
        "Json-form-secret-781",
        har(
            entry(
                {
                    "postData": {
                        "mimeType": "application/json",
                        "text": json.dumps({"body": "user=a&password=Json-form-secret-781"}),
                    }
                }
            )
        ),
    ),
    "base64_json_inside_json": (
        "B64-json-secret-782",
        har(
            entry(
                {
                    "postData": {
                        "mimeType": "application/json",
                        "text": json.dumps(
                            {
                                "payload": base64.b64encode(
                                    json.dumps({"password": "B64-json-secret-782"}).encode()
                                ).decode()
                            }
                        ),
                    }
                }
            )
        ),
    ),
    "cookie_without_a_name": (
        "Nameless-cookie-783",
        har(entry({"headers": [{"name": "Cookie", "value": "theme=dark; Nameless-cookie-783"}]})),
    ),
    "non_string_cookie_value": (
        "98765432109876",
        har(entry({"cookies": [{"name": "sid", "value": 98765432109876}]})),
    ),
    # the session cookie of a later request, echoed in an earlier URL path and an earlier base64 body
    "cookie_value_echoed_elsewhere": (
        "S3ssion-f00d-784",
        har(
            entry(
                {"method": "GET", "url": "https://app.example.com/api/sessions/S3ssion-f00d-784"},
                {
                    "content": {
                        "size": 30,
                        "mimeType": "application/json",
                        "encoding": "base64",
                        "text": base64.b64encode(b'{"current":"S3ssion-f00d-784"}').decode(),
                    }
                },
            ),
            entry({"headers": [{"name": "Cookie", "value": "sid=S3ssion-f00d-784"}]}),
        ),
    ),
    # a Latin-1 body is not UTF-8: it used to be skipped as if it were an image
    "latin1_base64_body": (
        "Latin1-secret-785",
        har(
            entry(
                response={
                    "content": {
                        "size": 60,
                        "mimeType": "application/json; charset=iso-8859-1",
                        "encoding": "base64",
                        "text": base64.b64encode(
                            json.dumps(
                                {"password": "Latin1-secret-785", "city": "Zürich"}, ensure_ascii=False
                            ).encode("latin-1")
                        ).decode(),
                    }
                }
            )
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_secret_does_not_survive(case: str) -> None:
    secret, data = CASES[case]
    assert secret in readable(data.decode("utf-8"))  # the case really holds the secret
    text = readable(sanitized_text(data))
    assert secret not in text
    assert quote(secret, safe="") not in text


def test_multipart_fields_keep_their_layout() -> None:
    body = multipart([("user", "alice"), ("password", "Hunter2-layout-786")])
    out, _ = sanitize_har_bytes(
        har(entry({"postData": {"mimeType": f"multipart/form-data; boundary={BOUNDARY}", "text": body}})),
        Settings(),
    )
    text = json.loads(out)["log"]["entries"][0]["request"]["postData"]["text"]
    assert text.startswith(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="user"\r\n\r\nalice\r\n')
    assert text.endswith(f"\r\n--{BOUNDARY}--\r\n")
    assert "Hunter2-layout-786" not in text


def test_latin1_body_keeps_its_other_bytes() -> None:
    body = json.dumps({"password": "Latin1-secret-787", "city": "Zürich"}, ensure_ascii=False).encode(
        "latin-1"
    )
    content = {"size": len(body), "mimeType": "application/json", "encoding": "base64",
               "text": base64.b64encode(body).decode()}  # fmt: skip
    out, _ = sanitize_har_bytes(har(entry(response={"content": content})), Settings())
    new = base64.b64decode(json.loads(out)["log"]["entries"][0]["response"]["content"]["text"])
    assert b"Z\xfcrich" in new and b"Latin1-secret-787" not in new


def test_lone_surrogate_in_a_body_is_sanitized_not_a_crash(tmp_path: Any) -> None:
    # A body cut in the middle of an emoji holds a lone surrogate escape: valid JSON, and common in HARs.
    data = har(
        entry(
            {"headers": [{"name": "Authorization", "value": "Bearer Surrogate-secret-788"}]},
            {"content": {"size": 9, "mimeType": "text/plain", "text": "cut here \ud83d"}},
        )
    )
    path = tmp_path / "cut.har"
    path.write_bytes(data)
    result = CliRunner().invoke(cli, ["har", "sanitize", str(path), "-o", str(tmp_path / "out.har")])
    assert result.exit_code == 0, result.output
    out = (tmp_path / "out.har").read_text(encoding="utf-8")
    assert "Surrogate-secret-788" not in out
    assert json.loads(out)["log"]["entries"][0]["response"]["content"]["text"] == "cut here \ud83d"
