"""Masked unique values that collide with a different row already in staging get a deterministic alternative."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from repro.errors import ReproError
from repro.masking.batch import MaskedBatch, _seal

MAX_ATTEMPTS = 50


class _Engine(Protocol):
    def unique_columns(self, table: str) -> list[str]: ...

    def mask_value(
        self, table: str, column: str, columns: Sequence[str], original_row: tuple[Any, ...], attempt: int = 0
    ) -> Any: ...


def resolve_staging_collisions(
    conn: Connection,
    target_table: sa.Table,
    pk: Sequence[str],
    engine: _Engine,
    batch: MaskedBatch,
    originals: Sequence[tuple[Any, ...]],
) -> MaskedBatch:
    """Re-mask unique cells whose value another staging row (different primary key) already holds."""
    unique = [c for c in engine.unique_columns(batch.table) if c in batch.columns]
    if not unique or not pk or not batch.rows:
        return batch
    rows = [list(r) for r in batch.rows]
    pk_idx = [batch.columns.index(c) for c in pk]
    changed = False
    for column in unique:
        ci = batch.columns.index(column)
        attempts = [0] * len(rows)
        todo = list(range(len(rows)))
        while todo:
            by_value: dict[Any, int] = {rows[i][ci]: i for i in todo if rows[i][ci] is not None}
            if not by_value:
                break
            holders = conn.execute(
                sa.select(target_table.c[column], *(target_table.c[c] for c in pk)).where(
                    target_table.c[column].in_(list(by_value))
                )
            ).all()
            todo = []
            for holder in holders:
                i = by_value.get(holder[0])
                if i is None or tuple(holder[1:]) == tuple(rows[i][j] for j in pk_idx):
                    continue
                attempts[i] += 1
                if attempts[i] > MAX_ATTEMPTS:
                    raise ReproError(f"cannot find a free masked value for {batch.table}.{column} in staging")
                rows[i][ci] = engine.mask_value(batch.table, column, batch.columns, originals[i], attempts[i])
                todo.append(i)
                changed = True
    if not changed:
        return batch
    return _seal(batch.table, batch.columns, [tuple(r) for r in rows])
