"""Render a mask-check report for people (text), machines (json), CI test reports (junit) or GitHub annotations."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from repro.masking.check import CheckReport, Finding

FORMATS = ("text", "json", "junit", "github")


def display_path(source: str | None) -> str | None:
    """A rule file path relative to the working directory when it lies below it (how CI annotates files)."""
    if source is None or source.startswith("<"):
        return None
    path = Path(source)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _location(finding: Finding) -> str:
    path = display_path(finding.source)
    if path is None:
        return ""
    return f"{path}:{finding.line}: " if finding.line else f"{path}: "


def render(report: CheckReport, fmt: str) -> str:
    if fmt == "json":
        return render_json(report)
    if fmt == "junit":
        return render_junit(report)
    if fmt == "github":
        return render_github(report)
    return render_text(report)


def render_text(report: CheckReport) -> str:
    lines = [f"{_location(f)}{f.kind}: {f.message}" for f in report.findings]
    summary = (
        f"{report.tables} tables, {len(report.columns)} columns, {len(report.rule_files)} rule file(s)"
        + (
            f", {report.sampled_rows} rows sampled (self-test: {report.self_test})"
            if report.sampled_rows
            else ""
        )
    )
    if report.ok:
        lines.append(f"mask-check: OK: every column has a decision ({summary})")
    else:
        lines.append(f"mask-check: {len(report.findings)} finding(s) ({summary})")
    return "\n".join(lines)


def render_json(report: CheckReport) -> str:
    data = report.to_dict()
    for item in data["findings"]:
        item["file"] = display_path(item["file"])
    return json.dumps(data, indent=2)


def render_junit(report: CheckReport) -> str:
    """One test case per schema column (plus one per stale rule); each finding is a failure."""
    by_name: dict[str, list[Finding]] = {}
    for f in report.findings:
        by_name.setdefault(f.name, []).append(f)
    names = list(report.columns) + sorted(n for n in by_name if n not in set(report.columns))
    suites = ET.Element("testsuites", name="repro mask-check")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="repro mask-check",
        tests=str(len(names)),
        failures=str(sum(1 for n in names if n in by_name)),
        errors="0",
        skipped="0",
    )
    for name in names:
        table, _, column = name.partition(".")
        case = ET.SubElement(suite, "testcase", classname=f"mask-check.{table}", name=column or table)
        for f in by_name.get(name, []):
            failure = ET.SubElement(case, "failure", type=f.kind, message=f.message)
            failure.text = f"{_location(f)}{f.message}"
    suites.set("tests", suite.get("tests", "0"))
    suites.set("failures", suite.get("failures", "0"))
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)


def _escape(text: str, *, prop: bool = False) -> str:
    """GitHub workflow-command escaping (data, or property values when `prop`)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def render_github(report: CheckReport) -> str:
    lines = []
    for f in report.findings:
        path = display_path(f.source)
        props = []
        if path:
            props.append(f"file={_escape(path, prop=True)}")
            if f.line:
                props.append(f"line={f.line}")
        props.append(f"title={_escape(f'mask-check {f.kind}', prop=True)}")
        lines.append(f"::error {','.join(props)}::{_escape(f.message)}")
    if report.ok:
        lines.append(f"mask-check: OK ({report.tables} tables, {len(report.columns)} columns)")
    return "\n".join(lines)
