"""One timed run of `repro copy-user` as a whole process, and the masking-engine micro-benchmark.

A run is measured from spawning the process to its exit (start-up included); its peak RSS comes from the
kernel's accounting of exactly that child (`os.wait4`). A failing or timed-out run is a result, never an
exception: it carries the last line of the process's stderr.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROJECT = Path(__file__).resolve().parent.parent
REPRO_BIN = Path(sys.executable).parent / "repro"
DEFAULT_SALT = "bench-salt-not-secret"


@dataclass
class ProcessRun:
    """One `repro copy-user` process: wall time, peak RSS, rows it reported, or why it failed."""

    elapsed_s: float
    ok: bool
    peak_rss_mb: float | None = None
    rows: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"elapsed_s": round(self.elapsed_s, 4), "ok": self.ok}
        if self.peak_rss_mb is not None:
            out["peak_rss_mb"] = round(self.peak_rss_mb, 1)
        if self.ok:
            out["total_rows"] = self.total_rows
        if self.error:
            out["error"] = self.error
        return out


def repro_config(
    source_url: str, workdir: Path, rules_dir: Path = PROJECT / "masking_rules"
) -> dict[str, Any]:
    """The repro.yaml of the benchmark runs (the target is passed per run with --target)."""
    return {
        "source": source_url,
        "root": {"table": "users", "key": "id"},
        "subset": {
            "max_rows": 1_000_000,
            "virtual_foreign_keys": [{"from": "audit_log.actor_id", "to": "users.id"}],
            "skip": ["audit_log.reviewer_id"],
        },
        "masking": {"rules": str(rules_dir)},
        "snapshots": {"store": str(workdir / "snapshots")},
        "tracker": {"url": f"sqlite:///{workdir / 'tracker.db'}"},
    }


def write_repro_config(source_url: str, workdir: Path) -> Path:
    path = workdir / "repro.yaml"
    path.write_text(yaml.safe_dump(repro_config(source_url, workdir), sort_keys=False))
    return path


def copy_user_command(config: Path, user_id: int, target_url: str) -> list[str]:
    return [
        str(REPRO_BIN), "--config", str(config), "copy-user", str(user_id),
        "--target", target_url, "--json", "--quiet",
    ]  # fmt: skip


def last_line(text: str) -> str:
    """The last non-empty line of a process's output (the `Error: ...` line of a failing repro)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def run_process(command: list[str], *, env: dict[str, str], cwd: Path, timeout_s: float) -> ProcessRun:
    """Run `command`, timing it and reading its peak RSS; stdout is parsed as repro's --json output."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=cwd)
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            with contextlib.suppress(ProcessLookupError):  # it ended just now
                os.kill(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout_s, kill)
        timer.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        elapsed = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    rss_mb = usage.ru_maxrss / 1024  # Linux reports KiB
    if timed_out.is_set():
        return ProcessRun(elapsed, False, rss_mb, error=f"timed out after {timeout_s:.0f}s")
    if proc.returncode != 0:
        return ProcessRun(elapsed, False, rss_mb, error=f"exit {proc.returncode}: {last_line(stderr)}")
    return ProcessRun(elapsed, True, rss_mb, rows=_reported_rows(stdout))


def _reported_rows(stdout: str) -> dict[str, int]:
    try:
        data = json.loads(stdout)
    except ValueError:
        return {}
    rows = data.get("rows") if isinstance(data, dict) else None
    if not isinstance(rows, dict):
        return {}
    return {str(k): int(v) for k, v in rows.items() if isinstance(v, int)}


def repro_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("REPRO_MASK_SALT", DEFAULT_SALT)
    for key in (
        "REPRO_CONFIG",
        "REPRO_SOURCE_URL",
        "REPRO_TARGET_URL",
        "REPRO_SNAPSHOT_STORE",
        "REPRO_TRACKER_URL",
    ):
        env.pop(key, None)  # the bench's repro.yaml decides
    return env


# ---------------------------------------------------------------- masking engine alone

FAKER_CLASS = ("faker", "email", "email_unique")  # strategies the 200,000 values/s target applies to

_MASKING_PROBE = """
import json, os, sys
os.sched_setaffinity(0, {0})
n = int(sys.argv[1])
try:
    try:
        from repro.masking.engine import benchmark_strategies
    except ImportError:
        from repro.masking.bench import benchmark_strategies
except ImportError as exc:
    print(json.dumps({"available": False, "reason": f"benchmark_strategies not found ({exc})"}))
    sys.exit(0)
rates = benchmark_strategies(n)
print(json.dumps({"available": True, "rates": {str(k): float(v) for k, v in dict(rates).items()}}))
"""


def masking_benchmark(n: int, timeout_s: float = 600) -> dict[str, Any]:
    """Values/s per strategy on one core (a child process pinned to CPU 0); never raises."""
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _MASKING_PROBE, str(n)],
            capture_output=True, text=True, timeout=timeout_s, env=repro_env(), cwd=PROJECT,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return {"available": False, "reason": f"timed out after {timeout_s:.0f}s"}
    if proc.returncode != 0:
        return {"available": False, "reason": f"failed: {last_line(proc.stderr)}"}
    try:
        result: dict[str, Any] = json.loads(last_line(proc.stdout))
    except ValueError:
        return {"available": False, "reason": f"unreadable output: {last_line(proc.stdout)}"}
    result["values_per_strategy"] = n
    return result
