"""inspect_har: failures, slowest, console errors, pages and the candidate user on the corpus."""

from __future__ import annotations

import pytest
from har_corpus import build_corpus

from repro.config import HarSettings, Settings
from repro.errors import ConfigError
from repro.har import inspect_har


def test_failing_and_slowest_requests() -> None:
    result = inspect_har(build_corpus(), Settings())
    assert [(r.index, r.status) for r in result.failing] == [(2, 500), (5, 0)]
    assert result.failing[1].status_text == "net::ERR_BLOCKED_BY_CLIENT"
    assert [r.index for r in result.slowest[:2]] == [2, 3]
    assert result.slowest[0].time_ms == 2500.0


def test_urls_are_shown_without_secrets() -> None:
    result = inspect_har(build_corpus(), Settings())
    sso = result.failing[1].url
    assert sso.startswith("https://idp.example.com/sso?SAMLResponse=***&signature=***")
    assert sso.endswith("&lang=en")
    first = next(r for r in result.slowest if r.index == 0).url
    assert "hunter2pass" not in first and "AT-query-secret-1" not in first and "page=2" in first


def test_console_errors_from_entries_and_log() -> None:
    result = inspect_har(build_corpus(), Settings())
    assert [(c.level, c.text, c.where) for c in result.console_errors] == [
        ("error", "Uncaught ReferenceError: cart is not defined", "log._consoleMessages"),
        ("error", "TypeError: profile is undefined", "log.entries[2]._console"),
    ]


def test_pages_visited() -> None:
    result = inspect_har(build_corpus(), Settings())
    assert [p.url for p in result.pages] == [
        "https://app.example.com/welcome?page_token=***",
        "https://app.example.com/dashboard?tab=orders",
    ]


def test_candidate_user_id() -> None:
    result = inspect_har(build_corpus(), Settings())
    assert result.candidate_user_id == "42"
    assert result.user_ids[0].found_in == ("header", "request body", "response body", "url")
    assert result.to_dict()["candidate_user_id"] == "42"


def test_configured_user_id_pattern_and_invalid_one() -> None:
    har = build_corpus()
    har["log"]["entries"][7]["request"]["url"] = "https://app.example.com/a?acct=U-991&x=1"
    har["log"]["entries"].append(dict(har["log"]["entries"][7]))
    result = inspect_har(har, Settings(har=HarSettings(user_id_patterns=(r"acct=(U-\d+)",))))
    assert [(u.value, u.count) for u in result.user_ids][:2] == [("42", 4), ("U-991", 2)]
    with pytest.raises(ConfigError, match=r"^har\.user_id_patterns: invalid regular expression '\(unclosed'"):
        inspect_har(har, Settings(har=HarSettings(user_id_patterns=("(unclosed",))))


def test_minimal_har_without_optional_parts() -> None:
    har = {"log": {"entries": [{"request": {"url": "https://x.example/"}, "response": {"status": 204}}]}}
    result = inspect_har(har, Settings())
    assert result.failing == [] and result.console_errors == [] and result.pages == []
    assert result.candidate_user_id is None
    assert result.slowest[0].time_ms == 0.0
