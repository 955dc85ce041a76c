"""`repro har sanitize` and `repro har inspect`."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from repro.cli.options import AppContext, output_options, pass_app, print_json, print_table
from repro.errors import HarError, UsageError
from repro.har import HarInspection, SanitizeReport, inspect_har, load_har, sanitize_har_bytes
from repro.har.sanitize import KEY_FROM_SALT, KIND_LABELS


@click.group()
def har() -> None:
    """Sanitize and inspect HAR files (the browser's record of a web session).

    \b
    Example:
      repro har sanitize session.har -o session.clean.har
    """


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise HarError(f"{path}: cannot read: {exc.strerror}") from None


def _write_atomic(path: Path, data: bytes) -> None:
    """Write next to the destination, then rename: a half-written HAR never replaces a good one."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        raise HarError(f"{path}: cannot write: {exc.strerror}") from None


@har.command("sanitize")
@click.argument("in_path", metavar="IN.har", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    "out_path",
    metavar="OUT.har",
    type=click.Path(dir_okay=False),
    help="Where to write the sanitized HAR (default IN.sanitized.har; '-' for stdout).",
)
@click.option("--report-json", is_flag=True, help="Print what was redacted as JSON on stdout.")
@pass_app
def sanitize(app: AppContext, in_path: Path, out_path: str | None, report_json: bool) -> None:
    """Remove secrets and personal data from a HAR file; print what was redacted.

    Headers (Authorization, Cookie, API keys), cookies, URL and query secrets, form and JSON fields, JWTs and
    personal values become `redacted:<hash>` tags: the same value gets the same tag, so requests still match.
    Tags are keyed with REPRO_MASK_SALT when set, else with a random key for this file only.

    \b
    Example:
      repro har sanitize session.har -o session.clean.har
    """
    settings = app.settings()
    if out_path == "-" and report_json:
        raise UsageError(
            "--report-json needs -o OUT.har: the sanitized HAR would share stdout with the report"
        )
    data, report = sanitize_har_bytes(_read(in_path), settings)
    if out_path == "-":
        click.echo(data, nl=False)
        where = "stdout"
    else:
        target = Path(out_path) if out_path else in_path.with_name(f"{in_path.stem}.sanitized.har")
        _write_atomic(target, data)
        where = str(target)
    if report_json:
        print_json({**report.to_dict(), "output": where})
        return
    _print_report(report, where, err=out_path == "-")


def _print_report(report: SanitizeReport, where: str, *, err: bool) -> None:
    click.echo(f"Sanitized {report.entries} request(s) -> {where}", err=err)
    rows = [(KIND_LABELS.get(kind, kind), count) for kind, count in sorted(report.counts.items())]
    if rows:
        print_table(["redacted", "count"], [*rows, ("total", report.total)], err=err)
    else:
        click.echo("Nothing to redact was found.", err=err)
    if report.base64_bodies:
        click.echo(
            f"{report.base64_bodies} base64 body(ies) were decoded, sanitized and re-encoded.", err=err
        )
    if report.key_source == KEY_FROM_SALT:
        click.echo("Tags are keyed with REPRO_MASK_SALT: they match across files.", err=err)
    else:
        click.echo(
            "Tags are keyed with a random per-file key (set REPRO_MASK_SALT to match across files).", err=err
        )
    click.echo(f"Personal data keys: {report.personal_source}.", err=err)


@har.command("inspect")
@click.argument("path", metavar="FILE.har", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--top", default=10, show_default=True, type=click.IntRange(min=1), help="How many slowest requests."
)
@output_options
@pass_app
def inspect(app: AppContext, path: Path, top: int, as_json: bool) -> None:
    """Failing and slow requests, console errors, pages visited and the likely affected user.

    \b
    Example:
      repro har inspect session.har --json
    """
    settings = app.settings()
    result = inspect_har(load_har(_read(path)), settings, top=top)
    if as_json:
        print_json(result.to_dict())
        return
    _print_inspection(result)


def _short(text: str, width: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _print_inspection(result: HarInspection) -> None:
    click.echo(f"{result.entries} request(s), {len(result.pages)} page(s)")
    if result.user_ids:
        best = result.user_ids[0]
        others = ", ".join(u.value for u in result.user_ids[1:4])
        click.echo(
            f"Candidate user id: {best.value} (seen {best.count}x in {', '.join(best.found_in)})"
            + (f"; also seen: {others}" if others else "")
        )
    else:
        click.echo("Candidate user id: none found (add patterns under har.user_id_patterns)")
    request_headers = ["#", "status", "method", "url", "ms"]
    click.echo(f"\nFailing requests: {len(result.failing)}")
    if result.failing:
        print_table(
            request_headers,
            [(r.index, f"{r.status} {r.status_text}".strip(), r.method, _short(r.url), r.time_ms)
             for r in result.failing],
        )  # fmt: skip
    click.echo("\nSlowest requests:")
    if result.slowest:
        print_table(
            request_headers, [(r.index, r.status, r.method, _short(r.url), r.time_ms) for r in result.slowest]
        )
    click.echo(f"\nConsole errors: {len(result.console_errors)}")
    if result.console_errors:
        print_table(
            ["level", "message", "where"],
            [(c.level, _short(c.text, 70), c.where) for c in result.console_errors],
        )
    click.echo(f"\nPages visited: {len(result.pages)}")
    if result.pages:
        print_table(["started", "page"], [(p.started, _short(p.url or p.title)) for p in result.pages])
