"""Incident statuses and the transitions between them."""

from __future__ import annotations

from repro.errors import TransitionError

STATUSES: tuple[str, ...] = (
    "reported",
    "triaged",
    "reproducing",
    "reproduced",
    "fixing",
    "resolved",
    "postmortem",
    "closed",
    "declined",
    "duplicate",
)
TERMINAL: frozenset[str] = frozenset({"closed", "declined", "duplicate"})

# Forward only. Triaged may skip reproducing (copy-user records both steps) and go straight to fixing when
# the cause is already known; an incident can be declined or marked a duplicate until work on a fix starts.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "reported": ("triaged", "declined", "duplicate"),
    "triaged": ("reproducing", "reproduced", "fixing", "declined", "duplicate"),
    "reproducing": ("reproduced", "declined", "duplicate"),
    "reproduced": ("fixing", "declined", "duplicate"),
    "fixing": ("resolved",),
    "resolved": ("postmortem",),
    "postmortem": ("closed",),
    "closed": (),
    "declined": (),
    "duplicate": (),
}


def allowed_from(status: str) -> tuple[str, ...]:
    return TRANSITIONS.get(status, ())


def check_transition(incident_id: str, current: str, target: str) -> None:
    """Raise TransitionError naming the allowed next statuses when `current -> target` is not allowed."""
    if target not in STATUSES:
        raise TransitionError(f"unknown status {target!r} (valid: {', '.join(STATUSES)})")
    if target in allowed_from(current):
        return
    allowed = allowed_from(current)
    hint = f"allowed: {', '.join(allowed)}" if allowed else "it is final"
    raise TransitionError(f"{incident_id} is {current}: cannot move to {target} ({hint})")
