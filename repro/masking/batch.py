"""MaskedBatch: the only row container the loader and the snapshot writer accept.

Rows become a MaskedBatch in exactly two places: the masking engine (`MaskingEngine.mask_batch`) and the
snapshot reader (rows that were masked when the snapshot was written). Nothing else may build one, so there is
no code path that writes a production row to staging without passing through the masking stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

_TOKEN = object()


@dataclass(frozen=True)
class MaskedBatch:
    """Rows of one table after masking; only the masking engine and the snapshot reader make them."""

    table: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    _token: object = None

    def __post_init__(self) -> None:
        if self._token is not _TOKEN:
            raise TypeError("a MaskedBatch is only made by the masking engine or the snapshot reader")

    def __len__(self) -> int:
        return len(self.rows)


def _seal(table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> MaskedBatch:
    """Package masked rows (for repro.masking.engine and repro.snapshots only)."""
    return MaskedBatch(table, tuple(columns), rows, _TOKEN)


def sealed_from_snapshot(table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> MaskedBatch:
    """Rows read back from a verified snapshot were masked when it was written."""
    return _seal(table, columns, rows)
