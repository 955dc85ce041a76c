"""Pure parts of `make bench`: medians, per-case summaries, the targets of issue 7, the table and the JSON."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench_pipeline import PipelineRun
from bench_runs import FAKER_CLASS, ProcessRun

HEAVY_RATIO_LIMIT = 1.5  # repro heavy copy / hand-written pipeline
LIGHT_SECONDS_LIMIT = 0.8  # whole `repro copy-user` process for the light user
SIZE_RATIO_LIMIT = 1.2  # heavy copy on the production-size database / on the reduced one
MASKING_RATE_LIMIT = 200_000.0  # values/s, one core, faker-class strategies
RSS_RATIO_LIMIT = 1.5  # peak RSS heavy / light: memory bounded by batch size, not by subset size


@dataclass
class Case:
    """The runs of one user on one database: pipeline runs and repro runs, interleaved by the driver."""

    database: str  # "production" or "reduced"
    db_name: str
    user: str  # "heavy" or "light"
    user_id: int
    pipeline: list[PipelineRun] = field(default_factory=list)
    repro: list[ProcessRun] = field(default_factory=list)


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def row_differences(expected: dict[str, int], reported: dict[str, int]) -> dict[str, list[int]]:
    """Tables whose row counts differ: table -> [pipeline rows, repro rows]."""
    tables = sorted(set(expected) | set(reported))
    return {
        t: [expected.get(t, 0), reported.get(t, 0)]
        for t in tables
        if expected.get(t, 0) != reported.get(t, 0)
    }


def summarise(case: Case) -> dict[str, Any]:
    """Medians, ratio, rows/s and peak RSS of one case (failed repro runs are counted, not timed)."""
    ok = [r for r in case.repro if r.ok]
    failed = [r for r in case.repro if not r.ok]
    pipe_median = median([r.elapsed_s for r in case.pipeline])
    repro_median = median([r.elapsed_s for r in ok])
    pipe_rows = case.pipeline[-1].rows if case.pipeline else {}
    repro_rows = ok[-1].rows if ok else {}
    pipe_total = sum(pipe_rows.values())
    repro_total = sum(repro_rows.values())
    rss = [r.peak_rss_mb for r in ok if r.peak_rss_mb is not None]
    return {
        "database": case.database,
        "db_name": case.db_name,
        "user": case.user,
        "user_id": case.user_id,
        "pipeline": {
            "runs_s": [round(r.elapsed_s, 4) for r in case.pipeline],
            "median_s": _round(pipe_median),
            "rows": pipe_rows,
            "total_rows": pipe_total,
            "rows_per_s": _per_second(pipe_total, pipe_median),
        },
        "repro": {
            "runs": [r.to_dict() for r in case.repro],
            "ok_runs": len(ok),
            "failed_runs": len(failed),
            "last_error": failed[-1].error if failed else None,
            "median_s": _round(repro_median),
            "rows": repro_rows,
            "total_rows": repro_total,
            "rows_per_s": _per_second(repro_total, repro_median),
            "peak_rss_mb": _round(max(rss), 1) if rss else None,
        },
        "ratio_vs_pipeline": _round(ratio(repro_median, pipe_median), 3),
        "row_differences": row_differences(pipe_rows, repro_rows) if ok and pipe_rows else {},
    }


def _per_second(rows: int, seconds: float | None) -> int | None:
    rate = ratio(rows, seconds)
    return None if rate is None else round(rate)


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _find(summaries: list[dict[str, Any]], database: str, user: str) -> dict[str, Any] | None:
    return next((s for s in summaries if s["database"] == database and s["user"] == user), None)


def _target(name: str, limit: str, value: float | None, passed: bool | None, detail: str) -> dict[str, Any]:
    status = "N/A" if passed is None else ("PASS" if passed else "FAIL")
    return {"target": name, "limit": limit, "value": _round(value, 3), "status": status, "detail": detail}


def _why_missing(*cases: dict[str, Any] | None) -> str:
    for case in cases:
        if case is None:
            return "not measured in this run"
        if case["repro"]["median_s"] is None:
            error = case["repro"]["last_error"] or "no successful run"
            return f"{case['database']}/{case['user']}: {error}"
    return ""


def evaluate_targets(summaries: list[dict[str, Any]], masking: dict[str, Any]) -> list[dict[str, Any]]:
    """The five targets of issue 7, each PASS, FAIL or N/A (not measured, or repro failed: says why)."""
    heavy = _find(summaries, "production", "heavy")
    light = _find(summaries, "production", "light")
    reduced_heavy = _find(summaries, "reduced", "heavy")
    out = []

    value = heavy["ratio_vs_pipeline"] if heavy else None
    detail = _why_missing(heavy)
    if heavy and not detail:
        detail = f"{heavy['repro']['median_s']}s vs {heavy['pipeline']['median_s']}s"
    out.append(_target(
        "heavy user: repro / pipeline", f"<= {HEAVY_RATIO_LIMIT}x", value,
        None if value is None else value <= HEAVY_RATIO_LIMIT, detail,
    ))  # fmt: skip
    value = light["repro"]["median_s"] if light else None
    out.append(_target(
        "light user: whole process", f"<= {LIGHT_SECONDS_LIMIT}s", value,
        None if value is None else value <= LIGHT_SECONDS_LIMIT,
        _why_missing(light) or "start-up included",
    ))  # fmt: skip
    value = None
    detail = _why_missing(heavy, reduced_heavy)
    if heavy and reduced_heavy:
        value = ratio(heavy["repro"]["median_s"], reduced_heavy["repro"]["median_s"])
        if not detail:
            pipe = ratio(heavy["pipeline"]["median_s"], reduced_heavy["pipeline"]["median_s"])
            detail = (
                f"{heavy['repro']['median_s']}s vs {reduced_heavy['repro']['median_s']}s "
                f"({heavy['repro']['total_rows']} vs {reduced_heavy['repro']['total_rows']} rows); "
                f"the pipeline: {_round(pipe, 2)}x"
            )
    out.append(_target(
        "heavy user: production size / reduced size", f"<= {SIZE_RATIO_LIMIT}x", value,
        None if value is None else value <= SIZE_RATIO_LIMIT, detail,
    ))  # fmt: skip
    rates = {k: v for k, v in (masking.get("rates") or {}).items() if k in FAKER_CLASS}
    value = min(rates.values()) if rates else None
    if masking.get("available") and rates:
        slowest = min(rates, key=lambda k: rates[k])
        detail = f"slowest faker-class strategy: {slowest}"
    else:
        detail = masking.get("reason") or "no faker-class strategy measured"
    out.append(_target(
        "masking: faker-class values/s (1 core)", f">= {MASKING_RATE_LIMIT:,.0f}", value,
        None if value is None else value >= MASKING_RATE_LIMIT, detail,
    ))  # fmt: skip
    heavy_rss = heavy["repro"]["peak_rss_mb"] if heavy else None
    light_rss = light["repro"]["peak_rss_mb"] if light else None
    value = ratio(heavy_rss, light_rss)
    out.append(_target(
        "peak RSS: heavy / light", f"<= {RSS_RATIO_LIMIT}x", value,
        None if value is None else value <= RSS_RATIO_LIMIT,
        _why_missing(heavy, light) or f"{heavy_rss} MB vs {light_rss} MB",
    ))  # fmt: skip
    return out


# ---------------------------------------------------------------- text output


def text_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """An aligned plain-text table; numbers right-aligned, None shown as '-'."""
    cells = [list(headers)] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [
        bool(rows) and all(isinstance(r[i], int | float) or r[i] is None for r in rows)
        for i in range(len(headers))
    ]
    lines = []
    for n, row in enumerate(cells):
        parts = [
            v.rjust(w) if numeric[i] else v.ljust(w) for i, (v, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def format_report(results: dict[str, Any]) -> str:
    """The whole report as people read it: cases, masking, targets (same data as results.json)."""
    out = []
    case_rows = []
    for s in results["cases"]:
        repro = s["repro"]
        runs = f"{repro['ok_runs']}/{repro['ok_runs'] + repro['failed_runs']}"
        case_rows.append([
            s["db_name"], f"{s['user']} ({s['user_id']})", s["pipeline"]["total_rows"], s["pipeline"]["median_s"],
            repro["median_s"], s["ratio_vs_pipeline"], repro["rows_per_s"], repro["peak_rss_mb"], runs,
        ])  # fmt: skip
    out.append(text_table(
        ["database", "user", "rows", "pipeline s", "repro s", "ratio", "repro rows/s", "peak RSS MB", "repro ok"],
        case_rows,
    ))  # fmt: skip
    for s in results["cases"]:
        if s["repro"]["last_error"]:
            out.append(f"  {s['db_name']} {s['user']}: repro failed: {s['repro']['last_error']}")
        if s["row_differences"]:
            diffs = ", ".join(f"{t} {a} vs {b}" for t, (a, b) in s["row_differences"].items())
            out.append(f"  {s['db_name']} {s['user']}: rows differ (pipeline vs repro): {diffs}")
    masking = results["masking"]
    out.append("")
    if masking.get("available"):
        rates = masking.get("rates") or {}
        out.append(text_table(
            ["masking strategy (1 core)", "values/s"],
            [[k + (" *" if k in FAKER_CLASS else ""), v] for k, v in sorted(rates.items(), key=lambda kv: kv[1])],
        ))  # fmt: skip
        out.append("  * faker-class: the 200,000 values/s target applies")
    else:
        out.append(f"masking engine: unavailable ({masking.get('reason', 'not measured')})")
    reference = results.get("machine", {}).get("cpu_reference_s")
    if reference:
        runs = reference["runs"]
        out.append("")
        out.append(
            f"machine speed: a fixed pure-Python loop took {reference['median']:.3f}s (median of {len(runs)},"
            f" {min(runs):.3f}-{max(runs):.3f}s across the run; the absolute targets move with it)"
        )
    out.append("")
    out.append(text_table(
        ["target", "limit", "measured", "status", "detail"],
        [[t["target"], t["limit"], t["value"], t["status"], t["detail"]] for t in results["targets"]],
    ))  # fmt: skip
    return "\n".join(out)
