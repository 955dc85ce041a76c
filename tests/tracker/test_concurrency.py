"""Several processes reporting at the same moment get distinct INC-n ids, and every report is kept."""

from __future__ import annotations

import multiprocessing
from multiprocessing.synchronize import Barrier

from repro.config import Settings
from repro.tracker import service

PROCESSES = 3
REPORTS_EACH = 8


def _reporter(
    settings: Settings, worker: int, barrier: Barrier, results: multiprocessing.Queue[object]
) -> None:
    try:
        barrier.wait(timeout=60)
        ids = [
            service.report(
                settings, title=f"w{worker}-r{i}", scope="USERS", criticality="FBLOCK", by=f"w{worker}"
            ).id
            for i in range(REPORTS_EACH)
        ]
        results.put((worker, ids))
    except BaseException as exc:  # the parent reports it; a child's traceback would be lost
        results.put((worker, f"{type(exc).__name__}: {exc}"))


def test_concurrent_reports(backend_settings: Settings) -> None:
    """The database starts empty: the schema creation races too."""
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(PROCESSES)
    results: multiprocessing.Queue[object] = ctx.Queue()
    procs = [
        ctx.Process(target=_reporter, args=(backend_settings, w, barrier, results)) for w in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    outcomes = dict(results.get(timeout=120) for _ in procs)  # type: ignore[misc]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    failures = {w: o for w, o in outcomes.items() if isinstance(o, str)}
    assert failures == {}
    all_ids = [i for ids in outcomes.values() for i in ids]
    total = PROCESSES * REPORTS_EACH
    assert len(set(all_ids)) == total
    assert sorted(all_ids, key=lambda i: int(i[4:])) == [f"INC-{n}" for n in range(1, total + 1)]
    stored = service.list_incidents(backend_settings)
    assert sorted(v.title for v in stored) == sorted(
        f"w{w}-r{i}" for w in range(PROCESSES) for i in range(REPORTS_EACH)
    )
    assert all(v.title.startswith(v.reporter) for v in stored)
