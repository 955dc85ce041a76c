from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from repro.errors import ConfigError
from repro.tracker.codes import CRITICALITIES, SCOPES
from repro.tracker.policy import load_policy, shipped_policy_text

# The shipped matrix, written out: a change to incident_policy.yaml must be a deliberate one.
EXPECTED = {
    "ALL": ("P1", "P1", "P2"),
    "ALL-USERS": ("P1", "P1", "P2"),
    "ALL-ADMINS": ("P1", "P2", "P3"),
    "USERS": ("P1", "P2", "P3"),
    "ADMINS": ("P2", "P2", "P3"),
    "S-USER": ("P2", "P3", "P4"),
    "S-ADMIN": ("P2", "P3", "P4"),
}


@pytest.mark.parametrize("scope", SCOPES)
def test_shipped_urgency_matrix(scope: str) -> None:
    policy = load_policy()
    for crit, expected in zip(CRITICALITIES, EXPECTED[scope], strict=True):
        assert policy.urgency(scope, crit) == expected
        for team in ("FE", "BE", "FEBE"):
            assert policy.urgency(scope, crit, team) == expected


def test_devops_adjustment_raises_urgency_and_stays_in_range() -> None:
    policy = load_policy()
    assert policy.urgency("S-ADMIN", "FBEHAV", "DEVOPS") == "P3"
    assert policy.urgency("ADMINS", "FBLOCK", "DEVOPS") == "P1"
    assert policy.urgency("ALL", "ALLBLOCK", "DEVOPS") == "P1"


def test_shipped_levels() -> None:
    policy = load_policy()
    assert policy.level("P1").acknowledge_within == timedelta(minutes=15)
    assert policy.level("P2").resolution == "hotfix"
    assert policy.level("P3").resolution == "planned"
    assert policy.level("P2").recipients("FE") == ["on-call-lead", "support-lead", "frontend-lead"]
    assert policy.level("P2").recipients(None) == ["on-call-lead", "support-lead"]
    assert policy.level("P4").recipients("BE") == ["support-lead"]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_edited_copy_is_used(tmp_path: Path) -> None:
    text = shipped_policy_text().replace(
        "S-ADMIN:    {ALLBLOCK: P2, FBLOCK: P3, FBEHAV: P4}",
        "S-ADMIN:    {ALLBLOCK: P1, FBLOCK: P3, FBEHAV: P4}",
    )
    assert load_policy(_write(tmp_path, text)).urgency("S-ADMIN", "ALLBLOCK") == "P1"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "ADMINS:     {ALLBLOCK: P2,",
            "ADMINS:     {ALLBLOCK: P7,",
            ":13: key 'urgency_matrix.ADMINS.ALLBLOCK': expected one of P1, P2, P3, P4, got 'P7'",
        ),
        (
            "  S-USER:     {ALLBLOCK: P2, FBLOCK: P3, FBEHAV: P4}\n",
            "",
            ":9: key 'urgency_matrix.S-USER' is required",
        ),
        (
            "  DEVOPS: -1",
            "  QA: -1",
            ":20: unknown key 'QA' in team_adjustments (allowed: BE, DEVOPS, FE, FEBE)",
        ),
        (
            "acknowledge_within: 2h",
            "acknowledge_within: soon",
            ":36: key 'levels.P2.acknowledge_within': expected a duration like 15m, 4h, 2d or 1d12h, got 'soon'",
        ),
        (
            "resolution: planned\n    notify:\n      all: [support-lead]\n      FE",
            "resolution: later\n    notify:\n      all: [support-lead]\n      FE",
            ":46: key 'levels.P3.resolution': expected hotfix or planned, got 'later'",
        ),
        (
            "      DEVOPS: [devops-on-call]",
            "      SUPPORT: [x]",
            ":34: unknown key 'SUPPORT' in levels.P1.notify (allowed: BE, DEVOPS, FE, FEBE, all)",
        ),
    ],
)
def test_invalid_policy_names_file_line_and_key(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = shipped_policy_text()
    assert old in text
    path = _write(tmp_path, text.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        load_policy(path)
    assert str(info.value) == f"{path}{message}"
