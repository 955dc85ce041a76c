"""HAR files: sanitize what support attaches (no secrets, no personal data), inspect what a lead reads."""

from __future__ import annotations

from repro.har.document import is_har, load_har
from repro.har.inspect import (
    ConsoleMessage,
    HarInspection,
    PageVisit,
    RequestSummary,
    UserIdCandidate,
    inspect_har,
)
from repro.har.sanitize import SanitizeReport, sanitize_har, sanitize_har_bytes

__all__ = [
    "ConsoleMessage",
    "HarInspection",
    "PageVisit",
    "RequestSummary",
    "SanitizeReport",
    "UserIdCandidate",
    "inspect_har",
    "is_har",
    "load_har",
    "sanitize_har",
    "sanitize_har_bytes",
]
