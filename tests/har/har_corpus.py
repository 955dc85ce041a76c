"""A HAR corpus holding every kind of secret the sanitizer must remove, and the list of those secrets."""

from __future__ import annotations

import base64
import json
from typing import Any


def b64url(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


JWT_SIGNATURE = "c2lnbmF0dXJlLXNlY3JldC1YWVo"
JWT = (
    b64url({"alg": "HS256", "typ": "JWT"})
    + "."
    + b64url({"sub": "jwt-sub-secret-77", "email": "jwt.person@example.com", "role": "admin"})
    + "."
    + JWT_SIGNATURE
)
JWT_PAYLOAD = JWT.split(".")[1]

SECRETS = [
    "hunter2pass",
    "AT-query-secret-1",
    "oauth-code-secret-2",
    "IDT-fragment-secret-3",
    "state-secret-4",
    "bearer-secret-5",
    "cookie-secret-6",
    "cookie-secret-7",
    "apikey-secret-8",
    "csrf-secret-9",
    "RT-referer-secret-10",
    "nested-array-pw-11",
    "setcookie-secret-12",
    "setcookie-secret-13",
    "form-pw-secret-14",
    "json-pw-15",
    "arr-token-16",
    "arr-token-17",
    "b64-token-secret-18",
    "cHJveHk6cHJveHktc2VjcmV0LTE5",
    "saml-secret-20",
    "sig-secret-21",
    "client-secret-22",
    "apikey-q-23",
    "query-pw-24",
    "verifier-secret-25",
    "multipart-pw-26",
    "ws-pw-27",
    "page-token-28",
    "internal-ref-29",
    "loyalty-30",
    "location-token-31",
    "param-pw-32",
    "4111111111111111",
    "987654321",
    # personal values (built-in list: email, phone, first_name, ...)
    "alice.private@example.com",
    "Alicia",
    "+1-555-0100-private",
    "123-45-6789",
    "b64.person@example.com",
    # the JWT: whole token, signature, payload, claim values
    JWT,
    JWT_SIGNATURE,
    JWT_PAYLOAD,
    "jwt-sub-secret-77",
    "jwt.person@example.com",
]

NOT_JSON_TEXT = "hello world { this is not json ] password: stays-as-text"
PNG_B64 = base64.b64encode(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00").decode()


def header(name: str, value: str) -> dict[str, str]:
    return {"name": name, "value": value}


def entry(request: dict[str, Any], response: dict[str, Any], **extra: Any) -> dict[str, Any]:
    base_request = {
        "method": "GET",
        "httpVersion": "HTTP/1.1",
        "headers": [],
        "queryString": [],
        "cookies": [],
        "headersSize": -1,
        "bodySize": -1,
    }
    base_response = {
        "status": 200,
        "statusText": "OK",
        "httpVersion": "HTTP/1.1",
        "headers": [],
        "cookies": [],
        "content": {"size": 0, "mimeType": "text/plain"},
        "redirectURL": "",
        "headersSize": -1,
        "bodySize": -1,
    }
    return {
        "startedDateTime": extra.pop("started", "2026-11-20T10:00:00.000Z"),
        "time": extra.pop("time", 50),
        "request": {**base_request, **request},
        "response": {**base_response, **response},
        "cache": {},
        "timings": {"send": 1, "wait": 40, "receive": 9},
        **extra,
    }


def build_corpus() -> dict[str, Any]:
    user_json = {
        "user": {
            "id": 42,
            "email": "alice.private@example.com",
            "first_name": "Alicia",
            "cards": [{"card": "4111111111111111", "cvv": 987654321, "label": "work card"}],
        },
        "items": [[{"password": "nested-array-pw-11", "sku": "A-1"}], [{"sku": "B-2"}]],
        "session": JWT,
    }
    b64_body = base64.b64encode(
        json.dumps(
            {
                "access_token": "b64-token-secret-18",
                "ssn": "123-45-6789",
                "email": "b64.person@example.com",
                "user_id": 42,
            }
        ).encode()
    ).decode()
    boundary = "----repro(boundary)+*"
    multipart = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="user"\r\n\r\nalice\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="password"\r\n\r\nmultipart-pw-26\r\n'
        f"--{boundary}--\r\n"
    )
    entries = [
        entry(
            {
                "url": "https://alice:hunter2pass@app.example.com/api/users/42/orders?access_token=AT-query-secret-1"
                "&page=2&code=oauth-code-secret-2#id_token=IDT-fragment-secret-3&state=state-secret-4",
                "headers": [
                    header("AUTHORIZATION", "Bearer bearer-secret-5"),
                    header("cOoKiE", "sess.id[0]=cookie-secret-6; (weird)+name*=cookie-secret-7"),
                    header("X-Api-KEY", "apikey-secret-8"),
                    header("x-CSRF-token", "csrf-secret-9"),
                    header("X-User-Id", "42"),
                    header("Referer", "https://app.example.com/callback?refresh_token=RT-referer-secret-10"),
                    header("Proxy-Authorization", "Basic cHJveHk6cHJveHktc2VjcmV0LTE5"),
                    header("x-internal-ref", "internal-ref-29"),
                    header("Accept", "application/json"),
                ],
                "queryString": [
                    {"name": "access_token", "value": "AT-query-secret-1"},
                    {"name": "page", "value": "2"},
                    {"name": "code", "value": "oauth-code-secret-2"},
                ],
                "cookies": [
                    {"name": "sess.id[0]", "value": "cookie-secret-6"},
                    {"name": "(weird)+name*", "value": "cookie-secret-7"},
                ],
            },
            {
                "headers": [
                    header(
                        "set-COOKIE",
                        "sid=setcookie-secret-12; Path=/; HttpOnly\nremember=setcookie-secret-13; Secure",
                    ),
                    header("Content-Type", "application/json"),
                ],
                "cookies": [
                    {"name": "sid", "value": "setcookie-secret-12", "path": "/", "httpOnly": True},
                    {"name": "remember", "value": "setcookie-secret-13", "secure": True},
                ],
                "content": {"size": 100, "mimeType": "application/json", "text": json.dumps(user_json)},
            },
            _resourceType="xhr",
        ),
        entry(
            {
                "method": "POST",
                "url": "https://app.example.com/login",
                "postData": {
                    "mimeType": "application/x-www-form-urlencoded",
                    "text": "username=alice&password=form-pw-secret-14&remember=1",
                    "params": [
                        {"name": "username", "value": "alice"},
                        {"name": "password", "value": "param-pw-32"},
                    ],
                },
            },
            {
                "status": 302,
                "statusText": "Found",
                "redirectURL": "/home?token=location-token-31",
                "headers": [header("Location", "/home?token=location-token-31")],
            },
        ),
        entry(
            {
                "method": "PUT",
                "url": "https://app.example.com/api/profile",
                "postData": {
                    "mimeType": "application/json; charset=utf-8",
                    "text": json.dumps(
                        {
                            "password": "json-pw-15",
                            "profile": {
                                "phone": "+1-555-0100-private",
                                "tokens": ["arr-token-16", "arr-token-17"],
                                "loyalty_number": "loyalty-30",
                            },
                            "note": "call me",
                            "jwt": JWT,
                            "user_id": 42,
                        }
                    ),
                },
            },
            {
                "status": 500,
                "statusText": "Internal Server Error",
                "content": {"size": 5, "mimeType": "text/plain", "text": NOT_JSON_TEXT},
            },
            time=2500,
            _console=[
                {"level": "error", "text": "TypeError: profile is undefined"},
                {"level": "info", "text": "saved draft"},
            ],
        ),
        entry(
            {"url": "https://app.example.com/api/session"},
            {"content": {"size": 80, "mimeType": "application/json", "encoding": "base64", "text": b64_body}},
            time=900,
        ),
        entry(
            {"url": "https://app.example.com/logo.png"},
            {"content": {"size": 20, "mimeType": "image/png", "encoding": "base64", "text": PNG_B64}},
        ),
        entry(
            {
                "url": "https://idp.example.com/sso?SAMLResponse=saml-secret-20&signature=sig-secret-21"
                "&client_secret=client-secret-22&api_key=apikey-q-23&password=query-pw-24"
                "&code_verifier=verifier-secret-25&lang=en",
            },
            {"status": 0, "statusText": "", "_error": "net::ERR_BLOCKED_BY_CLIENT"},
        ),
        entry(
            {
                "method": "POST",
                "url": "https://app.example.com/upload",
                "postData": {"mimeType": f'multipart/form-data; boundary="{boundary}"', "text": multipart},
            },
            {"status": 201, "statusText": "Created"},
            _webSocketMessages=[
                {
                    "type": "send",
                    "time": 1.0,
                    "opcode": 1,
                    "data": json.dumps({"op": "auth", "password": "ws-pw-27"}),
                }
            ],
        ),
        entry(
            {"url": "https://app.example.com/dashboard?tab=orders"},
            {
                "content": {
                    "size": 10,
                    "mimeType": "text/html; charset=utf-8",
                    "text": "<html>dashboard</html>",
                }
            },
            _resourceType="document",
        ),
    ]
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "WebInspector", "version": "537.36"},
            "pages": [
                {
                    "startedDateTime": "2026-11-20T10:00:00.000Z",
                    "id": "page_1",
                    "title": "https://app.example.com/welcome?page_token=page-token-28",
                    "pageTimings": {"onContentLoad": 100, "onLoad": 200},
                }
            ],
            "entries": entries,
            "_consoleMessages": [
                {"type": "error", "message": "Uncaught ReferenceError: cart is not defined"}
            ],
        }
    }
