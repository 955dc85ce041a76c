"""One exception hierarchy: the CLI turns every ReproError into a one-line `Error: ...` and exit 1."""

from __future__ import annotations


class ReproError(Exception):
    """Base of every error repro reports to a person; its message is one line, without a traceback."""

    exit_code = 1


class UsageError(ReproError):
    """Wrong use of a command (exits 2 like click's own usage errors)."""

    exit_code = 2


class ConfigError(ReproError):
    """repro.yaml, environment or a policy file is invalid; the message names file, line and key."""

    exit_code = 2


class RuleError(ConfigError):
    """A masking rule file is invalid or does not fit the schema."""


class UnmaskedColumnError(ReproError):
    """Columns without any masking decision: the copy is refused (fail closed)."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = sorted(columns)
        super().__init__(
            f"{len(self.columns)} column(s) have no masking rule: {', '.join(self.columns)}"
            " (add a rule or an explicit `keep` in masking_rules/)"
        )


class MissingSaltError(ReproError):
    """REPRO_MASK_SALT is not set."""


class DatabaseError(ReproError):
    """A database could not be reached or refused an operation."""


class ReadOnlyViolation(DatabaseError):
    """Something tried to write through a production (source) connection."""


class SchemaMismatchError(ReproError):
    """The target schema lacks a table or column the copy needs."""


class NotFoundError(ReproError):
    """A user, incident, snapshot or other named object does not exist."""


class PlanError(ReproError):
    """The subset plan cannot be built or exploded past the row limit."""


class RowLimitError(PlanError):
    """The subset grew past subset.max_rows; the message names the edge."""


class SnapshotError(ReproError):
    """A snapshot cannot be written, read or restored."""


class SnapshotIntegrityError(SnapshotError):
    """A snapshot's files do not match its manifest (tampered or incomplete)."""


class TrackerError(ReproError):
    """The incident tracker refused an operation."""


class TransitionError(TrackerError):
    """An incident lifecycle transition that the policy does not allow."""


class HarError(ReproError):
    """A HAR file is malformed or cannot be sanitized."""


class HotfixError(ReproError):
    """A git operation for a hotfix failed or is not allowed."""
