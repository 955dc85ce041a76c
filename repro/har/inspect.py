"""`repro har inspect`: what a team lead reads first in a HAR (failures, slow calls, console, pages, user)."""

from __future__ import annotations

import base64
import binascii
import re
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from repro.config import Settings
from repro.errors import ConfigError
from repro.har.document import check_har, entries, pairs, part
from repro.har.redact import Redactor

BUILTIN_USER_ID_PATTERNS = (
    r"/users?/(\d+)(?:[/?#]|$)",
    r'"user_?[iI]d"\s*:\s*"?(\d+)',
    r"[?&]user_?id=(\d+)",
    r"(?im)^x-user-id:\s*([\w-]+)\s*$",
)
ERROR_LEVELS = frozenset({"error", "exception", "assert", "fatal", "severe"})
_CONSOLE_KEYS = ("_consoleMessages", "_console", "_consoleErrors", "_consoleLog")
_SCAN_LIMIT = 1_000_000  # characters of one body searched for user ids


@dataclass(frozen=True)
class RequestSummary:
    index: int  # position in log.entries
    method: str
    url: str  # secret query values shown as ***
    status: int
    status_text: str
    time_ms: float
    started: str


@dataclass(frozen=True)
class ConsoleMessage:
    level: str
    text: str
    where: str  # the HAR field it came from


@dataclass(frozen=True)
class PageVisit:
    url: str
    title: str
    started: str


@dataclass(frozen=True)
class UserIdCandidate:
    value: str
    count: int
    found_in: tuple[str, ...]  # "url", "header", "request body", "response body"


@dataclass
class HarInspection:
    """The findings of inspect_har, most useful first."""

    entries: int
    pages: list[PageVisit]
    failing: list[RequestSummary]
    slowest: list[RequestSummary]
    console_errors: list[ConsoleMessage]
    user_ids: list[UserIdCandidate]

    @property
    def candidate_user_id(self) -> str | None:
        return self.user_ids[0].value if self.user_ids else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "entries": self.entries,
            "candidate_user_id": self.candidate_user_id,
            "user_ids": [asdict(u) for u in self.user_ids],
            "failing": [asdict(r) for r in self.failing],
            "slowest": [asdict(r) for r in self.slowest],
            "console_errors": [asdict(c) for c in self.console_errors],
            "pages": [asdict(p) for p in self.pages],
        }


def user_id_patterns(settings: Settings) -> list[re.Pattern[str]]:
    """The configured patterns (har.user_id_patterns) first, then the built-in ones."""
    compiled = []
    for pattern in (*settings.har.user_id_patterns, *BUILTIN_USER_ID_PATTERNS):
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise ConfigError(
                f"har.user_id_patterns: invalid regular expression {pattern!r}: {exc}"
            ) from None
    return compiled


def inspect_har(har: dict[str, Any], settings: Settings, *, top: int = 10) -> HarInspection:
    """Summarise a parsed HAR; URLs in the result have their secret query values replaced by ***."""
    check_har(har)
    display = Redactor(b"", extra_keys=settings.har.redact_keys, replacement=lambda _value: "***")
    requests = [_summary(i, entry, display) for i, entry in enumerate(entries(har))]
    failing = [r for r in requests if r.status == 0 or r.status >= 400]
    slowest = sorted(requests, key=lambda r: (-r.time_ms, r.index))[:top]
    return HarInspection(
        entries=len(requests),
        pages=_pages(har, display),
        failing=failing,
        slowest=slowest,
        console_errors=_console_errors(har),
        user_ids=_user_ids(har, user_id_patterns(settings)),
    )


def _summary(index: int, entry: dict[str, Any], display: Redactor) -> RequestSummary:
    request, response = part(entry, "request"), part(entry, "response")
    try:
        status = int(response.get("status") or 0)
    except (TypeError, ValueError):
        status = 0
    status_text = str(response.get("statusText") or response.get("_error") or "")
    time_ms = entry.get("time")
    if not isinstance(time_ms, int | float):
        timings = entry.get("timings")
        values = list(timings.values()) if isinstance(timings, dict) else []
        time_ms = sum(float(v) for v in values if isinstance(v, int | float) and v > 0)
    return RequestSummary(
        index=index,
        method=str(request.get("method", "")),
        url=display.scrub(str(request.get("url", ""))),
        status=status,
        status_text=status_text,
        time_ms=round(float(time_ms), 1),
        started=str(entry.get("startedDateTime", "")),
    )


def _pages(har: dict[str, Any], display: Redactor) -> list[PageVisit]:
    seen: set[str] = set()
    pages: list[PageVisit] = []
    for page in har["log"].get("pages") or []:
        if isinstance(page, dict):
            title = display.scrub(str(page.get("title", "")))
            url = title if "://" in title else ""
            pages.append(PageVisit(url=url, title=title, started=str(page.get("startedDateTime", ""))))
            seen.add(url or title)
    for entry in entries(har):
        request, response = part(entry, "request"), part(entry, "response")
        content = response.get("content")
        mime = str(content.get("mimeType", "")) if isinstance(content, dict) else ""
        is_document = entry.get("_resourceType") == "document" or (
            request.get("method") == "GET" and "text/html" in mime
        )
        url = display.scrub(str(request.get("url", "")))
        if is_document and url and url not in seen:
            seen.add(url)
            pages.append(PageVisit(url=url, title="", started=str(entry.get("startedDateTime", ""))))
    return pages


def _console_items(holder: dict[str, Any], where: str) -> list[tuple[Any, str]]:
    found: list[tuple[Any, str]] = []
    for key in _CONSOLE_KEYS:
        items = holder.get(key)
        if isinstance(items, list):
            found.extend((item, f"{where}.{key}") for item in items)
    return found


def _console_errors(har: dict[str, Any]) -> list[ConsoleMessage]:
    log = har["log"]
    items = _console_items(log, "log")
    for i, page in enumerate(log.get("pages") or []):
        if isinstance(page, dict):
            items += _console_items(page, f"log.pages[{i}]")
    for i, entry in enumerate(entries(har)):
        items += _console_items(entry, f"log.entries[{i}]")
    messages = []
    for item, where in items:
        if isinstance(item, dict):
            level = str(item.get("level") or item.get("type") or item.get("severity") or "")
            text = item.get("text") or item.get("message") or item.get("args") or ""
        else:
            level, text = "", item
        if where.endswith("_consoleErrors") and not level:
            level = "error"
        if level.lower() in ERROR_LEVELS or not level:
            messages.append(ConsoleMessage(level=level, text=str(text), where=where))
    return messages


def _texts(entry: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, text) pairs of one entry that user ids are searched in."""
    request, response = part(entry, "request"), part(entry, "response")
    texts = [("url", str(request.get("url", "")))]
    for obj in (request, response):
        texts += [("header", f"{h.get('name', '')}: {h.get('value', '')}") for h in pairs(obj, "headers")]
    post = request.get("postData")
    if isinstance(post, dict) and isinstance(post.get("text"), str):
        texts.append(("request body", post["text"][:_SCAN_LIMIT]))
    content = response.get("content")
    if isinstance(content, dict) and isinstance(content.get("text"), str):
        text = content["text"][:_SCAN_LIMIT]
        if str(content.get("encoding", "")).lower() == "base64":
            try:
                text = base64.b64decode(text).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                text = ""
        texts.append(("response body", text))
    return texts


def _user_ids(har: dict[str, Any], patterns: list[re.Pattern[str]]) -> list[UserIdCandidate]:
    counts: Counter[str] = Counter()
    found_in: dict[str, set[str]] = {}
    for entry in entries(har):
        for where, text in _texts(entry):
            for pattern in patterns:
                for match in pattern.finditer(text):
                    value = match.group(1) if pattern.groups else match.group(0)
                    if value:
                        counts[value] += 1
                        found_in.setdefault(value, set()).add(where)
    return [
        UserIdCandidate(value=value, count=count, found_in=tuple(sorted(found_in[value])))
        for value, count in counts.most_common()
    ]
