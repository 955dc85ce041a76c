"""Reading a HAR file: bytes -> checked dict, and the field accessors sanitize and inspect share."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from repro.errors import HarError


def load_har(data: bytes) -> dict[str, Any]:
    """Parse HAR bytes (UTF-8, BOM allowed) and check the shape sanitize and inspect rely on."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HarError(f"not a HAR file: not UTF-8 text (byte {exc.start})") from None
    try:
        har = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HarError(
            f"not a HAR file: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    check_har(har)
    return har  # type: ignore[no-any-return]


def check_har(har: Any) -> None:
    """Raise HarError naming the first field whose type does not fit the HAR structure."""
    if not isinstance(har, dict):
        raise HarError("not a HAR file: the top level is not a JSON object")
    log = har.get("log")
    if not isinstance(log, dict):
        raise HarError("not a HAR file: no 'log' object at the top level")
    entries = log.get("entries")
    if not isinstance(entries, list):
        raise HarError("not a HAR file: 'log.entries' is missing or not a list")
    if "pages" in log and not isinstance(log["pages"], list):
        raise HarError("malformed HAR: 'log.pages' is not a list")
    for i, entry in enumerate(entries):
        where = f"log.entries[{i}]"
        if not isinstance(entry, dict):
            raise HarError(f"malformed HAR: '{where}' is not an object")
        for part in ("request", "response"):
            obj = entry.get(part)
            if obj is None:
                continue
            if not isinstance(obj, dict):
                raise HarError(f"malformed HAR: '{where}.{part}' is not an object")
            for key in ("headers", "cookies", "queryString"):
                _check_pairs(obj.get(key), f"{where}.{part}.{key}")
            post = obj.get("postData")
            if post is not None:
                if not isinstance(post, dict):
                    raise HarError(f"malformed HAR: '{where}.{part}.postData' is not an object")
                _check_pairs(post.get("params"), f"{where}.{part}.postData.params")
            content = obj.get("content")
            if content is not None and not isinstance(content, dict):
                raise HarError(f"malformed HAR: '{where}.{part}.content' is not an object")


def _check_pairs(value: Any, where: str) -> None:
    if value is None:
        return
    if not isinstance(value, list):
        raise HarError(f"malformed HAR: '{where}' is not a list")
    for j, item in enumerate(value):
        if not isinstance(item, dict):
            raise HarError(f"malformed HAR: '{where}[{j}]' is not an object")


def entries(har: dict[str, Any]) -> list[dict[str, Any]]:
    return har["log"]["entries"]  # type: ignore[no-any-return]


def part(entry: dict[str, Any], name: str) -> dict[str, Any]:
    """`request` or `response` of an entry ({} when absent)."""
    value = entry.get(name)
    return value if isinstance(value, dict) else {}


def pairs(obj: dict[str, Any], key: str) -> Iterator[dict[str, Any]]:
    """The name/value objects of `headers`, `cookies`, `queryString` or `params`."""
    value = obj.get(key)
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, dict))


def is_har(data: bytes, filename: str) -> bool:
    """A `*.har` file name, or JSON whose top level has a `log` object with an `entries` list."""
    if filename.lower().endswith(".har"):
        return True
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"{"):
        return False
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("log"), dict)
        and isinstance(doc["log"].get("entries"), list)
    )
