"""Overlap the stages of a copy: reading (caller's thread), masking and loading, and snapshot writing.

Each stage spends much of its time waiting on a database server or in zlib, both of which release the GIL, so
running them in their own threads shortens a copy without changing what it writes. Batches keep their order:
the loader sees them as the caller submits them, the snapshot writer as the loader passes them on (after
unique values that collide with staging rows were re-masked). The queues are bounded, so memory stays bounded
by a few batches. The first error of any stage stops the others and is raised in the caller's thread.
"""

from __future__ import annotations

import gc
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from repro.masking.batch import MaskedBatch

QUEUE_BATCHES = 3  # batches waiting per stage


class _Stop(Exception):
    """Raised inside a stage when another stage failed."""


_END = object()


class _Stage:
    def __init__(self, name: str, handle: Callable[[Any], None], failed: threading.Event) -> None:
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_BATCHES)
        self.handle = handle
        self.failed = failed
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=f"repro-{name}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is _END:
                return
            if self.error is not None or self.failed.is_set():
                continue  # drain without work so producers never block
            try:
                self.handle(item)
            except BaseException as exc:  # handed to the caller's thread by `finish`
                self.error = exc
                self.failed.set()

    def put(self, item: Any) -> None:
        while True:
            if self.failed.is_set():
                raise _Stop
            try:
                self.queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        self.queue.put(_END)  # never blocks for long: the stage drains even after a failure
        self.thread.join()


class CopyPipeline:
    """`submit` work in load order; `finish` waits for every stage and raises the first error.

    `load(work)` runs in the loader thread and returns the masked batch as written (the caller decides what
    work is: rows to mask, then load); `snapshot(batch)` and `begin_table(table)` run in the snapshot thread.
    """

    def __init__(
        self,
        load: Callable[[Any], MaskedBatch],
        snapshot: Callable[[MaskedBatch], None] | None,
        begin_table: Callable[[str], None] | None,
    ) -> None:
        self._failed = threading.Event()
        self._load = load
        self._snapshot = snapshot
        self._begin_table = begin_table
        self._snap = _Stage("snapshot", self._snap_item, self._failed) if snapshot is not None else None
        self._loader = _Stage("load", self._load_item, self._failed)
        self._closed = False

    def _snap_item(self, item: tuple[str, Any]) -> None:
        kind, value = item
        if kind == "table":
            if self._begin_table is not None:
                self._begin_table(value)
        elif self._snapshot is not None:
            self._snapshot(value)

    def _load_item(self, item: tuple[str, Any]) -> None:
        kind, value = item
        if kind == "table":
            if self._snap is not None:
                self._snap.put(("table", value))
            return
        written = self._load(value)
        if self._snap is not None:
            self._snap.put(("batch", written))

    def begin_table(self, table: str) -> None:
        self._put(("table", table))

    def submit(self, work: Any) -> None:
        self._put(("batch", work))

    def _put(self, item: tuple[str, Any]) -> None:
        try:
            self._loader.put(item)
        except _Stop:
            self.finish()  # raises the stage's error
            raise AssertionError("unreachable") from None

    def finish(self) -> None:
        """Wait until every submitted batch is loaded and written; raise the first error of a stage."""
        self._close()
        errors = [s.error for s in (self._loader, self._snap) if s is not None and s.error is not None]
        real = [e for e in errors if not isinstance(e, _Stop)]
        if errors:
            raise (real or errors)[0]

    def abort(self) -> None:
        """Stop the stages (after an error in the caller's thread) and wait for them."""
        self._failed.set()
        self._close()

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            self._loader.close()  # first: it may still hand batches to the snapshot stage
            if self._snap is not None:
                self._snap.close()


@contextmanager
def few_collections() -> Iterator[None]:
    """Run a copy with rare cyclic garbage collections.

    A copy allocates hundreds of thousands of small tuples (keys and rows) and no reference cycles; with the
    default thresholds the collector walks every live key again and again, about 15% of a heavy copy's time
    (measured with `make bench`). Memory is unaffected: tuples are freed by reference counting.
    """
    old = gc.get_threshold()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*old)
