"""`repro har sanitize` and `repro har inspect` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result
from har_corpus import SECRETS, build_corpus

from repro.cli.main import cli


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def write_corpus(path: Path) -> Path:
    path.write_text(json.dumps(build_corpus()), encoding="utf-8")
    # ./repro.yaml (the test's working directory) adds the corpus's custom header and key
    Path("repro.yaml").write_text(
        "har:\n  redact_headers: [x-internal-ref]\n  redact_keys: [loyalty_number]\n", encoding="utf-8"
    )
    return path


def test_sanitize_writes_next_to_input_and_prints_summary(tmp_path: Path) -> None:
    src = write_corpus(tmp_path / "session.har")
    result = run("har", "sanitize", str(src))
    assert result.exit_code == 0, result.output
    out = tmp_path / "session.sanitized.har"
    text = out.read_text(encoding="utf-8")
    assert [s for s in SECRETS if s in text] == []
    assert json.loads(text)["log"]["entries"]
    assert f"Sanitized 8 request(s) -> {out}" in result.stdout
    assert "JWTs (claims replaced, signature dropped)" in result.stdout
    assert "random per-file key" in result.stdout
    assert json.loads(src.read_text(encoding="utf-8")) == build_corpus()  # the input is not touched


def test_sanitize_report_json_and_explicit_output(tmp_path: Path) -> None:
    src = write_corpus(tmp_path / "in.har")
    out = tmp_path / "clean.har"
    result = run("har", "sanitize", str(src), "-o", str(out), "--report-json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["output"] == str(out)
    assert report["redacted"]["jwt"] == 2
    assert report["total"] == sum(report["redacted"].values())
    assert out.is_file()


def test_sanitize_to_stdout_keeps_summary_on_stderr(tmp_path: Path) -> None:
    src = write_corpus(tmp_path / "in.har")
    result = run("har", "sanitize", str(src), "-o", "-")
    assert result.exit_code == 0, result.output
    har = json.loads(result.stdout)
    assert len(har["log"]["entries"]) == 8
    assert "Sanitized 8 request(s) -> stdout" in result.stderr


def test_sanitize_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.har"
    bad.write_text('{"log": {"entries": {}}}', encoding="utf-8")
    result = run("har", "sanitize", str(bad))
    assert result.exit_code == 1
    assert (
        result.output.strip().splitlines()[-1]
        == "Error: not a HAR file: 'log.entries' is missing or not a list"
    )
    assert not (tmp_path / "bad.sanitized.har").exists()
    missing = run("har", "sanitize", str(tmp_path / "nope.har"))
    assert missing.exit_code == 1
    assert missing.output.strip() == f"Error: {tmp_path / 'nope.har'}: cannot read: No such file or directory"
    both = run("har", "sanitize", str(bad), "-o", "-", "--report-json")
    assert both.exit_code == 2
    assert both.output.strip() == (
        "Error: --report-json needs -o OUT.har: the sanitized HAR would share stdout with the report"
    )


def test_inspect_table_and_json(tmp_path: Path) -> None:
    src = write_corpus(tmp_path / "in.har")
    table = run("har", "inspect", str(src))
    assert table.exit_code == 0, table.output
    assert "Candidate user id: 42 (seen 4x in header, request body, response body, url)" in table.stdout
    assert "Failing requests: 2" in table.stdout
    assert "TypeError: profile is undefined" in table.stdout
    assert "AT-query-secret-1" not in table.stdout
    as_json = run("har", "inspect", str(src), "--json", "--top", "1")
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert data["candidate_user_id"] == "42"
    assert [r["index"] for r in data["slowest"]] == [2]
    assert [r["status"] for r in data["failing"]] == [500, 0]


def test_inspect_bad_user_id_pattern_is_a_config_error(tmp_path: Path) -> None:
    src = write_corpus(tmp_path / "in.har")
    config = tmp_path / "repro.yaml"
    config.write_text("har:\n  user_id_patterns: ['[a-']\n", encoding="utf-8")
    result = run("--config", str(config), "har", "inspect", str(src))
    assert result.exit_code == 2
    assert result.output.strip().startswith("Error: har.user_id_patterns: invalid regular expression '[a-'")


def test_har_commands_have_help_with_example() -> None:
    for args in (["har"], ["har", "sanitize"], ["har", "inspect"]):
        result = run(*args, "--help")
        assert result.exit_code == 0
        assert "Example:" in result.output and "repro har " in result.output
