"""The pure parts of `make bench`: summaries, targets, the text table and the JSON it writes."""

from __future__ import annotations

import json
from typing import Any

from bench_pipeline import PipelineRun
from bench_report import Case, evaluate_targets, format_report, median, row_differences, summarise, text_table
from bench_runs import ProcessRun

ROWS = {"users": 3, "orders": 5, "order_items": 15}


def _case(database: str, user: str, pipe_s: list[float], repro_s: list[float], rss: float = 80.0) -> Case:
    case = Case(database, f"db_{database}", user, 42 if user == "heavy" else 7)
    case.pipeline = [PipelineRun(s, dict(ROWS)) for s in pipe_s]
    case.repro = [ProcessRun(s, True, rss, dict(ROWS)) for s in repro_s]
    return case


def _status(targets: list[dict[str, object]]) -> dict[str, object]:
    return {str(t["target"]): t["status"] for t in targets}


def test_median_and_row_differences() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([]) is None
    assert row_differences({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4}) == {"b": [2, 3], "c": [0, 4]}


def test_summary_takes_medians_and_skips_failed_runs() -> None:
    case = _case("production", "heavy", [1.0, 3.0, 2.0], [2.0, 4.0])
    case.repro.append(ProcessRun(0.5, False, 70.0, error="exit 1: Error: boom"))
    s = summarise(case)
    assert s["pipeline"]["median_s"] == 2.0
    assert s["repro"]["median_s"] == 3.0  # the failed 0.5 s run is not timed
    assert s["ratio_vs_pipeline"] == 1.5
    assert (s["repro"]["ok_runs"], s["repro"]["failed_runs"]) == (2, 1)
    assert s["repro"]["last_error"] == "exit 1: Error: boom"
    assert s["repro"]["rows_per_s"] == round(23 / 3.0)
    assert s["row_differences"] == {}


def test_targets_pass_fail_and_not_measured() -> None:
    summaries = [
        summarise(_case("production", "heavy", [1.0], [1.4], rss=100.0)),
        summarise(_case("production", "light", [0.05], [0.9], rss=80.0)),
        summarise(_case("reduced", "heavy", [0.9], [1.0])),
    ]
    masking = {"available": True, "rates": {"faker": 150_000.0, "email": 900_000.0, "redact": 10.0}}
    status = _status(evaluate_targets(summaries, masking))
    assert status == {
        "heavy user: repro / pipeline": "PASS",  # 1.4x
        "light user: whole process": "FAIL",  # 0.9 s
        "heavy user: production size / reduced size": "FAIL",  # 1.4x
        "masking: faker-class values/s (1 core)": "FAIL",  # faker 150,000/s; redact is not faker-class
        "peak RSS: heavy / light": "PASS",  # 1.25x
    }


def test_failed_repro_is_not_applicable_and_says_why() -> None:
    heavy = _case("production", "heavy", [1.0], [])
    heavy.repro = [ProcessRun(0.3, False, 60.0, error="exit 1: Error: no masking rule for users.email")]
    targets = evaluate_targets(
        [summarise(heavy)], {"available": False, "reason": "benchmark_strategies not found"}
    )
    first = targets[0]
    assert (first["status"], first["value"]) == ("N/A", None)
    assert first["detail"] == "production/heavy: exit 1: Error: no masking rule for users.email"
    assert targets[1]["detail"] == "not measured in this run"
    assert targets[3]["detail"] == "benchmark_strategies not found"


def test_text_table_aligns_numbers_right() -> None:
    table = text_table(["name", "n"], [["a", 5], ["bbb", 12345], ["c", None]])
    assert table.splitlines() == [
        "name       n",
        "----  ------",
        "a          5",
        "bbb   12,345",
        "c          -",
    ]


def test_report_text_and_json_carry_the_same_cases() -> None:
    cases = [_case("production", "heavy", [1.0], [2.0]), _case("production", "light", [0.1], [0.5])]
    cases[1].repro[0].rows = {"users": 3}  # repro copied fewer rows than the pipeline
    summaries = [summarise(c) for c in cases]
    results: dict[str, Any] = {"cases": summaries, "masking": {"available": False, "reason": "skipped"}}
    results["targets"] = evaluate_targets(summaries, results["masking"])
    text = format_report(results)
    assert "db_production  heavy (42)" in text
    assert "rows differ (pipeline vs repro): order_items 15 vs 0, orders 5 vs 0" in text
    assert "masking engine: unavailable (skipped)" in text
    assert "machine speed" not in text  # older results without the reference loop
    assert json.loads(json.dumps(results))["cases"][0]["ratio_vs_pipeline"] == 2.0
    results["machine"] = {"cpu_reference_s": {"runs": [0.21, 0.3, 0.2], "median": 0.21}}
    assert "a fixed pure-Python loop took 0.210s (median of 3, 0.200-0.300s" in format_report(results)
