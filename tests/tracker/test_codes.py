from __future__ import annotations

import itertools

import pytest

from repro.errors import UsageError
from repro.tracker.codes import (
    CRITICALITIES,
    SCOPES,
    TEAMS,
    Tagline,
    format_tagline,
    parse_scope,
    parse_tagline,
    parse_team,
)

TITLE = "Clicking on user details gives an error"


@pytest.mark.parametrize(
    ("scope", "crit", "team"), list(itertools.product(SCOPES, CRITICALITIES, (None, *TEAMS)))
)
def test_every_combination_formats_and_parses_back(scope: str, crit: str, team: str | None) -> None:
    text = format_tagline(scope, crit, team, TITLE)
    expected_head = f"{scope}-{crit}" + (f"-{team}" if team else "")
    assert text == f"{expected_head}: {TITLE}"
    assert parse_tagline(text) == Tagline(scope, crit, team, TITLE)
    # Lower case, spaces around the separators and around the colon are all accepted.
    sloppy = " " + " - ".join(expected_head.lower().split("-")) + " :  " + TITLE + "  "
    assert parse_tagline(sloppy) == Tagline(scope, crit, team, TITLE)


def test_example_from_the_policy() -> None:
    assert parse_tagline("ADMINS-FBLOCK: Clicking on user details gives an error") == Tagline(
        "ADMINS", "FBLOCK", None, TITLE
    )
    parsed = parse_tagline("ADMINS-FBLOCK-FE: Clicking on user details gives an error")
    assert str(parsed) == "ADMINS-FBLOCK-FE: Clicking on user details gives an error"


def test_title_may_contain_colons_and_dashes() -> None:
    parsed = parse_tagline("s-user-fbehav: Export: CSV - wrong dates")
    assert parsed == Tagline("S-USER", "FBEHAV", None, "Export: CSV - wrong dates")


def test_dashed_scope_is_not_split() -> None:
    assert parse_tagline("ALL-USERS-ALLBLOCK-DEVOPS: login down").scope == "ALL-USERS"
    assert parse_tagline("ALL-ALLBLOCK: everything down").scope == "ALL"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "ADMINS-FBLOCK Clicking",
            "tagline must look like 'SCOPE-CRITICALITY[-TEAM]: title', got 'ADMINS-FBLOCK Clicking'",
        ),
        (
            "ADMINS-FBLOCK:   ",
            "tagline must look like 'SCOPE-CRITICALITY[-TEAM]: title', got 'ADMINS-FBLOCK:'",
        ),
        (
            "CUSTOMERS-FBLOCK: x",
            "unknown scope 'CUSTOMERS' in tagline (valid: ALL, ALL-USERS, ALL-ADMINS, USERS, "
            "ADMINS, S-USER, S-ADMIN)",
        ),
        ("ADMINS-BROKEN: x", "unknown criticality 'BROKEN' in tagline (valid: ALLBLOCK, FBLOCK, FBEHAV)"),
        ("ADMINS: x", "tagline lacks a criticality after ADMINS (valid: ALLBLOCK, FBLOCK, FBEHAV)"),
        ("ADMINS-FBLOCK-QA: x", "unknown team 'QA' in tagline (valid: FEBE, FE, BE, DEVOPS)"),
        ("ADMINS-FBLOCK-FE-BE: x", "unexpected 'BE' after the codes in tagline"),
    ],
)
def test_bad_taglines_name_the_valid_codes(text: str, message: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_tagline(text)
    assert str(info.value) == message


def test_option_values_are_tolerant() -> None:
    assert parse_scope("s user") == "S-USER"
    assert parse_scope("All_Admins") == "ALL-ADMINS"
    assert parse_team(" devops ") == "DEVOPS"
    with pytest.raises(UsageError, match=r"unknown team 'ops' \(valid: FEBE, FE, BE, DEVOPS\)"):
        parse_team("ops")
