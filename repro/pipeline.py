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
    """A thread handling the items of its queue in order: every item waiting when it is free, as one list."""

    def __init__(self, name: str, handle: Callable[[list[Any]], None], failed: threading.Event) -> None:
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_BATCHES)
        self.handle = handle
        self.failed = failed
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=f"repro-{name}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        ended = False
        while not ended:
            items = [self.queue.get()]
            while items[-1] is not _END:
                try:
                    items.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            if items[-1] is _END:
                ended = True
                items.pop()
            if not items or self.error is not None or self.failed.is_set():
                continue  # drain without work so producers never block
            try:
                self.handle(items)
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

    `load(works)` runs in the loader thread with the work submitted since it last ran (in order) and returns
    the masked batches as written (the caller decides what work is); `snapshot(batch)` and
    `begin_table(table)` run in the snapshot thread.
    """

    def __init__(
        self,
        load: Callable[[list[Any]], list[MaskedBatch]],
        snapshot: Callable[[MaskedBatch], None] | None,
        begin_table: Callable[[str], None] | None,
    ) -> None:
        self._failed = threading.Event()
        self._load = load
        self._snapshot = snapshot
        self._begin_table = begin_table
        self._snap = _Stage("snapshot", self._snap_items, self._failed) if snapshot is not None else None
        self._loader = _Stage("load", self._load_items, self._failed)
        self._closed = False

    def _snap_items(self, items: list[tuple[str, Any]]) -> None:
        for kind, value in items:
            if kind == "table":
                if self._begin_table is not None:
                    self._begin_table(value)
            elif self._snapshot is not None:
                self._snapshot(value)

    def _load_items(self, items: list[tuple[str, Any]]) -> None:
        """Batches waiting together are loaded together (consecutive ones of a table may share a COPY)."""
        work: list[Any] = []
        for kind, value in [*items, ("end", None)]:
            if kind == "batch":
                work.append(value)
                continue
            if work:
                for written in self._load(work):
                    if self._snap is not None:
                        self._snap.put(("batch", written))
                work = []
            if kind == "table" and self._snap is not None:
                self._snap.put(("table", value))

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
