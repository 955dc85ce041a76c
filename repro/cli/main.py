"""The `repro` command: global options, error handling, and the command groups."""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
from typing import Any

import click

from repro import __version__
from repro.cli.options import AppContext
from repro.db import redact_text
from repro.errors import ReproError


class _ReproClickError(click.ClickException):
    """Printed by click as `Error: <message>`; exit 1."""


class _ReproUsageError(_ReproClickError):
    """A configuration or usage problem: exit 2, like click's own usage errors."""

    exit_code = 2


def _click_error(message: str, exit_code: int) -> click.ClickException:
    return _ReproUsageError(message) if exit_code == 2 else _ReproClickError(message)


# Command name -> "module:attribute". Modules are imported only when their command is used (or listed by --help),
# so a single command starts without loading every other command's dependencies.
LAZY_COMMANDS = {
    "copy-user": "repro.cli.copy:copy_user",
    "plan": "repro.cli.copy:plan",
    "mask-check": "repro.cli.mask:mask_check",
    "snapshot": "repro.cli.snapshot:snapshot",
    "incident": "repro.cli.incident:incident",
    "har": "repro.cli.har:har",
    "hotfix": "repro.cli.hotfix:hotfix",
    "demo": "repro.cli.demo:demo",
}


class ReproGroup(click.Group):
    """Turns ReproError (and any unexpected exception) into one `Error: ...` line unless --traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(LAZY_COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS and cmd_name not in self.commands:
            import importlib

            module_name, _, attr = LAZY_COMMANDS[cmd_name].partition(":")
            self.add_command(getattr(importlib.import_module(module_name), attr), cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except ReproError as exc:
            if _traceback_wanted(ctx):
                raise
            raise _click_error(_one_line(str(exc)), exc.exit_code) from None
        except KeyboardInterrupt:
            raise click.exceptions.Exit(130) from None
        except Exception as exc:
            if _traceback_wanted(ctx):
                raise
            message = (
                f"unexpected {type(exc).__name__}: {_one_line(str(exc))} (run with --traceback for details)"
            )
            raise _ReproClickError(message) from None


def _one_line(text: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), text.strip())
    return redact_text(first)


def _traceback_wanted(ctx: click.Context) -> bool:
    app = ctx.find_object(AppContext)
    return bool(app and app.traceback) or os.environ.get("REPRO_TRACEBACK") == "1"


@click.group(
    cls=ReproGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110}
)
@click.option(
    "--config",
    "config_path",
    envvar="REPRO_CONFIG",
    metavar="PATH",
    help="Configuration file (default ./repro.yaml; env REPRO_CONFIG).",
)
@click.option("--traceback", is_flag=True, help="Show the full Python traceback on errors.")
@click.version_option(__version__, prog_name="repro")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, traceback: bool) -> None:
    """Reproduce production incidents on staging, fast and without leaking personal data.

    \b
    Example:
      repro copy-user 42 --incident INC-7
    """
    ctx.obj = AppContext(config_path=config_path, traceback=traceback)


def main() -> None:
    """The console script: run the command, then leave without tearing the interpreter down."""
    try:
        cli(prog_name="repro")
    except SystemExit as exc:
        _exit_now(exc.code)
    _exit_now(0)


def _exit_now(code: object) -> None:
    """Exit once the command's work is done: exit handlers run and output is flushed, but the objects of a large
    copy are not freed one by one at shutdown (a measurable part of a second for nothing)."""
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more can be said
            stream.flush()
    os._exit(code or 0)
