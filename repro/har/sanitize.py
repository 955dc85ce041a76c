"""`repro har sanitize`: walk a HAR field by field and replace every secret and personal value."""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repro.config import Settings
from repro.har.document import check_har, entries, load_har, pairs, part
from repro.har.redact import BUILTIN_PERSONAL, Redactor
from repro.masking.jsonpath import parse_path
from repro.masking.rules import KEEP, load_rules

KIND_LABELS = {
    "header": "headers (Authorization, API keys, ...)",
    "cookie": "cookie values",
    "url_userinfo": "user:password@ in URLs",
    "query_param": "query/fragment parameters",
    "form_field": "form fields",
    "json_key": "JSON values under secret keys",
    "jwt": "JWTs (claims replaced, signature dropped)",
    "personal": "personal values (by key)",
}
KEY_FROM_SALT = "REPRO_MASK_SALT"
KEY_RANDOM = "random per-file key"


@dataclass
class SanitizeReport:
    """What a sanitize run replaced, by kind, and how the tags were keyed."""

    counts: dict[str, int]
    entries: int
    key_source: str  # KEY_FROM_SALT (tags are stable across files) or KEY_RANDOM (stable within this file)
    personal_source: str  # where the personal-data keys came from
    base64_bodies: int = 0  # base64 response bodies decoded, sanitized and re-encoded

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "entries": self.entries,
            "redacted": dict(sorted(self.counts.items())),
            "total": self.total,
            "key_source": self.key_source,
            "personal_source": self.personal_source,
            "base64_bodies": self.base64_bodies,
        }


def personal_keys(settings: Settings) -> tuple[frozenset[str], str]:
    """Column names whose masking strategy is not `keep` (for json columns: the masked keys inside them),
    from the project's masking rules; the built-in list when there are no rules."""
    rules_dir = Path(settings.rules_dir)
    if not rules_dir.is_dir():
        return BUILTIN_PERSONAL, f"built-in list (no masking rules at {rules_dir})"
    names: set[str] = set()
    for table in load_rules(rules_dir).tables.values():
        for column, rule in table.columns.items():
            if rule.strategy == KEEP:
                continue
            if not rule.paths:
                names.add(column)
            for path, inner in rule.paths:
                keys = [value for kind, value in parse_path(path) if kind == "key"]
                if inner.strategy != KEEP and keys:
                    names.add(str(keys[-1]))
    return frozenset(names), f"masking rules in {rules_dir}"


def make_redactor(settings: Settings) -> tuple[Redactor, str, str]:
    salt = os.environ.get("REPRO_MASK_SALT")
    if salt:
        key = hmac.new(salt.encode("utf-8"), b"repro har redaction", hashlib.sha256).digest()
        key_source = KEY_FROM_SALT
    else:
        key, key_source = secrets.token_bytes(32), KEY_RANDOM
    keys, personal_source = personal_keys(settings)
    redactor = Redactor(
        key,
        extra_headers=settings.har.redact_headers,
        extra_keys=settings.har.redact_keys,
        personal_keys=keys,
    )
    return redactor, key_source, personal_source


def sanitize_har(har: dict[str, Any], settings: Settings) -> tuple[dict[str, Any], SanitizeReport]:
    """A sanitized deep copy of a parsed HAR (the input is left untouched) and what was replaced."""
    check_har(har)
    out = copy.deepcopy(har)
    redactor, key_source, personal_source = make_redactor(settings)
    decoded = 0
    for entry in entries(out):
        request, response = part(entry, "request"), part(entry, "response")
        for obj in (request, response):
            for header in pairs(obj, "headers"):
                if isinstance(header.get("value"), str):
                    header["value"] = redactor.header(str(header.get("name", "")), header["value"])
                elif header.get("value") is not None and redactor.header_is_secret(
                    str(header.get("name", ""))
                ):
                    header["value"] = redactor.tag_all(header["value"], "header")
            for cookie in pairs(obj, "cookies"):
                if cookie.get("value") not in (None, ""):  # a number or list is a value all the same
                    cookie["value"] = redactor.tag_all(cookie["value"], "cookie")
        if isinstance(request.get("url"), str):
            request["url"] = redactor.url(request["url"])
        for item in pairs(request, "queryString"):
            if isinstance(item.get("value"), str):
                item["value"] = redactor.param(str(item.get("name", "")), item["value"], kind="query_param")
        post = request.get("postData")
        if isinstance(post, dict):
            for param in pairs(post, "params"):
                if isinstance(param.get("value"), str):
                    param["value"] = redactor.param(
                        str(param.get("name", "")), param["value"], kind="form_field"
                    )
            if isinstance(post.get("text"), str):
                post["text"] = redactor.body(post["text"], str(post.get("mimeType", "")))
        content = response.get("content")
        if isinstance(content, dict) and isinstance(content.get("text"), str):
            decoded += _sanitize_content(redactor, content)
        for message in entry.get("_webSocketMessages") or []:
            if isinstance(message, dict) and isinstance(message.get("data"), str):
                message["data"] = redactor.body(message["data"], "")
    out = _scrub_strings(redactor, out)
    report = SanitizeReport(
        counts=dict(redactor.counts),
        entries=len(entries(out)),
        key_source=key_source,
        personal_source=personal_source,
        base64_bodies=decoded,
    )
    return out, report


def _sanitize_content(redactor: Redactor, content: dict[str, Any]) -> int:
    """A response body; base64 text bodies are decoded first. Returns 1 when a base64 body was decoded."""
    mime = str(content.get("mimeType", ""))
    if str(content.get("encoding", "")).lower() != "base64":
        content["text"] = redactor.body(content["text"], mime)
        return 0
    return 1 if _rewrite_base64(content, lambda text: redactor.body(text, mime)) else 0


# Media types whose bytes are not text: a base64 body of these is left as it is.
_BINARY_MEDIA = (
    "image/",
    "audio/",
    "video/",
    "font/",
    "application/font",
    "application/pdf",
    "application/zip",
)


def _rewrite_base64(content: dict[str, Any], change: Callable[[str], str]) -> bool:
    """Decode a base64 body to text, apply `change`, encode it back; False for a binary body.

    Text that is not UTF-8 (a Latin-1 page, say) is decoded with its odd bytes kept as they are
    (surrogateescape), so its secrets are found all the same and the other bytes come back unchanged.
    """
    try:
        raw = base64.b64decode(content["text"], validate=False)
    except (binascii.Error, ValueError):
        return False
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        if str(content.get("mimeType", "")).lower().startswith(_BINARY_MEDIA):
            return False  # an image, a font: nothing textual to redact
        text = raw.decode("utf-8", "surrogateescape")
    new = change(text)
    if new != text:
        try:
            data = new.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a lone surrogate that came from a JSON escape, not from a raw byte
            data = new.encode("utf-8", "backslashreplace")
        content["text"] = base64.b64encode(data).decode("ascii")
        if isinstance(content.get("size"), int):
            content["size"] = len(data)
    return True


def _scrub_strings(redactor: Redactor, value: Any) -> Any:
    """Last pass over every string of the HAR (pages, custom `_` fields, redirect URLs): JWTs and URLs."""
    if isinstance(value, dict):
        if str(value.get("encoding", "")).lower() == "base64" and isinstance(value.get("text"), str):
            value = dict(value)
            _rewrite_base64(value, redactor.replace_known)  # secrets seen in later requests
        return {k: _scrub_strings(redactor, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_strings(redactor, v) for v in value]
    if isinstance(value, str):
        return redactor.scrub(value)
    return value


def sanitize_har_bytes(data: bytes, settings: Settings) -> tuple[bytes, SanitizeReport]:
    """HAR bytes in, sanitized HAR bytes (UTF-8 JSON, same structure) out; raises HarError when malformed."""
    har, report = sanitize_har(load_har(data), settings)
    # A lone surrogate (a body cut in the middle of an emoji) is written back as the JSON escape it came in.
    return (json.dumps(har, indent=2, ensure_ascii=False) + "\n").encode("utf-8", "backslashreplace"), report
