#!/usr/bin/env python3
"""`make bench`: how fast `repro copy-user` moves a heavy and a light user, against a hand-written COPY pipeline.

One run builds (once, cached by name) a production-like PostgreSQL database and the same shape 100x smaller,
then times, interleaved so that every figure is a ratio against a baseline of the same run: the hand-written
pipeline (the floor) and `repro copy-user` as a whole process with the project's masking rules and a snapshot,
for the heavy and the light user; plus the masking engine alone. Prints a table with PASS/FAIL per target of
issue 7 and writes bench/results.json. `--small` does the same on a scaled-down pair in well under a minute.

Example:
  .venv/bin/python scripts/bench.py --small --only light
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench_* helpers next to this file

from bench_build import (
    admin_execute,
    build_info,
    create_empty_schema_database,
    ensure_database,
    pg_connect,
    pg_url,
)
from bench_data import LARGE, LARGE_X100, QUICK, QUICK_X10, STAGING_TEMPLATE, Shape
from bench_pipeline import run_pipeline
from bench_report import Case, evaluate_targets, format_report, summarise
from bench_runs import (
    PROJECT,
    copy_user_command,
    masking_benchmark,
    repro_env,
    run_process,
    write_repro_config,
)

DEFAULT_OUTPUT = PROJECT / "bench" / "results.json"
SMALL_OUTPUT = PROJECT / "bench" / "results-small.json"  # quick checks never overwrite the full figures
STAGING_PREFIX = "repro_bench_staging_run"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument(
        "--small", action="store_true", help="scaled-down databases and fewer runs (under a minute)"
    )
    p.add_argument("--skip-build", action="store_true", help="use the databases as they are; fail if absent")
    p.add_argument("--rebuild", action="store_true", help="rebuild the databases even if cached")
    p.add_argument("--only", choices=["light", "heavy"], help="time only this user")
    p.add_argument("--no-reduced", action="store_true", help="skip the 100x smaller database (size target)")
    p.add_argument("--no-masking", action="store_true", help="skip the masking-engine micro-benchmark")
    p.add_argument("--runs-light", type=int, help="runs per light case (default 5; 3 with --small)")
    p.add_argument("--runs-heavy", type=int, help="runs per heavy case (default 5; 2 with --small)")
    p.add_argument(
        "--timeout", type=float, help="seconds before a repro run is killed (default 900; 120 --small)"
    )
    p.add_argument(
        "--output",
        type=Path,
        help="results JSON (default bench/results.json; bench/results-small.json with --small)",
    )
    args = p.parse_args(argv)
    args.runs_light = args.runs_light or (3 if args.small else 5)
    args.runs_heavy = args.runs_heavy or (2 if args.small else 5)
    args.timeout = args.timeout or (120.0 if args.small else 900.0)
    args.output = args.output or (SMALL_OUTPUT if args.small else DEFAULT_OUTPUT)
    return args


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cpu_reference() -> float:
    """Seconds a fixed pure-Python loop takes now: how fast this (shared) machine is at this moment.

    The light-user and masking targets are absolute; this figure, taken between cases, shows whether a run
    was slow because the machine was (the same loop takes 1.5x longer in a bad minute)."""
    started = time.perf_counter()
    total = 0
    for i in range(5_000_000):
        total += i % 7
    return time.perf_counter() - started


def machine_info() -> dict[str, Any]:
    conn = pg_connect("postgres")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT version()")
            row = cur.fetchone()
            postgres = str(row[0]) if row else "unknown"
    finally:
        conn.close()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=PROJECT
    )
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "postgres": postgres.split(" on ")[0],
        "git_commit": commit.stdout.strip() or None,
    }


def prepare_databases(args: argparse.Namespace, shapes: dict[str, Shape]) -> dict[str, Any]:
    """Build (or reuse) each database; returns what results.json says about them."""
    info: dict[str, Any] = {}
    for role, shape in shapes.items():
        if args.skip_build:
            built = build_info(shape.name)
            if built is None or built["shape"] != shape.fingerprint():
                raise SystemExit(
                    f"Error: {shape.name} is absent or has another shape; run without --skip-build"
                )
            seconds = None
        else:
            seconds = ensure_database(shape, log=log, rebuild=args.rebuild)
            built = build_info(shape.name)
        info[role] = {
            "name": shape.name,
            "users": shape.users,
            "orders": shape.total_orders,
            "heavy_user": shape.heavy_user,
            "light_user": shape.light_user,
            "built_now": seconds is not None,
            "build_s": round(float(built["elapsed_s"]), 1) if built else None,
            "built_at": str(built["built_at"]) if built else None,
            "approx_rows": table_counts(shape.name),  # the statistics collector's live-row counts
        }
    return info


def table_counts(database: str) -> dict[str, int]:
    conn = pg_connect(database)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT relname, n_live_tup FROM pg_stat_user_tables WHERE schemaname = 'public' ORDER BY 1"
            )
            return {str(name): int(n) for name, n in cur.fetchall()}
    finally:
        conn.close()


def fresh_staging(n: int) -> str:
    name = f"{STAGING_PREFIX}_{n}"
    admin_execute(
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
        f'CREATE DATABASE "{name}" TEMPLATE "{STAGING_TEMPLATE}"',
    )
    return name


def drop_staging(name: str) -> None:
    admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_cases(cases: list[tuple[Case, Path, Path]], runs: int, timeout_s: float) -> None:
    """The cases (case, its repro.yaml, its work folder) of one user on each database, their runs interleaved:
    run 1 of every case, then run 2, ... so a slow minute of the shared machine weighs on the production-size
    case and on its 100x smaller baseline alike; every other round takes the cases in reverse order, so neither
    is always the one that follows the other's runs. Each source is warmed first by one untimed pipeline run."""
    for case, _config, _workdir in cases:
        staging = fresh_staging(0)
        run_pipeline(pg_connect, case.db_name, staging, case.user_id)
        drop_staging(staging)
    for i in range(1, runs + 1):
        for case, config, workdir in cases if i % 2 else cases[::-1]:
            run_once(case, i, config, workdir, timeout_s)


def run_once(case: Case, i: int, config: Path, workdir: Path, timeout_s: float) -> None:
    """One pipeline run, then one repro run, each into a fresh staging database."""
    env = repro_env()
    staging = fresh_staging(i)
    pipe = run_pipeline(pg_connect, case.db_name, staging, case.user_id)
    drop_staging(staging)
    case.pipeline.append(pipe)
    line = f"  {case.db_name} {case.user} #{i}: pipeline {pipe.elapsed_s:.3f}s ({pipe.total_rows} rows)"
    if case.repro and not any(r.ok for r in case.repro):
        log(line + ", repro skipped (its first run failed)")
        return
    staging = fresh_staging(i)
    command = copy_user_command(config, case.user_id, pg_url(staging))
    run = run_process(command, env=env, cwd=workdir, timeout_s=timeout_s)
    drop_staging(staging)
    case.repro.append(run)
    status = f"{run.total_rows} rows" if run.ok else f"FAILED: {run.error}"
    log(line + f", repro {run.elapsed_s:.3f}s ({status}, peak RSS {run.peak_rss_mb:.0f} MB)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except psycopg2.Error as exc:  # the service or a build statement: one line, not a traceback
        first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        print(f"Error: PostgreSQL: {first}", file=sys.stderr)
        return 1


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    shapes = (
        {"production": QUICK, "reduced": QUICK_X10}
        if args.small
        else {"production": LARGE, "reduced": LARGE_X100}
    )
    if args.no_reduced:
        del shapes["reduced"]
    machine = machine_info()
    reference = [cpu_reference()]
    log(f"databases ({'small' if args.small else 'full'} mode):")
    databases = prepare_databases(args, shapes)
    create_empty_schema_database(STAGING_TEMPLATE)
    masking: dict[str, Any] = {"available": False, "reason": "skipped (--no-masking)"}
    if not args.no_masking:
        log("masking engine alone (1 core) ...")
        masking = masking_benchmark(20_000 if args.small else 100_000)
        reference.append(cpu_reference())
    # As an installed tool runs: with its modules compiled (this machine may set PYTHONDONTWRITEBYTECODE).
    compileall.compile_dir(str(PROJECT / "repro"), quiet=1)
    users = [args.only] if args.only else ["light", "heavy"]
    cases: list[Case] = []
    with tempfile.TemporaryDirectory(prefix="repro-bench-") as tmp:
        setups: dict[str, tuple[Path, Path]] = {}
        for role, shape in shapes.items():
            workdir = Path(tmp) / role
            workdir.mkdir()
            setups[role] = (write_repro_config(pg_url(shape.name), workdir), workdir)
        for user in users:
            of_user = []
            for role, shape in shapes.items():
                user_id = shape.heavy_user if user == "heavy" else shape.light_user
                of_user.append((Case(role, shape.name, user, user_id), *setups[role]))
            run_cases(of_user, args.runs_heavy if user == "heavy" else args.runs_light, args.timeout)
            cases += [case for case, _config, _workdir in of_user]
            reference.append(cpu_reference())
    cases.sort(key=lambda c: list(shapes).index(c.database))  # the report lists production's cases first
    summaries = [summarise(c) for c in cases]
    machine["cpu_reference_s"] = {
        "runs": [round(r, 4) for r in reference],
        "median": round(statistics.median(reference), 4),
    }
    results = {
        "mode": "small" if args.small else "full",
        "machine": machine,
        "databases": databases,
        "runs": {"light": args.runs_light, "heavy": args.runs_heavy, "timeout_s": args.timeout},
        "cases": summaries,
        "masking": masking,
        "targets": evaluate_targets(summaries, masking),
        "bench_elapsed_s": round(time.perf_counter() - started, 1),
    }
    print(format_report(results))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    log(f"results written to {args.output} ({results['bench_elapsed_s']}s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
